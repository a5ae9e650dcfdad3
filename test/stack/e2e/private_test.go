package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/nginxconf"
	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
)

// internalNet is the stack's own network, as compose names it.
const internalNet = project + "_internal"

// stubContainer is the Telegram stand-in of the sidecars. Telegram is on
// the internet, which Alertmanager reaches through the internal network's
// egress; the stand-in is put where that egress reaches, on the internal
// network, after every up (compose creates the network) and taken off
// before every down (compose removes it, and refuses while it is in use).
const stubContainer = sidecarsProject + "-telegram-stub-1"

func (s *Stack) joinStub() {
	s.t.Helper()
	out, err := s.run("docker", "network", "connect", "--alias", "telegram-stub", internalNet, stubContainer)
	if err != nil && !strings.Contains(out, "already exists") {
		s.t.Fatalf("connecting the Telegram stand-in to %s: %v\n%s", internalNet, err, out)
	}
}

func (s *Stack) leaveStub() {
	s.run("docker", "network", "disconnect", "-f", internalNet, stubContainer)
}

// probe is one HTTP request tried from a container on some network.
type probe struct {
	id, method, url string
	// auth: "" none, "proxy" the proxy's basic auth, "s3" the S3 keys
	// (AWS Signature V4).
	auth string
	// want lists the acceptable answers: HTTP codes, "000" for none
	// (no such host, refused, or dropped); wantBody, when set, must be in
	// the body too.
	want     []string
	wantBody string
}

var refused = []string{"000", "401", "403"}

// probeFrom runs every probe with curl in one throwaway container on
// network and returns each probe's HTTP code. Credentials go in by an env
// file and curl config files written by the shell (a builtin): never into
// a process's arguments, which the argv watch reads.
func (s *Stack) probeFrom(t *testing.T, network string, probes []probe) map[string]answer {
	t.Helper()
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	secrets := fmt.Sprintf("PROXY_AUTH=%s:%s\nS3_AUTH=%s:%s\n",
		s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"],
		s.Env["AWS_ACCESS_KEY_ID"], s.Env["AWS_SECRET_ACCESS_KEY"])
	if err := os.WriteFile(env, []byte(secrets), 0o600); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("printf 'user = \"%s\"\\n' \"$PROXY_AUTH\" > /tmp/proxy.cfg\n")
	script.WriteString("printf 'user = \"%s\"\\naws-sigv4 = \"aws:amz:us-east-1:s3\"\\n' \"$S3_AUTH\" > /tmp/s3.cfg\n")
	for i, p := range probes {
		auth := ""
		if p.auth != "" {
			auth = "-K /tmp/" + p.auth + ".cfg "
		}
		// One line per probe: its id, the HTTP code, the body's start.
		fmt.Fprintf(&script, "( c=$(curl -s -o /tmp/body.%d -w '%%{http_code}' --connect-timeout 3 --max-time 6 -X %s %s'%s'); echo \"%s $c $(head -c 100 /tmp/body.%d 2>/dev/null | tr -d '\\n')\" ) &\n", i, p.method, auth, p.url, p.id, i)
	}
	script.WriteString("wait\n")
	cmd := exec.Command("docker", "run", "--rm", "-i", "--network", network, "--env-file", env, "--entrypoint", "sh", "okx-local/seaweedfs:4.48", "-s")
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probing from %s: %v\n%s", network, err, out)
	}
	got := map[string]answer{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, " ", 3)
		if len(f) >= 2 {
			a := answer{code: f[1]}
			if len(f) == 3 {
				a.body = f[2]
			}
			got[f[0]] = a
		}
	}
	return got
}

// answer is what a probe got: the HTTP code ("000": none) and the start
// of the body.
type answer struct{ code, body string }

// ok: the answer is one the probe accepts.
func (p probe) ok(a answer) bool {
	for _, w := range p.want {
		if a.code == w {
			return p.wantBody == "" || strings.Contains(a.body, p.wantBody)
		}
	}
	return false
}

