package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot walks up from the package folder to the folder holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// TestCommittedDashboardsUpToDate fails when the JSON committed under
// grafana/dashboards/ is not exactly what the code generates.
func TestCommittedDashboardsUpToDate(t *testing.T) {
	dir := filepath.Join(repoRoot(t), DefaultDir)
	stale, err := Stale(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("%s: %s; run: go run ./cmd/dashgen", filepath.Join(DefaultDir, s.Name), s.Problem())
	}
}

func TestCommittedDashboardsPassCheck(t *testing.T) {
	dir := filepath.Join(repoRoot(t), DefaultDir)
	for _, f := range CheckDir(dir, ProvisionedDatasources()) {
		t.Errorf("%s", f)
	}
}

func TestGeneratedDashboardsPassCheck(t *testing.T) {
	dir := t.TempDir()
	written, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(written, FileName(OpsNodeUID)) {
		t.Fatalf("Write wrote %v, want %s among them", written, FileName(OpsNodeUID))
	}
	for _, f := range CheckDir(dir, ProvisionedDatasources()) {
		t.Errorf("%s", f)
	}
}

func TestAllRegistersOpsNode(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range all {
		if deref(d.Uid) == OpsNodeUID {
			found = true
			if deref(d.Title) != "Ops node" || !slices.Contains(d.Tags, "ops") {
				t.Errorf("ops-node: title %q tags %v, want \"Ops node\" tagged ops", deref(d.Title), d.Tags)
			}
		}
	}
	if !found {
		t.Fatalf("no dashboard with uid %s registered", OpsNodeUID)
	}
}

// The ops node dashboard must cover what its operator looks at; a panel
// dropped by mistake fails here.
func TestOpsNodeCoversTheNode(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	got := string(files[FileName(OpsNodeUID)])
	for _, want := range []string{
		`"expr": "min by (job) (up)"`,
		`up{stack=\"trading\"}`,
		`prometheus_rule_evaluation_failures_total`,
		`prometheus_rule_group_last_duration_seconds`,
		`prometheus_tsdb_head_series`,
		`alertmanager_notifications_total`,
		`alertmanager_notifications_failed_total`,
		`ALERTS{alertstate=\"firing\"}`,
		`node_cpu_seconds_total`,
		`node_memory_MemAvailable_bytes`,
		`predict_linear(node_filesystem_avail_bytes`,
		`container_cpu_usage_seconds_total`,
		`container_memory_working_set_bytes`,
		`container_spec_memory_limit_bytes`,
		`container_spec_cpu_quota`,
		`loki_distributor_bytes_received_total`,
		`loki_write_sent_entries_total`,
		`compose_service=~\"$service\"`,
		`ops_backup_configured{job=\"backup\"}`,
		`time() - (ops_backup_last_success_timestamp_seconds{job=\"backup\"} > 0)`,
		`ops_backup_last_run_success{job=\"backup\"}`,
		`ops_restore_drill_last_success{job=\"backup\"}`,
		`ops_backup_snapshots{job=\"backup\"}`,
		`ops_backup_last_duration_seconds{job=\"backup\"}`,
		`ops_restore_drill_last_duration_seconds{job=\"backup\"}`,
		`ops_backup_last_size_bytes{job=\"backup\"}`,
		`ops_backup_last_added_bytes{job=\"backup\"}`,
		`"title": "Backups"`,
		`"title": "Pipelines (Airflow)"`,
		`airflow_scheduler_heartbeats_total{job=\"airflow\"}`,
		`sum by (check) (ops_dq_violations{job=\"airflow\"})`,
		`ops_dq_max_gap_seconds{job=\"airflow\"}`,
		`"type": "logs"`,
		`"type": "table"`,
		`"type": "stat"`,
		`"name": "service"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ops-node.json lacks %s", want)
		}
	}
}

// Independent builds of every dashboard render byte for byte alike: no map
// order or other per-process state leaks into the committed JSON (Go
// randomises map iteration, so a leak shows within a few builds).
func TestRenderIsStable(t *testing.T) {
	build := func() []byte {
		d, err := OpsNode()
		if err != nil {
			t.Fatal(err)
		}
		out, err := Render(d)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := build()
	for i := 0; i < 20; i++ {
		if b := build(); !bytes.Equal(a, b) {
			t.Fatalf("build %d of the same dashboard renders differently", i+2)
		}
	}
	if !bytes.HasSuffix(a, []byte("}\n")) || bytes.HasSuffix(a, []byte("\n\n")) {
		t.Errorf("render must end with exactly one newline, ends with %q", a[len(a)-10:])
	}
	if !bytes.Contains(a, []byte("\n  \"uid\": \"ops-node\",\n")) {
		t.Error("render is not indented by two spaces")
	}
	if bytes.Contains(a, []byte(`\u003c`)) || bytes.Contains(a, []byte(`\u003e`)) || bytes.Contains(a, []byte(`\u0026`)) {
		t.Error("render escapes <, > or &")
	}
}

func TestUnescapeHTML(t *testing.T) {
	for in, want := range map[string]string{
		`"a \u003e b"`:       `"a > b"`,
		`"x \u003c\u0026 y"`: `"x <& y"`,
		`"\\u003e"`:          `"\\u003e"`, // an escaped backslash, then text
		`"\\\u003e"`:         `"\\>"`,
		`"\u00e9"`:           `"\u00e9"`,
	} {
		if got := string(unescapeHTML([]byte(in))); got != want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestStaleNamesEachKindOfDifference(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	if stale, err := Stale(dir); err != nil || len(stale) != 0 {
		t.Fatalf("fresh folder: Stale = %v, %v; want nothing", stale, err)
	}

	name := FileName(OpsNodeUID)
	path := filepath.Join(dir, name)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(orig, []byte(`"title": "Ops node"`), []byte(`"title": "Ops node (edited in Grafana)"`), 1)
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hand-made.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale, err := Stale(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []StaleFile{{Name: name, Reason: "differs"}, {Name: "hand-made.json", Reason: "not generated"}}
	if !slices.Equal(stale, want) {
		t.Errorf("Stale = %v, want %v", stale, want)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	stale, err = Stale(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) == 0 || stale[0] != (StaleFile{Name: name, Reason: "missing"}) {
		t.Errorf("after removing %s: Stale = %v, want it missing", name, stale)
	}
}
