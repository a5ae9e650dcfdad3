package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Collector is the dashboard of okx-hft-collector: market-data feeds per
// channel and instrument, its websockets, order-book integrity, the ingest
// queue and writes to TimescaleDB, and its clock.
func Collector() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("Collector").
		Uid(CollectorUID).
		Tags([]string{"trading", "collector"}).
		Description("okx-hft-collector: feeds, websockets, order-book integrity, ingest queue, TimescaleDB writes and clock."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-3h", "now").
		Refresh("30s").
		WithVariable(channelVar()).
		WithVariable(instIDVar("hft_feed_messages_total", jobCollector))

	// Status.
	b.WithRow(dashboard.NewRowBuilder("Status")).
		WithPanel(newStat().
			Title("Collector up").
			WithTarget(promInstant("A", `min(up{`+jobCollector+`})`, "collector")).
			Span(4).Height(4).
			Mappings(upDown("UP", "DOWN")).
			NoValue("not scraped").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Websockets").
			Description("1 while the connection to the OKX endpoint is established.").
			WithTarget(promInstant("A", `min by (endpoint) (hft_ws_connected{`+jobCollector+`})`, "{{endpoint}}")).
			Span(8).Height(4).
			Mappings(onOff("CONNECTED", "green", "DOWN", "red")).
			Thresholds(thresholds("red", step{1, "green"})).
			TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newStat().
			Title("Stale feeds (> 30 s)").
			Description("Selected channel/instrument pairs without a message for more than 30 seconds.").
			WithTarget(promInstant("A", `count((`+stalenessExpr+`) > 30) or vector(0)`, "stale")).
			Span(4).Height(4).
			Unit("short").Decimals(0).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("Clock synchronised").
			WithTarget(promInstant("A", `min(hft_clock_synchronized{`+jobCollector+`})`, "clock")).
			Span(4).Height(4).
			Mappings(onOff("SYNCED", "green", "NOT SYNCED", "red")).
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Ingest queue fill").
			WithTarget(promInstant("A", `max(hft_ingest_queue_depth{`+jobCollector+`} / hft_ingest_queue_capacity{`+jobCollector+`})`, "fill")).
			Span(4).Height(4).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.5, "orange"}, step{0.8, "red"})))

	// Feeds.
	b.WithRow(dashboard.NewRowBuilder("Feeds ($channel, $inst_id)")).
		WithPanel(newTimeseries().
			Title("Messages per channel").
			WithTarget(promRange("A", `sum by (channel) (`+feedRate+`{`+feedFilter+`})`, "{{channel}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("msg/s").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Messages per channel and instrument").
			WithTarget(promRange("A", `sum by (channel, inst_id) (`+feedRate+`{`+feedFilter+`})`, "{{channel}} {{inst_id}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("msg/s").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Feed staleness").
			Description("Seconds since the last message of each channel and instrument (time() minus the local receive time).").
			WithTarget(promRange("A", stalenessExpr, "{{channel}} {{inst_id}}")).
			Span(12).Height(8).
			Unit("s").Min(0).
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Feed delay").
			Description("Local receive time minus the exchange timestamp of the last message: network latency plus clock offset.").
			WithTarget(promRange("A", `max by (channel, inst_id) (channel_inst_id:hft_feed_delay_seconds:max{`+feedFilter+`})`, "{{channel}} {{inst_id}}")).
			Span(12).Height(8).
			Unit("s").
			Legend(legendTable()))

	// Websockets and book integrity.
	b.WithRow(dashboard.NewRowBuilder("Websockets and order books")).
		WithPanel(newTimeseries().
			Title("Websocket connected").
			WithTarget(promRange("A", `min by (endpoint) (hft_ws_connected{`+jobCollector+`})`, "{{endpoint}}")).
			Span(8).Height(8).
			Min(0).Max(1).Decimals(0)).
		WithPanel(newTimeseries().
			Title("Websocket reconnects").
			Description("Reconnection attempts per hour, successful or not.").
			WithTarget(promRange("A", `3600 * sum by (endpoint) (rate(hft_ws_reconnects_total{`+jobCollector+`}[$__rate_interval]))`, "{{endpoint}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("per hour")).
		WithPanel(newTimeseries().
			Title("Book sequence gaps and checksum mismatches").
			Description("Lost order-book updates and CRC32 mismatches per hour; each leads to a resubscription.").
			WithTarget(promRange("A", `3600 * sum by (channel, inst_id) (rate(hft_book_sequence_gaps_total{`+feedFilter+`}[$__rate_interval]))`, "gap {{channel}} {{inst_id}}").Interval(tradingScrape)).
			WithTarget(promRange("B", `3600 * sum by (channel, inst_id) (rate(hft_book_checksum_mismatches_total{`+feedFilter+`}[$__rate_interval]))`, "checksum {{channel}} {{inst_id}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("per hour"))

	// Ingest to TimescaleDB.
	b.WithRow(dashboard.NewRowBuilder("Ingest to TimescaleDB")).
		WithPanel(newTimeseries().
			Title("Ingest queue").
			Description("Rows waiting to be written, and the queue's capacity; rows beyond it are dropped.").
			WithTarget(promRange("A", `sum(hft_ingest_queue_depth{`+jobCollector+`})`, "depth")).
			WithTarget(promRange("B", `sum(hft_ingest_queue_capacity{`+jobCollector+`})`, "capacity")).
			Span(8).Height(8).
			Unit("short").Min(0).
			OverrideByName("capacity", fixedColor("red"))).
		WithPanel(newTimeseries().
			Title("Rows written per channel").
			WithTarget(promRange("A", `sum by (channel) (rate(hft_db_rows_written_total{`+jobCollector+`,channel=~"$channel"}[$__rate_interval]))`, "{{channel}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("rows/s").
			Stacking(stacked()).FillOpacity(20)).
		WithPanel(newTimeseries().
			Title("Write errors per channel").
			Description("Failed batch writes per minute, by the channel whose rows they carried.").
			WithTarget(promRange("A", `60 * sum by (channel) (rate(hft_db_write_errors_total{`+jobCollector+`,channel=~"$channel"}[$__rate_interval]))`, "{{channel}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("per minute")).
		WithPanel(newTimeseries().
			Title("Batch write duration").
			Description("Duration of a batch INSERT or COPY to TimescaleDB, successful or failed.").
			WithTarget(promRange("A", quantile("0.5", "hft_db_write_duration_seconds", jobCollector), "p50")).
			WithTarget(promRange("B", quantile("0.99", "hft_db_write_duration_seconds", jobCollector), "p99")).
			Span(12).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("Batch writes").
			Description("Batch writes per second, all and failed.").
			WithTarget(promRange("A", `sum(rate(hft_db_write_duration_seconds_count{`+jobCollector+`}[$__rate_interval]))`, "writes").Interval(tradingScrape)).
			WithTarget(promRange("B", `sum(rate(hft_db_write_errors_total{`+jobCollector+`}[$__rate_interval]))`, "failed").Interval(tradingScrape)).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("writes/s").
			OverrideByName("failed", fixedColor("red")))

	// Clock.
	b.WithRow(dashboard.NewRowBuilder("Clock")).
		WithPanel(newTimeseries().
			Title("Clock offset").
			Description("Exchange clock minus local clock (positive: the exchange is ahead).").
			WithTarget(promRange("A", `hft_clock_offset_seconds{`+jobCollector+`}`, "{{instance}}")).
			Span(12).Height(7).
			Unit("s")).
		WithPanel(newTimeseries().
			Title("Clock synchronised").
			WithTarget(promRange("A", `hft_clock_synchronized{`+jobCollector+`}`, "{{instance}}")).
			Span(12).Height(7).
			Min(0).Max(1).Decimals(0))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
