package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// uiRoute is a UI behind the proxy: without credentials it must answer
// with the proxy's 401 or its own login; with them, the UI.
type uiRoute struct {
	name, service, path string
	proxyAuth           bool
}

// uiRoutes are the proxy's landing page and every declared UI.
func (d *doctor) uiRoutes() []uiRoute {
	routes := []uiRoute{{"landing page", "reverse-proxy", "/", true}}
	for _, s := range d.cfg.UIs {
		routes = append(routes, uiRoute{strings.ToLower(s.UI.Title) + " UI", s.Name, s.UI.Probe, s.UI.Login.Proxy})
	}
	return routes
}

func (d *doctor) checks() []check {
	base := strings.TrimSuffix(d.cfg.BaseURL, "/")
	var cs []check
	cs = append(cs, check{name: "proxy", service: "reverse-proxy", hint: "docker compose logs reverse-proxy", run: func(ctx context.Context) (string, error) {
		resp, _, err := d.request(ctx, http.MethodGet, base+"/healthz", "", nil, nil)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("/healthz answered %s", resp.Status)
		}
		return base, nil
	}})
	for _, ui := range d.uiRoutes() {
		cs = append(cs, check{name: ui.name, service: ui.service, proxy: true, hint: "docker compose logs " + ui.service, run: func(ctx context.Context) (string, error) {
			return d.checkUI(ctx, base, ui)
		}})
	}
	cs = append(cs,
		check{name: "prometheus targets", service: "prometheus", hint: "open /prometheus/targets for the scrape error", run: func(ctx context.Context) (string, error) { return d.checkTargets(ctx, base) }},
		check{name: "prometheus rules", service: "prometheus", hint: "open /prometheus/rules; run opsctl check", run: func(ctx context.Context) (string, error) { return d.checkRules(ctx, base) }},
		check{name: "alertmanager receivers", service: "alertmanager", hint: "docker compose logs ops-init alertmanager", run: func(ctx context.Context) (string, error) { return d.checkReceivers(ctx, base) }},
		check{name: "s3 round trip", service: d.s3Service(), hint: "check MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in .env; docker compose logs seaweedfs seaweedfs-s3 s3-init", run: d.checkS3},
		check{name: "mlflow round trip", service: "mlflow", hint: "docker compose logs mlflow", run: func(ctx context.Context) (string, error) { return d.checkMLflow(ctx, base) }},
		check{name: "superset login", service: "superset", hint: "docker compose logs superset superset-init", run: func(ctx context.Context) (string, error) { return d.checkSupersetLogin(ctx, base) }},
		check{name: "airflow", service: "airflow-apiserver", hint: "docker compose logs airflow-apiserver airflow-scheduler airflow-init; runbooks/airflow.md", run: func(ctx context.Context) (string, error) { return d.checkAirflow(ctx, base) }},
		check{name: "grafana datasources", service: "grafana", hint: "docker compose logs grafana", run: func(ctx context.Context) (string, error) { return d.checkGrafana(ctx, base) }},
		check{name: "container metrics", service: "cadvisor", hint: "docker compose logs cadvisor; runbooks/ops-node.md#containermetricsmissing", run: func(ctx context.Context) (string, error) { return d.checkContainerMetrics(ctx, base) }},
		check{name: "loki push/query", service: "loki", hint: "docker compose logs loki", run: d.checkLoki},
	)
	if d.cfg.Usage != nil {
		cs = append(cs, check{name: "container budgets", hint: "raise the service's deploy.resources.limits in compose.yaml (within OPS_MEMORY_BUDGET), or find what grows: docker compose logs <service>", run: d.checkBudgets})
	}
	return cs
}

func (d *doctor) checkUI(ctx context.Context, base string, ui uiRoute) (string, error) {
	resp, _, err := d.request(ctx, http.MethodGet, base+ui.path, "", nil, nil)
	if err != nil {
		return "", err
	}
	if ui.proxyAuth {
		if resp.StatusCode != http.StatusUnauthorized {
			return "", fmt.Errorf("%s without credentials answered %s, want 401: the UI is open to anyone who reaches the proxy", ui.path, resp.Status)
		}
		resp, body, err := d.request(ctx, http.MethodGet, base+ui.path, "proxy", nil, nil)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s with the proxy credentials answered %s: %s", ui.path, resp.Status, snippet(body))
		}
		return "401 without credentials, 200 with", nil
	}
	resp, body, err := d.request(ctx, http.MethodGet, base+ui.path, "", nil, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
		return "", fmt.Errorf("%s answered %s, want its login page: %s", ui.path, resp.Status, snippet(body))
	}
	return "login page served", nil
}

