package check

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/supersetassets"
	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
	"github.com/okx-hft/okx-hft-ops/pkg/hftdata"
)

const (
	supersetCheck = "superset-assets"
	supersetRegen = "regenerate the bundle from internal/supersetassets: go run ./cmd/dashgen"
)

// assetFile is one YAML file of Superset's asset bundle.
type assetFile struct {
	rel  string // repository-relative path
	doc  *yamlpos.Doc
	data map[string]any
}

func (a assetFile) line(p string) string { return a.doc.LineString(p) }

func (a assetFile) str(key string) string {
	s, _ := a.data[key].(string)
	return s
}

type assetDataset struct {
	assetFile
	table   string
	foreign bool // its table is not in the contract (reported once, on the dataset)
	columns map[string]bool
	metrics map[string]bool
}

// checkSupersetAssets validates the bundle superset-init imports into
// Superset: every chart's dataset exists, every dataset's table is a
// table or view of the data contract (pkg/hftdata), every column a
// dataset, metric or chart names is a column of that table, every chart
// of a dashboard is in the bundle, and the database connection carries no
// password. That the files are what the code generates is dashgen
// -check's job; this check also covers a file edited by hand.
func (r *Repo) checkSupersetAssets() {
	root := supersetassets.DefaultDir
	files, ok := r.readAssets(root)
	if !ok {
		return
	}
	meta, ok := files["metadata.yaml"]
	if !ok {
		r.f.Errorf(supersetCheck, root, "", supersetRegen, "the bundle has no metadata.yaml: Superset refuses to import it")
	} else if meta.str("type") != "assets" {
		r.f.Errorf(supersetCheck, meta.rel, meta.line("type"), `set type: assets (superset-init imports with ImportAssetsCommand)`, "type is %q, not \"assets\"", meta.str("type"))
	}
	databases := map[string]bool{}
	datasets := map[string]assetDataset{}
	charts := map[string]assetFile{}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		f := files[rel]
		kind, _, _ := strings.Cut(rel, "/")
		if kind == "metadata.yaml" {
			continue
		}
		id := f.str("uuid")
		if id == "" && kind != rel {
			r.f.Errorf(supersetCheck, f.rel, f.line("uuid"), supersetRegen, "no uuid: Superset's import matches objects by uuid")
			continue
		}
		switch kind {
		case "databases":
			databases[id] = true
			r.checkAssetDatabase(f)
		case "datasets":
			if d, ok := r.checkAssetDataset(f); ok {
				datasets[id] = d
			}
		case "charts":
			charts[id] = f
		case "dashboards":
		default:
			r.f.Errorf(supersetCheck, f.rel, "", "move it under databases/, datasets/, charts/ or dashboards/, or delete it", "not a kind of file the asset bundle holds")
		}
	}
	for _, id := range slices.Sorted(maps.Keys(datasets)) {
		d := datasets[id]
		if db := d.str("database_uuid"); !databases[db] {
			r.f.Errorf(supersetCheck, d.rel, d.line("database_uuid"), supersetRegen, "database_uuid %s is no database of the bundle", db)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(charts)) {
		r.checkAssetChart(charts[id], datasets)
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if strings.HasPrefix(rel, "dashboards/") {
			r.checkAssetDashboard(files[rel], charts)
		}
	}
}

// readAssets reads every .yaml file under root, keyed by its path inside
// the bundle.
func (r *Repo) readAssets(root string) (map[string]assetFile, bool) {
	dir := r.path(root)
	if _, err := os.Stat(dir); err != nil {
		r.f.Errorf(supersetCheck, root, "", supersetRegen+" (or restore it: git checkout -- "+root+")", "Superset's asset bundle is missing: %v", err)
		return nil, false
	}
	files := map[string]assetFile{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		inBundle, _ := filepath.Rel(dir, p)
		inBundle = filepath.ToSlash(inBundle)
		rel := path.Join(root, inBundle)
		data, err := os.ReadFile(p)
		if err != nil {
			r.f.Errorf(supersetCheck, rel, "", "restore the file from git", "cannot read: %v", err)
			return nil
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			r.f.Errorf(supersetCheck, rel, yamlErrLine(err), "fix the YAML, or "+supersetRegen, "%v", err)
			return nil
		}
		files[inBundle] = assetFile{rel: rel, doc: yamlpos.Parse(data), data: m}
		return nil
	})
	if err != nil {
		r.f.Errorf(supersetCheck, root, "", "make the folder readable", "cannot read the bundle: %v", err)
		return nil, false
	}
	return files, true
}

