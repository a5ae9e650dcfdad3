package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// LogsUID is the uid of the "Logs" dashboard.
const LogsUID = "logs"

// Stream selector of the Logs dashboard: the containers Alloy ships, by
// compose project and service (labels set in alloy/config.alloy).
const logsSelector = `{compose_project=~"$project",compose_service=~"$service"}`

// Logs is the log explorer of every container on the node that Alloy ships
// to Loki: the ops stack, the demo simulators and the trading services
// running on this host. It shows how much each service logs, which services
// log errors, the warnings and errors of services that log JSON with a
// level field (the trading services and hftsim do), and the lines
// themselves, filtered by a search text.
func Logs() (dashboard.Dashboard, error) {
	search := `|~ "(?i)$search"`
	b := dashboard.NewDashboardBuilder("Logs").
		Uid(LogsUID).
		Tags([]string{"logs", "ops", "trading"}).
		Description("Container logs shipped by Alloy to Loki: volume, errors and lines per compose project and service.").
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-1h", "now").
		Refresh("30s").
		WithVariable(lokiVar("project", "Project", "Compose projects whose containers log to Loki.",
			`label_values(compose_project)`)).
		WithVariable(lokiVar("service", "Service", "Compose services of the selected projects.",
			`label_values({compose_project=~"$project"}, compose_service)`)).
		WithVariable(dashboard.NewTextBoxVariableBuilder("search").
			Label("Search").
			Description("Case-insensitive regular expression the lines must match; empty matches every line.").
			DefaultValue(dashboard.StringOrMap{String: ptr("")}))

	b.WithRow(dashboard.NewRowBuilder("Volume")).
		WithPanel(newTimeseries().
			Datasource(LokiRef()).
			Title("Lines per service").
			Description("Log lines per second of each selected service that match the search; a service that suddenly logs much more is usually in trouble.").
			WithTarget(lokiMetric("A", `sum by (compose_service) (rate(`+logsSelector+` `+search+` [$__auto]))`, "{{compose_service}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("lines/s").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Datasource(LokiRef()).
			Title("Error lines per service").
			Description("Lines mentioning error, fatal, panic or critical (minus lines that declare a lower level), per selected service.").
			WithTarget(lokiMetric("A", `sum by (compose_service) (rate(`+logsSelector+` `+errorLineFilter+` [$__auto]))`, "{{compose_service}}")).
			Span(12).Height(8).
			Unit("short").Min(0).AxisLabel("lines/s").
			Legend(legendTable()))

	b.WithRow(dashboard.NewRowBuilder("Structured logs")).
		WithPanel(newTimeseries().
			Datasource(LokiRef()).
			Title("Warnings and errors by level (JSON logs)").
			Description(`Lines of services that log JSON objects with a "level" field (the trading services, hftsim), counted by service and level.`).
			WithTarget(lokiMetric("A", `sum by (compose_service, level) (rate(`+logsSelector+` |= "level" | json level | level=~"(?i)warn|warning|error|fatal|critical" [$__auto]))`, "{{compose_service}} {{level}}")).
			Span(24).Height(8).
			Unit("short").Min(0).AxisLabel("lines/s").
			Legend(legendTable()).
			Stacking(stacked()))

	b.WithRow(dashboard.NewRowBuilder("Lines")).
		WithPanel(newLogs().
			Title("Error lines ($service)").
			Description("The error lines counted above, newest first.").
			WithTarget(lokiLogs("A", logsSelector+` `+errorLineFilter+` `+search).MaxLines(500)).
			Span(24).Height(10).
			ShowLabels(true)).
		WithPanel(newLogs().
			Title("All lines ($service)").
			Description("Every line of the selected services that matches the search, newest first.").
			WithTarget(lokiLogs("A", logsSelector+` `+search).MaxLines(1000)).
			Span(24).Height(14).
			ShowLabels(true))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
