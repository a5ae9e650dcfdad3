package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// CheckName is the check name of every finding of CheckFile and CheckDir.
const CheckName = "grafana-dashboard"

// Grafana's built-in pseudo datasources; they are not provisioned and are
// always allowed.
const (
	mixedUID = "-- Mixed --"
)

var builtinDatasources = map[string]bool{
	"-- Grafana --":   true,
	"-- Mixed --":     true,
	"-- Dashboard --": true,
	"grafana":         true,
}

// Grafana refuses uids longer than 40 characters or with other characters.
var validUID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// The SDK decodes each query into its plugin's Go type (prometheus.Dataquery,
// loki.Dataquery...) only once the plugins are registered.
var registerPlugins = sync.OnceFunc(plugins.RegisterDefaultPlugins)

// CheckDir checks every *.json file under dir (recursively, as Grafana's
// file provider with foldersFromFilesStructure reads it) with CheckFile, and
// that no two dashboards share a uid: Grafana keeps only one of them.
func CheckDir(dir string, allowedUIDs map[string]string) finding.List {
	var l finding.List
	paths, err := JSONFiles(dir)
	if err != nil {
		l.Errorf(CheckName, dir, "", "create the folder, or point the dashboard provider at the right one",
			"cannot read the dashboards folder: %v", err)
		return l
	}
	firstUse := map[string]string{}
	for _, path := range paths {
		uid, fl := checkFile(path, allowedUIDs)
		l = append(l, fl...)
		if uid == "" {
			continue
		}
		if other, dup := firstUse[uid]; dup {
			l.Errorf(CheckName, path, "uid", "give each dashboard its own uid",
				"dashboard uid %q is also used by %s; Grafana would load only one of them", uid, other)
			continue
		}
		firstUse[uid] = path
	}
	return l
}

// CheckFile checks one dashboard JSON file offline: it must decode into the
// SDK's dashboard.Dashboard, have a valid uid, unique panel ids, and every
// panel, query, variable and annotation must reference a datasource of
// allowedUIDs (uid → plugin type) by uid, with the matching type. Prometheus
// queries must parse as PromQL (Grafana variables replaced by placeholders),
// and Loki queries must start with a stream selector.
func CheckFile(path string, allowedUIDs map[string]string) finding.List {
	_, l := checkFile(path, allowedUIDs)
	return l
}

func checkFile(path string, allowed map[string]string) (string, finding.List) {
	var l finding.List
	data, err := os.ReadFile(path)
	if err != nil {
		l.Errorf(CheckName, path, "", "", "cannot read dashboard: %v", err)
		return "", l
	}
	c := &checker{file: path, allowed: allowed}
	uid := c.check(data)
	return uid, c.l
}

type checker struct {
	file      string
	allowed   map[string]string
	textBoxes map[string]bool // names of the dashboard's text-box variables
	l         finding.List
}

func (c *checker) errorf(pos, fix, format string, args ...any) {
	c.l.Errorf(CheckName, c.file, pos, fix, format, args...)
}

func (c *checker) warnf(pos, fix, format string, args ...any) {
	c.l.Warnf(CheckName, c.file, pos, fix, format, args...)
}

