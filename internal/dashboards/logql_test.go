package dashboards

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func TestLogQLLiterals(t *testing.T) {
	got, err := LogQLLiterals("{a=\"x\\\"y\"} |~ `\\d+\"` != \"\\\\d\"")
	if err != nil {
		t.Fatal(err)
	}
	want := []Literal{{Start: 3, End: 9, Value: `x"y`}, {Start: 14, End: 20, Raw: true, Value: `\d+"`}, {Start: 24, End: 29, Value: `\d`}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("literal %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{`{a="x"} |= "y`, "{a=\"x\"} |~ `y", `{a="x"} |~ "\d+"`, `{a="x"} |~ "level=\w+"`} {
		if _, err := LogQLLiterals(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// lokiQueries lists the Loki queries of every registered dashboard, as the
// JSON Grafana reads holds them.
func lokiQueries(t *testing.T) map[string]string {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range all {
		var walk func([]panelJSON)
		walk = func(ps []panelJSON) {
			for _, p := range ps {
				for _, q := range p.Targets {
					if q.Datasource.Type == LokiType {
						out[*d.Uid+": "+p.Title+" ["+q.RefID+"]"] = q.Expr
					}
				}
				walk(p.Panels)
			}
		}
		walk(renderedPanels(t, d))
	}
	return out
}

// substitute interpolates a query the way Grafana does for a text box:
// the value as typed, nothing escaped.
func substitute(expr, search string) string {
	return ExpandVariables(expr, func(name string) string {
		switch name {
		case "search":
			return search
		case "__auto", "__interval", "__range":
			return "1m"
		}
		return ".+" // the All value of the Loki multi-value variables
	})
}

// Every Loki query of every dashboard stays valid LogQL whatever is typed
// in the Search box (but a backtick): the value can only land inside a raw
// string, and after interpolation that string holds the value exactly.
func TestSearchLandsInARawString(t *testing.T) {
	queries := lokiQueries(t)
	withSearch := 0
	for name, expr := range queries {
		uses := 0
		for _, u := range LogQLVariables(expr) {
			if u.Name != "search" {
				continue
			}
			uses++
			if u.Place != InRawString {
				t.Errorf("%s: $search stands outside a backtick string: %s", name, expr)
			}
		}
		if uses == 0 {
			continue
		}
		withSearch++
		plain, err := LogQLLiterals(substitute(expr, "x"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, typed := range []string{`\d+`, `say "hi"`, `a|b`, `level=\w+`, `\bstarted\b`, `"`, `\`, ``} {
			lits, err := LogQLLiterals(substitute(expr, typed))
			if err != nil {
				t.Errorf("%s with search %q: %v", name, typed, err)
				continue
			}
			if len(lits) != len(plain) {
				t.Errorf("%s with search %q: %d string literals, want %d: the value changed the query's structure", name, typed, len(lits), len(plain))
				continue
			}
			found := 0
			for _, l := range lits {
				if l.Raw && l.Value == "(?i)"+typed {
					found++
				}
			}
			if found != uses {
				t.Errorf("%s with search %q: %d raw strings hold (?i)%s exactly, want %d; literals %+v", name, typed, found, typed, uses, lits)
			}
		}
	}
	if withSearch < 3 {
		t.Errorf("%d Loki queries use $search, want the volume and both line panels", withSearch)
	}
	// The same test fails on the filter as it was: a double-quoted string.
	old := `{compose_project=~"$project"} |~ "(?i)$search"`
	if _, err := LogQLLiterals(substitute(old, `\d+`)); err == nil {
		t.Error(`|~ "(?i)$search" with \d+ gave no error`)
	}
	if lits, err := LogQLLiterals(substitute(old, `say "hi"`)); err == nil && len(lits) == 2 && lits[1].Value == `(?i)say "hi"` {
		t.Error(`|~ "(?i)$search" with say "hi" kept its structure`)
	}
}

// CheckFile refuses a text-box variable in a double-quoted LogQL string or
// outside any string, and accepts it in a backtick string.
func TestCheckFileTextBoxInLogQL(t *testing.T) {
	build := func(filter string) []byte {
		d, err := dashboard.NewDashboardBuilder("T").Uid("t").
			WithVariable(dashboard.NewTextBoxVariableBuilder("q")).
			WithPanel(newLogs().Title("L").WithTarget(lokiLogs("A", `{compose_service="x"} `+filter))).
			Build()
		if err != nil {
			t.Fatal(err)
		}
		b, err := Render(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for filter, bad := range map[string]bool{
		"|~ `(?i)$q`":      false,
		`|~ "(?i)$q"`:      true,
		`|~ "(?i)${q}"`:    true,
		`|= "x" $q`:        true,
		"|~ `a` |= \"$x\"": false, // not a text box
	} {
		got := CheckFile(writeFile(t, t.TempDir(), "d.json", build(filter)), ProvisionedDatasources())
		if bad != (len(got) == 1) || (bad && !strings.Contains(got[0].Message, "text-box variable $q")) {
			t.Errorf("%s: got %v, want a finding: %v", filter, got, bad)
		}
	}
}
