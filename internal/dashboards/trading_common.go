package dashboards

// Selectors, template variables and queries shared by the dashboards of the
// trading stack (trading overview, collector, executor, TimescaleDB). Every
// hft_* name comes from the metrics contract, pkg/hftmetrics.

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Uids of the trading stack's dashboards and of the host dashboard.
const (
	TradingOverviewUID = "trading-overview"
	CollectorUID       = "collector"
	ExecutorUID        = "executor"
	TimescaleDBUID     = "timescaledb"
	HostUID            = "host"
)

// Job selectors: Prometheus' job label says which process exported a series
// (the services add no service label of their own).
const (
	jobCollector   = `job="collector"`
	jobExecutor    = `job="executor"`
	jobTimescaleDB = `job="timescaledb"`
	jobServices    = `job=~"collector|executor"`
	// Scrape jobs of the trading node, as the targets-up panels list them.
	jobTradingNode = `job=~"collector|executor|timescaledb|node-exporter|cadvisor"`

	// Feed series filtered by the channel and inst_id variables.
	feedFilter = jobCollector + `,channel=~"$channel",inst_id=~"$inst_id"`
)

// promVar is a multi-value Prometheus query variable with an All option that
// matches every value, refreshed when the time range changes.
func promVar(name, label, description, query string) *dashboard.QueryVariableBuilder {
	return multiVar(name, label, description, query, PrometheusRef(), ".*")
}

// lokiVar is the same over the labels of Loki's streams; All is ".+", as a
// Loki stream selector needs at least one matcher that is not empty.
func lokiVar(name, label, description, query string) *dashboard.QueryVariableBuilder {
	return multiVar(name, label, description, query, LokiRef(), ".+")
}

func multiVar(name, label, description, query string, ds common.DataSourceRef, all string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Datasource(ds).
		Query(dashboard.StringOrMap{String: ptr(query)}).
		Definition(query).
		Multi(true).
		IncludeAll(true).
		AllValue(all).
		Current(dashboard.VariableOption{
			Selected: ptr(true),
			Text:     dashboard.StringOrArrayOfString{String: ptr("All")},
			Value:    dashboard.StringOrArrayOfString{String: ptr("$__all")},
		}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// channelVar and instIDVar select feed series of the collector.
func channelVar() *dashboard.QueryVariableBuilder {
	return promVar("channel", "Channel", "OKX websocket channels the collector subscribes to.",
		`label_values(hft_feed_messages_total{`+jobCollector+`}, channel)`)
}

func instIDVar(metric, job string) *dashboard.QueryVariableBuilder {
	return promVar("inst_id", "Instrument", "OKX instrument IDs the service was configured with.",
		`label_values(`+metric+`{`+job+`}, inst_id)`)
}

// quantile is histogram_quantile over the 1-minute bucket rates of a
// contract histogram that prometheus/rules/trading.yml records
// (job_le:<histogram>_bucket:rate1m), all series of the selector summed.
func quantile(q, histogram, selector string) string {
	return `histogram_quantile(` + q + `, sum by (le) (` + bucketRate(histogram) + `{` + selector + `}))`
}

// bucketRate is the recorded name of the 1-minute bucket rates of a
// contract histogram.
func bucketRate(histogram string) string { return `job_le:` + histogram + `_bucket:rate1m` }

// Recorded 1-minute rates (prometheus/rules/trading.yml) the panels read
// instead of rating the raw counters at every step.
const (
	feedRate   = `channel_inst_id:hft_feed_messages:rate1m`
	ordersRate = `inst_id_side_ord_type:hft_orders_sent:rate1m`
	rejectRate = `job_code:hft_order_rejects:rate1m`
	sentRate   = `job:hft_orders_sent:rate1m`
)

// stalenessExpr is the seconds since the last message of each selected
// (channel, inst_id) of the collector.
const stalenessExpr = `time() - max by (channel, inst_id) (hft_feed_last_message_timestamp_seconds{` + feedFilter + `})`

// rejectRatioExpr is the share of place-order requests OKX rejected over
// the last minute; no value while nothing is sent.
const rejectRatioExpr = `sum(` + rejectRate + `{` + jobExecutor + `}) / (sum(` + sentRate + `{` + jobExecutor + `}) > 0)`

// onOff maps a 0/1 state gauge to words and colours: 1 is on.
func onOff(on, onColor, off, offColor string) []dashboard.ValueMapping {
	return valueText("1", on, onColor, "0", off, offColor)
}

// fixedColor is the override property that paints a series in one colour.
func fixedColor(color string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": color}}}
}

// stacked stacks the series of a time series panel.
func stacked() *common.StackingConfigBuilder {
	return common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)
}
