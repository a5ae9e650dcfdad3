package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

func testRules(t *testing.T) *recordingRules {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(`groups:
  - name: fast
    interval: 5s
    rules:
      - record: job_le:lat_bucket:rate1m
        expr: sum by (job, le) (rate(lat_bucket{job="executor"}[1m]))
      - record: job:lat:p99_1m
        expr: histogram_quantile(0.99, job_le:lat_bucket:rate1m)
      - alert: Slow
        expr: job:lat:p99_1m > 0.05
  - name: slow
    rules:
      - record: channel:msgs:rate1m
        expr: sum by (job, channel) (rate(msgs_total[1m]))
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rr, err := loadRecordingRules([]string{filepath.Join(dir, "r.yml")})
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestExpand(t *testing.T) {
	rr := testRules(t)
	for _, tc := range []struct{ in, want string }{
		// Matchers of the recorded selector move inside.
		{`histogram_quantile(0.5, sum by (le) (job_le:lat_bucket:rate1m{job="executor",le!="1"}))`,
			`histogram_quantile(0.5, sum by (le) ((sum by (job, le) (rate(lat_bucket{job="executor",job="executor",le!="1"}[1m])))))`},
		// A rule reading a rule.
		{`job:lat:p99_1m > 0.1`,
			`(histogram_quantile(0.99, (sum by (job, le) (rate(lat_bucket{job="executor"}[1m]))))) > 0.1`},
		{`sum by (channel) (channel:msgs:rate1m{channel=~".*"}) / 2`,
			`sum by (channel) ((sum by (job, channel) (rate(msgs_total{channel=~".*"}[1m])))) / 2`},
		// Raw queries stay as they are.
		{`sum(rate(msgs_total[5m]))`, `sum(rate(msgs_total[5m]))`},
	} {
		got, err := rr.expand(tc.in)
		if err != nil {
			t.Errorf("expand(%s): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("expand(%s)\n got  %s\n want %s", tc.in, got, tc.want)
		}
		if rr.uses(got) {
			t.Errorf("expand(%s) still reads a recorded series: %s", tc.in, got)
		}
	}
	if !rr.uses(`sum(job:lat:p99_1m)`) || rr.uses(`sum(lat_bucket)`) {
		t.Error("uses does not tell recorded from raw series")
	}
	for _, bad := range []string{`avg_over_time(job:lat:p99_1m[5m])`, `job:lat:p99_1m offset 5m`, `sum(`} {
		if _, err := rr.expand(bad); err == nil {
			t.Errorf("expand(%s): no error", bad)
		}
	}
}

func TestExpandedRuleFile(t *testing.T) {
	rr := testRules(t)
	path := filepath.Join(t.TempDir(), "expanded.yml")
	if err := rr.expandedRuleFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := loadRecordingRules([]string{path})
	if err != nil {
		t.Fatalf("the expanded file does not load: %v", err)
	}
	if len(back.order) != 3 || back.order[0].interval.String() != "5s" || back.order[2].group != "slow" {
		t.Errorf("groups or intervals lost: %+v", back.order)
	}
	for _, r := range back.order {
		if strings.Contains(r.expr, ":") && back.uses(r.expr) {
			t.Errorf("%s still reads a recorded series: %s", r.name, r.expr)
		}
	}
}

// The repository's own rules expand, and every dashboard query that reads
// them has a raw form.
func TestRepositoryRulesExpand(t *testing.T) {
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	files, err := ruleFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := loadRecordingRules(files)
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.expandedRuleFile(filepath.Join(t.TempDir(), "x.yml")); err != nil {
		t.Fatal(err)
	}
	qs, err := tradingQueries(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range qs {
		if !rr.uses(q.Expr) {
			continue
		}
		n++
		if _, err := rr.expand(q.Expr); err != nil {
			t.Errorf("%s: %v", q.Name(), err)
		}
	}
	if n < 10 {
		t.Errorf("only %d dashboard queries read recording rules", n)
	}
}