func (d *doctor) checkTargets(ctx context.Context, base string) (string, error) {
	var out struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
				ScrapeURL string            `json:"scrapeUrl"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := d.getJSON(ctx, base+"/prometheus/api/v1/targets?state=active", "proxy", &out); err != nil {
		return "", err
	}
	var up, skipped []string
	var down []string
	for _, t := range out.Data.ActiveTargets {
		u, _ := url.Parse(t.ScrapeURL)
		host := ""
		if u != nil {
			host, _, _ = net.SplitHostPort(u.Host)
		}
		service := host // scrape targets name their compose service
		switch {
		case t.Health == "up":
			up = append(up, t.Labels["job"])
		case !d.running(service):
			skipped = append(skipped, t.Labels["job"])
		default:
			down = append(down, fmt.Sprintf("%s (%s): %s", t.Labels["job"], t.Health, t.LastError))
		}
	}
	sort.Strings(up)
	if len(down) > 0 {
		return "", fmt.Errorf("targets of running services are down: %s", strings.Join(down, "; "))
	}
	if len(up) == 0 {
		return "", fmt.Errorf("no target is up")
	}
	detail := fmt.Sprintf("%d up (%s)", len(up), strings.Join(up, ", "))
	if len(skipped) > 0 {
		sort.Strings(skipped)
		detail += fmt.Sprintf("; not running: %s", strings.Join(skipped, ", "))
	}
	return detail, nil
}

func (d *doctor) checkRules(ctx context.Context, base string) (string, error) {
	var out struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := d.getJSON(ctx, base+"/prometheus/api/v1/rules", "proxy", &out); err != nil {
		return "", err
	}
	n := 0
	for _, g := range out.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				return "", fmt.Errorf("rule %s in group %s fails: %s", r.Name, g.Name, r.LastError)
			}
		}
	}
	if n == 0 {
		return "", fmt.Errorf("no rules loaded")
	}
	return fmt.Sprintf("%d groups, %d rules, none failing", len(out.Data.Groups), n), nil
}

func (d *doctor) checkReceivers(ctx context.Context, base string) (string, error) {
	var receivers []struct {
		Name string `json:"name"`
	}
	if err := d.getJSON(ctx, base+"/alertmanager/api/v2/receivers", "proxy", &receivers); err != nil {
		return "", err
	}
	var names []string
	for _, r := range receivers {
		names = append(names, r.Name)
	}
	telegram := strings.Contains(strings.Join(names, ","), "telegram")
	want := d.cfg.Env["TELEGRAM_BOT_TOKEN"] != ""
	if want && !telegram {
		return "", fmt.Errorf("TELEGRAM_BOT_TOKEN is set but Alertmanager has no telegram receiver (receivers: %v): re-run docker compose up -d ops-init alertmanager", names)
	}
	mode := "Telegram off: alerts stay in Alertmanager"
	if telegram {
		mode = "Telegram on"
	}
	return fmt.Sprintf("receivers %s; %s", strings.Join(names, ", "), mode), nil
}

// s3Service is the service the S3 check needs: SeaweedFS' S3 gateway,
// unless MLFLOW_S3_ENDPOINT_URL names an object store outside this stack.
func (d *doctor) s3Service() string {
	if d.cfg.S3External {
		return ""
	}
	return "seaweedfs-s3"
}

func (d *doctor) checkS3(ctx context.Context) (string, error) {
	store, err := s3store.New(d.cfg.S3URL, d.cfg.Env["AWS_ACCESS_KEY_ID"], d.cfg.Env["AWS_SECRET_ACCESS_KEY"])
	if err != nil {
		return "", err
	}
	buckets, err := store.ListBuckets(ctx)
	if err != nil {
		return "", err
	}
	want, err := s3store.ParseBuckets(d.cfg.Env["S3_BUCKETS"])
	if err != nil {
		return "", err
	}
	for _, b := range want {
		found := false
		for _, have := range buckets {
			found = found || have == b
		}
		if !found {
			return "", fmt.Errorf("bucket %s is missing (have %v): docker compose logs s3-init", b, buckets)
		}
	}
	// One key, written, read and deleted by every run: nothing piles up.
	if err := store.RoundTrip(ctx, want[0], "opsctl-doctor/round-trip"); err != nil {
		return "", err
	}
	wrong, _ := s3store.New(d.cfg.S3URL, d.cfg.Env["AWS_ACCESS_KEY_ID"], "wrong-"+d.cfg.Env["AWS_SECRET_ACCESS_KEY"])
	if _, err := wrong.ListBuckets(ctx); err == nil {
		return "", fmt.Errorf("the S3 endpoint accepted a wrong secret key: authentication is off")
	}
	return fmt.Sprintf("buckets %s present; put/get/delete ok; wrong key refused", strings.Join(want, ", ")), nil
}

var csrfField = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"`)

