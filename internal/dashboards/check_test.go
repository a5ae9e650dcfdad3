package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// fixture is a small valid dashboard: a row, a stat, a time series with two
// queries and variables, a logs panel, and a collapsed row holding a panel.
func fixture(t *testing.T) []byte {
	t.Helper()
	b := dashboard.NewDashboardBuilder("Fixture").
		Uid("fixture").
		WithVariable(dashboard.NewQueryVariableBuilder("job").
			Datasource(PrometheusRef()).
			Query(dashboard.StringOrMap{String: ptr("label_values(up, job)")})).
		WithVariable(dashboard.NewQueryVariableBuilder("service").
			Datasource(LokiRef()).
			Query(dashboard.StringOrMap{String: ptr("label_values(compose_service)")})).
		WithRow(dashboard.NewRowBuilder("Open row")).
		WithPanel(newStat().Title("Up").
			WithTarget(promInstant("A", `sum by (job) (up{job=~"$job"})`, "{{job}}"))).
		WithPanel(newTimeseries().Title("Rates").
			WithTarget(promRange("A", `sum(rate(prometheus_http_requests_total{job="${job}"}[$__rate_interval]))`, "requests")).
			WithTarget(promRange("B", `topk(5, rate(node_network_receive_bytes_total[$__rate_interval]))`, "{{device}}"))).
		WithPanel(newLogs().Title("Logs").
			WithTarget(lokiLogs("A", `{compose_service=~"$service"} |= "error"`))).
		WithRow(dashboard.NewRowBuilder("Collapsed row").Collapsed(true).
			WithPanel(newTimeseries().Title("Inside the row").
				WithTarget(promRange("A", `prometheus_tsdb_head_series`, "series"))))
	d, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	numberPanels(&d)
	out, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mutate applies edits to a decoded copy of doc: each key path
// (panels[1].targets[0].expr) gets the value; a nil value deletes the key.
func mutate(t *testing.T, doc []byte, edits map[string]any) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	for path, value := range edits {
		setPath(t, root, path, value)
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setPath(t *testing.T, root any, path string, value any) {
	t.Helper()
	var steps []any // string keys and int indexes
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		steps = append(steps, name)
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if err != nil {
				t.Fatalf("bad path %s", path)
			}
			steps = append(steps, n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	cur := root
	for i, step := range steps {
		last := i == len(steps)-1
		switch s := step.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%s: %s is not in an object", path, s)
			}
			if last {
				if value == nil {
					delete(m, s)
				} else {
					m[s] = value
				}
				return
			}
			cur = m[s]
		case int:
			a, ok := cur.([]any)
			if !ok || s >= len(a) {
				t.Fatalf("%s: no element %d", path, s)
			}
			if last {
				a[s] = value
				return
			}
			cur = a[s]
		}
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFixtureIsClean(t *testing.T) {
	path := writeFile(t, t.TempDir(), "fixture.json", fixture(t))
	if got := CheckFile(path, ProvisionedDatasources()); len(got) != 0 {
		t.Fatalf("the fixture must pass, got:\n%s", list(got))
	}
}

func TestCheckFileFindsEachDefect(t *testing.T) {
	type want struct {
		pos      string
		severity finding.Severity
		contains string
	}
	cases := []struct {
		name  string
		edits map[string]any
		want  want
	}{
		{
			name:  "unknown datasource uid on a panel",
			edits: map[string]any{"panels[1].datasource.uid": "promethues"},
			want:  want{"panels[1].datasource.uid", finding.Error, `datasource uid "promethues" is not provisioned`},
		},
		{
			name:  "unknown datasource uid on a query",
			edits: map[string]any{"panels[2].targets[1].datasource.uid": "mimir"},
			want:  want{"panels[2].targets[1].datasource.uid", finding.Error, `"mimir" is not provisioned`},
		},
		{
			name:  "unknown datasource uid inside a collapsed row",
			edits: map[string]any{"panels[4].panels[0].targets[0].datasource.uid": "mimir"},
			want:  want{"panels[4].panels[0].targets[0].datasource.uid", finding.Error, `"mimir" is not provisioned`},
		},
		{
			name:  "unknown datasource uid on a variable",
			edits: map[string]any{"templating.list[1].datasource.uid": "lokii"},
			want:  want{"templating.list[1].datasource.uid", finding.Error, `"lokii" is not provisioned`},
		},
		{
			name:  "datasource named instead of referenced by uid",
			edits: map[string]any{"panels[1].datasource": map[string]any{"type": "prometheus"}},
			want:  want{"panels[1].datasource.uid", finding.Error, "not referenced by uid"},
		},
		{
			name:  "wrong type for the uid",
			edits: map[string]any{"panels[1].targets[0].datasource.type": "loki"},
			want:  want{"panels[1].targets[0].datasource.type", finding.Error, `datasource "prometheus" is of type "prometheus" but is referenced with type "loki"`},
		},
		{
			name:  "missing type",
			edits: map[string]any{"panels[3].datasource.type": nil},
			want:  want{"panels[3].datasource.type", finding.Warning, "without its type"},
		},
		{
			name:  "query on another datasource than its panel",
			edits: map[string]any{"panels[2].targets[0].datasource": map[string]any{"uid": "loki", "type": "loki"}},
			want:  want{"panels[2].targets[0].datasource.uid", finding.Error, `query uses datasource "loki" but its panel uses "prometheus"`},
		},
		{
			name:  "panel with queries but no datasource",
			edits: map[string]any{"panels[1].datasource": nil, "panels[1].targets[0].datasource": nil},
			want:  want{"panels[1].datasource", finding.Error, "names no datasource"},
		},
		{
			name:  "bad PromQL",
			edits: map[string]any{"panels[2].targets[0].expr": `sum(rate(prometheus_http_requests_total[$__rate_interval])`},
			want:  want{"panels[2].targets[0].expr", finding.Error, "PromQL does not parse"},
		},
		{
			name:  "PromQL with a type error",
			edits: map[string]any{"panels[1].targets[0].expr": `rate(up)`},
			want:  want{"panels[1].targets[0].expr", finding.Error, "range vector"},
		},
		{
			name:  "empty PromQL",
			edits: map[string]any{"panels[1].targets[0].expr": "  "},
			want:  want{"panels[1].targets[0].expr", finding.Error, "no expression"},
		},
		{
			name:  "Loki query without a stream selector",
			edits: map[string]any{"panels[3].targets[0].expr": `compose_service="loki" |= "error"`},
			want:  want{"panels[3].targets[0].expr", finding.Error, "stream selector"},
		},
		{
			name:  "empty Loki query",
			edits: map[string]any{"panels[3].targets[0].expr": ""},
			want:  want{"panels[3].targets[0].expr", finding.Error, "no expression"},
		},
		{
			name:  "duplicate panel id",
			edits: map[string]any{"panels[2].id": 2},
			want:  want{"panels[2].id", finding.Error, "panel id 2 is also used by panels[1]"},
		},
		{
			name:  "duplicate panel id inside a row",
			edits: map[string]any{"panels[4].panels[0].id": 3},
			want:  want{"panels[4].panels[0].id", finding.Error, "panel id 3 is also used by panels[2]"},
		},
		{
			name:  "no uid",
			edits: map[string]any{"uid": nil},
			want:  want{"uid", finding.Error, "has no uid"},
		},
		{
			name:  "uid too long",
			edits: map[string]any{"uid": strings.Repeat("x", 41)},
			want:  want{"uid", finding.Error, "not a valid Grafana uid"},
		},
		{
			name:  "field of the wrong type",
			edits: map[string]any{"panels[2].gridPos": "wide"},
			want:  want{"panels[2].gridPos", finding.Error, "does not decode"},
		},
	}
	base := fixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "dash.json", mutate(t, base, tc.edits))
			got := CheckFile(path, ProvisionedDatasources())
			if len(got) != 1 {
				t.Fatalf("want exactly 1 finding at %s, got %d:\n%s", tc.want.pos, len(got), list(got))
			}
			f := got[0]
			if f.Check != CheckName || f.File != path || f.Position != tc.want.pos || f.Severity != tc.want.severity ||
				!strings.Contains(f.Message, tc.want.contains) {
				t.Errorf("got  %s\nwant %s %s at %s containing %q", f, tc.want.severity, CheckName, tc.want.pos, tc.want.contains)
			}
		})
	}
}