// check validates the dashboard in data and returns its uid ("" when it has
// none or could not be decoded).
func (c *checker) check(data []byte) string {
	var syntax any
	if err := json.Unmarshal(data, &syntax); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			c.errorf(lineCol(data, se.Offset, true), "fix the JSON syntax", "invalid JSON: %v", se)
		} else {
			c.errorf("", "fix the JSON syntax", "invalid JSON: %v", err)
		}
		return ""
	}
	if _, ok := syntax.(map[string]any); !ok {
		c.errorf("1:1", "a dashboard file holds one JSON object", "not a dashboard: the JSON is not an object")
		return ""
	}

	registerPlugins()
	var d dashboard.Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		pos, msg := locateDecodeError(data, err)
		c.errorf(pos, "give the field the type Grafana's dashboard schema expects", "does not decode as a Grafana dashboard: %s", msg)
		return ""
	}
	// The SDK decodes a query into the Go type its panel's datasource type
	// hints at; for a "-- Mixed --" panel that type ("datasource") has no
	// expr and drops it. Queries are therefore read from the raw JSON, in
	// the same order as the SDK's panels.
	var raw rawDashboard
	if err := json.Unmarshal(data, &raw); err != nil {
		c.errorf("", "", "cannot read panels: %v", err)
		return ""
	}

	uid := deref(d.Uid)
	switch {
	case uid == "":
		c.errorf("uid", "set a uid: up to 40 letters, digits, - or _", "dashboard has no uid; Grafana would invent one on every load, breaking links")
	case !validUID.MatchString(uid):
		c.errorf("uid", "use up to 40 letters, digits, - or _", "dashboard uid %q is not a valid Grafana uid", uid)
	}
	if strings.TrimSpace(deref(d.Title)) == "" {
		c.errorf("title", "set a title", "dashboard has no title; Grafana refuses to provision it")
	}

	c.textBoxes = map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type == dashboard.VariableTypeTextbox {
			c.textBoxes[v.Name] = true
		}
	}

	ids := map[uint32]string{}
	seeID := func(id uint32, key string) {
		if other, dup := ids[id]; dup {
			c.errorf(key+".id", "give every panel its own id", "panel id %d is also used by %s", id, other)
			return
		}
		ids[id] = key
	}
	for i, p := range d.Panels {
		key := fmt.Sprintf("panels[%d]", i)
		var rp rawPanel
		if i < len(raw.Panels) {
			rp = raw.Panels[i]
		}
		switch {
		case p.RowPanel != nil:
			row := p.RowPanel
			if row.Id != 0 {
				seeID(row.Id, key)
			}
			if row.Datasource != nil {
				c.ref(key+".datasource", row.Datasource)
			}
			for j := range row.Panels {
				nested := fmt.Sprintf("%s.panels[%d]", key, j)
				if row.Panels[j].Id != nil {
					seeID(*row.Panels[j].Id, nested)
				}
				var rq []json.RawMessage
				if j < len(rp.Panels) {
					rq = rp.Panels[j].Targets
				}
				c.panel(nested, &row.Panels[j], rq)
			}
		case p.Panel != nil:
			if p.Panel.Id != nil {
				seeID(*p.Panel.Id, key)
			}
			c.panel(key, p.Panel, rp.Targets)
		default:
			c.errorf(key, "give the panel a type", "panel has no type")
		}
	}

	for i, v := range d.Templating.List {
		if v.Datasource != nil {
			c.ref(fmt.Sprintf("templating.list[%d].datasource", i), v.Datasource)
		} else if v.Type == "query" {
			c.errorf(fmt.Sprintf("templating.list[%d].datasource", i), "set the variable's datasource by uid",
				"query variable %s names no datasource; Grafana runs its query against the default datasource", v.Name)
		}
	}
	for i, a := range d.Annotations.List {
		if a.Datasource != nil {
			c.ref(fmt.Sprintf("annotations.list[%d].datasource", i), a.Datasource)
		}
	}
	return uid
}

// resolved is a datasource reference that CheckFile could resolve.
type resolved struct {
	uid, typ string
	mixed    bool
}

// ref checks one datasource reference at pos and resolves it. ok is false
// when the reference names nothing usable (already reported).
func (c *checker) ref(pos string, r *common.DataSourceRef) (res resolved, ok bool) {
	uid, typ := deref(r.Uid), deref(r.Type)
	if uid == "" {
		c.errorf(pos+".uid", "reference the datasource by uid: "+c.knownUIDs(),
			"datasource is not referenced by uid")
		return res, false
	}
	if builtinDatasources[uid] {
		return resolved{uid: uid, typ: typ, mixed: uid == mixedUID}, true
	}
	want, known := c.allowed[uid]
	if !known {
		c.errorf(pos+".uid", "use a provisioned datasource uid: "+c.knownUIDs(),
			"datasource uid %q is not provisioned", uid)
		return res, false
	}
	switch {
	case typ == "":
		c.warnf(pos+".type", fmt.Sprintf("add \"type\": %q", want),
			"datasource %q is referenced without its type", uid)
	case typ != want:
		c.errorf(pos+".type", fmt.Sprintf("set \"type\": %q", want),
			"datasource %q is of type %q but is referenced with type %q", uid, want, typ)
		return res, false
	}
	return resolved{uid: uid, typ: want}, true
}

func (c *checker) knownUIDs() string {
	var parts []string
	for _, uid := range slices.Sorted(maps.Keys(c.allowed)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", uid, c.allowed[uid]))
	}
	if len(parts) == 0 {
		return "none is provisioned"
	}
	return strings.Join(parts, ", ")
}

type rawDashboard struct {
	Panels []rawPanel `json:"panels"`
}

type rawPanel struct {
	Panels  []rawPanel        `json:"panels"`
	Targets []json.RawMessage `json:"targets"`
}

