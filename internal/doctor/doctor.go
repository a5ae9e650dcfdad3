// Package doctor checks a running stack end to end, the way a person would
// use it: through the proxy, with the credentials of .env.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
)

// Status of one check.
type Status string

const (
	OK      Status = "ok"
	Fail    Status = "fail"
	Skipped Status = "skipped"
)

// Result is the outcome of one check.
type Result struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Detail   string        `json:"detail,omitempty"`
	Hint     string        `json:"hint,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Config says where the stack is and how to log in.
type Config struct {
	BaseURL string // the proxy, e.g. http://127.0.0.1:8080
	S3URL   string // the S3 API, e.g. http://127.0.0.1:9000
	// S3External: S3URL is MLFLOW_S3_ENDPOINT_URL outside this stack (for
	// example Hetzner Object Storage), checked whether SeaweedFS runs or not.
	S3External bool
	LokiURL    string            // Loki's API, e.g. http://127.0.0.1:3100
	Env        map[string]string // .env
	// Running lists the services whose containers run; nil means unknown
	// (every service is expected).
	Running map[string]bool
	Timeout time.Duration
	// UIs are the services with a UI behind the proxy (compose.yaml's
	// x-ops.ui): each is fetched without and with its credentials.
	UIs []opsdecl.Service
	// Usage samples the running containers' memory and CPU (docker
	// stats); nil skips the budget check.
	Usage func(context.Context) ([]stack.Usage, error)
}

type doctor struct {
	cfg    Config
	client *http.Client
}

func (d *doctor) running(service string) bool {
	return d.cfg.Running == nil || d.cfg.Running[service]
}

func (d *doctor) user() (string, string) {
	return d.cfg.Env["PROXY_BASIC_AUTH_USER"], d.cfg.Env["PROXY_BASIC_AUTH_PASSWORD"]
}

// request sends a request to the proxy; auth "proxy" adds the proxy's basic
// auth, "grafana" Grafana's admin, "" none.
func (d *doctor) request(ctx context.Context, method, url, auth string, body io.Reader, header map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, nil, err
	}
	switch auth {
	case "proxy":
		req.SetBasicAuth(d.user())
	case "grafana":
		req.SetBasicAuth(d.cfg.Env["GRAFANA_ADMIN_USER"], d.cfg.Env["GRAFANA_ADMIN_PASSWORD"])
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp, data, err
}

func (d *doctor) getJSON(ctx context.Context, url, auth string, into any) error {
	return d.getJSONHeader(ctx, url, auth, nil, into)
}

// getJSONHeader is getJSON with extra request headers (a bearer token).
func (d *doctor) getJSONHeader(ctx context.Context, url, auth string, header map[string]string, into any) error {
	resp, data, err := d.request(ctx, http.MethodGet, url, auth, nil, header)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, snippet(data))
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("GET %s: %v", url, err)
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

type check struct {
	name    string
	service string // skipped when this service does not run ("" = always)
	proxy   bool   // goes through the reverse proxy: skipped when it does not run
	hint    string
	run     func(ctx context.Context) (detail string, err error)
}

// Run performs every check and returns the results in order.
func Run(ctx context.Context, cfg Config) []Result {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	jar, _ := cookiejar.New(nil)
	d := &doctor{cfg: cfg, client: &http.Client{
		Timeout: cfg.Timeout,
		Jar:     jar,
		// Redirects are inspected, not followed: a login that redirects
		// out of its sub path is exactly what must be caught.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	var results []Result
	for _, c := range d.checks() {
		start := time.Now()
		r := Result{Name: c.name}
		if c.service != "" && !d.running(c.service) || c.proxy && !d.running("reverse-proxy") {
			r.Status, r.Detail = Skipped, "skipped: not running"
		} else {
			cctx, cancel := context.WithTimeout(ctx, 2*cfg.Timeout)
			detail, err := c.run(cctx)
			cancel()
			if err != nil {
				r.Status, r.Detail, r.Hint = Fail, err.Error(), c.hint
			} else {
				r.Status, r.Detail = OK, detail
			}
		}
		r.Duration = time.Since(start)
		results = append(results, r)
	}
	return results
}

// Failed reports whether any check failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}
