package hftmetrics

import (
	"os/exec"
	"strings"
	"testing"
)

// forbiddenModules are the module paths a service must not inherit by
// importing the contract: Prometheus' server (and promtool), the cloud SDKs
// and Kubernetes that the root module of this repository needs, and the root
// module itself. An entry ending in "/" is a prefix, any other an exact
// module path.
var forbiddenModules = []string{
	"github.com/okx-hft/okx-hft-ops", // the root module, not this one
	"github.com/prometheus/prometheus",
	"github.com/prometheus/alertmanager",
	"github.com/aws/",
	"github.com/Azure/",
	"cloud.google.com/",
	"google.golang.org/api",
	"google.golang.org/grpc",
	"k8s.io/",
	"sigs.k8s.io/",
	"github.com/hashicorp/",
	"github.com/grafana/",
}

// TestModuleGraphIsSmall keeps the contract cheap to import: its module graph
// (go list -m all, what a sibling repository's go.mod inherits) holds
// client_golang and its own requirements, nothing of the ops tooling.
func TestModuleGraphIsSmall(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	cmd := exec.Command(goBin, "list", "-m", "all")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all in pkg/hftmetrics: %v\n%s", err, stderr.String())
	}
	mods := strings.Fields(string(out))
	if len(mods) == 0 || mods[0] != "github.com/okx-hft/okx-hft-ops/pkg/hftmetrics" {
		t.Fatalf("go list -m all does not start with this module: %q", firstLine(string(out)))
	}
	var found []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		path := strings.Fields(line)[0]
		if moduleForbidden(path) {
			found = append(found, path)
		}
	}
	if len(found) > 0 {
		t.Errorf("pkg/hftmetrics/go.mod pulls in %d modules of the ops tooling: %s; "+
			"the contract may depend on client_golang only (move what needs them to the root module)",
			len(found), strings.Join(found, ", "))
	}
}

func moduleForbidden(path string) bool {
	for _, f := range forbiddenModules {
		if strings.HasSuffix(f, "/") {
			if strings.HasPrefix(path, f) {
				return true
			}
		} else if path == f {
			return true
		}
	}
	return false
}

func TestModuleForbidden(t *testing.T) {
	for path, want := range map[string]bool{
		"github.com/okx-hft/okx-hft-ops":                true,
		"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics": false,
		"github.com/prometheus/prometheus":              true,
		"github.com/prometheus/client_golang":           false,
		"github.com/prometheus/common":                  false,
		"k8s.io/client-go":                              true,
		"github.com/aws/aws-sdk-go-v2":                  true,
		"google.golang.org/protobuf":                    false,
		"google.golang.org/grpc":                        true,
	} {
		if got := moduleForbidden(path); got != want {
			t.Errorf("moduleForbidden(%q) = %v, want %v", path, got, want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
