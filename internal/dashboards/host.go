package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Host is the dashboard of the machine under the stack (node-exporter) and
// of its containers (cAdvisor): CPU, load, memory, disks and their predicted
// fill, network, and CPU and memory per compose service.
func Host() (dashboard.Dashboard, error) {
	node := `job="node-exporter",instance=~"$instance"`
	fs := hostFilesystems + `,instance=~"$instance"`
	nics := node + `,device!~"lo|veth.*|docker.*|br-.*|cali.*|flannel.*|cni.*"`
	disks := node + `,device!~"loop.*|ram.*|sr.*|dm-.*"`
	byService := `container_label_com_docker_compose_project, container_label_com_docker_compose_service`
	serviceLegend := "{{container_label_com_docker_compose_project}}/{{container_label_com_docker_compose_service}}"

	b := dashboard.NewDashboardBuilder("Host").
		Uid(HostUID).
		Tags([]string{"host"}).
		Description("The host (node-exporter) and its containers (cAdvisor): CPU, memory, disks, network, per-container CPU and memory."+" "+readOnlyNote).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-6h", "now").
		Refresh("30s").
		WithVariable(promVar("instance", "Host", "node-exporter targets.",
			`label_values(node_uname_info{job="node-exporter"}, instance)`))

	// CPU and memory.
	b.WithRow(dashboard.NewRowBuilder("CPU and memory")).
		WithPanel(newTimeseries().
			Title("CPU usage").
			Description("Share of CPU time not idle, over every core.").
			WithTarget(promRange("A", `1 - avg by (instance) (rate(node_cpu_seconds_total{`+node+`,mode="idle"}[$__rate_interval]))`, "{{instance}}")).
			Span(8).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.95, "red"}))).
		WithPanel(newTimeseries().
			Title("CPU by mode").
			Description("Cores busy per mode; iowait points at the disks, steal at the hypervisor.").
			WithTarget(promRange("A", `sum by (mode) (rate(node_cpu_seconds_total{`+node+`,mode!="idle"}[$__rate_interval]))`, "{{mode}}")).
			Span(8).Height(8).
			Unit("short").Min(0).AxisLabel("cores").
			Stacking(stacked()).FillOpacity(20)).
		WithPanel(newTimeseries().
			Title("Load per core").
			WithTarget(promRange("A", `node_load1{`+node+`} / on (instance) group_left count by (instance) (node_cpu_seconds_total{`+node+`,mode="idle"})`, "1m {{instance}}")).
			WithTarget(promRange("B", `node_load5{`+node+`} / on (instance) group_left count by (instance) (node_cpu_seconds_total{`+node+`,mode="idle"})`, "5m {{instance}}")).
			WithTarget(promRange("C", `node_load15{`+node+`} / on (instance) group_left count by (instance) (node_cpu_seconds_total{`+node+`,mode="idle"})`, "15m {{instance}}")).
			Span(8).Height(8).
			Unit("short").Min(0)).
		WithPanel(newTimeseries().
			Title("Memory usage").
			Description("1 - MemAvailable / MemTotal.").
			WithTarget(promRange("A", `1 - node_memory_MemAvailable_bytes{`+node+`} / node_memory_MemTotal_bytes{`+node+`}`, "{{instance}}")).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.95, "red"}))).
		WithPanel(newTimeseries().
			Title("Memory").
			WithTarget(promRange("A", `node_memory_MemTotal_bytes{`+node+`}`, "total")).
			WithTarget(promRange("B", `node_memory_MemTotal_bytes{`+node+`} - node_memory_MemAvailable_bytes{`+node+`}`, "used")).
			WithTarget(promRange("C", `node_memory_Cached_bytes{`+node+`} + node_memory_Buffers_bytes{`+node+`}`, "cache and buffers")).
			WithTarget(promRange("D", `node_memory_SwapTotal_bytes{`+node+`} - node_memory_SwapFree_bytes{`+node+`}`, "swap used")).
			Span(12).Height(8).
			Unit("bytes").Min(0))

	// Disks.
	b.WithRow(dashboard.NewRowBuilder("Disks")).
		WithPanel(newTimeseries().
			Title("Disk usage").
			WithTarget(promRange("A", `1 - node_filesystem_avail_bytes{`+fs+`} / node_filesystem_size_bytes{`+fs+`}`, "{{mountpoint}}")).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1).
			Thresholds(thresholds("green", step{0.8, "orange"}, step{0.9, "red"}))).
		WithPanel(newTimeseries().
			Title("Disk free, now and predicted in 24h").
			Description("Linear prediction from the last 6 hours; below zero means the disk fills up within a day.").
			WithTarget(promRange("A", `node_filesystem_avail_bytes{`+fs+`}`, "{{mountpoint}} now")).
			WithTarget(promRange("B", `predict_linear(node_filesystem_avail_bytes{`+fs+`}[6h], 24 * 3600)`, "{{mountpoint}} in 24h")).
			Span(12).Height(8).
			Unit("bytes").
			OverrideByRegexp(".* in 24h", []dashboard.DynamicConfigValue{
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			})).
		WithPanel(newTimeseries().
			Title("Disk throughput").
			WithTarget(promRange("A", `sum by (device) (rate(node_disk_read_bytes_total{`+disks+`}[$__rate_interval]))`, "{{device}} read")).
			WithTarget(promRange("B", `sum by (device) (rate(node_disk_written_bytes_total{`+disks+`}[$__rate_interval]))`, "{{device}} written")).
			Span(12).Height(8).
			Unit("Bps").Min(0)).
		WithPanel(newTimeseries().
			Title("Disk busy").
			Description("Share of time the device was busy with I/O; near 100% the disk is the bottleneck (TimescaleDB writes).").
			WithTarget(promRange("A", `rate(node_disk_io_time_seconds_total{`+disks+`}[$__rate_interval])`, "{{device}}")).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1))

	// Network.
	b.WithRow(dashboard.NewRowBuilder("Network")).
		WithPanel(newTimeseries().
			Title("Network traffic").
			Description("Bytes per second on the physical interfaces; transmit drawn below zero.").
			WithTarget(promRange("A", `sum by (device) (rate(node_network_receive_bytes_total{`+nics+`}[$__rate_interval]))`, "{{device}} in")).
			WithTarget(promRange("B", `-sum by (device) (rate(node_network_transmit_bytes_total{`+nics+`}[$__rate_interval]))`, "{{device}} out")).
			Span(12).Height(8).
			Unit("Bps")).
		WithPanel(newTimeseries().
			Title("Network errors and drops").
			WithTarget(promRange("A", `sum by (device) (rate(node_network_receive_errs_total{`+nics+`}[$__rate_interval]) + rate(node_network_transmit_errs_total{`+nics+`}[$__rate_interval]))`, "{{device}} errors")).
			WithTarget(promRange("B", `sum by (device) (rate(node_network_receive_drop_total{`+nics+`}[$__rate_interval]) + rate(node_network_transmit_drop_total{`+nics+`}[$__rate_interval]))`, "{{device}} drops")).
			Span(12).Height(8).
			Unit("pps").Min(0))

	// Containers.
	b.WithRow(dashboard.NewRowBuilder("Containers")).
		WithPanel(newTimeseries().
			Title("Container CPU").
			Description("CPU cores used by each compose service (project/service), from cAdvisor.").
			WithTarget(promRange("A", `sum by (`+byService+`) (rate(container_cpu_usage_seconds_total{`+composeContainers+`}[$__rate_interval]))`, serviceLegend).Interval(cadvisorScrape)).
			Span(12).Height(9).
			Unit("short").Min(0).AxisLabel("cores").
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Container memory").
			Description("Working set memory of each compose service (project/service); the kernel OOM-kills on this figure.").
			WithTarget(promRange("A", `sum by (`+byService+`) (container_memory_working_set_bytes{`+composeContainers+`})`, serviceLegend).Interval(cadvisorScrape)).
			Span(12).Height(9).
			Unit("bytes").Min(0).
			Legend(legendTable())).
		WithPanel(newTimeseries().
			Title("Container CPU throttling").
			Description("Share of CFS periods in which the container was throttled by its CPU limit.").
			WithTarget(promRange("A", `sum by (`+byService+`) (rate(container_cpu_cfs_throttled_periods_total{`+composeContainers+`}[$__rate_interval])) / (sum by (`+byService+`) (rate(container_cpu_cfs_periods_total{`+composeContainers+`}[$__rate_interval])) > 0)`, serviceLegend).Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("percentunit").Min(0).Max(1)).
		WithPanel(newTimeseries().
			Title("Container network").
			Description("Bytes received and sent per compose service.").
			WithTarget(promRange("A", `sum by (`+byService+`) (rate(container_network_receive_bytes_total{`+composeContainers+`}[$__rate_interval]))`, serviceLegend+" in").Interval(cadvisorScrape)).
			WithTarget(promRange("B", `-sum by (`+byService+`) (rate(container_network_transmit_bytes_total{`+composeContainers+`}[$__rate_interval]))`, serviceLegend+" out").Interval(cadvisorScrape)).
			Span(12).Height(8).
			Unit("Bps"))

	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	numberPanels(&d)
	return d, nil
}
