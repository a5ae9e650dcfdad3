package dashboards

// The rate-window check: every range selector of a panel query ([5m],
// [$__rate_interval], [$__interval]...) must, at the smallest window Grafana
// can give it, hold at least two samples of every series it can read.
// Otherwise rate(), increase(), deriv(), *_over_time()... return nothing at
// some steps or at every step, and the panel says "No data" at normal time
// ranges — the classic complaint, and what happened to the cAdvisor panels
// (scraped every 30s) while the datasource's timeInterval was 5s.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// RateWindowCheck is the check name of the findings of CheckRateWindows.
const RateWindowCheck = "grafana-rate-window"

// GrafanaDefaultScrape is the scrape interval Grafana assumes for a
// Prometheus datasource without jsonData.timeInterval: "15s" in both the
// backend (calculateRateInterval, pkg/promlib/models/query.go) and the
// frontend (PrometheusDatasource: `jsonData.timeInterval || '15s'`).
const GrafanaDefaultScrape = 15 * time.Second

// Sampling says how often Prometheus stores a sample of each series, as
// prometheus/prometheus.yml and its rule files define it, and what scrape
// interval Grafana was told per Prometheus datasource.
type Sampling struct {
	// Jobs maps each scrape job to its scrape_interval (the global one
	// when the job sets none).
	Jobs map[string]time.Duration
	// Recorded maps each recorded series to the evaluation interval of
	// its rule group: a recorded series has one sample per evaluation,
	// whatever the scrape interval of its source.
	Recorded map[string]time.Duration
	// EvaluationInterval is the global evaluation_interval, the step of a
	// subquery that gives none.
	EvaluationInterval time.Duration
	// Datasources maps the uid of each Prometheus datasource to its
	// jsonData.timeInterval; 0 when unset (Grafana then assumes 15s).
	Datasources map[string]time.Duration
}

// metricJobs says which scrape jobs export the metrics of a name prefix,
// for selectors without a job matcher. A prefix that is not listed, or
// whose jobs are not configured, can come from any job.
var metricJobs = []struct {
	prefix string
	jobs   []string
}{
	{"container_", []string{"cadvisor"}},
	{"machine_", []string{"cadvisor"}},
	{"cadvisor_", []string{"cadvisor"}},
	{"node_", []string{"node-exporter"}},
	{"hft_", []string{"collector", "executor"}}, // pkg/hftmetrics, the trading services and hftsim
	{"prometheus_", []string{"prometheus"}},
	{"alertmanager_", []string{"alertmanager"}},
	{"loki_", []string{"loki", "alloy"}}, // Alloy's loki.write and loki.source export loki_* too
	{"alloy_", []string{"alloy"}},
	{"grafana_", []string{"grafana"}},
	{"pg_", []string{"timescaledb"}},
	{"SeaweedFS_", []string{"seaweedfs"}},
	{"ops_backup_", []string{"backup"}}, // opsctl backup-agent
	{"ops_restore_drill_", []string{"backup"}},
}

// source is one thing a selector can read, and how often it is sampled.
type source struct {
	name     string // "job cadvisor", "recording rule x"
	interval time.Duration
}

// sources lists what vs can read. Conservative: a job matcher narrows the
// jobs; without one the metric name does; a name nobody is known to
// export, or one made of a Grafana variable, reads every job.
func (s Sampling) sources(vs *parser.VectorSelector) []source {
	name := vs.Name
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			name = m.Value
		}
	}
	if iv, ok := s.Recorded[name]; ok && !strings.Contains(name, placeholderWord) {
		return []source{{"recording rule " + name, iv}}
	}
	jobs := s.jobNames()
	narrowed := false
	for _, m := range vs.LabelMatchers {
		if m.Name != "job" || strings.Contains(m.Value, placeholderWord) {
			continue // a job matcher made of a variable can match any job
		}
		var keep []string
		for _, j := range jobs {
			if m.Matches(j) {
				keep = append(keep, j)
			}
		}
		jobs, narrowed = keep, true
	}
	if !narrowed && name != "" && !strings.Contains(name, placeholderWord) {
		for _, mj := range metricJobs {
			if !strings.HasPrefix(name, mj.prefix) {
				continue
			}
			var keep []string
			for _, j := range mj.jobs {
				if _, ok := s.Jobs[j]; ok {
					keep = append(keep, j)
				}
			}
			if len(keep) > 0 {
				jobs = keep
			}
			break
		}
	}
	out := make([]source, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, source{"job " + j, s.Jobs[j]})
	}
	return out
}

