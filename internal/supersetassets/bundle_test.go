package supersetassets

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata"
)

// files renders the bundle, failing the test on an error.
func files(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// decode parses one YAML file of the bundle.
func decode(t *testing.T, path string, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if v == nil {
		t.Fatalf("%s: empty", path)
	}
	return v
}

// ofKind decodes the bundle's files under dir ("charts/", ...), by path.
func ofKind(t *testing.T, fs map[string][]byte, dir string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for p, b := range fs {
		if strings.HasPrefix(p, dir) {
			out[p] = decode(t, p, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the bundle has no file under %s", dir)
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// viaJSON is v after a JSON round trip: the form both sides of a
// comparison are brought to.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFilesDeterministic(t *testing.T) {
	a, b := files(t), files(t)
	if !reflect.DeepEqual(a, b) {
		for _, p := range slices.Sorted(maps.Keys(a)) {
			if !bytes.Equal(a[p], b[p]) {
				t.Errorf("%s differs between two calls of Files", p)
			}
		}
		t.Fatalf("Files is not deterministic: %d then %d files", len(a), len(b))
	}
	for _, want := range []string{"metadata.yaml", DatabaseFile} {
		if _, ok := a[want]; !ok {
			t.Errorf("the bundle lacks %s", want)
		}
	}
}

// Every reference between the bundle's files resolves, and each chart's
// query asks its own dataset for metrics it defines, with the chart's
// params as its form data.
func TestReferences(t *testing.T) {
	fs := files(t)
	datasetFiles := ofKind(t, fs, "datasets/"+DatabaseName+"/")
	chartFiles := ofKind(t, fs, "charts/")
	dashboardFiles := ofKind(t, fs, "dashboards/")
	db := decode(t, DatabaseFile, fs[DatabaseFile])

	metricsOf := map[string][]string{} // dataset uuid → metric names
	for _, p := range slices.Sorted(maps.Keys(datasetFiles)) {
		d := datasetFiles[p]
		u := str(d["uuid"])
		if u == "" {
			t.Errorf("%s has no uuid", p)
			continue
		}
		if _, dup := metricsOf[u]; dup {
			t.Errorf("%s: uuid %s is another dataset's", p, u)
		}
		if got := str(d["database_uuid"]); got != str(db["uuid"]) {
			t.Errorf("%s: database_uuid %q, the database file's uuid is %q", p, got, db["uuid"])
		}
		names := []string{}
		ms, _ := d["metrics"].([]any)
		for _, m := range ms {
			names = append(names, str(m.(map[string]any)["metric_name"]))
		}
		metricsOf[u] = names
	}

	chartUUIDs := map[string]string{} // uuid → path
	for _, p := range slices.Sorted(maps.Keys(chartFiles)) {
		c := chartFiles[p]
		u := str(c["uuid"])
		if u == "" {
			t.Errorf("%s has no uuid", p)
		}
		if other, dup := chartUUIDs[u]; dup {
			t.Errorf("%s: uuid %s is also %s's", p, u, other)
		}
		chartUUIDs[u] = p

		dsUUID := str(c["dataset_uuid"])
		metrics, ok := metricsOf[dsUUID]
		if !ok {
			t.Errorf("%s: dataset_uuid %q is no dataset file's uuid", p, dsUUID)
			continue
		}

		raw, ok := c["query_context"].(string)
		if !ok {
			t.Errorf("%s: query_context is not a string", p)
			continue
		}
		var qc map[string]any
		if err := json.Unmarshal([]byte(raw), &qc); err != nil {
			t.Errorf("%s: query_context is not JSON: %v", p, err)
			continue
		}
		queries, _ := qc["queries"].([]any)
		if len(queries) == 0 {
			t.Errorf("%s: query_context has no queries", p)
		}
		for i, q := range queries {
			qm, _ := q.(map[string]any)["metrics"].([]any)
			if len(qm) == 0 {
				t.Errorf("%s: query %d has no metrics", p, i)
			}
			for _, m := range qm {
				name, ok := m.(string)
				if !ok || !slices.Contains(metrics, name) {
					t.Errorf("%s: query %d asks for metric %v, not one of its dataset's %v", p, i, m, metrics)
				}
			}
		}
		params, ok := c["params"].(map[string]any)
		if !ok {
			t.Errorf("%s: params is not a mapping", p)
			continue
		}
		if got, want := viaJSON(t, qc["form_data"]), viaJSON(t, params); !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			t.Errorf("%s: query_context's form_data differs from params:\nform_data %s\nparams    %s", p, gb, wb)
		}
	}

	placed := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(dashboardFiles)) {
		pos, ok := dashboardFiles[p]["position"].(map[string]any)
		if !ok {
			t.Errorf("%s has no position", p)
			continue
		}
		n := 0
		for _, k := range slices.Sorted(maps.Keys(pos)) {
			if !strings.HasPrefix(k, "CHART-") {
				continue
			}
			n++
			meta, _ := pos[k].(map[string]any)["meta"].(map[string]any)
			u := str(meta["uuid"])
			if _, ok := chartUUIDs[u]; !ok {
				t.Errorf("%s: %s has uuid %q, no chart file's", p, k, u)
			}
			placed[u] = true
		}
		if n == 0 {
			t.Errorf("%s places no chart", p)
		}
	}
	for u, p := range chartUUIDs {
		if !placed[u] {
			t.Errorf("%s is on no dashboard", p)
		}
	}
}

// envValue is the value of key in an env file, "" when absent or empty.
func envValue(t *testing.T, path, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.TrimSpace(strings.TrimPrefix(k, "export ")) == key {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

func TestNoPassword(t *testing.T) {
	fs := files(t)
	db := decode(t, DatabaseFile, fs[DatabaseFile])
	raw := str(db["sqlalchemy_uri"])
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("sqlalchemy_uri %q: %v", raw, err)
	}
	if pw, ok := u.User.Password(); !ok || pw != PasswordMask {
		t.Errorf("sqlalchemy_uri %q: password %q (set %v), want exactly the mask %q", raw, pw, ok, PasswordMask)
	}
	secret := envValue(t, filepath.Join("..", "..", ".env.example"), "TIMESCALEDB_PASSWORD")
	if secret == "" {
		t.Log(".env.example's TIMESCALEDB_PASSWORD is empty: only the mask is checked")
		return
	}
	for _, p := range slices.Sorted(maps.Keys(fs)) {
		if bytes.Contains(fs[p], []byte(secret)) {
			t.Errorf("%s contains .env.example's TIMESCALEDB_PASSWORD", p)
		}
	}
}

func diff(t *testing.T, dir string) []string {
	t.Helper()
	d, err := Diff(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func write(t *testing.T, dir string) {
	t.Helper()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
}

func TestWriteThenDiff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "assets")
	if d := diff(t, dir); len(d) != len(files(t)) {
		t.Errorf("Diff of a missing folder names %d files, want all %d: %v", len(d), len(files(t)), d)
	}
	write(t, dir)
	if d := diff(t, dir); len(d) != 0 {
		t.Fatalf("Diff right after Write: %v", d)
	}

	chart := "charts/market_trades.yaml"
	full := filepath.Join(dir, chart)
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, bytes.Replace(b, []byte("slice_name: "), []byte("slice_name: edited "), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := diff(t, dir); !slices.Equal(d, []string{chart}) {
		t.Errorf("Diff after editing %s: %v", chart, d)
	}
	write(t, dir)
	if d := diff(t, dir); len(d) != 0 {
		t.Errorf("Diff after Write repaired the edit: %v", d)
	}

	stray := "charts/old.yaml"
	if err := os.WriteFile(filepath.Join(dir, stray), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := diff(t, dir); !slices.Equal(d, []string{stray}) {
		t.Errorf("Diff with a stray %s: %v", stray, d)
	}
	write(t, dir)
	if _, err := os.Stat(filepath.Join(dir, stray)); !os.IsNotExist(err) {
		t.Errorf("a second Write left %s (stat: %v)", stray, err)
	}
	if d := diff(t, dir); len(d) != 0 {
		t.Errorf("Diff after the second Write: %v", d)
	}
}

func TestDatasetColumnsAreTheContract(t *testing.T) {
	fs := files(t)
	datasetFiles := ofKind(t, fs, "datasets/"+DatabaseName+"/")
	if len(datasetFiles) != len(datasets) {
		t.Errorf("%d dataset files for %d datasets", len(datasetFiles), len(datasets))
	}
	seen := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(datasetFiles)) {
		d := datasetFiles[p]
		table := str(d["schema"]) + "." + str(d["table_name"])
		seen[table] = true
		want, ok := hftdata.Tables[table]
		if !ok {
			t.Errorf("%s: %s is no table of hftdata.Tables", p, table)
			continue
		}
		if got := str(d["uuid"]); got != DatasetUUID(table) {
			t.Errorf("%s: uuid %s, DatasetUUID(%s) is %s", p, got, table, DatasetUUID(table))
		}
		cols, _ := d["columns"].([]any)
		var got []string
		for _, c := range cols {
			c := c.(map[string]any)
			name := str(c["column_name"])
			got = append(got, name)
			if typ := str(c["type"]); typ != ColumnType(name) {
				t.Errorf("%s: column %s has type %q, ColumnType says %q", p, name, typ, ColumnType(name))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: columns %v, hftdata.Tables[%s] is %v", p, got, table, want)
		}
	}
	for _, d := range datasets {
		if !seen[d.Table] {
			t.Errorf("dataset %s has no file", d.Table)
		}
	}
}

// chartYAML refuses a chart naming a metric its dataset does not define.
func TestChartWithUnknownMetric(t *testing.T) {
	c := dashboards[0].Rows[0][0]
	ds, ok := datasetOf(c.Table)
	if !ok {
		t.Fatalf("chart %s: no dataset %s", c.Key, c.Table)
	}
	if _, err := chartYAML(c, ds); err != nil {
		t.Fatalf("the chart as specified: %v", err)
	}
	broken := c
	broken.Metrics = append(append([]string{}, c.Metrics...), "no_such_metric")
	_, err := chartYAML(broken, ds)
	if err == nil {
		t.Fatalf("chart %s with metric no_such_metric, not on %s: no error", c.Key, ds.Table)
	}
	if !strings.Contains(err.Error(), "no_such_metric") {
		t.Errorf("the error does not name the metric: %v", err)
	}
	if !slices.Equal(dashboards[0].Rows[0][0].Metrics, c.Metrics) {
		t.Error("the test changed the spec's chart")
	}
}