func (r *Repo) checkAssetDatabase(f assetFile) {
	raw := f.str("sqlalchemy_uri")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		r.f.Errorf(supersetCheck, f.rel, f.line("sqlalchemy_uri"), "write a SQLAlchemy URI: postgresql+psycopg2://user:"+supersetassets.PasswordMask+"@host:5432/db", "sqlalchemy_uri %q is not a URI", raw)
		return
	}
	if pw, set := u.User.Password(); set && pw != supersetassets.PasswordMask {
		r.f.Errorf(supersetCheck, f.rel, f.line("sqlalchemy_uri"), "replace the password with "+supersetassets.PasswordMask+": superset-init takes it from TIMESCALEDB_PASSWORD in .env", "sqlalchemy_uri holds a password: the bundle is committed to git")
	}
}

func (r *Repo) checkAssetDataset(f assetFile) (assetDataset, bool) {
	table := f.str("schema") + "." + f.str("table_name")
	contract, ok := hftdata.Tables[table]
	if !ok {
		r.f.Errorf(supersetCheck, f.rel, f.line("table_name"), "read a table or view of pkg/hftdata (hftdata.Tables), or add it to the data contract first", "dataset reads %s, which is not in the data contract", table)
		return assetDataset{assetFile: f, table: table, foreign: true}, true
	}
	known := map[string]bool{}
	for _, c := range contract {
		known[c] = true
	}
	d := assetDataset{assetFile: f, table: table, columns: map[string]bool{}, metrics: map[string]bool{}}
	cols, _ := f.data["columns"].([]any)
	for i, c := range cols {
		m, _ := c.(map[string]any)
		name, _ := m["column_name"].(string)
		if expr, _ := m["expression"].(string); expr != "" {
			r.checkAssetSQL(f, fmt.Sprintf("columns[%d].expression", i), expr, known, "column "+name)
		} else if !known[name] {
			r.f.Errorf(supersetCheck, f.rel, f.line(fmt.Sprintf("columns[%d].column_name", i)), "remove the column or name one of "+strings.Join(contract, ", "), "column %q is not a column of %s", name, table)
			continue
		}
		d.columns[name] = true
	}
	if dt := f.str("main_dttm_col"); dt != "" && !d.columns[dt] {
		r.f.Errorf(supersetCheck, f.rel, f.line("main_dttm_col"), "name a time column of the dataset", "main_dttm_col %q is not a column of the dataset", dt)
	}
	metrics, _ := f.data["metrics"].([]any)
	for i, x := range metrics {
		m, _ := x.(map[string]any)
		name, _ := m["metric_name"].(string)
		expr, _ := m["expression"].(string)
		d.metrics[name] = true
		r.checkAssetSQL(f, fmt.Sprintf("metrics[%d].expression", i), expr, d.columns, "metric "+name)
	}
	return d, true
}

var (
	sqlQuoted = regexp.MustCompile(`'(?:[^']|'')*'`)
	sqlCast   = regexp.MustCompile(`::\s*[A-Za-z_][A-Za-z0-9_ ]*`)
	sqlIdent  = regexp.MustCompile(`"[^"]+"|[A-Za-z_][A-Za-z0-9_]*(\s*\()?`)
	// sqlWords are the keywords and type names the expressions of a
	// dataset or chart use; anything else bare is a column.
	sqlWords = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields(`and or not in is null case when then else end filter where distinct
		order by asc desc as between like ilike true false over partition nulls first last
		interval float float8 int integer bigint numeric text date timestamp timestamptz double precision`) {
		sqlWords[w] = true
	}
}

// sqlColumns returns the bare identifiers of a SQL expression that are
// neither functions, keywords, nor type names: the columns it reads. A
// lexical scan, not a parse: the expressions here are single aggregates,
// and a full PostgreSQL parser (pg_query_go) would bring cgo and the
// PostgreSQL source into the build for what this reads.
func sqlColumns(expr string) []string {
	s := sqlQuoted.ReplaceAllString(expr, "''")
	s = sqlCast.ReplaceAllString(s, "")
	var out []string
	for _, m := range sqlIdent.FindAllStringSubmatch(s, -1) {
		tok := m[0]
		if m[1] != "" { // a function call
			continue
		}
		if strings.HasPrefix(tok, `"`) {
			out = append(out, strings.Trim(tok, `"`))
			continue
		}
		if !sqlWords[strings.ToLower(tok)] {
			out = append(out, tok)
		}
	}
	return out
}

func (r *Repo) checkAssetSQL(f assetFile, at, expr string, columns map[string]bool, what string) {
	for _, c := range sqlColumns(expr) {
		if !columns[c] {
			r.f.Errorf(supersetCheck, f.rel, f.line(at), "name a column of the dataset", "%s reads %q, which is not a column of the dataset", what, c)
		}
	}
}

