package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Executor is the dashboard of okx-hft-executor: risk state (kill switch,
// PnL, drawdown, positions), orders sent and rejected, acknowledgement
// latency, rate limits, websockets and clock.
func Executor() (dashboard.Dashboard, error) {
	ordersSel := jobExecutor + `,inst_id=~"$inst_id"`

	b := dashboard.NewDashboardBuilder("Executor").
		Uid(ExecutorUID).
		Tags([]string{"trading", "executor"}).
		Description("okx-hft-executor: risk, orders, rejects, acknowledgement latency, rate limits, websockets and clock."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-3h", "now").
		Refresh("10s").
		WithVariable(instIDVar("hft_orders_sent_total", jobExecutor))

	// Status.
	b.WithRow(dashboard.NewRowBuilder("Status")).
		WithPanel(newStat().
			Title("Executor up").
			WithTarget(promInstant("A", `min(up{`+jobExecutor+`})`, "executor")).
			Span(4).Height(4).
			Mappings(upDown("UP", "DOWN")).
			NoValue("not scraped").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Kill switch").
			WithTarget(promInstant("A", `max(hft_kill_switch_engaged{`+jobExecutor+`})`, "kill switch")).
			Span(4).Height(4).
			Mappings(onOff("ENGAGED", "red", "off", "green")).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("Websockets").
			WithTarget(promInstant("A", `min by (endpoint) (hft_ws_connected{`+jobExecutor+`})`, "{{endpoint}}")).
			Span(8).Height(4).
			Mappings(onOff("CONNECTED", "green", "DOWN", "red")).
			Thresholds(thresholds("red", step{1, "green"})).
			TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newStat().
			Title("Clock synchronised").
			WithTarget(promInstant("A", `min(hft_clock_synchronized{`+jobExecutor+`})`, "clock")).
			Span(4).Height(4).
			Mappings(onOff("SYNCED", "green", "NOT SYNCED", "red")).
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Acks slower than 100 ms").
			Description("Share of place-order acknowledgements slower than 100 ms (an exact bucket boundary) over the rate interval.").
			WithTarget(promInstant("A", `1 - sum(`+bucketRate("hft_order_ack_latency_seconds")+`{`+jobExecutor+`,le="0.1"}) / (sum(`+bucketRate("hft_order_ack_latency_seconds")+`{`+jobExecutor+`,le="+Inf"}) > 0)`, "slow")).
			Span(4).Height(4).
			Unit("percentunit").Min(0).Max(1).
			NoValue("no orders").
			Thresholds(thresholds("green", step{0.01, "orange"}, step{0.05, "red"})))

	// Risk.
	b.WithRow(dashboard.NewRowBuilder("Risk")).
		WithPanel(newTimeseries().
			Title("PnL and drawdown").
			Description("Realised PnL since the start of the UTC day (net of fees), unrealised PnL at mark price, and the drawdown from today's peak.").
			WithTarget(promRange("A", `sum(hft_pnl_realized_usd{`+jobExecutor+`})`, "realised")).
			WithTarget(promRange("B", `sum(hft_pnl_unrealized_usd{`+jobExecutor+`})`, "unrealised")).
			WithTarget(promRange("C", `max(hft_drawdown_usd{`+jobExecutor+`})`, "drawdown")).
			Span(12).Height(8).
			Unit("currencyUSD").
			OverrideByName("drawdown", fixedColor("red"))).
		WithPanel(newTimeseries().
			Title("Positions ($inst_id)").
			Description("Net notional per instrument; long positive, short negative.").
			WithTarget(promRange("A", `sum by (inst_id) (hft_position_usd{`+ordersSel+`})`, "{{inst_id}}")).
			Span(12).Height(8).
			Unit("currencyUSD").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Kill switch").
			WithTarget(promRange("A", `max(hft_kill_switch_engaged{`+jobExecutor+`})`, "engaged")).
			Span(24).Height(4).
			Min(0).Max(1).Decimals(0).
			OverrideByName("engaged", fixedColor("red")))

	// Orders.
	b.WithRow(dashboard.NewRowBuilder("Orders")).
		WithPanel(newTimeseries().
			Title("Orders sent by instrument and side ($inst_id)").
			WithTarget(promRange("A", `sum by (inst_id, side) (`+ordersRate+`{`+ordersSel+`})`, "{{inst_id}} {{side}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("orders/s").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Orders sent by order type ($inst_id)").
			WithTarget(promRange("A", `sum by (ord_type) (`+ordersRate+`{`+ordersSel+`})`, "{{ord_type}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("orders/s").
			Stacking(stacked()).FillOpacity(20)).
		WithPanel(newTimeseries().
			Title("Rejects by code").
			Description("Place-order rejects per minute by OKX sCode; 50102/50037 point at the clock, 51008/51131 at the balance, 50011/50061 at rate limits.").
			WithTarget(promRange("A", `60 * sum by (code) (`+rejectRate+`{`+jobExecutor+`})`, "{{code}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("per minute").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Reject ratio").
			Description("Share of place-order requests OKX rejected, over every instrument.").
			WithTarget(promRange("A", rejectRatioExpr, "rejected")).
			Span(12).Height(8).
			Unit("percentunit").Min(0).
			Thresholds(thresholds("green", step{0.05, "orange"}, step{0.2, "red"})).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)))

	// Latency and limits.
	b.WithRow(dashboard.NewRowBuilder("Acknowledgement latency and rate limits")).
		WithPanel(newTimeseries().
			Title("Order ack latency").
			Description("Time from writing a place-order request to OKX's response (accepted or rejected).").
			WithTarget(promRange("A", quantile("0.5", "hft_order_ack_latency_seconds", jobExecutor), "p50")).
			WithTarget(promRange("B", quantile("0.9", "hft_order_ack_latency_seconds", jobExecutor), "p90")).
			WithTarget(promRange("C", quantile("0.99", "hft_order_ack_latency_seconds", jobExecutor), "p99")).
			Span(12).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("Rate-limit responses").
			Description("Requests OKX refused for a rate limit, per minute, by sCode.").
			WithTarget(promRange("A", `60 * sum by (code) (rate(hft_rate_limit_responses_total{`+jobExecutor+`}[$__rate_interval]))`, "{{code}}").Interval(tradingScrape)).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("per minute"))

	// Connectivity and clock.
	b.WithRow(dashboard.NewRowBuilder("Websockets and clock")).
		WithPanel(newTimeseries().
			Title("Websocket connected").
			WithTarget(promRange("A", `min by (endpoint) (hft_ws_connected{`+jobExecutor+`})`, "{{endpoint}}")).
			Span(8).Height(7).
			Min(0).Max(1).Decimals(0)).
		WithPanel(newTimeseries().
			Title("Websocket reconnects").
			WithTarget(promRange("A", `3600 * sum by (endpoint) (rate(hft_ws_reconnects_total{`+jobExecutor+`}[$__rate_interval]))`, "{{endpoint}}").Interval(tradingScrape)).
			Span(8).Height(7).
			Unit("short").Min(0).AxisLabel("per hour")).
		WithPanel(newTimeseries().
			Title("Clock offset").
			Description("Exchange clock minus local clock (positive: the exchange is ahead).").
			WithTarget(promRange("A", `hft_clock_offset_seconds{`+jobExecutor+`}`, "{{instance}}")).
			Span(8).Height(7).
			Unit("s"))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
