// Package docs checks that the documents under docs/ name only things that
// exist: a renamed alert, panel, test or runbook section fails here.
package docs

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/repotree"
	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	quoted     = regexp.MustCompile(`"([^"]+)"`)
	link       = regexp.MustCompile(`\]\(\.\./(runbooks/[a-z-]+\.md)#([a-z0-9-]+)\)`)
	testName   = regexp.MustCompile(`(?m)^  - name: (.+)$`)
	scenario   = regexp.MustCompile(`(?m)^\tsc[A-Za-z]+ += "([a-z-]+)"$`)
)

func TestFailureModes(t *testing.T) {
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// What exists: alerts and every series name the rules and dashboards
	// read, panels by "uid: title", test names, runbook headings, scenarios.
	alerts := map[string]bool{}
	series := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	addSeries := func(expr string) {
		e, err := p.ParseExpr(dashboards.ReplaceGrafanaVariables(expr))
		if err != nil {
			return
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				series[vs.Name] = true
			}
			return nil
		})
	}
	ruleFiles, _ := filepath.Glob(filepath.Join(root, "prometheus", "rules", "*.yml"))
	for _, f := range ruleFiles {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				alerts[r.Alert] = r.Alert != ""
				series[r.Record] = r.Record != ""
				addSeries(r.Expr)
			}
		}
	}
	panels := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(root, dashboards.DefaultDir, "*.json"))
	for _, f := range files {
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title string `json:"title"`
			} `json:"panels"`
		}
		data, _ := os.ReadFile(f)
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			panels[d.UID+": "+p.Title] = true
		}
	}
	qs, err := dashboards.PrometheusQueries(filepath.Join(root, dashboards.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		addSeries(q.Expr)
	}
	var tests []string
	for _, f := range []string{"prometheus/tests/trading.test.yml", "prometheus/tests/ops-node.test.yml", "prometheus/tests/airflow.test.yml"} {
		for _, m := range testName.FindAllStringSubmatch(read(f), -1) {
			tests = append(tests, strings.TrimSpace(m[1]))
		}
	}
	var scenarios []string
	for _, m := range scenario.FindAllStringSubmatch(read("cmd/hftsim/scenario.go"), -1) {
		scenarios = append(scenarios, m[1])
	}
	if len(scenarios) < 13 {
		t.Fatalf("found %d hftsim scenarios in cmd/hftsim/scenario.go; the pattern is stale", len(scenarios))
	}

	doc := read("docs/failure-modes.md")
	mentioned := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) != 8 || !regexp.MustCompile(`^\| [0-9]+$`).MatchString(cells[0]) {
			continue
		}
		rows++
		mode := strings.TrimPrefix(cells[0], "| ") + " " + cells[1]
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			name := m[1]
			if _, ok := hftmetrics.Lookup(name); !ok && !series[name] {
				t.Errorf("%s: metric %s is neither in the contract nor read by a rule or panel", mode, name)
			}
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[3], -1) {
			if !panels[m[1]] {
				t.Errorf("%s: no panel %q", mode, m[1])
			}
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[4], -1) {
			if strings.Contains(m[1], "_") || m[1] == "cause" {
				continue // a label or variable, not an alert
			}
			if !alerts[m[1]] {
				t.Errorf("%s: no alert %s", mode, m[1])
			}
			mentioned[m[1]] = true
		}
		for _, m := range quoted.FindAllStringSubmatch(cells[5], -1) {
			if !slices.Contains(tests, m[1]) {
				t.Errorf("%s: no promtool test named %q", mode, m[1])
			}
		}
		for _, m := range link.FindAllStringSubmatch(cells[6], -1) {
			found := false
			for _, h := range strings.Split(read(m[1]), "\n") {
				if name, ok := strings.CutPrefix(h, "## "); ok && strings.ToLower(name) == m[2] {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %s has no section #%s", mode, m[1], m[2])
			}
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[7], -1) {
			if !slices.Contains(scenarios, m[1]) {
				t.Errorf("%s: hftsim has no scenario %s", mode, m[1])
			}
		}
	}
	if rows != 15 {
		t.Errorf("%d failure modes in docs/failure-modes.md, want 15", rows)
	}
	for a := range alerts {
		if a != "" && !mentioned[a] {
			t.Errorf("alert %s is in no row of docs/failure-modes.md", a)
		}
	}
	for _, s := range scenarios {
		if s != "healthy" && !strings.Contains(doc, "`"+s+"`") {
			t.Errorf("hftsim scenario %s is in no row", s)
		}
	}
}
