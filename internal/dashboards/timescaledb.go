package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// TimescaleDB is the dashboard of the trading database: reachability
// (postgres-exporter's pg_up), connections, transactions, rows and cache hits
// per database, and the collector's view of its writes (latency, errors,
// rows, queue).
func TimescaleDB() (dashboard.Dashboard, error) {
	dbSel := jobTimescaleDB + `,datname=~"$datname"`

	b := dashboard.NewDashboardBuilder("TimescaleDB").
		Uid(TimescaleDBUID).
		Tags([]string{"trading", "timescaledb"}).
		Description("TimescaleDB of the trading stack (postgres-exporter, job timescaledb) and the collector's writes to it."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-6h", "now").
		Refresh("30s").
		WithVariable(promVar("datname", "Database", "Databases postgres-exporter reports.",
			`label_values(pg_stat_database_numbackends{`+jobTimescaleDB+`}, datname)`))

	// Status.
	b.WithRow(dashboard.NewRowBuilder("Status")).
		WithPanel(newStat().
			Title("Exporter scraped").
			Description("up of the postgres-exporter target.").
			WithTarget(promInstant("A", `min(up{`+jobTimescaleDB+`})`, "exporter")).
			Span(4).Height(4).
			Mappings(upDown("UP", "DOWN")).
			NoValue("not scraped").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Database reachable").
			Description("pg_up: 1 when postgres-exporter can connect to TimescaleDB.").
			WithTarget(promInstant("A", `min(pg_up{`+jobTimescaleDB+`})`, "pg_up")).
			Span(4).Height(4).
			Mappings(upDown("UP", "DOWN")).
			NoValue("no exporter").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Connections used").
			Description("Backends over max_connections.").
			WithTarget(promInstant("A", `sum(pg_stat_database_numbackends{`+jobTimescaleDB+`}) / max(pg_settings_max_connections{`+jobTimescaleDB+`})`, "used")).
			Span(4).Height(4).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.7, "orange"}, step{0.9, "red"}))).
		WithPanel(newStat().
			Title("DB write p99").
			Description("p99 of the collector's batch writes.").
			WithTarget(promInstant("A", quantile("0.99", "hft_db_write_duration_seconds", jobCollector), "p99")).
			Span(4).Height(4).
			Unit("s").
			Thresholds(thresholds("green", step{0.25, "orange"}, step{1, "red"}))).
		WithPanel(newStat().
			Title("DB write errors").
			Description("Failed batch writes of the collector over the rate interval.").
			WithTarget(promInstant("A", `sum(increase(hft_db_write_errors_total{`+jobCollector+`}[$__rate_interval])) or vector(0)`, "errors")).
			Span(4).Height(4).
			Unit("short").Decimals(0).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("Database size").
			WithTarget(promInstant("A", `sum(pg_database_size_bytes{`+dbSel+`})`, "size")).
			Span(4).Height(4).
			Unit("bytes").
			GraphMode(common.BigValueGraphModeArea).
			Thresholds(thresholds("blue")))

	// Database.
	b.WithRow(dashboard.NewRowBuilder("Database ($datname)")).
		WithPanel(newTimeseries().
			Title("Connections").
			Description("Backends per database, and max_connections.").
			WithTarget(promRange("A", `sum by (datname) (pg_stat_database_numbackends{`+dbSel+`})`, "{{datname}}")).
			WithTarget(promRange("B", `max(pg_settings_max_connections{`+jobTimescaleDB+`})`, "max_connections")).
			Span(8).Height(8).
			Unit("short").Min(0).
			OverrideByName("max_connections", fixedColor("red"))).
		WithPanel(newTimeseries().
			Title("Transactions").
			Description("Commits and rollbacks per second.").
			WithTarget(promRange("A", `sum by (datname) (rate(pg_stat_database_xact_commit{`+dbSel+`}[$__rate_interval]))`, "{{datname}} commit")).
			WithTarget(promRange("B", `sum by (datname) (rate(pg_stat_database_xact_rollback{`+dbSel+`}[$__rate_interval]))`, "{{datname}} rollback")).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("tx/s").
			OverrideByRegexp(".* rollback", fixedColor("red"))).
		WithPanel(newTimeseries().
			Title("Rows inserted").
			WithTarget(promRange("A", `sum by (datname) (rate(pg_stat_database_tup_inserted{`+dbSel+`}[$__rate_interval]))`, "{{datname}}")).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("rows/s")).
		WithPanel(newTimeseries().
			Title("Cache hit ratio").
			Description("Blocks found in shared buffers over blocks read.").
			WithTarget(promRange("A", `sum by (datname) (rate(pg_stat_database_blks_hit{`+dbSel+`}[$__rate_interval])) / (sum by (datname) (rate(pg_stat_database_blks_hit{`+dbSel+`}[$__rate_interval])) + sum by (datname) (rate(pg_stat_database_blks_read{`+dbSel+`}[$__rate_interval])) > 0)`, "{{datname}}")).
			Span(8).Height(8).
			Unit("percentunit").Max(1)).
		WithPanel(newTimeseries().
			Title("Deadlocks and conflicts").
			WithTarget(promRange("A", `sum by (datname) (increase(pg_stat_database_deadlocks{`+dbSel+`}[$__rate_interval]))`, "{{datname}} deadlocks")).
			WithTarget(promRange("B", `sum by (datname) (increase(pg_stat_database_conflicts{`+dbSel+`}[$__rate_interval]))`, "{{datname}} conflicts")).
			Span(8).Height(8).
			Unit("short").Min(0)).
		WithPanel(newTimeseries().
			Title("Database size").
			WithTarget(promRange("A", `sum by (datname) (pg_database_size_bytes{`+dbSel+`})`, "{{datname}}")).
			Span(8).Height(8).
			Unit("bytes").Min(0))

	// The collector's writes.
	b.WithRow(dashboard.NewRowBuilder("Writes from the collector")).
		WithPanel(newTimeseries().
			Title("Batch write duration").
			Description("Duration of the collector's batch INSERT or COPY, successful or failed.").
			WithTarget(promRange("A", quantile("0.5", "hft_db_write_duration_seconds", jobCollector), "p50")).
			WithTarget(promRange("B", quantile("0.9", "hft_db_write_duration_seconds", jobCollector), "p90")).
			WithTarget(promRange("C", quantile("0.99", "hft_db_write_duration_seconds", jobCollector), "p99")).
			Span(8).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("Write errors per channel").
			WithTarget(promRange("A", `60 * sum by (channel) (rate(hft_db_write_errors_total{`+jobCollector+`}[$__rate_interval]))`, "{{channel}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("per minute")).
		WithPanel(newTimeseries().
			Title("Rows written per channel").
			WithTarget(promRange("A", `sum by (channel) (rate(hft_db_rows_written_total{`+jobCollector+`}[$__rate_interval]))`, "{{channel}}").Interval(tradingScrape)).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("rows/s").
			Stacking(stacked()).FillOpacity(20))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
