package dashboards

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"gopkg.in/yaml.v3"
)

// repoSampling reads the sampling of the repository's own Prometheus
// config, rule files and Grafana datasources, as opsctl check does.
func repoSampling(t *testing.T) Sampling {
	t.Helper()
	root := repoRoot(t)
	cfg, err := promconfig.LoadFile(filepath.Join(root, "prometheus/prometheus.yml"), false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "prometheus/rules/*.yml"))
	s := SamplingOf(cfg, files, map[string]time.Duration{})
	data, err := os.ReadFile(filepath.Join(root, "grafana/provisioning/datasources/datasources.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			UID      string `yaml:"uid"`
			Type     string `yaml:"type"`
			JSONData struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(data, &ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Datasources {
		if d.Type == PrometheusType {
			s.Datasources[d.UID], _ = ParseGrafanaDuration(d.JSONData.TimeInterval)
		}
	}
	if s.Jobs["cadvisor"] == 0 || s.Datasources[PrometheusUID] == 0 {
		t.Fatalf("sampling not read: %+v", s)
	}
	return s
}

func TestMinRateInterval(t *testing.T) {
	for _, c := range []struct {
		q    QueryIntervals
		rate time.Duration
		step time.Duration
	}{
		{QueryIntervals{Datasource: 5 * time.Second}, 20 * time.Second, 5 * time.Second}, // the measured 20-25 s
		{QueryIntervals{}, 60 * time.Second, 15 * time.Second},                           // Grafana assumes 15s
		{QueryIntervals{Datasource: 15 * time.Second}, 60 * time.Second, 15 * time.Second},
		// The panel's Min interval raises $__interval, not the 4x part.
		{QueryIntervals{Datasource: 5 * time.Second, Panel: 30 * time.Second}, 35 * time.Second, 30 * time.Second},
		// The query's Min step is the scrape interval of the formula.
		{QueryIntervals{Datasource: 15 * time.Second, Query: 30 * time.Second}, 120 * time.Second, 30 * time.Second},
		{QueryIntervals{Datasource: 15 * time.Second, Query: 5 * time.Second}, 20 * time.Second, 5 * time.Second},
		// A Min interval below the datasource's lowers the step too.
		{QueryIntervals{Datasource: 15 * time.Second, Panel: 5 * time.Second}, 60 * time.Second, 5 * time.Second},
	} {
		if got := c.q.MinRateInterval(); got != c.rate {
			t.Errorf("%+v: MinRateInterval = %s, want %s", c.q, got, c.rate)
		}
		if got := c.q.MinInterval(); got != c.step {
			t.Errorf("%+v: MinInterval = %s, want %s", c.q, got, c.step)
		}
	}
}

func TestRangeWindowSources(t *testing.T) {
	s := Sampling{
		Jobs:               map[string]time.Duration{"cadvisor": 30 * time.Second, "node-exporter": 15 * time.Second, "collector": 5 * time.Second, "executor": 5 * time.Second, "loki": 15 * time.Second, "alloy": 15 * time.Second, "backup": 15 * time.Second},
		Recorded:           map[string]time.Duration{"job:hft_orders_sent:rate1m": 5 * time.Second},
		EvaluationInterval: 15 * time.Second,
	}
	q := QueryIntervals{Datasource: 15 * time.Second}
	for _, c := range []struct {
		expr, source string
		min          time.Duration
		variable     string
	}{
		{`rate(container_cpu_usage_seconds_total[$__rate_interval])`, "job cadvisor", time.Minute, "$__rate_interval"},
		{`rate(node_cpu_seconds_total{job="node-exporter"}[${__rate_interval}])`, "job node-exporter", time.Minute, "$__rate_interval"},
		{`rate(node_cpu_seconds_total{job="node-exporter"}[[[__rate_interval]]])`, "job node-exporter", time.Minute, "$__rate_interval"},
		{`rate(hft_orders_sent_total[$__interval])`, "job collector", 15 * time.Second, "$__interval"},
		{`rate(hft_orders_sent_total{job=~"coll.*"}[1m])`, "job collector", time.Minute, ""},
		// A job matcher wins over the name; a job variable matches any job.
		{`rate(up{job="executor"}[1m])`, "job executor", time.Minute, ""},
		{`rate(node_x{job=~"$job"}[1m])`, "job node-exporter", time.Minute, ""},
		{`rate(foo_total{job=~"$job"}[1m])`, "job cadvisor", time.Minute, ""},
		// Unknown names can come from any job; the slowest counts.
		{`max_over_time(whatever[2m])`, "job cadvisor", 2 * time.Minute, ""},
		{`deriv(job:hft_orders_sent:rate1m[$__rate_interval])`, "recording rule job:hft_orders_sent:rate1m", time.Minute, "$__rate_interval"},
		{`max_over_time(rate(hft_x_total[1m])[10m:])`, "subquery steps", 10 * time.Minute, ""},
		{`sum(increase(loki_write_sent_entries_total[$__range]))`, "job loki", 6 * time.Hour, "$__range"},
		{`max_over_time(ops_backup_last_size_bytes[2m])`, "job backup", 2 * time.Minute, ""},
		{`max_over_time(ops_restore_drill_last_duration_seconds[2m])`, "job backup", 2 * time.Minute, ""},
	} {
		ws, err := s.RangeWindows(c.expr, q, 6*time.Hour)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if len(ws) == 0 {
			t.Fatalf("%s: no window", c.expr)
		}
		w := ws[len(ws)-1]
		if strings.Contains(c.expr, "[10m:]") {
			w = ws[0]
		}
		if w.Source != c.source || w.Min != c.min || w.Variable != c.variable {
			t.Errorf("%s: got %+v, want source %q min %s variable %q", c.expr, w, c.source, c.min, c.variable)
		}
		if strings.Contains(w.Selector, "1000003") {
			t.Errorf("%s: selector %q shows a sentinel", c.expr, w.Selector)
		}
	}
	// $__interval_ms is not $__interval.
	ws, err := s.RangeWindows(`rate(node_x[1m]) * $__interval_ms`, q, 0)
	if err != nil || len(ws) != 1 || ws[0].Min != time.Minute {
		t.Errorf("$__interval_ms: %+v %v", ws, err)
	}
}

// stripIntervals removes every panel and query "interval" of the dashboards
// in dir: the dashboards as they were before the panels got their minimum
// intervals.
func stripIntervals(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var d map[string]any
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				delete(v, "interval")
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(d["panels"])
		out, _ := json.Marshal(d)
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// panelsOf lists "file: panel" for each finding.
func panelsOf(t *testing.T, dir string, s Sampling) []string {
	t.Helper()
	var out []string
	for _, f := range CheckRateWindows(dir, s) {
		title := f.Message[strings.Index(f.Message, `"`)+1:]
		title = title[:strings.Index(title, `"`)]
		key := filepath.Base(f.File) + ": " + title
		if !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// The shipped dashboards, datasource and scrape config together leave every
// range window at least two samples long.
func TestShippedDashboardsRateWindows(t *testing.T) {
	s := repoSampling(t)
	for _, f := range CheckRateWindows(filepath.Join(repoRoot(t), DefaultDir), s) {
		t.Errorf("%s", f)
	}
	dir := t.TempDir()
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range CheckRateWindows(dir, s) {
		t.Errorf("generated: %s", f)
	}
}

// The check fails on the dashboards as they were (no intervals, a 5s
// datasource interval): the panels found empty on a real Grafana are among
// its findings.
func TestRateWindowCheckFindsTheEmptyPanels(t *testing.T) {
	s := repoSampling(t)
	dir := t.TempDir()
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	stripIntervals(t, dir)
	s.Datasources = map[string]time.Duration{PrometheusUID: 5 * time.Second}
	got := panelsOf(t, dir, s)
	t.Logf("before: %d panels\n%s", len(got), strings.Join(got, "\n"))
	for _, want := range []string{
		"host.json: Container CPU", "host.json: Container CPU throttling", "host.json: Container network",
		"ops-node.json: Container CPU by compose service", "host.json: CPU usage", "ops-node.json: Rule evaluation failures",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no finding for %s", want)
		}
	}
	for _, p := range got {
		if strings.HasPrefix(p, "collector.json") || strings.HasPrefix(p, "executor.json") {
			t.Errorf("%s: the 5s jobs hold 4 samples in 20s, no finding expected", p)
		}
	}
	// With the datasource at 15s but no query Min step, only the 30s
	// cAdvisor job is short... no: 60s holds two 30s scrapes. Raise
	// cAdvisor's interval to show the Min step is what keeps it.
	s.Datasources = map[string]time.Duration{PrometheusUID: 15 * time.Second}
	s.Jobs["cadvisor"] = time.Minute
	got = panelsOf(t, dir, s)
	if !slices.Contains(got, "host.json: Container CPU") || slices.Contains(got, "host.json: CPU usage") {
		t.Errorf("15s datasource, 1m cAdvisor, no Min step: got %v", got)
	}
}

// A hand edit of the JSON is checked as Grafana reads it: a panel's Min
// interval, a query's Min step, a datasource given as a plain uid.
func TestRateWindowsHandEdits(t *testing.T) {
	s := Sampling{Jobs: map[string]time.Duration{"cadvisor": 30 * time.Second}, Datasources: map[string]time.Duration{"prom": 15 * time.Second}}
	panel := func(extra string) string {
		return `{"time": {"from": "now-6h", "to": "now"}, "panels": [{"type": "row", "panels": [{"title": "P", "datasource": "prom"` + extra +
			`, "targets": [{"refId": "A", "expr": "rate(container_cpu_usage_seconds_total[$__rate_interval])", "interval": "1s"}]}]}]}`
	}
	for _, c := range []struct {
		extra string
		short bool
	}{
		{``, true},                     // Min step 1s: max(15s+1s, 4s) = 16s
		{`, "interval": "30s"`, true},  // max(30s+1s, 4s) = 31s < 60s
		{`, "interval": "59s"`, false}, // 60s
		{`, "interval": ">1m"`, false},
	} {
		dir := t.TempDir()
		writeFile(t, dir, "d.json", []byte(panel(c.extra)))
		got := CheckRateWindows(dir, s)
		if (len(got) > 0) != c.short {
			t.Errorf("panel%s: got %v, want short=%v", c.extra, got, c.short)
		}
		for _, f := range got {
			if f.Position != "panels[0].panels[0].targets[0].expr" || f.Check != RateWindowCheck || !strings.Contains(f.Message, "job cadvisor (every 30s)") {
				t.Errorf("finding %s", f)
			}
		}
	}
}