// panel checks one panel (top level or inside a row) and its queries, given
// as raw JSON.
func (c *checker) panel(key string, p *dashboard.Panel, targets []json.RawMessage) {
	var panelDS resolved
	panelOK := false
	if p.Datasource != nil {
		panelDS, panelOK = c.ref(key+".datasource", p.Datasource)
	} else if len(targets) > 0 {
		c.errorf(key+".datasource", "set the panel's datasource by uid: "+c.knownUIDs(),
			"panel %q has queries but names no datasource (Grafana would use whatever is the default)", deref(p.Title))
	}

	for j, t := range targets {
		tkey := fmt.Sprintf("%s.targets[%d]", key, j)
		var q query
		if err := json.Unmarshal(t, &q); err != nil {
			c.errorf(tkey, "", "cannot read query: %v", err)
			continue
		}
		var ds resolved
		switch {
		case q.Datasource != nil:
			var ok bool
			if ds, ok = c.ref(tkey+".datasource", q.Datasource); !ok {
				continue
			}
			if panelOK && !panelDS.mixed && !ds.mixed && ds.uid != panelDS.uid {
				c.errorf(tkey+".datasource.uid",
					fmt.Sprintf("use the panel's datasource %q, or set the panel's datasource to %q", panelDS.uid, mixedUID),
					"query uses datasource %q but its panel uses %q; Grafana runs it against the panel's", ds.uid, panelDS.uid)
				continue
			}
		case panelOK && !panelDS.mixed:
			ds = panelDS
		case panelOK && panelDS.mixed:
			c.errorf(tkey+".datasource", "set the query's datasource by uid",
				"query of a %q panel names no datasource", mixedUID)
			continue
		default:
			continue // the panel's missing or bad datasource is already reported
		}
		switch ds.typ {
		case PrometheusType:
			c.promQL(tkey+".expr", q.Expr)
		case LokiType:
			c.logQL(tkey+".expr", q.Expr)
		}
	}
}

// query holds the fields CheckFile reads from any query.
type query struct {
	Datasource *common.DataSourceRef `json:"datasource"`
	Expr       *string               `json:"expr"`
}

var promqlParser = parser.NewParser(parser.Options{})

func (c *checker) promQL(pos string, expr *string) {
	if expr == nil || strings.TrimSpace(*expr) == "" {
		c.errorf(pos, "write the PromQL expression", "Prometheus query has no expression")
		return
	}
	concrete := ReplaceGrafanaVariables(*expr)
	if _, err := promqlParser.ParseExpr(concrete); err != nil {
		msg := fmt.Sprintf("PromQL does not parse: %v", err)
		if concrete != *expr {
			msg += fmt.Sprintf(" (with Grafana variables replaced: %s)", concrete)
		}
		c.errorf(pos, "correct the expression (try it in Prometheus' query page)", "%s", msg)
	}
}

func (c *checker) logQL(pos string, expr *string) {
	e := ""
	if expr != nil {
		e = strings.TrimSpace(*expr)
	}
	switch {
	case e == "":
		c.errorf(pos, `write the LogQL query, e.g. {compose_service="loki"}`, "Loki query has no expression")
	case strings.HasPrefix(e, "{"):
	case isLogQLMetricQuery(e):
		// A metric query (sum(rate({...}[5m]))) wraps its stream selector.
	default:
		c.errorf(pos, `start the query with a stream selector, e.g. {compose_service="loki"} |= "error"`,
			"LogQL query does not start with a stream selector {...}: %q", e)
	}
	c.textBoxesInLogQL(pos, e)
}

// textBoxesInLogQL refuses a text-box variable anywhere but inside a
// backtick string. Grafana interpolates a text box's value as typed, with
// no escaping for LogQL: inside "..." a typed \d is Loki's "invalid char
// escape" and a typed " ends the string; outside a string any text
// becomes query syntax. A backtick string takes \ and " as typed.
func (c *checker) textBoxesInLogQL(pos, expr string) {
	for _, u := range LogQLVariables(expr) {
		if !c.textBoxes[u.Name] || u.Place == InRawString {
			continue
		}
		where := "inside a double-quoted string"
		if u.Place == OutsideString {
			where = "outside any string"
		}
		c.errorf(pos, "put it inside a backtick string, e.g. |~ `(?i)$"+u.Name+"` (a backtick string takes \\ and \" as typed)",
			"text-box variable $%s stands %s in this LogQL query; Grafana inserts what is typed unescaped, so \\d+ or a \" in the box breaks the query", u.Name, where)
	}
}

