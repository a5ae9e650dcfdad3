package dashboards

// Small constructors shared by every dashboard, so that all of them reference
// datasources, format queries and colour states the same way.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func ptr[T any](v T) *T { return &v }

// Query Min steps ("interval" of a Prometheus query) for the jobs whose
// scrape interval differs from the datasource's timeInterval (15s, the
// global scrape_interval; grafana/provisioning/datasources/datasources.yaml).
// Grafana takes a query's Min step as the scrape interval in
// $__rate_interval = max($__interval + scrape, 4 × scrape), see
// QueryIntervals.MinRateInterval:
//
//   - cAdvisor is scraped every 30s: with the datasource's 15s a rate window
//     could be 60s, two samples, so one late scrape empties a step; a 30s
//     Min step makes it at least 120s (four samples), and draws no steps
//     finer than the data.
//   - the collector and executor are scraped every 5s: a 5s Min step
//     brings their raw-counter rates down to 20s windows (four samples) and
//     5s steps at short ranges instead of 60s.
//
// They follow prometheus/prometheus.yml; when it changes, opsctl check's
// rate-window check (CheckRateWindows) names every panel left too short.
const (
	cadvisorScrape = "30s" // job cadvisor
	tradingScrape  = "5s"  // jobs collector and executor
)

// PrometheusRef, LokiRef and AlertmanagerRef are the datasource references
// that panels and queries use: by UID, with the plugin type.
func PrometheusRef() common.DataSourceRef {
	return common.DataSourceRef{Uid: ptr(PrometheusUID), Type: ptr(PrometheusType)}
}

func LokiRef() common.DataSourceRef {
	return common.DataSourceRef{Uid: ptr(LokiUID), Type: ptr(LokiType)}
}

func AlertmanagerRef() common.DataSourceRef {
	return common.DataSourceRef{Uid: ptr(AlertmanagerUID), Type: ptr(AlertmanagerType)}
}

// promRange is a Prometheus range query for time series panels.
func promRange(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(PrometheusRef()).
		RefId(refID).
		Expr(expr).
		LegendFormat(legend).
		EditorMode(prometheus.QueryEditorModeCode).
		Range()
}

// promInstant is a Prometheus instant query for stat panels.
func promInstant(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(PrometheusRef()).
		RefId(refID).
		Expr(expr).
		LegendFormat(legend).
		EditorMode(prometheus.QueryEditorModeCode).
		Instant()
}

// promTable is a Prometheus instant query returning one row per series.
func promTable(refID, expr string) *prometheus.DataqueryBuilder {
	return promInstant(refID, expr, "__auto").Format(prometheus.PromQueryFormatTable)
}

// lokiLogs is a Loki log query for logs panels.
func lokiLogs(refID, expr string) *loki.DataqueryBuilder {
	return loki.NewDataqueryBuilder().
		Datasource(LokiRef()).
		RefId(refID).
		Expr(expr).
		QueryType(string(loki.LokiQueryTypeRange)).
		EditorMode(loki.QueryEditorModeCode)
}

// lokiMetric is a LogQL metric query (rate, count_over_time...) for time
// series panels.
func lokiMetric(refID, expr, legend string) *loki.DataqueryBuilder {
	return lokiLogs(refID, expr).LegendFormat(legend)
}

// step is one threshold: from value at on, the colour.
type step struct {
	at    float64
	color string
}

// thresholds builds absolute thresholds: the base colour, then steps in
// ascending order.
func thresholds(base string, steps ...step) *dashboard.ThresholdsConfigBuilder {
	list := []dashboard.Threshold{{Value: nil, Color: base}}
	for _, s := range steps {
		list = append(list, dashboard.Threshold{Value: ptr(s.at), Color: s.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(list)
}

// valueText maps exact values to a text and a colour: value, text, colour, ...
func valueText(triples ...string) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i := 0; i+2 < len(triples); i += 3 {
		opts[triples[i]] = dashboard.ValueMappingResult{Text: ptr(triples[i+1]), Color: ptr(triples[i+2]), Index: ptr(int32(i / 3))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// upDown maps the 0/1 of `up` to DOWN/UP (or the given words) in red/green.
func upDown(up, down string) []dashboard.ValueMapping {
	return valueText("1", up, "green", "0", down, "red")
}

// organize is the "Organize fields" transformation: hide some columns,
// rename others, and fix the column order.
func organize(hide []string, rename map[string]string, order []string) dashboard.DataTransformerConfig {
	exclude := map[string]bool{}
	for _, h := range hide {
		exclude[h] = true
	}
	index := map[string]int{}
	for i, name := range order {
		index[name] = i
	}
	return dashboard.DataTransformerConfig{
		Id: "organize",
		Options: map[string]any{
			"excludeByName": exclude,
			"renameByName":  rename,
			"indexByName":   index,
		},
	}
}

// legendTable is a legend drawn as a table with last and max values, the
// most useful form when a panel has one series per service.
func legendTable() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		ShowLegend(true).
		Calcs([]string{"lastNotNull", "max"})
}

func legendList() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeList).
		Placement(common.LegendPlacementBottom).
		ShowLegend(true)
}

// sortBy sorts a table by one column, ascending.
func sortBy(column string) []cog.Builder[common.TableSortByFieldState] {
	return []cog.Builder[common.TableSortByFieldState]{
		common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(false),
	}
}

func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

// numberPanels gives every panel and row a unique id, top to bottom, so that
// the output is stable and links to a panel (viewPanel=N) keep working while
// panels are only appended.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	for _, p := range d.Panels {
		switch {
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = ptr(id)
			}
		case p.Panel != nil:
			id++
			p.Panel.Id = ptr(id)
		}
	}
}

// newStat is a stat panel on Prometheus showing the last value of each series
// on a coloured background.
func newStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Datasource(PrometheusRef()).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(lastValue())
}

// newTimeseries is a time series panel on Prometheus with a shared, sorted
// tooltip and a legend list.
func newTimeseries() *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Datasource(PrometheusRef()).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		Legend(legendList())
}

// newTable is a table panel on Prometheus without footer.
func newTable() *table.PanelBuilder {
	return table.NewPanelBuilder().
		Datasource(PrometheusRef()).
		Footer(common.NewTableFooterOptionsBuilder().
			Show(false).
			Reducer([]string{}).
			CountRows(false))
}

// newLogs is a logs panel on Loki, newest lines first.
func newLogs() *logs.PanelBuilder {
	return logs.NewPanelBuilder().
		Datasource(LokiRef()).
		ShowTime(true).
		WrapLogMessage(true).
		EnableLogDetails(true).
		SortOrder(common.LogsSortOrderDescending).
		DedupStrategy(common.LogsDedupStrategyNone)
}
