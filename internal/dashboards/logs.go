package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// LogsUID is the uid of the "Logs" dashboard.
const LogsUID = "logs"

// Stream selector of the Logs dashboard: the containers Alloy ships, by
// compose project and service (labels set in alloy/config.alloy).
const logsSelector = `{compose_project=~"$project",compose_service=~"$service"}`

// searchFilter keeps the lines that match the Search box. Grafana puts a
// text box's value into the query as typed, unescaped; in a double-quoted
// LogQL string \d would be "invalid char escape" and a " would end the
// string, so the value goes into a backtick (raw) string, which takes \
// and " as typed. Only a typed backtick still ends it: the box's label and
// description say so. CheckFile refuses a text box anywhere else.
const searchFilter = "|~ `(?i)$search`"

// levelQuery counts lines by detected_level, the structured metadata Loki
// 3.x adds to every line at ingestion (limits_config.discover_log_levels,
// default true, docs/sources/shared/configuration.md) from a level,
// severity or lvl field of JSON or logfmt lines, or from the words of a
// plain line. Its values are normalised to trace, debug, info, warn, error,
// critical, fatal or unknown (normalizeLogLevel and
// extractLogLevelFromLogLine in pkg/distributor/field_detection.go,
// constants in pkg/util/constants/levels.go); a value it does not know is
// kept as written, hence the case-insensitive match.
const levelQuery = `sum by (compose_service, detected_level) (rate(` + logsSelector + ` | detected_level=~"(?i)warn|warning|error|critical|fatal" [$__auto]))`

// Logs is the log explorer of every container on the node that Alloy ships
// to Loki: the ops stack, the demo simulators and the trading services
// running on this host. It shows how much each service logs, which services
// log errors, the warnings and errors by the level Loki detects in each
// line, and the lines themselves, filtered by a search text.
func Logs() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("Logs").
		Uid(LogsUID).
		Tags([]string{"logs", "ops", "trading"}).
		Description("Container logs shipped by Alloy to Loki: volume, errors and lines per compose project and service. "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-1h", "now").
		Refresh("30s").
		WithVariable(lokiVar("project", "Project", "Compose projects whose containers log to Loki.",
			`label_values(compose_project)`)).
		WithVariable(lokiVar("service", "Service", "Compose services of the selected projects.",
			`label_values({compose_project=~"$project"}, compose_service)`)).
		WithVariable(dashboard.NewTextBoxVariableBuilder("search").
			Label("Search (regex, no backtick)").
			Description("Case-insensitive regular expression (RE2) the lines must match, taken as typed: \\d+, quotes and | work. A backtick (`) cannot be used: it would end the query's string. Empty matches every line.").
			DefaultValue(dashboard.StringOrMap{String: ptr("")}))

	b.WithRow(dashboard.NewRowBuilder("Volume")).
		WithPanel(newTimeseries().
			Datasource(LokiRef()).
			Title("Lines per service").
			Description("Log lines per second of each selected service that match the search; a service that suddenly logs much more is usually in trouble.").
			WithTarget(lokiMetric("A", `sum by (compose_service) (rate(`+logsSelector+` `+searchFilter+` [$__auto]))`, "{{compose_service}}")).
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

	b.WithRow(dashboard.NewRowBuilder("Levels")).
		WithPanel(newTimeseries().
			Datasource(LokiRef()).
			Title("Warnings and errors by level").
			Description("Lines per second at level warn, error, critical or fatal, by service and the level Loki detected in the line (JSON, logfmt or plain text).").
			WithTarget(lokiMetric("A", levelQuery, "{{compose_service}} {{detected_level}}")).
			Span(24).Height(8).
			Unit("short").Min(0).AxisLabel("lines/s").
			Legend(legendTable()).
			Stacking(stacked()))

	b.WithRow(dashboard.NewRowBuilder("Lines")).
		WithPanel(newLogs().
			Title("Error lines ($service)").
			Description("The error lines counted above, newest first.").
			WithTarget(lokiLogs("A", logsSelector+` `+errorLineFilter+` `+searchFilter).MaxLines(500)).
			Span(24).Height(10).
			ShowLabels(true)).
		WithPanel(newLogs().
			Title("All lines ($service)").
			Description("Every line of the selected services that matches the search, newest first.").
			WithTarget(lokiLogs("A", logsSelector+` `+searchFilter).MaxLines(1000)).
			Span(24).Height(14).
			ShowLabels(true))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