func (d *doctor) checkSupersetLogin(ctx context.Context, base string) (string, error) {
	resp, _, err := d.request(ctx, http.MethodGet, base+"/superset/health", "", nil, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("/superset/health answered %s", resp.Status)
	}
	return SupersetLogin(ctx, d.client, base, d.cfg.Env["SUPERSET_ADMIN_USER"], d.cfg.Env["SUPERSET_ADMIN_PASSWORD"])
}

// SupersetLogin logs in through the proxy and checks that every redirect
// of the flow stays under /superset/.
func SupersetLogin(ctx context.Context, client *http.Client, base, user, password string) (string, error) {
	get := func(u string) (*http.Response, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes(), nil
	}
	resp, body, err := get(base + "/superset/login/")
	if err != nil {
		return "", err
	}
	m := csrfField.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		return "", fmt.Errorf("/superset/login/ answered %s without a csrf_token field", resp.Status)
	}
	token := string(m[1]) + string(m[2])
	form := url.Values{"csrf_token": {token}, "username": {user}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/superset/login/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", base+"/superset/login/")
	resp, err = client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusMovedPermanently {
		return "", fmt.Errorf("login answered %s, want a redirect (wrong SUPERSET_ADMIN_PASSWORD?)", resp.Status)
	}
	path := []string{}
	for hops := 0; hops < 5 && loc != ""; hops++ {
		u, err := url.Parse(loc)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(u.Path, "/superset/") {
			return "", fmt.Errorf("after login Superset redirected to %s, outside /superset/", loc)
		}
		if strings.HasPrefix(u.Path, "/superset/login") {
			return "", fmt.Errorf("login was refused: redirected back to %s", loc)
		}
		path = append(path, u.Path)
		next := loc
		if !u.IsAbs() {
			next = base + loc
		}
		resp, _, err = get(next)
		if err != nil {
			return "", err
		}
		loc = resp.Header.Get("Location")
		if loc == "" && resp.StatusCode != 200 {
			return "", fmt.Errorf("%s answered %s after login", next, resp.Status)
		}
	}
	return "logged in; stayed under /superset/ (" + strings.Join(path, " → ") + ")", nil
}

// datasourceProbes says how to check a datasource whose plugin has no
// backend. Grafana's GET /api/datasources/uid/:uid/health calls the
// plugin's backend CheckHealth; with no backend it answers
// ErrPluginUnavailable (grafana/grafana pkg/plugins/errors.go:
// messageId "plugin.unavailable", "Plugin unavailable", 500). A
// frontend-only plugin such as Alertmanager
// (public/app/plugins/datasource/alertmanager/plugin.json has no
// "backend": true) answers 500 there even when Alertmanager is up. Its
// queries go through the datasource proxy (/api/datasources/proxy/uid/:uid/
// plus the plugin's routes), which is what Grafana's own Alertmanager UI
// calls, so the check calls it too.
var datasourceProbes = map[string]string{
	"alertmanager": "/api/v2/status",
}

