package check

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// provisioningFindings loads compose.yaml of dir and runs only the
// provisioning-folder check.
func provisioningFindings(t *testing.T, dir string) finding.List {
	t.Helper()
	r := &Repo{Dir: dir}
	r.loadEnv("")
	r.loadCompose()
	r.checkCompose(context.Background())
	if r.Project == nil {
		t.Fatalf("compose.yaml did not load: %v", r.f)
	}
	r.f = nil
	r.checkGrafanaProvisioning()
	return r.f
}

func TestGrafanaProvisioningFolders(t *testing.T) {
	t.Run("shipped", func(t *testing.T) {
		if got := provisioningFindings(t, copyRepo(t)); len(got) > 0 {
			t.Errorf("the shipped folders have findings:\n%s", dump(got))
		}
	})
	for _, folder := range []string{"alerting", "plugins"} {
		t.Run("missing "+folder, func(t *testing.T) {
			dir := copyRepo(t)
			if err := os.RemoveAll(filepath.Join(dir, "grafana/provisioning", folder)); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(dir, composeFile))
			wantLine := 0
			for i, l := range strings.Split(string(data), "\n") {
				if strings.Contains(l, "./grafana/provisioning:/etc/grafana/provisioning") {
					wantLine = i + 1
				}
			}
			got := provisioningFindings(t, dir)
			if len(got) != 1 || got[0].Severity != finding.Error || got[0].File != composeFile ||
				got[0].Position != strconv.Itoa(wantLine) || !strings.Contains(got[0].Message, "grafana/provisioning/"+folder+" cannot be read") ||
				!strings.Contains(got[0].Fix, "grafana/provisioning/"+folder+"/"+folder+".yaml") {
				t.Errorf("want one error at %s:%d naming the %s folder and its fix; got:\n%s", composeFile, wantLine, folder, dump(got))
			}
		})
	}
	t.Run("not yaml in alerting", func(t *testing.T) {
		dir := copyRepo(t)
		os.WriteFile(filepath.Join(dir, "grafana/provisioning/alerting/README.md"), []byte("notes\n"), 0o644)
		got := provisioningFindings(t, dir)
		if len(got) != 1 || got[0].Severity != finding.Warning || got[0].File != "grafana/provisioning/alerting/README.md" {
			t.Errorf("want one warning on the README; got:\n%s", dump(got))
		}
	})
	t.Run("app without type", func(t *testing.T) {
		dir := copyRepo(t)
		os.WriteFile(filepath.Join(dir, "grafana/provisioning/plugins/plugins.yaml"), []byte("apiVersion: 1\napps:\n  - org_id: 1\n"), 0o644)
		got := provisioningFindings(t, dir)
		if len(got) != 1 || got[0].Severity != finding.Error || got[0].Position != "3" || !strings.Contains(got[0].Message, "no type") {
			t.Errorf("want one error at line 3; got:\n%s", dump(got))
		}
	})
	t.Run("broken yaml", func(t *testing.T) {
		dir := copyRepo(t)
		os.WriteFile(filepath.Join(dir, "grafana/provisioning/alerting/alerting.yaml"), []byte("apiVersion: 1\ngroups: [\n"), 0o644)
		got := provisioningFindings(t, dir)
		if len(got) != 1 || got[0].Severity != finding.Error || got[0].File != "grafana/provisioning/alerting/alerting.yaml" {
			t.Errorf("want one error on the file; got:\n%s", dump(got))
		}
	})
	t.Run("no bind mount, no requirement", func(t *testing.T) {
		dir := copyRepo(t)
		os.RemoveAll(filepath.Join(dir, "grafana/provisioning/plugins"))
		data, _ := os.ReadFile(filepath.Join(dir, composeFile))
		edited := strings.Replace(string(data), "      - ./grafana/provisioning:/etc/grafana/provisioning:ro\n", "", 1)
		if edited == string(data) {
			t.Fatal("the provisioning mount line was not found in compose.yaml")
		}
		os.WriteFile(filepath.Join(dir, composeFile), []byte(edited), 0o644)
		if got := provisioningFindings(t, dir); len(got) > 0 {
			t.Errorf("without the mount the image's folders are visible; got:\n%s", dump(got))
		}
	})
}
