package doctor

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// The series the container panels (Host, Ops node) read: a container is
// reported when cAdvisor identified it as a Docker container and kept its
// compose labels (--whitelisted_container_labels in compose.yaml).
const (
	containerSeriesQuery = `count by (name) (container_memory_working_set_bytes{job="cadvisor", container_label_com_docker_compose_service!=""})`
	cadvisorUpQuery      = `up{job="cadvisor"}`
)

// How long checkContainerMetrics waits for a first scrape of cAdvisor, and
// for its first containers, before it fails: right after `opsctl up`,
// Prometheus may not have scraped cAdvisor (every 30 s) yet. Variables so
// the tests do not wait.
var (
	containerMetricsWait = 45 * time.Second
	containerMetricsPoll = 5 * time.Second
)

type promVector struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// promQuery runs an instant query through the proxy.
func (d *doctor) promQuery(ctx context.Context, base, q string) (promVector, error) {
	var out promVector
	err := d.getJSON(ctx, base+"/prometheus/api/v1/query?query="+url.QueryEscape(q), "proxy", &out)
	if err == nil && out.Status != "success" {
		err = fmt.Errorf("query %s: status %q", q, out.Status)
	}
	return out, err
}

// checkContainerMetrics passes when Prometheus holds per-container series
// from cAdvisor. cAdvisor can be up and still blind to every container: on
// Docker 29's containerd image store it needs containerd's socket, and
// without it its Docker factory does not register (google/cadvisor#3643,
// #3772), so with --docker_only only the host's root cgroup is reported.
// That is the alert ContainerMetricsMissing; this check says it at once.
// cAdvisor not running (the test stack has no image of it) is a skip.
func (d *doctor) checkContainerMetrics(ctx context.Context, base string) (string, error) {
	if !d.running("cadvisor") {
		return "skipped: cadvisor is not running, so no container metrics are expected", nil
	}
	deadline := time.Now().Add(containerMetricsWait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl.Add(-containerMetricsPoll)
	}
	for {
		detail, retry, err := d.containerMetricsOnce(ctx, base)
		if err == nil || !retry || !time.Now().Add(containerMetricsPoll).Before(deadline) {
			return detail, err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(containerMetricsPoll):
		}
	}
}

// containerMetricsOnce looks once; retry says whether a later look may
// pass (no scrape yet, or cAdvisor still starting).
func (d *doctor) containerMetricsOnce(ctx context.Context, base string) (detail string, retry bool, err error) {
	up, err := d.promQuery(ctx, base, cadvisorUpQuery)
	if err != nil {
		return "", false, err
	}
	if len(up.Data.Result) == 0 {
		return "", true, fmt.Errorf("Prometheus has no scrape of job cadvisor yet (query %s is empty): is the cadvisor job in prometheus/prometheus.yml?", cadvisorUpQuery)
	}
	for _, s := range up.Data.Result {
		if v, _ := s.Value[1].(string); v != "1" {
			return "", true, fmt.Errorf("Prometheus cannot scrape cAdvisor at %s (up %s): docker compose logs cadvisor; /prometheus/targets shows the error", s.Metric["instance"], v)
		}
	}
	series, err := d.promQuery(ctx, base, containerSeriesQuery)
	if err != nil {
		return "", false, err
	}
	if n := len(series.Data.Result); n > 0 {
		return fmt.Sprintf("%d containers reported", n), false, nil
	}
	return "", true, fmt.Errorf("cAdvisor is up but reports no per-container series (no container_memory_working_set_bytes of a compose service): " +
		"it cannot read Docker's containers and the container panels are empty. " +
		"On Docker 29's containerd image store (docker info -f '{{.Driver}}' prints overlayfs) cAdvisor needs /run/containerd/containerd.sock; " +
		"see docker compose logs cadvisor and runbooks/ops-node.md#containermetricsmissing")
}