// ips returns the address of service's container on each network.
func (s *Stack) ips(t *testing.T, service string) map[string]string {
	t.Helper()
	raw := s.must("docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", s.containers()[service].ID)
	var nets map[string]struct{ IPAddress string }
	if err := json.Unmarshal([]byte(raw), &nets); err != nil {
		t.Fatalf("docker inspect %s: %v", service, err)
	}
	out := map[string]string{}
	for n, v := range nets {
		out[n] = v.IPAddress
	}
	return out
}

// checkIntruder: a container on hft_network without credentials reaches
// nothing of the node's internals, by name or by address; with the right
// credentials the ways the bots are meant to use work; on the internal
// network the same internals answer (so a refusal above is the network's,
// not a broken probe's).
func (s *Stack) checkIntruder(t *testing.T) {
	am, sw, ml := s.ips(t, "alertmanager")[internalNet], s.ips(t, "seaweedfs")[internalNet], s.ips(t, "mlflow")[internalNet]
	// Prometheus is on hft_network to scrape, and listens on no address
	// there: its admin API (the backups' snapshots) is on.
	prom := s.ips(t, "prometheus")[stack.Network]
	if am == "" || sw == "" || ml == "" || prom == "" {
		t.Fatalf("no address: alertmanager %q, seaweedfs %q, mlflow %q on %s, prometheus %q on %s", am, sw, ml, internalNet, prom, stack.Network)
	}
	internals := func(host map[string]string) []probe {
		return []probe{
			{id: "alertmanager-silences", method: "GET", url: "http://" + host["am"] + ":9093/alertmanager/api/v2/silences"},
			{id: "alertmanager-new-silence", method: "POST", url: "http://" + host["am"] + ":9093/alertmanager/api/v2/silences"},
			{id: "seaweedfs-master-assign", method: "GET", url: "http://" + host["sw"] + ":9333/dir/assign"},
			{id: "seaweedfs-filer", method: "GET", url: "http://" + host["sw"] + ":8888/buckets/"},
			{id: "seaweedfs-volume", method: "GET", url: "http://" + host["sw"] + ":8080/status"},
			{id: "mlflow-api", method: "GET", url: "http://" + host["ml"] + ":5000/mlflow/api/2.0/mlflow/experiments/search?max_results=1"},
			{id: "prometheus-query", method: "GET", url: "http://" + host["prom"] + ":9090/prometheus/api/v1/query?query=up"},
			{id: "prometheus-admin-snapshot", method: "POST", url: "http://" + host["prom"] + ":9090/prometheus/api/v1/admin/tsdb/snapshot"},
			{id: "prometheus-admin-delete", method: "POST", url: "http://" + host["prom"] + ":9090/prometheus/api/v1/admin/tsdb/delete_series?match[]=up"},
			{id: "prometheus-quit", method: "POST", url: "http://" + host["prom"] + ":9090/prometheus/-/quit"},
			{id: "loki-push", method: "POST", url: "http://loki:3100/loki/api/v1/push"},
		}
	}
	var probes []probe
	for _, how := range []struct {
		prefix string
		host   map[string]string
	}{
		{"by-name/", map[string]string{"am": "alertmanager", "sw": "seaweedfs", "ml": "mlflow", "prom": "prometheus"}},
		{"by-address/", map[string]string{"am": am, "sw": sw, "ml": ml, "prom": prom}},
	} {
		for _, p := range internals(how.host) {
			if how.prefix == "by-address/" && p.id == "loki-push" {
				continue // Loki has no image here: by name only (it is not on hft_network either way)
			}
			p.id = how.prefix + p.id
			p.want = []string{"000"}
			probes = append(probes, p)
		}
	}
	probes = append(probes,
		// On hft_network on purpose, each behind its credential.
		probe{id: "s3-list", method: "GET", url: "http://minio:9000/mlflow/", want: refused},
		probe{id: "s3-put", method: "PUT", url: "http://minio:9000/mlflow/intruder.txt", want: refused},
		probe{id: "s3-iam", method: "POST", url: "http://minio:9000/?Action=ListUsers", want: []string{"401", "403", "405"}},
		probe{id: "proxy-mlflow", method: "GET", url: "http://reverse-proxy:8080/mlflow/api/2.0/mlflow/experiments/search?max_results=1", want: refused},
		probe{id: "proxy-alertmanager", method: "POST", url: "http://reverse-proxy:8080/alertmanager/api/v2/silences", want: refused},
		probe{id: "proxy-prometheus", method: "GET", url: "http://reverse-proxy:8080/prometheus/api/v1/query?query=up", want: refused},
		probe{id: "superset-api", method: "GET", url: "http://superset:8088/superset/api/v1/database/", want: refused},
		// Airflow: its API only through the proxy, with its login; the
		// scheduler (on hft_network for TimescaleDB) serves task logs only
		// to a token signed with AIRFLOW_SECRET_KEY; the execution API is
		// for the node's own task processes.
		probe{id: "by-name/airflow-api", method: "GET", url: "http://airflow-apiserver:8080/airflow/api/v2/dags", want: []string{"000"}},
		probe{id: "by-name/airflow-statsd", method: "GET", url: "http://airflow-statsd:9102/metrics", want: []string{"000"}},
		probe{id: "by-name/airflow-postgres", method: "GET", url: "http://airflow-postgres:5432/", want: []string{"000"}},
		probe{id: "airflow-scheduler-logs", method: "GET", url: "http://airflow-scheduler:8793/log/dag_id=ops_export_daily/run_id=x/task_id=export/attempt=1.log", want: refused},
		probe{id: "proxy-airflow", method: "GET", url: "http://reverse-proxy:8080/airflow/api/v2/dags", want: refused},
		probe{id: "proxy-airflow-execution", method: "GET", url: "http://reverse-proxy:8080/airflow/execution/health", want: []string{"404"}},
		// The ways the bots are meant to use, with their credentials.
		probe{id: "with-keys/s3-list", method: "GET", url: "http://minio:9000/mlflow/", auth: "s3", want: []string{"200"}},
		probe{id: "with-login/proxy-mlflow", method: "GET", url: "http://reverse-proxy:8080/mlflow/api/2.0/mlflow/experiments/search?max_results=1", auth: "proxy", want: []string{"200"}},
	)
	got := s.probeFrom(t, "hft_network", probes)
	var table []string
	for _, p := range probes {
		a := got[p.id]
		table = append(table, fmt.Sprintf("  hft_network  %-40s %-6s %s -> %s", p.id, p.method, p.url, a.code))
		if !p.ok(a) {
			t.Errorf("from hft_network, %s %s (%s): %q %q, want one of %v %s", p.method, p.url, p.id, a.code, a.body, p.want, p.wantBody)
		}
	}
	// From the internal network the internals answer, with no credential.
	var inside []probe
	for _, p := range internals(map[string]string{"am": "alertmanager", "sw": "seaweedfs", "ml": "mlflow", "prom": "prometheus"}) {
		// No Loki here; and Prometheus' admin and lifecycle calls would
		// act (a snapshot, a deletion, a stop), not just answer.
		if p.id == "loki-push" || (strings.HasPrefix(p.id, "prometheus-") && p.method == "POST") {
			continue
		}
		p.id = "internal/" + p.id
		inside = append(inside, p)
	}
	gotIn := s.probeFrom(t, internalNet, inside)
	for _, p := range inside {
		code := gotIn[p.id].code
		table = append(table, fmt.Sprintf("  internal     %-40s %-6s %s -> %s", p.id, p.method, p.url, code))
		if p.method == "GET" && code != "200" {
			t.Errorf("from the internal network, GET %s: %q, want 200: the probe above proves nothing if this fails", p.url, code)
		}
	}
	t.Logf("every request, from where, and its answer:\n%s", strings.Join(table, "\n"))
}

