package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// OpsNodeUID is the uid of the "Ops node" dashboard.
const OpsNodeUID = "ops-node"

// OpsComposeProject is the Docker Compose project name of this stack, as it
// appears in the compose_project label of Loki streams. The logs panel and the
// service variable of the "Ops node" dashboard select the ops containers by
// it; it must match the name compose gives the project (compose.yaml `name:`).
const OpsComposeProject = "okx-hft-ops"

// Selectors shared by the panels of the ops node dashboard.
const (
	// Real filesystems of the host; container layers, tmpfs and the like
	// would only add noise.
	hostFilesystems = `job="node-exporter",fstype!~"tmpfs|devtmpfs|overlay|squashfs|ramfs|nsfs|fuse.lxcfs|autofs",mountpoint!~"/run.*|/var/lib/docker/.+|/boot.*"`
	// cAdvisor also reports cgroups that are not compose containers.
	composeContainers = `job="cadvisor",container_label_com_docker_compose_service!=""`
	// Error-looking lines, minus lines that declare a lower level (for
	// example `level=info msg="... error=<nil>"`).
	errorLineFilter = "|~ `(?i)\\b(error|fatal|panic|crit|critical|emerg)\\b` !~ `(?i)level\"?\\s*[=:]\\s*\"?(info|debug|trace)\\b`"
)

// defaultBackupInterval is the backup service's default interval between
// backups, in seconds (ops_backup_interval_seconds): the "Time since last
// backup" panel turns orange after one and red after two. The alert
// BackupMissing reads the interval the service reports instead.
const defaultBackupInterval = 3600