func TestCheckFileMixedPanels(t *testing.T) {
	mixed := map[string]any{"uid": "-- Mixed --", "type": "datasource"}
	base := fixture(t)

	ok := mutate(t, base, map[string]any{
		"panels[2].datasource":            mixed,
		"panels[2].targets[1].datasource": map[string]any{"uid": "loki", "type": "loki"},
		"panels[2].targets[1].expr":       `sum(count_over_time({compose_service="loki"} |= "error" [5m]))`,
	})
	if got := CheckFile(writeFile(t, t.TempDir(), "dash.json", ok), ProvisionedDatasources()); len(got) != 0 {
		t.Errorf("a mixed panel whose queries name their datasources must pass, got:\n%s", list(got))
	}

	bad := mutate(t, base, map[string]any{
		"panels[2].datasource":            mixed,
		"panels[2].targets[1].datasource": nil,
	})
	got := CheckFile(writeFile(t, t.TempDir(), "dash.json", bad), ProvisionedDatasources())
	if len(got) != 1 || got[0].Position != "panels[2].targets[1].datasource" {
		t.Errorf("want 1 finding at panels[2].targets[1].datasource, got:\n%s", list(got))
	}
}

func TestCheckFileInvalidJSONNamesTheLine(t *testing.T) {
	cases := []struct {
		name, doc, pos string
	}{
		{
			name: "trailing comma",
			doc: "{\n" +
				"  \"uid\": \"x\",\n" +
				"  \"title\": \"T\",\n" +
				"  \"panels\": [\n" +
				"    {\"type\": \"timeseries\", \"id\": 1,}\n" +
				"  ]\n" +
				"}\n",
			pos: fmt.Sprintf("5:%d", 1+strings.Index("    {\"type\": \"timeseries\", \"id\": 1,}", "}")),
		},
		{
			name: "missing comma between fields",
			doc:  "{\n  \"uid\": \"x\"\n  \"title\": \"T\"\n}\n",
			pos:  "3:3",
		},
		{
			name: "truncated file",
			doc:  "{\n  \"uid\": \"x\",\n  \"title\": \"T\"\n",
			pos:  "3:15",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "broken.json", []byte(tc.doc))
			got := CheckFile(path, ProvisionedDatasources())
			if len(got) != 1 || got[0].Position != tc.pos || !strings.Contains(got[0].Message, "invalid JSON") {
				t.Fatalf("want 1 invalid-JSON finding at %s, got:\n%s", tc.pos, list(got))
			}
		})
	}
}