func (s Sampling) jobNames() []string {
	names := make([]string, 0, len(s.Jobs))
	for j := range s.Jobs {
		names = append(names, j)
	}
	sort.Strings(names)
	return names
}

// slowest is the source sampled least often (the first such, by name).
func slowest(srcs []source) (source, bool) {
	if len(srcs) == 0 {
		return source{}, false
	}
	best := srcs[0]
	for _, x := range srcs[1:] {
		if x.interval > best.interval {
			best = x
		}
	}
	return best, true
}

// QueryIntervals are the interval settings that decide Grafana's windows
// for one Prometheus query.
type QueryIntervals struct {
	Datasource time.Duration // the datasource's timeInterval; 0 = unset
	Panel      time.Duration // the panel's "interval" (Min interval); 0 = unset
	Query      time.Duration // the query's "interval" (Min step); 0 = unset
}

// MinRateInterval is the smallest value Grafana gives $__rate_interval.
//
// Grafana's documentation (Prometheus data source, "Template variables",
// "Use $__rate_interval": grafana.com/docs/grafana/latest/datasources/
// prometheus/template-variables/) defines it as
//
//	max($__interval + Scrape interval, 4 * Scrape interval)
//
// where Scrape interval is the query's Min step if set, else the
// datasource's scrape interval (timeInterval), ignoring the panel's Min
// interval. The code is calculateRateInterval and interpolateVariables in
// pkg/promlib/models/query.go (Grafana 12): the $__interval there is the
// request's interval, which the frontend computes as range / max data
// points but never below the panel's Min interval, or when that is unset
// the datasource's timeInterval (15s when unset). At short ranges range /
// max data points goes towards zero, so the smallest value is
//
//	max(low + scrape, 4 * scrape)
//	low    = panel Min interval, else datasource timeInterval, else 15s
//	scrape = query Min step,     else datasource timeInterval, else 15s
func (q QueryIntervals) MinRateInterval() time.Duration {
	scrape := firstSet(q.Query, q.Datasource, GrafanaDefaultScrape)
	low := firstSet(q.Panel, q.Datasource, GrafanaDefaultScrape)
	return max(low+scrape, 4*scrape)
}

// MinInterval is the smallest value Grafana gives $__interval (the step):
// the backend's minimum interval is the query's Min step when set, else the
// request's interval (see MinRateInterval), gtime.GetIntervalFrom.
func (q QueryIntervals) MinInterval() time.Duration {
	if q.Query > 0 {
		return q.Query
	}
	return firstSet(q.Panel, q.Datasource, GrafanaDefaultScrape)
}

func firstSet(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// Sentinel durations that stand for Grafana's built-in variables while the
// expression is parsed, so that each range selector tells which it uses.
const (
	sentinelRate     = 1_000_003_001 * time.Millisecond
	sentinelInterval = 1_000_003_002 * time.Millisecond
	sentinelRange    = 1_000_003_003 * time.Millisecond
)

var sentinels = map[string]time.Duration{
	"__rate_interval": sentinelRate,
	"__interval":      sentinelInterval,
	"__range":         sentinelRange,
}

// placeholderWord is what ReplaceGrafanaVariables writes for a variable
// inside a string or as a name.
const placeholderWord = "placeholder"

// RangeWindow is one range selector (or subquery) of a query, at the
// smallest window Grafana can give it.
type RangeWindow struct {
	Selector string        // the selector as written, e.g. container_cpu_usage_seconds_total{...}[$__rate_interval]
	Variable string        // "$__rate_interval", "$__interval", "$__range", or "" for a fixed duration
	Min      time.Duration // the smallest window
	Source   string        // the slowest-sampled thing it can read
	Interval time.Duration // how often that is sampled
}

// Short says whether the window can hold fewer than two samples.
func (w RangeWindow) Short() bool { return w.Interval > 0 && w.Min < 2*w.Interval }

// RangeWindows lists the range selectors of a Prometheus query with the
// smallest window Grafana can give each. dashboardRange is the length of
// the dashboard's default time range (the $__range the dashboard opens
// with); 0 when unknown, and $__range windows are then not listed.
func (s Sampling) RangeWindows(expr string, q QueryIntervals, dashboardRange time.Duration) ([]RangeWindow, error) {
	marked := expr
	for name, d := range sentinels {
		for _, form := range []string{"${" + name + "}", "[[" + name + "]]", "$" + name} {
			marked = replaceVariable(marked, form, formatMillis(d))
		}
	}
	concrete := ReplaceGrafanaVariables(marked)
	e, err := promqlParser.ParseExpr(concrete)
	if err != nil {
		return nil, err
	}
	windowOf := func(d time.Duration) (string, time.Duration, bool) {
		switch d {
		case sentinelRate:
			return "$__rate_interval", q.MinRateInterval(), true
		case sentinelInterval:
			return "$__interval", q.MinInterval(), true
		case sentinelRange:
			return "$__range", dashboardRange, dashboardRange > 0
		}
		return "", d, true
	}
	var out []RangeWindow
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			vs, ok := n.VectorSelector.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			variable, min, ok := windowOf(n.Range)
			if !ok {
				return nil
			}
			src, ok := slowest(s.sources(vs))
			if !ok {
				return nil
			}
			out = append(out, RangeWindow{Selector: restoreVariables(n.String()), Variable: variable, Min: min, Source: src.name, Interval: src.interval})
		case *parser.SubqueryExpr:
			variable, min, ok := windowOf(n.Range)
			if !ok {
				return nil
			}
			step := n.Step
			if step == 0 {
				step = s.EvaluationInterval
			}
			if step <= 0 || step == sentinelRate || step == sentinelInterval || step == sentinelRange {
				return nil // no known step, or one made of a variable
			}
			out = append(out, RangeWindow{Selector: restoreVariables(n.String()), Variable: variable, Min: min, Source: "subquery steps", Interval: step})
		}
		return nil
	})
	return out, nil
}

