package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

// checkReport is the part of `opsctl check --json` this test reads.
type checkReport struct {
	Findings []struct {
		Check, Severity, File, Position, Message string
	} `json:"findings"`
	Validators []struct {
		Name, Status, Via, Version string
		Checked                    []string
	} `json:"validators"`
	Errors int `json:"errors"`
	NotRun int `json:"not_run"`
}

// TestCheckRunsThePinnedImages: with a Docker engine and the images present,
// opsctl check runs promtool, amtool and nginx from the images of the
// versions compose.yaml pins (here the stack test's local builds of those
// versions), and a defect only nginx itself knows is caught by the image.
func TestCheckRunsThePinnedImages(t *testing.T) {
	if os.Getenv("OPS_STACK_TEST") != "1" {
		t.Skip("needs Docker and the local images: run with OPS_STACK_TEST=1 (make test-stack)")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	files := []string{"compose.yaml", ".env.example", "Dockerfile", "go.mod", "hftsim", "pkg", "mlflow", "superset", "airflow", "runbooks",
		"prometheus", "alertmanager", "loki", "alloy", "grafana", "nginx", "test/stack/compose.test.yaml"}
	if err := repotree.Copy(root, dir, files); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "opsctl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/opsctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building opsctl: %v\n%s", err, out)
	}
	check := func(t *testing.T) (checkReport, int) {
		cmd := exec.Command(bin, "check", "--dir", dir, "--env", ".env.example", "--json", "--build-tools=false",
			"--images-from", filepath.Join(dir, "test/stack/compose.test.yaml"))
		out, err := cmd.Output()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var rep checkReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("opsctl check --json printed no JSON (%v):\n%s", err, out)
		}
		return rep, code
	}

	rep, code := check(t)
	if code != 0 {
		t.Fatalf("opsctl check exited %d on the repository:\n%+v", code, rep)
	}
	want := map[string]string{"promtool": "image okx-local/prometheus:v3.15.0", "amtool": "image okx-local/alertmanager:v0.34.1", "nginx": "image okx-local/nginx:1.30.5-alpine"}
	for _, v := range rep.Validators {
		if via, ok := want[v.Name]; ok {
			if v.Status != "passed" || v.Via != via || len(v.Checked) == 0 {
				t.Errorf("%s: status %s via %q (checked %v), want passed via %q", v.Name, v.Status, v.Via, v.Checked, via)
			}
			delete(want, v.Name)
		}
	}
	for name := range want {
		t.Errorf("validator %s is missing from the report", name)
	}

	// A directive nginx 1.30 does not know: only nginx itself can tell.
	conf := filepath.Join(dir, "nginx/nginx.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "http {", "http {\n    no_such_directive on;", 1)
	if broken == string(data) {
		t.Fatal("nginx.conf has no `http {` line to break")
	}
	if err := os.WriteFile(conf, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, code = check(t)
	if code != 1 {
		t.Fatalf("a broken nginx.conf: exit %d, want 1", code)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Check == "nginx" && f.File == "nginx/nginx.conf" && strings.Contains(f.Message, "no_such_directive") && f.Position != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("want an nginx finding at nginx/nginx.conf:<line> naming no_such_directive; got %+v", rep.Findings)
	}
}