func TestCheckDirFindsDuplicateUID(t *testing.T) {
	dir := t.TempDir()
	doc := fixture(t)
	writeFile(t, dir, "a.json", doc)
	second := writeFile(t, dir, "b.json", doc)
	writeFile(t, dir, "notes.txt", []byte("not a dashboard"))

	got := CheckDir(dir, ProvisionedDatasources())
	if len(got) != 1 {
		t.Fatalf("want exactly 1 finding, got %d:\n%s", len(got), list(got))
	}
	f := got[0]
	if f.File != second || f.Position != "uid" || !strings.Contains(f.Message, `uid "fixture" is also used by `+filepath.Join(dir, "a.json")) {
		t.Errorf("got %s", f)
	}

	// The same two files with their own uids are fine.
	writeFile(t, dir, "b.json", mutate(t, doc, map[string]any{"uid": "fixture-2"}))
	if got := CheckDir(dir, ProvisionedDatasources()); len(got) != 0 {
		t.Errorf("distinct uids: want no finding, got:\n%s", list(got))
	}
}

func TestCheckDirMissingFolder(t *testing.T) {
	got := CheckDir(filepath.Join(t.TempDir(), "nope"), ProvisionedDatasources())
	if len(got) != 1 || got[0].Severity != finding.Error {
		t.Fatalf("want 1 error for a missing folder, got:\n%s", list(got))
	}
}

func TestCheckFileAllowedUIDsComeFromTheCaller(t *testing.T) {
	path := writeFile(t, t.TempDir(), "dash.json", fixture(t))
	got := CheckFile(path, map[string]string{PrometheusUID: PrometheusType})
	// Both Loki references (the logs panel and the service variable) are
	// unknown to a caller that provisions only Prometheus.
	var positions []string
	for _, f := range got {
		positions = append(positions, f.Position)
	}
	want := "panels[3].datasource.uid,panels[3].targets[0].datasource.uid,templating.list[1].datasource.uid"
	if strings.Join(positions, ",") != want {
		t.Errorf("positions %v, want %s\n%s", positions, want, list(got))
	}
}

func list(l finding.List) string {
	var b strings.Builder
	for _, f := range l {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}