// replaceVariable replaces a built-in variable, but not a longer one that
// starts with the same letters ($__interval in $__interval_ms).
func replaceVariable(s, form, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, form)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(form)
		if strings.HasPrefix(form, "$") && !strings.HasSuffix(form, "}") && end < len(s) && isIdentByte(s[end], false) {
			b.WriteString(s[:end])
			s = s[end:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(with)
		s = s[end:]
	}
}

func formatMillis(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// restoreVariables writes the sentinels back as the variables they stand
// for, for messages. PromQL prints durations in its own units, so both the
// ms form and the printed form are replaced.
func restoreVariables(s string) string {
	for name, d := range sentinels {
		s = strings.ReplaceAll(s, formatMillis(d), "$"+name)
		s = strings.ReplaceAll(s, promDuration(d), "$"+name)
	}
	return s
}

// promDuration prints d the way PromQL's String() methods do.
func promDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// ParseGrafanaDuration reads an interval as Grafana's settings take it:
// "30s", "1m", "1h30m", "500ms", an optional leading ">" (older dashboards),
// or a bare number of seconds. ok is false for an empty value or a
// variable, whose value is not known offline.
func ParseGrafanaDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ">"))
	if v == "" || strings.ContainsAny(v, "$[") {
		return 0, false
	}
	if grafanaNumber.MatchString(v) {
		v += "s"
	}
	d, err := model.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, false
	}
	return time.Duration(d), true
}

var grafanaNumber = regexp.MustCompile(`^[0-9]+$`)

// rawWindowPanel is what the rate-window check reads of a panel: straight
// from the JSON, so that hand edits are checked as Grafana reads them.
type rawWindowPanel struct {
	Title      string          `json:"title"`
	Interval   json.RawMessage `json:"interval"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr       *string         `json:"expr"`
		RefID      string          `json:"refId"`
		Interval   json.RawMessage `json:"interval"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []rawWindowPanel `json:"panels"`
}

