package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// recordingRules are the recording rules of a set of rule files: the
// recorded name, its expression and the interval of its group.
type recordingRules struct {
	exprs map[string]string
	order []recorded // in file and group order
}

type recorded struct {
	group    string
	interval model.Duration
	name     string
	expr     string
}

var promqlParser = parser.NewParser(parser.Options{})

func loadRecordingRules(files []string) (*recordingRules, error) {
	rr := &recordingRules{exprs: map[string]string{}}
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promqlParser, slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			return nil, fmt.Errorf("%s: %v", f, errs[0])
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Record == "" {
					continue
				}
				if _, dup := rr.exprs[r.Record]; dup {
					return nil, fmt.Errorf("%s: %s is recorded twice", f, r.Record)
				}
				rr.exprs[r.Record] = r.Expr
				rr.order = append(rr.order, recorded{g.Name, g.Interval, r.Record, r.Expr})
			}
		}
	}
	return rr, nil
}

// uses reports whether expr reads a recorded series.
func (rr *recordingRules) uses(expr string) bool {
	e, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			found = found || rr.exprs[vs.Name] != ""
		}
		return nil
	})
	return found
}

// expand rewrites expr so that it reads no recorded series: each selector
// of a recorded name becomes the rule's expression in parentheses, with the
// selector's other label matchers pushed down to every selector inside it
// (the rules aggregate "by" the labels the dashboards filter on, so the
// filter means the same on either side of the aggregation). Rules that read
// other rules are expanded recursively.
func (rr *recordingRules) expand(expr string) (string, error) {
	e, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return "", err
	}
	out, err := rr.expandNode(e, 0)
	if err != nil {
		return "", err
	}
	return out.String(), nil
}

func (rr *recordingRules) expandNode(n parser.Expr, depth int) (parser.Expr, error) {
	if depth > 10 {
		return nil, fmt.Errorf("recording rules nest more than 10 deep")
	}
	var err error
	sub := func(e parser.Expr) parser.Expr {
		if err != nil || e == nil {
			return e
		}
		var out parser.Expr
		out, err = rr.expandNode(e, depth)
		return out
	}
	switch n := n.(type) {
	case *parser.VectorSelector:
		ruleExpr, ok := rr.exprs[n.Name]
		if !ok {
			return n, nil
		}
		if n.OriginalOffset != 0 || n.Timestamp != nil || n.StartOrEnd != 0 {
			return nil, fmt.Errorf("%s: offset or @ on a recorded series is not expanded", n)
		}
		inner, perr := promqlParser.ParseExpr(ruleExpr)
		if perr != nil {
			return nil, fmt.Errorf("rule %s: %v", n.Name, perr)
		}
		inner, perr = rr.expandNode(inner, depth+1)
		if perr != nil {
			return nil, perr
		}
		var extra []*labels.Matcher
		for _, m := range n.LabelMatchers {
			if m.Name != labels.MetricName {
				extra = append(extra, m)
			}
		}
		parser.Inspect(inner, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				vs.LabelMatchers = append(vs.LabelMatchers, extra...)
			}
			return nil
		})
		return &parser.ParenExpr{Expr: inner}, nil
	case *parser.MatrixSelector:
		if vs, ok := n.VectorSelector.(*parser.VectorSelector); ok && rr.exprs[vs.Name] != "" {
			return nil, fmt.Errorf("%s: a range over a recorded series is not expanded", n)
		}
		return n, nil
	case *parser.AggregateExpr:
		n.Expr, n.Param = sub(n.Expr), sub(n.Param)
	case *parser.BinaryExpr:
		n.LHS, n.RHS = sub(n.LHS), sub(n.RHS)
	case *parser.Call:
		for i := range n.Args {
			n.Args[i] = sub(n.Args[i])
		}
	case *parser.ParenExpr:
		n.Expr = sub(n.Expr)
	case *parser.UnaryExpr:
		n.Expr = sub(n.Expr)
	case *parser.SubqueryExpr:
		n.Expr = sub(n.Expr)
	case *parser.StepInvariantExpr:
		n.Expr = sub(n.Expr)
	}
	return n, err
}

// expandedRuleFile writes the recording rules with every expression
// expanded, so that `promtool tsdb create-blocks-from rules`, which
// evaluates each rule against raw data only, can backfill rules that read
// other rules. Groups keep their names and intervals.
func (rr *recordingRules) expandedRuleFile(path string) error {
	var b strings.Builder
	b.WriteString("groups:\n")
	var groups []string
	byGroup := map[string][]recorded{}
	for _, r := range rr.order {
		if !slices.Contains(groups, r.group) {
			groups = append(groups, r.group)
		}
		byGroup[r.group] = append(byGroup[r.group], r)
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "  - name: %q\n", g)
		if iv := byGroup[g][0].interval; iv != 0 {
			fmt.Fprintf(&b, "    interval: %s\n", iv)
		}
		b.WriteString("    rules:\n")
		for _, r := range byGroup[g] {
			e, err := rr.expand(r.expr)
			if err != nil {
				return fmt.Errorf("rule %s: %v", r.name, err)
			}
			fmt.Fprintf(&b, "      - record: %q\n        expr: %q\n", r.name, e)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func ruleFiles(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "prometheus", "rules", "*.yml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no rule files in %s", filepath.Join(root, "prometheus", "rules"))
	}
	return files, err
}