// OpsNode is the one-screen view of the ops node for the person running it:
// is every scrape target up, are the trading stacks connected, are the rules,
// alerts and notifications working, is the host or a container running out of
// CPU, memory or disk, is the log pipeline flowing, which ops container is
// logging errors, and are the backups recent and restorable.
func OpsNode() (dashboard.Dashboard, error) {
	serviceQuery := `label_values({compose_project="` + OpsComposeProject + `"}, compose_service)`

	b := dashboard.NewDashboardBuilder("Ops node").
		Uid(OpsNodeUID).
		Tags([]string{"ops"}).
		Description("Health of the ops node: scrape targets, trading stacks, Prometheus, alerting, host, containers, the log pipeline and backups."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-6h", "now").
		Refresh("30s").
		WithVariable(lokiVar("service", "Service", "Compose services of the ops stack, from the compose_service label of their log streams.", serviceQuery))

	// Scrape targets.
	b.WithRow(dashboard.NewRowBuilder("Scrape targets")).
		WithPanel(newStat().
			Title("Targets down").
			Description("Scrape targets whose last scrape failed (up == 0), over every job.").
			WithTarget(promInstant("A", `count(up == 0) or vector(0)`, "down")).
			Span(4).Height(5).
			Unit("short").Decimals(0).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("Jobs up").
			Description("One box per scrape job: DOWN as soon as one of its targets fails its scrape.").
			WithTarget(promInstant("A", `min by (job) (up)`, "{{job}}")).
			Span(20).Height(5).
			Mappings(upDown("UP", "DOWN")).
			Thresholds(thresholds("red", step{1, "green"})).
			TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newTable().
			Title("Scrape targets").
			Description("Every target Prometheus scrapes, failing ones first.").
			WithTarget(promTable("A", `up`)).
			Span(24).Height(8).
			WithTransformation(organize(
				[]string{"Time", "__name__"},
				map[string]string{"Value": "state"},
				[]string{"job", "instance", "stack", "Value"})).
			SortBy(sortBy("state")).
			OverrideByName("state", []dashboard.DynamicConfigValue{
				{Id: "mappings", Value: upDown("UP", "DOWN")},
				{Id: "custom.cellOptions", Value: map[string]any{"type": string(common.TableCellDisplayModeColorBackground)}},
			}))

	// Trading stacks.
	b.WithRow(dashboard.NewRowBuilder("Trading stacks")).
		WithPanel(newStat().
			Title("Trading services connected").
			Description(`Collector, executor and TimescaleDB (targets labelled stack="trading") that Prometheus reaches over hft_network.`).
			WithTarget(promInstant("A", `max by (job) (up{stack="trading"})`, "{{job}}")).
			Span(8).Height(6).
			Mappings(upDown("CONNECTED", "DOWN")).
			NoValue("no trading stack configured").
			Thresholds(thresholds("red", step{1, "green"})).
			TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newTimeseries().
			Title("Trading targets up").
			Description("Targets up per trading job over time; a drop is a disconnect or a restart.").
			WithTarget(promRange("A", `sum by (job) (up{stack="trading"})`, "{{job}}")).
			Span(16).Height(6).
			Unit("short").Decimals(0).Min(0))

	// Prometheus itself.
	b.WithRow(dashboard.NewRowBuilder("Prometheus")).
		WithPanel(newTimeseries().
			Title("Rule evaluation failures").
			Description("Failed evaluations per rule group; anything above zero means an alert or recording rule is not being computed.").
			WithTarget(promRange("A", `sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[$__rate_interval]))`, "{{rule_group}}")).
			Span(8).Height(8).
			Unit("cps").Min(0).
			Thresholds(thresholds("green", step{0.0001, "red"}))).
		WithPanel(newTimeseries().
			Title("Rule group evaluation duration").
			Description("Duration of the last evaluation of each rule group; it must stay well below the group's interval.").
			WithTarget(promRange("A", `max by (rule_group) (prometheus_rule_group_last_duration_seconds{job="prometheus"})`, "{{rule_group}}")).
			Span(8).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("TSDB head series").
			Description("Series in the in-memory head block; a steady climb is a cardinality leak.").
			WithTarget(promRange("A", `prometheus_tsdb_head_series{job="prometheus"}`, "head series")).
			Span(8).Height(8).
			Unit("short").Min(0))

	// Alerting.
	b.WithRow(dashboard.NewRowBuilder("Alerts")).
		WithPanel(newStat().
			Title("Firing alerts").
			WithTarget(promInstant("A", `count(ALERTS{alertstate="firing"}) or vector(0)`, "firing")).
			Span(4).Height(8).
			Unit("short").Decimals(0).
			Thresholds(thresholds("green", step{1, "red"})).
			GraphMode(common.BigValueGraphModeArea)).
		WithPanel(newTable().
			Title("Firing alerts").
			Description("Alerts Prometheus is firing now, with their labels.").
			WithTarget(promTable("A", `ALERTS{alertstate="firing"}`)).
			Span(10).Height(8).
			NoValue("nothing firing").
			WithTransformation(organize(
				[]string{"Time", "__name__", "alertstate", "Value"},
				map[string]string{},
				[]string{"alertname", "severity", "job", "instance"})).
			SortBy(sortBy("alertname"))).
		WithPanel(newTimeseries().
			Title("Alertmanager notifications").
			Description("Notifications attempted and failed per integration (Telegram, webhook...), per minute. Failures mean alerts are not reaching anyone.").
			WithTarget(promRange("A", `60 * sum by (integration) (rate(alertmanager_notifications_total{job="alertmanager"}[$__rate_interval]))`, "{{integration}} attempted")).
			WithTarget(promRange("B", `60 * sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}[$__rate_interval]))`, "{{integration}} failed")).
			Span(10).Height(8).
			Unit("short").Min(0).AxisLabel("per minute").
			OverrideByRegexp(".* failed", []dashboard.DynamicConfigValue{
				{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
			}))

	// Host.
	b.WithRow(dashboard.NewRowBuilder("Host")).
		WithPanel(newTimeseries().
			Title("CPU usage").
			WithTarget(promRange("A", `1 - avg by (instance) (rate(node_cpu_seconds_total{job="node-exporter",mode="idle"}[$__rate_interval]))`, "cpu")).
			Span(6).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.95, "red"}))).
		WithPanel(newTimeseries().
			Title("Memory usage").
			WithTarget(promRange("A", `1 - node_memory_MemAvailable_bytes{job="node-exporter"} / node_memory_MemTotal_bytes{job="node-exporter"}`, "memory")).
			Span(6).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.95, "red"}))).
		WithPanel(newTimeseries().
			Title("Disk usage").
			WithTarget(promRange("A", `1 - node_filesystem_avail_bytes{`+hostFilesystems+`} / node_filesystem_size_bytes{`+hostFilesystems+`}`, "{{mountpoint}}")).
			Span(6).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.9, "red"}))).
		WithPanel(newTimeseries().
			Title("Disk free, now and predicted in 24h").
			Description("Linear prediction from the last 6 hours; below zero means the disk fills up within a day.").
			WithTarget(promRange("A", `node_filesystem_avail_bytes{`+hostFilesystems+`}`, "{{mountpoint}} now")).
			WithTarget(promRange("B", `predict_linear(node_filesystem_avail_bytes{`+hostFilesystems+`}[6h], 24 * 3600)`, "{{mountpoint}} in 24h")).
			Span(6).Height(8).
			Unit("bytes").
			OverrideByRegexp(".* in 24h", []dashboard.DynamicConfigValue{
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			}))

	// Containers.
	b.WithRow(dashboard.NewRowBuilder("Containers")).
		WithPanel(newTimeseries().
			Title("Container CPU by compose service").
			Description("CPU cores used by each compose service on this host (cAdvisor).").
			WithTarget(promRange("A", `sum by (container_label_com_docker_compose_service) (rate(container_cpu_usage_seconds_total{`+composeContainers+`}[$__rate_interval]))`, "{{container_label_com_docker_compose_service}}").Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("cores").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Container memory by compose service").
			Description("Working set memory of each compose service on this host (cAdvisor); the kernel OOM-kills on this figure.").
			WithTarget(promRange("A", `sum by (container_label_com_docker_compose_service) (container_memory_working_set_bytes{`+composeContainers+`})`, "{{container_label_com_docker_compose_service}}").Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("bytes").Min(0).
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Container memory against its budget").
			Description("Working set of each compose service as a share of its memory limit (deploy.resources.limits.memory in compose.yaml); at 100% the kernel OOM-kills it. opsctl doctor prints the same figures.").
			WithTarget(promRange("A", `max by (container_label_com_docker_compose_service) (container_memory_working_set_bytes{`+composeContainers+`}) / max by (container_label_com_docker_compose_service) (container_spec_memory_limit_bytes{`+composeContainers+`} > 0)`, "{{container_label_com_docker_compose_service}}").Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Container CPU against its budget").
			Description("CPU of each compose service as a share of its CPU limit (deploy.resources.limits.cpus); near 100% it is throttled.").
			WithTarget(promRange("A", `sum by (container_label_com_docker_compose_service) (rate(container_cpu_usage_seconds_total{`+composeContainers+`}[$__rate_interval])) / max by (container_label_com_docker_compose_service) (container_spec_cpu_quota{`+composeContainers+`} / container_spec_cpu_period{`+composeContainers+`} > 0)`, "{{container_label_com_docker_compose_service}}").Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Legend(legendTable()))

	// Log pipeline: Alloy reads container logs and pushes them to Loki.
	b.WithRow(dashboard.NewRowBuilder("Log pipeline")).
		WithPanel(newTimeseries().
			Title("Loki ingestion rate").
			Description("Bytes of log lines Loki's distributor receives.").
			WithTarget(promRange("A", `sum(rate(loki_distributor_bytes_received_total{job="loki"}[$__rate_interval]))`, "received")).
			Span(12).Height(8).
			Unit("Bps").Min(0)).
		WithPanel(newTimeseries().
			Title("Log lines: Alloy sent, dropped; Loki received").
			Description("Lines per second Alloy's loki.write sent and dropped, next to what Loki received. Drops or a gap between the two mean lost logs.").
			WithTarget(promRange("A", `sum(rate(loki_write_sent_entries_total{job="alloy"}[$__rate_interval]))`, "Alloy sent")).
			WithTarget(promRange("B", `sum by (reason) (rate(loki_write_dropped_entries_total{job="alloy"}[$__rate_interval]))`, "Alloy dropped ({{reason}})")).
			WithTarget(promRange("C", `sum(rate(loki_distributor_lines_received_total{job="loki"}[$__rate_interval]))`, "Loki received")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("lines/s").
			OverrideByRegexp("Alloy dropped.*", []dashboard.DynamicConfigValue{
				{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
			}))

	// Logs.
	b.WithRow(dashboard.NewRowBuilder("Ops container logs")).
		WithPanel(newLogs().
			Title("Error lines of ops containers ($service)").
			Description("Lines mentioning error, fatal, panic or critical in the logs of the ops stack's containers; pick services with the Service variable.").
			WithTarget(lokiLogs("A", `{compose_project="`+OpsComposeProject+`",compose_service=~"$service"} `+errorLineFilter).MaxLines(1000)).
			Span(24).Height(12).
			ShowLabels(true))

	// Backups: the backup service (opsctl backup-agent, job backup) runs
	// restic every backup interval and a restore drill every drill interval.
	// Last, so that the ids of the panels above stay as they were.
	b.WithRow(dashboard.NewRowBuilder("Backups")).
		WithPanel(newStat().
			Title("Backups configured").
			Description("Whether the backup service has a repository (BACKUP_REPOSITORY in .env); without one nothing is backed up and BackupMissing fires after an hour.").
			WithTarget(promInstant("A", `ops_backup_configured{job="backup"}`, "configured")).
			Span(4).Height(5).
			Mappings(valueText("1", "CONFIGURED", "green", "0", "NOT CONFIGURED", "red")).
			NoValue("no backup service").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Time since last backup").
			Description("Age of the newest snapshot in the repository. Orange after one backup interval, red after two (the default interval, 1 h); BackupMissing fires after two intervals and 10 minutes of the interval the service reports.").
			WithTarget(promInstant("A", `time() - (ops_backup_last_success_timestamp_seconds{job="backup"} > 0)`, "since last backup")).
			Span(6).Height(5).
			Unit("s").
			NoValue("no snapshot").
			Thresholds(thresholds("green", step{defaultBackupInterval, "orange"}, step{2 * defaultBackupInterval, "red"}))).
		WithPanel(newStat().
			Title("Last backup").
			Description("Result of the backup service's last run; BackupFailing fires on FAILED.").
			WithTarget(promInstant("A", `ops_backup_last_run_success{job="backup"}`, "last backup")).
			Span(5).Height(5).
			Mappings(valueText("1", "OK", "green", "0", "FAILED", "red")).
			NoValue("no run yet").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Last restore drill").
			Description("Result of the last restore drill (the newest snapshot restored into scratch space and verified); RestoreDrillFailing fires on FAILED.").
			WithTarget(promInstant("A", `ops_restore_drill_last_success{job="backup"}`, "last drill")).
			Span(5).Height(5).
			Mappings(valueText("1", "OK", "green", "0", "FAILED", "red")).
			NoValue("no drill yet").
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newStat().
			Title("Snapshots").
			Description("Snapshots of this node in the repository.").
			WithTarget(promInstant("A", `ops_backup_snapshots{job="backup"}`, "snapshots")).
			Span(4).Height(5).
			Unit("short").Decimals(0).
			Thresholds(thresholds("red", step{1, "green"}))).
		WithPanel(newTimeseries().
			Title("Backup and drill duration").
			Description("How long the last backup run and the last restore drill took, as the backup service reports after each.").
			WithTarget(promRange("A", `ops_backup_last_duration_seconds{job="backup"}`, "backup")).
			WithTarget(promRange("B", `ops_restore_drill_last_duration_seconds{job="backup"}`, "restore drill")).
			Span(12).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("Backup size").
			Description("Data in the last snapshot, and the bytes it added to the repository (what deduplication did not find there already).").
			WithTarget(promRange("A", `ops_backup_last_size_bytes{job="backup"}`, "snapshot size")).
			WithTarget(promRange("B", `ops_backup_last_added_bytes{job="backup"}`, "added to the repository")).
			Span(12).Height(8).
			Unit("bytes").Min(0))

	// Pipelines: Airflow (job airflow, its statsd exporter) and the trading
	// data's quality that its ops_data_quality DAG measures. After Backups,
	// so that the ids of the panels above stay as they were.
	b.WithRow(dashboard.NewRowBuilder("Pipelines (Airflow)")).
		WithPanel(newStat().
			Title("Airflow scheduler").
			Description("Scheduler loops a second, from its heartbeats; 0 or no value for 5 minutes fires AirflowSchedulerDown: no DAG runs.").
			WithTarget(promInstant("A", `sum(rate(airflow_scheduler_heartbeats_total{job="airflow"}[$__rate_interval]))`, "heartbeats/s")).
			Span(5).Height(5).
			Unit("short").Decimals(1).
			NoValue("no heartbeat").
			Thresholds(thresholds("red", step{0.01, "green"}))).
		WithPanel(newStat().
			Title("Failed DAG runs (24h)").
			Description("DAG runs that ended failed in the last 24 hours (after their retries); AirflowDagFailed fires on each.").
			WithTarget(promInstant("A", `sum(increase(airflow_dagrun_duration_seconds_count{job="airflow",state="failed"}[24h])) or vector(0)`, "failed")).
			Span(5).Height(5).
			Unit("short").Decimals(0).
			Thresholds(thresholds("green", step{1, "red"}))).
		WithPanel(newStat().
			Title("Time since the last data-quality check").
			Description("Age of the last ops_data_quality run (daily at 01:00 UTC, for the day before).").
			WithTarget(promInstant("A", `time() - max(ops_dq_last_run_timestamp_seconds{job="airflow"})`, "since last check")).
			Span(6).Height(5).
			Unit("s").
			NoValue("no check yet").
			Thresholds(thresholds("green", step{26 * 3600, "orange"}, step{50 * 3600, "red"}))).
		WithPanel(newStat().
			Title("Data-quality violations").
			Description("Violations ops_data_quality found in the day it checked, by check; TradingDataQuality fires on any (runbooks/airflow.md#tradingdataquality).").
			WithTarget(promInstant("A", `sum by (check) (ops_dq_violations{job="airflow"})`, "{{check}}")).
			Span(8).Height(5).
			Unit("short").Decimals(0).
			NoValue("no check yet").
			Thresholds(thresholds("green", step{1, "red"})).
			TextMode(common.BigValueTextModeValueAndName)).
		WithPanel(newTimeseries().
			Title("Longest market-data gap").
			Description("The longest time without a trade or book row per table and instrument in the day last checked; above gap_threshold_seconds (120 s) it is a gap violation.").
			WithTarget(promRange("A", `ops_dq_max_gap_seconds{job="airflow"}`, "{{table}} {{inst_id}}")).
			Span(12).Height(8).
			Unit("s").Min(0)).
		WithPanel(newTimeseries().
			Title("DAG run duration").
			Description("Mean duration of the successful runs of each DAG over the last hour.").
			WithTarget(promRange("A", `sum by (dag_id) (rate(airflow_dagrun_duration_seconds_sum{job="airflow",state="success"}[1h])) / sum by (dag_id) (rate(airflow_dagrun_duration_seconds_count{job="airflow",state="success"}[1h]))`, "{{dag_id}}")).
			Span(12).Height(8).
			Unit("s").Min(0))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