func (d *doctor) checkGrafana(ctx context.Context, base string) (string, error) {
	var health struct {
		Database string `json:"database"`
	}
	if err := d.getJSON(ctx, base+"/grafana/api/health", "", &health); err != nil {
		return "", err
	}
	resp, body, err := d.request(ctx, http.MethodGet, base+"/grafana/api/datasources", "grafana", nil, nil)
	if err != nil {
		return "", err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", fmt.Errorf("Grafana refused GRAFANA_ADMIN_USER/GRAFANA_ADMIN_PASSWORD from .env (401): run opsctl up, whose grafana-init sets the password from .env (docker compose logs grafana-init says whether it did); GRAFANA_ADMIN_USER must be the login Grafana was first started with")
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GET /grafana/api/datasources: %s: %s", resp.Status, snippet(body))
	}
	var sources []struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &sources); err != nil {
		return "", fmt.Errorf("GET /grafana/api/datasources: %v", err)
	}
	if len(sources) == 0 {
		return "", fmt.Errorf("Grafana has no datasources: the provisioning in grafana/provisioning/datasources was not loaded (docker compose logs grafana)")
	}
	var ok []string
	for _, ds := range sources {
		if probe, frontendOnly := datasourceProbes[ds.Type]; frontendOnly {
			resp, body, err := d.request(ctx, http.MethodGet, base+"/grafana/api/datasources/proxy/uid/"+ds.UID+probe, "grafana", nil, nil)
			if err != nil {
				return "", fmt.Errorf("datasource %s (%s): %v", ds.UID, ds.Type, err)
			}
			if resp.StatusCode != http.StatusOK || !json.Valid(body) {
				return "", fmt.Errorf("datasource %s (%s): Grafana's proxy to %s answered %s: %s", ds.UID, ds.Type, probe, resp.Status, snippet(body))
			}
			ok = append(ok, ds.UID)
			continue
		}
		var out struct {
			Status    string `json:"status"`
			Message   string `json:"message"`
			MessageID string `json:"messageId"`
		}
		resp, body, err := d.request(ctx, http.MethodGet, base+"/grafana/api/datasources/uid/"+ds.UID+"/health", "grafana", nil, nil)
		if err != nil {
			return "", fmt.Errorf("datasource %s (%s): %v", ds.UID, ds.Type, err)
		}
		json.Unmarshal(body, &out)
		if out.MessageID == "plugin.unavailable" {
			return "", fmt.Errorf("datasource %s: its type %s has no backend health check (Grafana answered %q): add the type to datasourceProbes in internal/doctor/checks.go with a path its datasource proxy serves", ds.UID, ds.Type, out.Message)
		}
		if resp.StatusCode != http.StatusOK || out.Status != "OK" {
			return "", fmt.Errorf("datasource %s (%s): %s %s", ds.UID, ds.Type, resp.Status, snippet(body))
		}
		ok = append(ok, ds.UID)
	}
	return "database " + health.Database + "; datasources healthy: " + strings.Join(ok, ", "), nil
}

func (d *doctor) checkLoki(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(d.cfg.LokiURL, "/")
	resp, body, err := d.request(ctx, http.MethodGet, base+"/ready", "", nil, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("/ready answered %s: %s", resp.Status, snippet(body))
	}
	// The same line at the same timestamp (the start of the UTC day):
	// Loki keeps one entry per (stream, timestamp, line), so every doctor
	// run of a day writes what the first wrote, and retention removes it.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	marker := "opsctl doctor probe " + day.Format("2006-01-02")
	push, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{
		"stream": map[string]string{"job": "opsctl-doctor"},
		"values": [][]string{{fmt.Sprint(day.UnixNano()), marker}},
	}}})
	resp, body, err = d.request(ctx, http.MethodPost, base+"/loki/api/v1/push", "", bytes.NewReader(push), map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("push answered %s: %s", resp.Status, snippet(body))
	}
	q := url.Values{"query": {`{job="opsctl-doctor"}`}, "limit": {"100"}, "start": {fmt.Sprint(day.Add(-time.Second).UnixNano())}}
	for i := 0; i < 20; i++ {
		_, body, err = d.request(ctx, http.MethodGet, base+"/loki/api/v1/query_range?"+q.Encode(), "", nil, nil)
		if err == nil && bytes.Contains(body, []byte(marker)) {
			return "ready; pushed line read back", nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return "", fmt.Errorf("the pushed line was not returned by query_range")
}