func (r *Repo) checkAssetChart(f assetFile, datasets map[string]assetDataset) {
	ds, ok := datasets[f.str("dataset_uuid")]
	if !ok {
		r.f.Errorf(supersetCheck, f.rel, f.line("dataset_uuid"), supersetRegen, "dataset_uuid %s is no dataset of the bundle", f.str("dataset_uuid"))
		return
	}
	if ds.foreign {
		return
	}
	params, _ := f.data["params"].(map[string]any)
	name := f.str("slice_name")
	col := func(at, c string) {
		if !ds.columns[c] {
			r.f.Errorf(supersetCheck, f.rel, f.line(at), "name a column of "+ds.table, "chart %q uses column %q, which %s does not have", name, c, ds.table)
		}
	}
	met := func(at string, m any) {
		switch m := m.(type) {
		case string:
			if !ds.metrics[m] {
				r.f.Errorf(supersetCheck, f.rel, f.line(at), "name a metric of the dataset "+ds.rel, "chart %q uses metric %q, which %s does not define", name, m, ds.table)
			}
		case map[string]any: // an ad-hoc metric
			if sql, _ := m["sqlExpression"].(string); sql != "" {
				r.checkAssetSQL(f, at, sql, ds.columns, fmt.Sprintf("chart %q", name))
			} else if c, _ := m["column"].(map[string]any); c != nil {
				cn, _ := c["column_name"].(string)
				col(at, cn)
			}
		}
	}
	if x, ok := params["x_axis"].(string); ok {
		col("params.x_axis", x)
	}
	for _, key := range []string{"groupby", "all_columns", "columns"} {
		list, _ := params[key].([]any)
		for i, c := range list {
			if s, ok := c.(string); ok {
				col(fmt.Sprintf("params.%s[%d]", key, i), s)
			}
		}
	}
	if m, ok := params["metric"]; ok {
		met("params.metric", m)
	}
	metrics, _ := params["metrics"].([]any)
	for i, m := range metrics {
		met(fmt.Sprintf("params.metrics[%d]", i), m)
	}
	filters, _ := params["adhoc_filters"].([]any)
	for i, x := range filters {
		m, _ := x.(map[string]any)
		at := fmt.Sprintf("params.adhoc_filters[%d]", i)
		if s, _ := m["subject"].(string); s != "" {
			col(at, s)
		}
		if sql, _ := m["sqlExpression"].(string); sql != "" {
			r.checkAssetSQL(f, at, sql, ds.columns, fmt.Sprintf("chart %q's filter", name))
		}
	}
	sql := func(at, expr string) { r.checkAssetSQL(f, at, expr, ds.columns, fmt.Sprintf("chart %q", name)) }
	r.checkAssetQueryContext(f, name, col, met, sql)
}

// checkAssetQueryContext checks the query a chart runs outside its
// explore view (the chart-data API, reports): its columns, metrics and
// filters, as the params above.
func (r *Repo) checkAssetQueryContext(f assetFile, name string, col func(at, c string), met func(at string, m any), sql func(at, expr string)) {
	raw := f.str("query_context")
	if raw == "" {
		r.f.Errorf(supersetCheck, f.rel, f.line("query_context"), supersetRegen, "chart %q has no query_context: Superset's chart-data API answers it with an error", name)
		return
	}
	var qc struct {
		Queries []struct {
			Columns []any `json:"columns"`
			Metrics []any `json:"metrics"`
			Filters []struct {
				Col any `json:"col"`
			} `json:"filters"`
		} `json:"queries"`
	}
	if err := json.Unmarshal([]byte(raw), &qc); err != nil {
		r.f.Errorf(supersetCheck, f.rel, f.line("query_context"), supersetRegen, "chart %q: query_context is not JSON: %v", name, err)
		return
	}
	for _, q := range qc.Queries {
		for _, c := range q.Columns {
			switch c := c.(type) {
			case string:
				col("query_context", c)
			case map[string]any:
				if expr, _ := c["sqlExpression"].(string); expr != "" {
					sql("query_context", expr)
				}
			}
		}
		for _, m := range q.Metrics {
			met("query_context", m)
		}
		for _, fl := range q.Filters {
			if s, ok := fl.Col.(string); ok {
				col("query_context", s)
			}
		}
	}
}

func (r *Repo) checkAssetDashboard(f assetFile, charts map[string]assetFile) {
	pos, _ := f.data["position"].(map[string]any)
	for _, key := range slices.Sorted(maps.Keys(pos)) {
		node, _ := pos[key].(map[string]any)
		if node["type"] != "CHART" {
			continue
		}
		meta, _ := node["meta"].(map[string]any)
		id, _ := meta["uuid"].(string)
		if _, ok := charts[id]; !ok {
			r.f.Errorf(supersetCheck, f.rel, f.line("position."+key+".meta.uuid"), supersetRegen, "dashboard %q places chart %s (%v), which is not in the bundle", f.str("dashboard_title"), id, meta["sliceName"])
		}
	}
}
