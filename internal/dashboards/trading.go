package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// TradingOverview is the one screen of the trading stack for whoever watches
// it: is every target up, is the kill switch engaged, are the feeds fresh,
// how fast and how often rejected are orders, is OKX rate limiting, PnL and
// drawdown, and whether market data reaches TimescaleDB.
func TradingOverview() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("Trading overview").
		Uid(TradingOverviewUID).
		Tags([]string{"trading"}).
		Description("One screen of the OKX HFT stack: targets, kill switch, PnL, feed freshness, order latency and rejects, rate limits, ingest and clock."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-3h", "now").
		Refresh("10s").
		WithVariable(channelVar()).
		WithVariable(instIDVar("hft_feed_messages_total", jobCollector))

	// Top line: states and money.
	b.WithPanel(newStat().
		Title("Targets up").
		Description("One box per scrape job of the trading node: DOWN as soon as one of its targets fails its scrape.").
		WithTarget(promInstant("A", `min by (job) (up{`+jobTradingNode+`})`, "{{job}}")).
		Span(8).Height(4).
		Mappings(upDown("UP", "DOWN")).
		Thresholds(thresholds("red", step{1, "green"})).
		TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newStat().
			Title("Kill switch").
			Description("ENGAGED: the executor sends no new orders and flattens its positions.").
			WithTarget(promInstant("A", `max(hft_kill_switch_engaged{`+jobExecutor+`})`, "kill switch")).
			Span(3).Height(4).
			Mappings(onOff("ENGAGED", "red", "off", "green")).
			NoValue("no executor").
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("PnL today").
			Description("Realised (since the start of the UTC day, net of fees) plus unrealised PnL.").
			WithTarget(promInstant("A", `sum(hft_pnl_realized_usd{`+jobExecutor+`}) + sum(hft_pnl_unrealized_usd{`+jobExecutor+`})`, "PnL")).
			Span(3).Height(4).
			Unit("currencyUSD").
			GraphMode(common.BigValueGraphModeArea).
			Thresholds(thresholds("red", step{0, "green"}))).
		WithPanel(newStat().
			Title("Drawdown").
			Description("Peak of today's total PnL minus its current value.").
			WithTarget(promInstant("A", `max(hft_drawdown_usd{`+jobExecutor+`})`, "drawdown")).
			Span(3).Height(4).
			Unit("currencyUSD").
			GraphMode(common.BigValueGraphModeArea).
			Thresholds(thresholds("green", step{1, "orange"}))).
		WithPanel(newStat().
			Title("Ingest queue fill").
			Description("Rows waiting to be written to TimescaleDB over the queue's capacity; rows beyond it are dropped.").
			WithTarget(promInstant("A", `max(hft_ingest_queue_depth{`+jobCollector+`} / hft_ingest_queue_capacity{`+jobCollector+`})`, "fill")).
			Span(4).Height(4).
			Unit("percentunit").Min(0).Max(1).
			GraphMode(common.BigValueGraphModeArea).
			Thresholds(thresholds("green", step{0.5, "orange"}, step{0.8, "red"}))).
		WithPanel(newStat().
			Title("Clock offset").
			Description("Largest absolute exchange-minus-local clock offset measured by the services; order expTime and request timestamps depend on it.").
			WithTarget(promInstant("A", `max by (job) (abs(hft_clock_offset_seconds{`+jobServices+`}))`, "{{job}}")).
			Span(3).Height(4).
			Unit("s").
			Thresholds(thresholds("green", step{0.01, "orange"}, step{0.05, "red"})).
			TextMode(common.BigValueTextModeValueAndName))

	// Market data.
	b.WithPanel(newTimeseries().
		Title("Feed staleness ($channel, $inst_id)").
		Description("Seconds since the last message of each channel and instrument. Book and bbo channels push every 10–100 ms; trades only when there are trades; funding-rate every 30–90 s.").
		WithTarget(promRange("A", stalenessExpr, "{{channel}} {{inst_id}}")).
		Span(8).Height(7).
		Unit("s").Min(0).
		Thresholds(thresholds("green", step{5, "orange"}, step{30, "red"})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(newTimeseries().
			Title("Feed message rate ($channel, $inst_id)").
			Description("Market-data messages received per second, per channel.").
			WithTarget(promRange("A", `sum by (channel) (`+feedRate+`{`+feedFilter+`})`, "{{channel}}")).
			Span(8).Height(7).
			Unit("short").Min(0).AxisLabel("msg/s")).
		WithPanel(newStat().
			Title("Websockets").
			Description("OKX websocket connections per service and endpoint. A stale feed on a connected socket is a lost subscription, not a network problem.").
			WithTarget(promInstant("A", `min by (job, endpoint) (hft_ws_connected{`+jobServices+`})`, "{{job}} {{endpoint}}")).
			Span(8).Height(7).
			Mappings(onOff("CONNECTED", "green", "DOWN", "red")).
			Thresholds(thresholds("red", step{1, "green"})).
			TextMode(common.BigValueTextModeValueAndName))

	// Orders.
	b.WithPanel(newTimeseries().
		Title("Order ack latency").
		Description("Time from writing a place-order request to OKX's response, p50 and p99 over every order.").
		WithTarget(promRange("A", quantile("0.5", "hft_order_ack_latency_seconds", jobExecutor), "p50")).
		WithTarget(promRange("B", quantile("0.99", "hft_order_ack_latency_seconds", jobExecutor), "p99")).
		Span(8).Height(7).
		Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("Reject ratio").
			Description("Share of place-order requests OKX rejected; no value while nothing is sent.").
			WithTarget(promRange("A", rejectRatioExpr, "rejected")).
			Span(8).Height(7).
			Unit("percentunit").Min(0).
			Thresholds(thresholds("green", step{0.05, "orange"}, step{0.2, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(newTimeseries().
			Title("Rate-limit responses").
			Description("Requests OKX refused for a rate limit, per minute, by service and sCode (50011, 50061, 60014, other).").
			WithTarget(promRange("A", `60 * sum by (job, code) (rate(hft_rate_limit_responses_total{`+jobServices+`}[$__rate_interval]))`, "{{job}} {{code}}").Interval(tradingScrape)).
			Span(8).Height(7).
			Unit("short").Min(0).AxisLabel("per minute"))

	// Money and storage.
	b.WithPanel(newTimeseries().
		Title("PnL and drawdown").
		Description("Realised and unrealised PnL of the UTC day, and the drawdown from its peak.").
		WithTarget(promRange("A", `sum(hft_pnl_realized_usd{`+jobExecutor+`})`, "realised")).
		WithTarget(promRange("B", `sum(hft_pnl_unrealized_usd{`+jobExecutor+`})`, "unrealised")).
		WithTarget(promRange("C", `max(hft_drawdown_usd{`+jobExecutor+`})`, "drawdown")).
		Span(8).Height(7).
		Unit("currencyUSD").
		OverrideByName("drawdown", fixedColor("red"))).
		WithPanel(newTimeseries().
			Title("DB write errors").
			Description("Failed batch writes to TimescaleDB per minute, by the channel whose rows they carried.").
			WithTarget(promRange("A", `60 * sum by (channel) (rate(hft_db_write_errors_total{`+jobCollector+`}[$__rate_interval]))`, "{{channel}}").Interval(tradingScrape)).
			Span(8).Height(7).
			Unit("short").Min(0).AxisLabel("per minute")).
		WithPanel(newTimeseries().
			Title("Ingest queue fill").
			Description("Rows waiting in the collector's ingest queue over its capacity.").
			WithTarget(promRange("A", `hft_ingest_queue_depth{`+jobCollector+`} / hft_ingest_queue_capacity{`+jobCollector+`}`, "{{instance}}")).
			Span(8).Height(7).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.5, "orange"}, step{0.8, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
