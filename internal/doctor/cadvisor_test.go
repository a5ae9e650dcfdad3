package doctor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakePrometheus answers instant queries behind the proxy's basic auth the
// way Prometheus' /api/v1/query does. up is cAdvisor's up value ("" for no
// scrape yet); containers(n) is how many compose containers the n-th
// container query (from 1) finds.
type fakePrometheus struct {
	up         string
	containers func(n int) int
	queries    atomic.Int32
	containerQ atomic.Int32
}

func (f *fakePrometheus) serve(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.queries.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "proxy-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("401 Authorization Required"))
			return
		}
		if r.URL.Path != "/prometheus/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		var result []string
		switch q := r.URL.Query().Get("query"); q {
		case cadvisorUpQuery:
			if f.up != "" {
				result = append(result, fmt.Sprintf(`{"metric":{"__name__":"up","instance":"cadvisor:8080","job":"cadvisor","stack":"ops"},"value":[1764579600.123,%q]}`, f.up))
			}
		case containerSeriesQuery:
			n := f.containers(int(f.containerQ.Add(1)))
			for i := range n {
				result = append(result, fmt.Sprintf(`{"metric":{"name":"okx-hft-ops-svc%d-1"},"value":[1764579600.123,"1"]}`, i))
			}
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"unexpected query %s"}`, q)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(result, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func cadvisorDoctor(base string, running map[string]bool) *doctor {
	env := map[string]string{"PROXY_BASIC_AUTH_USER": "ops", "PROXY_BASIC_AUTH_PASSWORD": "proxy-secret"}
	return &doctor{cfg: Config{BaseURL: base, Env: env, Running: running, Timeout: 5 * time.Second}, client: &http.Client{Timeout: 5 * time.Second}}
}

func TestCheckContainerMetrics(t *testing.T) {
	wait, poll := containerMetricsWait, containerMetricsPoll
	containerMetricsWait, containerMetricsPoll = 300*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { containerMetricsWait, containerMetricsPoll = wait, poll })
	running := map[string]bool{"cadvisor": true, "prometheus": true}
	always := func(n int) func(int) int { return func(int) int { return n } }

	t.Run("containers reported", func(t *testing.T) {
		f := &fakePrometheus{up: "1", containers: always(7)}
		base := f.serve(t).URL
		detail, err := cadvisorDoctor(base, running).checkContainerMetrics(context.Background(), base)
		if err != nil || detail != "7 containers reported" {
			t.Errorf("got %q, %v; want \"7 containers reported\"", detail, err)
		}
	})
	t.Run("cadvisor blind to the containers", func(t *testing.T) {
		f := &fakePrometheus{up: "1", containers: always(0)}
		base := f.serve(t).URL
		start := time.Now()
		_, err := cadvisorDoctor(base, running).checkContainerMetrics(context.Background(), base)
		if err == nil || !strings.Contains(err.Error(), "cAdvisor is up but reports no per-container series") ||
			!strings.Contains(err.Error(), "containerd.sock") || !strings.Contains(err.Error(), "runbooks/ops-node.md#containermetricsmissing") {
			t.Fatalf("want the containerd explanation, got %v", err)
		}
		if f.containerQ.Load() < 2 || time.Since(start) > 5*time.Second {
			t.Errorf("asked %d times in %s: want a few retries within the wait", f.containerQ.Load(), time.Since(start))
		}
	})
	t.Run("containers appear after cAdvisor's first housekeeping", func(t *testing.T) {
		f := &fakePrometheus{up: "1", containers: func(n int) int {
			if n < 3 {
				return 0
			}
			return 2
		}}
		base := f.serve(t).URL
		detail, err := cadvisorDoctor(base, running).checkContainerMetrics(context.Background(), base)
		if err != nil || detail != "2 containers reported" {
			t.Errorf("got %q, %v", detail, err)
		}
	})
	t.Run("cadvisor not scraped", func(t *testing.T) {
		f := &fakePrometheus{up: "0", containers: always(0)}
		base := f.serve(t).URL
		_, err := cadvisorDoctor(base, running).checkContainerMetrics(context.Background(), base)
		if err == nil || !strings.Contains(err.Error(), "cannot scrape cAdvisor at cadvisor:8080 (up 0)") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no scrape yet", func(t *testing.T) {
		f := &fakePrometheus{containers: always(0)}
		base := f.serve(t).URL
		_, err := cadvisorDoctor(base, running).checkContainerMetrics(context.Background(), base)
		if err == nil || !strings.Contains(err.Error(), "no scrape of job cadvisor") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("cadvisor not running is skipped", func(t *testing.T) {
		f := &fakePrometheus{up: "1", containers: always(0)}
		base := f.serve(t).URL
		detail, err := cadvisorDoctor(base, map[string]bool{"prometheus": true}).checkContainerMetrics(context.Background(), base)
		if err != nil || !strings.HasPrefix(detail, "skipped: cadvisor is not running") {
			t.Errorf("got %q, %v; want a skip", detail, err)
		}
		if n := f.queries.Load(); n != 0 {
			t.Errorf("%d queries sent for a service that does not run", n)
		}
	})
	t.Run("proxy credentials", func(t *testing.T) {
		f := &fakePrometheus{up: "1", containers: always(1)}
		base := f.serve(t).URL
		d := cadvisorDoctor(base, running)
		d.cfg.Env["PROXY_BASIC_AUTH_PASSWORD"] = "wrong"
		_, err := d.checkContainerMetrics(context.Background(), base)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("got %v; want the proxy's 401", err)
		}
	})
}
