package dashboards

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

// tradingBuilders are the dashboards of the trading stack and the host, by
// uid.
var tradingBuilders = map[string]Builder{
	TradingOverviewUID: TradingOverview,
	CollectorUID:       Collector,
	ExecutorUID:        Executor,
	TimescaleDBUID:     TimescaleDB,
	HostUID:            Host,
}

func buildTrading(t *testing.T) map[string]dashboard.Dashboard {
	t.Helper()
	out := map[string]dashboard.Dashboard{}
	for uid, build := range tradingBuilders {
		d, err := build()
		if err != nil {
			t.Fatalf("%s: %v", uid, err)
		}
		if deref(d.Uid) != uid {
			t.Fatalf("builder of %s makes uid %q", uid, deref(d.Uid))
		}
		out[uid] = d
	}
	return out
}

// Every trading dashboard is registered exactly once.
func TestTradingDashboardsListed(t *testing.T) {
	seen := map[string]int{}
	for _, build := range registered {
		d, err := build()
		if err != nil {
			t.Fatal(err)
		}
		seen[deref(d.Uid)]++
	}
	for uid := range tradingBuilders {
		if seen[uid] != 1 {
			t.Errorf("%s is registered %d times, want once", uid, seen[uid])
		}
	}
}

// The trading dashboards, rendered as dashgen would, pass CheckDir next to
// the registered ones (valid PromQL, provisioned datasource uids, unique
// uids and panel ids).
func TestTradingDashboardsPassCheck(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	for uid, d := range buildTrading(t) {
		b, err := Render(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, FileName(uid)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range CheckDir(dir, ProvisionedDatasources()) {
		t.Errorf("%s", f)
	}
}

// exprs returns every "expr" of a rendered dashboard, and the query of
// every template variable.
func exprs(t *testing.T, d dashboard.Dashboard) (queries, variables []string) {
	t.Helper()
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					queries = append(queries, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	for _, v := range d.Templating.List {
		if v.Query != nil && v.Query.String != nil {
			variables = append(variables, *v.Query.String)
		}
	}
	return queries, variables
}

// Metrics that are not the services' but that the trading and host
// dashboards may name: Prometheus itself, node-exporter, cAdvisor and
// postgres-exporter.
var externalMetric = regexp.MustCompile(`^(up|pg_up|(prometheus|node|container|pg)_[a-zA-Z0-9_]+)$`)

var labelValuesQuery = regexp.MustCompile(`^label_values\((.+), *([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// metricNames lists the metric names an expression selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := promqlParser.ParseExpr(ReplaceGrafanaVariables(expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}

// Every series a trading or host dashboard selects is in the metrics
// contract (hft_*, with the _bucket/_sum/_count of its histograms) or
// exported by Prometheus, node-exporter, cAdvisor or postgres-exporter; a
// misspelt name would draw an empty panel forever.
//
// Names with a colon are recording rules: a rule of prometheus/rules must
// record them.
func TestTradingDashboardsNameOnlyKnownMetrics(t *testing.T) {
	recorded := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join("..", "..", "prometheus", "rules", "*.yml"))
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				recorded[r.Record] = r.Record != ""
			}
		}
	}
	if len(recorded) == 0 {
		t.Fatal("no recording rules found in prometheus/rules")
	}
	for uid, d := range buildTrading(t) {
		queries, variables := exprs(t, d)
		if len(queries) == 0 {
			t.Errorf("%s: no queries", uid)
		}
		for _, v := range variables {
			m := labelValuesQuery.FindStringSubmatch(v)
			if m == nil {
				t.Errorf("%s: variable query %q is not label_values(selector, label)", uid, v)
				continue
			}
			queries = append(queries, m[1])
		}
		for _, q := range queries {
			for _, name := range metricNames(t, q) {
				if strings.Contains(name, ":") {
					if !recorded[name] {
						t.Errorf("%s: %s names %s, which no rule of prometheus/rules records", uid, q, name)
					}
					continue
				}
				if strings.HasPrefix(name, "hft_") {
					if _, ok := hftmetrics.Lookup(name); !ok {
						t.Errorf("%s: %s names %s, which is not in the metrics contract", uid, q, name)
					}
					continue
				}
				if !externalMetric.MatchString(name) {
					t.Errorf("%s: %s names %s, neither in the contract nor from Prometheus, node-exporter, cAdvisor or postgres-exporter", uid, q, name)
				}
			}
		}
	}
}

// Rates use Grafana's $__rate_interval, so that they never span fewer
// than four scrapes whatever the zoom.
func TestTradingDashboardsUseRateInterval(t *testing.T) {
	rangeSel := regexp.MustCompile(`\[([^\]]+)\]`)
	for uid, d := range buildTrading(t) {
		queries, _ := exprs(t, d)
		for _, q := range queries {
			for _, m := range rangeSel.FindAllStringSubmatch(q, -1) {
				if m[1] != "$__rate_interval" && !strings.HasPrefix(q, "predict_linear(") {
					t.Errorf("%s: %s uses the range [%s], want [$__rate_interval]", uid, q, m[1])
				}
			}
		}
	}
}

// Template variables query the prometheus datasource by uid.
func TestTradingDashboardsVariables(t *testing.T) {
	want := map[string][]string{
		TradingOverviewUID: {"channel", "inst_id"},
		CollectorUID:       {"channel", "inst_id"},
		ExecutorUID:        {"inst_id"},
		TimescaleDBUID:     {"datname"},
		HostUID:            {"instance"},
	}
	for uid, d := range buildTrading(t) {
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
			if v.Datasource == nil || deref(v.Datasource.Uid) != PrometheusUID || deref(v.Datasource.Type) != PrometheusType {
				t.Errorf("%s: variable %s does not query datasource uid %s", uid, v.Name, PrometheusUID)
			}
		}
		if !slices.Equal(names, want[uid]) {
			t.Errorf("%s: variables %v, want %v", uid, names, want[uid])
		}
	}
}

// The trading overview covers what the brief of its screen lists; a panel
// dropped by mistake fails here.
func TestTradingOverviewCoversTheStack(t *testing.T) {
	d, err := TradingOverview()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		`time() - max by (channel, inst_id) (hft_feed_last_message_timestamp_seconds`,
		`sum by (channel) (channel_inst_id:hft_feed_messages:rate1m{job=\"collector\",channel=~\"$channel\",inst_id=~\"$inst_id\"})`,
		`histogram_quantile(0.5, sum by (le) (job_le:hft_order_ack_latency_seconds_bucket:rate1m`,
		`histogram_quantile(0.99, sum by (le) (job_le:hft_order_ack_latency_seconds_bucket:rate1m`,
		`job_code:hft_order_rejects:rate1m`,
		`job:hft_orders_sent:rate1m`,
		`hft_rate_limit_responses_total`,
		`hft_pnl_realized_usd`,
		`hft_pnl_unrealized_usd`,
		`hft_drawdown_usd`,
		`hft_kill_switch_engaged`,
		`hft_ingest_queue_depth{job=\"collector\"} / hft_ingest_queue_capacity`,
		`hft_db_write_errors_total`,
		`hft_clock_offset_seconds`,
		`min by (job) (up{`,
		`"name": "channel"`,
		`"name": "inst_id"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trading-overview.json lacks %s", want)
		}
	}
}

// The trading overview fits one screen: no rows, at most 26 grid units high.
func TestTradingOverviewIsOneScreen(t *testing.T) {
	d, err := TradingOverview()
	if err != nil {
		t.Fatal(err)
	}
	var bottom uint32
	for _, p := range d.Panels {
		if p.Panel == nil {
			t.Fatal("trading overview has a row; it is meant as one screen")
		}
		if g := p.Panel.GridPos; g != nil && g.Y+g.H > bottom {
			bottom = g.Y + g.H
		}
	}
	if bottom == 0 || bottom > 26 {
		t.Errorf("trading overview is %d grid units high, want 1..26", bottom)
	}
}

// The Logs dashboard reads Loki only, with its variables on Loki too, and
// every query honours the project and service selection.
func TestLogsDashboard(t *testing.T) {
	d, err := Logs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
		if v.Type == "query" && (v.Datasource == nil || deref(v.Datasource.Uid) != LokiUID) {
			t.Errorf("variable %s does not query Loki", v.Name)
		}
	}
	if !slices.Equal(names, []string{"project", "service", "search"}) {
		t.Errorf("variables %v", names)
	}
	n := 0
	for _, p := range renderedPanels(t, d) {
		for _, q := range p.Targets {
			n++
			if q.Datasource.Type != LokiType || !strings.Contains(q.Expr, `compose_project=~"$project"`) || !strings.Contains(q.Expr, `compose_service=~"$service"`) {
				t.Errorf("%s: query %q is not a Loki query over the selected project and service", p.Title, q.Expr)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d queries, want volume, errors, levels and two line panels", n)
	}
}

// renderedPanels renders d as the committed JSON and reads its panels back.
func renderedPanels(t *testing.T, d dashboard.Dashboard) []panelJSON {
	t.Helper()
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Panels []panelJSON `json:"panels"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Fatal(err)
	}
	return parsed.Panels
}