// A LogQL metric query starts with a function or aggregation name and holds a
// stream selector.
var logQLMetric = regexp.MustCompile(`^[a-z_]+[a-z0-9_]*\s*(\(|\s(by|without)\s*\()`)

func isLogQLMetricQuery(e string) bool {
	return logQLMetric.MatchString(e) && strings.Contains(e, "{")
}

// lineCol turns a byte offset reported by encoding/json into "line:col"
// (both from 1, col in characters). A SyntaxError's offset counts the bytes
// read up to and including the offending one, so atByte points at that byte;
// at the end of input it points just past the last byte.
func lineCol(data []byte, offset int64, atByte bool) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	end := int(offset)
	if atByte && end > 0 && end < len(data) {
		end-- // the offending byte itself
	} else if atByte && end > 0 && end == len(data) {
		// Unexpected end of input: point after the last character, unless
		// the input ends with a newline, which then closes the last line.
		for end > 0 && (data[end-1] == '\n' || data[end-1] == '\r') {
			end--
		}
	}
	before := data[:end]
	line := 1 + strings.Count(string(before), "\n")
	lineStart := strings.LastIndexByte(string(before), '\n') + 1
	col := 1 + utf8.RuneCount(before[lineStart:])
	return fmt.Sprintf("%d:%d", line, col)
}

// locateDecodeError finds where a decode error into dashboard.Dashboard
// comes from. The SDK's own UnmarshalJSON methods decode panels and queries
// from sub-slices, so encoding/json's offsets are not file offsets; instead
// each top-level field, panel and query is decoded on its own to name the
// key path of the culprit.
func locateDecodeError(data []byte, err error) (string, string) {
	msg := err.Error()
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return "", msg
	}
	for _, key := range slices.Sorted(maps.Keys(top)) {
		var d dashboard.Dashboard
		one, _ := json.Marshal(map[string]json.RawMessage{key: top[key]})
		ferr := json.Unmarshal(one, &d)
		if ferr == nil {
			continue
		}
		if key == "panels" {
			if pos, pmsg, found := locatePanelError(top[key], "panels"); found {
				return pos, pmsg
			}
		}
		return key, ferr.Error()
	}
	return "", msg
}

func locatePanelError(raw json.RawMessage, key string) (string, string, bool) {
	var panels []json.RawMessage
	if json.Unmarshal(raw, &panels) != nil {
		return "", "", false
	}
	for i, praw := range panels {
		pkey := fmt.Sprintf("%s[%d]", key, i)
		var p dashboard.PanelOrRowPanel
		err := json.Unmarshal(praw, &p)
		if err == nil {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(praw, &fields) == nil {
			if nested, ok := fields["panels"]; ok {
				if pos, msg, found := locatePanelError(nested, pkey+".panels"); found {
					return pos, msg, true
				}
			}
			for _, f := range slices.Sorted(maps.Keys(fields)) {
				var one dashboard.Panel
				b, _ := json.Marshal(map[string]json.RawMessage{"type": fields["type"], f: fields[f]})
				if ferr := json.Unmarshal(b, &one); ferr != nil {
					return pkey + "." + f, ferr.Error(), true
				}
			}
		}
		return pkey, err.Error(), true
	}
	return "", "", false
}

// CheckEditable refuses, for the dashboards (*.json) under dir that a file
// provider with allowUiUpdates false provisions, "editable": true (or no
// "editable", which Grafana reads as true): Grafana then lets a user edit
// the dashboard and refuses to save it ("Cannot save provisioned
// dashboard"), and the work is lost. providerFile names the provider's
// file in the message.
func CheckEditable(dir string, allowUIUpdates bool, providerFile string) finding.List {
	var l finding.List
	if allowUIUpdates {
		return l
	}
	paths, _ := JSONFiles(dir)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var d struct {
			Editable *bool `json:"editable"`
		}
		if json.Unmarshal(data, &d) != nil {
			continue // CheckDir reports it
		}
		if d.Editable == nil || *d.Editable {
			l.Errorf(CheckName, path, "editable",
				`set "editable": false (the dashboards are code: change internal/dashboards and run make dashboards), or allowUiUpdates: true in `+providerFile,
				"dashboard is editable but its provider in %s has allowUiUpdates: false, so Grafana lets users change it and then refuses to save", providerFile)
		}
	}
	return l
}

// JSONFiles lists the dashboard files under dir (every *.json, as the
// file provider reads them), sorted.
func JSONFiles(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	return paths, err
}