// checkCrawl: from the host, without credentials, every path the proxy
// serves (each location of nginx.conf, and the APIs behind each UI)
// answers 401, 403, 404 or a login page, never data; only /healthz is
// open. Redirects are followed to where they lead.
func (s *Stack) checkCrawl(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(s.Dir, "nginx/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := nginxconf.Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, loc := range nginxconf.Find(ds, "location") {
		p := loc.Arg(len(loc.Args) - 1)
		if strings.HasPrefix(p, "/") {
			paths[p] = true
		}
	}
	decls, err := opsdecl.Load(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ui := range decls.UIs() {
		paths[ui.UI.Path] = true
		paths[ui.UI.Open] = true
	}
	for _, p := range []string{
		"/grafana/api/dashboards/home", "/grafana/api/datasources", "/grafana/api/search",
		"/superset/api/v1/database/", "/superset/api/v1/chart/", "/superset/api/v1/saved_query/", "/superset/sqllab/",
		"/mlflow/api/2.0/mlflow/experiments/search?max_results=10", "/mlflow/ajax-api/2.0/mlflow/experiments/search?max_results=10",
		"/mlflow/api/2.0/mlflow-artifacts/artifacts/",
		"/alertmanager/api/v2/silences", "/alertmanager/api/v2/alerts", "/alertmanager/api/v2/status",
		"/prometheus/api/v1/query?query=up", "/prometheus/api/v1/targets", "/prometheus/api/v1/status/config", "/prometheus/federate?match[]=up",
		"/storage/admin", "/storage/api/cluster/topology", "/storage/files", "/storage/object-store/buckets",
		"/runbooks/", "/runbooks/ops-node.md", "/static/", "/errors/upstream-down.html",
		"/airflow/api/v2/dags", "/airflow/api/v2/connections", "/airflow/api/v2/variables", "/airflow/api/v2/config",
		"/airflow/api/v2/importErrors", "/airflow/dags", "/airflow/auth/login/",
	} {
		paths[p] = true
	}
	var list []string
	for p := range paths {
		list = append(list, p)
	}
	sort.Strings(list)
	var table []string
	for _, p := range list {
		verdict, ok := s.crawl(p)
		table = append(table, fmt.Sprintf("  %-60s %s", p, verdict))
		if !ok {
			t.Errorf("GET %s without credentials: %s", p, verdict)
		}
	}
	t.Logf("%d paths crawled without credentials:\n%s", len(list), strings.Join(table, "\n"))
}

// crawl fetches path without credentials, following redirects on the
// proxy, and says what came back and whether that is acceptable.
func (s *Stack) crawl(path string) (string, bool) {
	url := proxyURL + path
	var trail []string
	for hop := 0; hop < 5; hop++ {
		resp, err := httpClient.Get(url)
		if err != nil {
			return err.Error(), false
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		code, body := resp.StatusCode, buf.Bytes()
		trail = append(trail, fmt.Sprint(code))
		verdict := strings.Join(trail, " -> ")
		switch {
		case code == 301 || code == 302 || code == 303 || code == 307 || code == 308:
			loc := resp.Header.Get("Location")
			if loc == "" {
				return verdict + " without a Location", false
			}
			if strings.HasPrefix(loc, "/") {
				loc = proxyURL + loc
			}
			if !strings.HasPrefix(loc, proxyURL) {
				return verdict + " to " + loc + ", off the proxy", false
			}
			url = loc
			trail[len(trail)-1] += " " + strings.TrimPrefix(loc, proxyURL)
			continue
		case path == "/healthz":
			return verdict + " (open by design)", code == 200
		case code == 401 || code == 403 || code == 404:
			return verdict, true
		case code == 204 && len(body) == 0:
			return verdict + " (no content)", true
		case code == 502 || code == 504:
			// The proxy's own page for an upstream left out of this test.
			return verdict + " (upstream absent)", bytes.Contains(body, []byte("This service is not running")) && s.absentUpstream(url)
		case code == 200 && loginPage(body):
			return verdict + " (login page)", true
		case code == 200 && airflowShell(url, body):
			// Airflow 3's UI is one static page that loads its React app;
			// the app reads everything through the API, which asks for the
			// login (the /airflow/api/v2/ paths below answer 401).
			return verdict + " (Airflow's static UI page)", true
		}
		return fmt.Sprintf("%s with %d bytes of %.80q", verdict, len(body), body), false
	}
	return strings.Join(trail, " -> ") + ": too many redirects", false
}

// airflowShell: the static page of Airflow's UI (airflow/ui/dist/index.html:
// a title, a root element and the app's script), which holds no data.
func airflowShell(url string, body []byte) bool {
	return strings.HasPrefix(url, proxyURL+"/airflow/") && len(body) < 2048 &&
		bytes.Contains(body, []byte("<title>Airflow</title>")) && bytes.Contains(body, []byte(`<div id="root"`))
}

// absentUpstream: the URL belongs to a UI whose service is left out of
// the stack test (no image here).
func (s *Stack) absentUpstream(url string) bool {
	for svc := range notBuildable {
		if strings.HasPrefix(url, proxyURL+"/"+svc+"/") {
			return true
		}
	}
	return false
}

// loginPage: an HTML page that asks for a password (SeaweedFS admin,
// Grafana) or Superset's login view.
func loginPage(body []byte) bool {
	b := bytes.ToLower(body)
	return bytes.Contains(b, []byte("<html")) && (bytes.Contains(b, []byte(`type="password"`)) || bytes.Contains(b, []byte("/login")))
}

// checkSocketProxy: Alloy's view of the Docker API answers the reads
// Alloy makes and refuses everything else before it reaches the engine.
func (s *Stack) checkSocketProxy(t *testing.T) {
	id := s.containers()["alertmanager"].ID
	base := "http://docker-socket-proxy:2375"
	ok, no := []string{"200"}, []string{"403"}
	probes := []probe{
		{id: "ping", method: "GET", url: base + "/_ping", want: ok},
		{id: "version", method: "GET", url: base + "/v1.41/version", want: ok},
		{id: "container-list", method: "GET", url: base + "/v1.41/containers/json", want: ok},
		{id: "container-list-unversioned", method: "GET", url: base + "/containers/json", want: ok},
		{id: "network-list", method: "GET", url: base + "/v1.41/networks", want: ok},
		{id: "inspect", method: "GET", url: base + "/v1.41/containers/" + id + "/json", want: ok},
		{id: "logs", method: "GET", url: base + "/v1.41/containers/" + id + "/logs?stdout=1&stderr=1&tail=1", want: ok},
		{id: "info", method: "GET", url: base + "/v1.41/info", want: no},
		{id: "images", method: "GET", url: base + "/v1.41/images/json", want: no},
		{id: "create", method: "POST", url: base + "/v1.41/containers/create", want: no},
		{id: "exec", method: "POST", url: base + "/v1.41/containers/" + id + "/exec", want: no},
		{id: "kill", method: "POST", url: base + "/v1.41/containers/" + id + "/kill", want: no},
		{id: "delete", method: "DELETE", url: base + "/v1.41/containers/" + id + "?force=1", want: no},
		{id: "inspect-by-post", method: "POST", url: base + "/v1.41/containers/" + id + "/json", want: no},
		{id: "path-escape", method: "GET", url: base + "/v1.41/containers/json/../../images/json", want: no},
	}
	got := s.probeFrom(t, internalNet, probes)
	for _, p := range probes {
		code := got[p.id].code
		if code != p.want[0] {
			t.Errorf("%s %s: %q, want %s", p.method, strings.TrimPrefix(p.url, base), code, p.want[0])
		}
	}
	if c := s.containers()["alertmanager"]; c.ID != id || c.State != "running" {
		t.Errorf("alertmanager after the refused kill and delete: %s %s", c.ID, c.State)
	}
	// Only the internal network reaches it.
	if code := s.probeFrom(t, "hft_network", []probe{{id: "from-hft", method: "GET", url: base + "/_ping"}})["from-hft"].code; code != "000" {
		t.Errorf("docker-socket-proxy from hft_network: %q, want no answer", code)
	}
}