// dsUID reads a datasource reference: {"uid": ...} or, in old files, the
// uid or name as a plain string. "" when absent.
func dsUID(raw json.RawMessage) string {
	var ref struct {
		UID string `json:"uid"`
	}
	if json.Unmarshal(raw, &ref) == nil && ref.UID != "" {
		return ref.UID
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// CheckRateWindows checks every Prometheus query of the dashboards (*.json)
// under dir: each range selector must, at the smallest window Grafana can
// give it, hold at least two samples of the slowest-sampled series it can
// read (see RangeWindows and MinRateInterval). Files that do not decode are
// left to CheckDir.
func CheckRateWindows(dir string, s Sampling) finding.List {
	var l finding.List
	paths, _ := JSONFiles(dir)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		l = append(l, s.checkRateWindows(path, data)...)
	}
	return l
}

func (s Sampling) checkRateWindows(path string, data []byte) finding.List {
	var l finding.List
	var d struct {
		Time struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"time"`
		Panels []rawWindowPanel `json:"panels"`
	}
	if json.Unmarshal(data, &d) != nil {
		return nil
	}
	var dashRange time.Duration
	if from, ok := strings.CutPrefix(d.Time.From, "now-"); ok && (d.Time.To == "now" || d.Time.To == "") {
		dashRange, _ = ParseGrafanaDuration(from)
	}
	var walk func(key string, ps []rawWindowPanel)
	walk = func(key string, ps []rawWindowPanel) {
		for i, p := range ps {
			pkey := fmt.Sprintf("%s[%d]", key, i)
			panelMin, _ := ParseGrafanaDuration(rawString(p.Interval))
			panelDS := dsUID(p.Datasource)
			for j, t := range p.Targets {
				uid := dsUID(t.Datasource)
				if uid == "" || uid == mixedUID {
					uid = panelDS
				}
				dsInterval, isProm := s.Datasources[uid]
				if !isProm || t.Expr == nil {
					continue
				}
				queryMin, _ := ParseGrafanaDuration(rawString(t.Interval))
				qi := QueryIntervals{Datasource: dsInterval, Panel: panelMin, Query: queryMin}
				windows, err := s.RangeWindows(*t.Expr, qi, dashRange)
				if err != nil {
					continue // CheckDir reports PromQL that does not parse
				}
				// One finding per query: the window furthest from two samples.
				var worst *RangeWindow
				for k, w := range windows {
					if w.Short() && (worst == nil || 2*w.Interval-w.Min > 2*worst.Interval-worst.Min) {
						worst = &windows[k]
					}
				}
				if worst == nil {
					continue
				}
				w := *worst
				l.Errorf(RateWindowCheck, path, fmt.Sprintf("%s.targets[%d].expr", pkey, j), windowFix(w, qi),
					"panel %q [%s]: %s can be %s, which holds fewer than two samples of %s (every %s), so the panel has no data at some or all steps",
					p.Title, t.RefID, w.Selector, windowWhen(w), w.Source, w.Interval)
			}
			walk(pkey+".panels", p.Panels)
		}
	}
	walk("panels", d.Panels)
	return l
}

func windowWhen(w RangeWindow) string {
	switch w.Variable {
	case "":
		return "only " + w.Min.String() + " long"
	case "$__range":
		return w.Min.String() + " at the dashboard's default time range"
	}
	return w.Min.String() + " at short time ranges"
}

// windowFix says what to change: for $__rate_interval a Min step of the
// source's interval makes the window at least 4 samples long.
func windowFix(w RangeWindow, q QueryIntervals) string {
	need := 2 * w.Interval
	switch w.Variable {
	case "$__rate_interval":
		scrape := firstSet(q.Query, q.Datasource, GrafanaDefaultScrape)
		return fmt.Sprintf("set the query's Min step (\"interval\": %q in the target) so that $__rate_interval is at least 4 × %s, or the panel's Min interval (\"interval\") to at least %s",
			w.Interval.String(), w.Interval, need-scrape)
	case "$__interval":
		return fmt.Sprintf("use $__rate_interval, or set the query's Min step (\"interval\" in the target) to at least %s", need)
	case "$__range":
		return fmt.Sprintf("make the dashboard's default time range at least %s", need)
	}
	return fmt.Sprintf("use a window of at least %s, or $__rate_interval", need)
}

// SamplingOf reads the sampling of a loaded Prometheus config: every
// job's scrape_interval (the global one when the job sets none, as
// Prometheus' own loader fills it in) and every recorded series' group
// interval from the rule files given (host paths of cfg.RuleFiles; a file
// that cannot be read or parsed is left out: the rule check reports it).
// Datasources are the Prometheus datasources' timeInterval by uid.
func SamplingOf(cfg *promconfig.Config, ruleFiles []string, datasources map[string]time.Duration) Sampling {
	s := Sampling{Jobs: map[string]time.Duration{}, Recorded: map[string]time.Duration{}, Datasources: datasources,
		EvaluationInterval: time.Duration(cfg.GlobalConfig.EvaluationInterval)}
	for _, sc := range cfg.ScrapeConfigs {
		s.Jobs[sc.JobName] = time.Duration(sc.ScrapeInterval)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, f := range ruleFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, promqlParser, quiet)
		if len(errs) > 0 || groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			iv := time.Duration(g.Interval)
			if iv == 0 {
				iv = s.EvaluationInterval
			}
			for _, rule := range g.Rules {
				if rule.Record != "" {
					s.Recorded[rule.Record] = max(iv, s.Recorded[rule.Record])
				}
			}
		}
	}
	return s
}
