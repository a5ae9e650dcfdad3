package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/doctor"
	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/s3store"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
	"github.com/okx-hft/okx-hft-ops/internal/supersetassets"
)

// Services with no local image; the override leaves them out.
var notBuildable = map[string]bool{"grafana": true, "grafana-init": true, "timescaledb": true, "loki": true, "alloy": true, "cadvisor": true, "postgres-exporter": true}

// State written by the test that must survive restarts.
type persisted struct {
	runID, artifactKey string
	s3Key              string
	silenceID          string
	savedQueryID       int
	sampleTime         time.Time
	assets             assetCounts
}

func TestStack(t *testing.T) {
	s := newStack(t)
	createdNetwork := s.prepare(context.Background())
	t.Cleanup(func() {
		if os.Getenv("OPS_STACK_KEEP") == "1" {
			return
		}
		s.down()
		// Only a network this run created: on a machine where the trading
		// stacks run, hft_network is theirs too.
		if createdNetwork {
			// The engine releases the endpoints of just-removed containers
			// a moment after compose returns ("has active endpoints").
			var out string
			if err := poll(20*time.Second, time.Second, func() error {
				var err error
				if out, err = s.run("docker", "network", "rm", stack.Network); err != nil {
					return errorf("%v: %s", err, out)
				}
				return nil
			}); err != nil {
				if strings.Contains(err.Error(), "has active endpoints") {
					// Docker 20.10's libnetwork can keep an endpoint of a
					// removed container (the network then lists none): an
					// engine fault, cleared by restarting dockerd. The next
					// run finds the network and leaves it alone.
					t.Logf("hft_network stays: the engine holds a stale endpoint of a removed container (%v); restarting dockerd clears it", err)
				} else {
					t.Errorf("removing the network this test created: %v", err)
				}
			}
		}
	})
	s.sidecars("up", "-d", "--wait")

	// Before the node takes their ports: each file that also starts alone,
	// alone.
	for _, a := range standalones {
		t.Run(a.file+" starts alone and passes its part of doctor", func(t *testing.T) { s.in(t).checkStandalone(t, a) })
	}

	argv := s.watchArgv() // from the first start on: init jobs run only then
	// Up's output only when it fails: the summary of failures at the end of
	// the run shows the parent's output last, after the failed subtests'.
	start := time.Now()
	out, err := s.run(s.Opsctl, "up", "--build=false", "--timeout", "15m")
	if err != nil {
		t.Fatalf("opsctl up failed after %s: %v\n%s", time.Since(start).Round(time.Second), err, out)
	}
	t.Logf("opsctl up took %s; its last lines:\n%s", time.Since(start).Round(time.Second), tail(out, 8))
	s.joinStub()

	// Each subtest gets the stack bound to its own t, so that a helper that
	// fails (s.must, s.containers) ends the subtest, never its parent from
	// the subtest's goroutine.
	sub := func(name string, f func(s *Stack, t *testing.T)) bool {
		return t.Run(name, func(t *testing.T) { f(s.in(t), t) })
	}
	var p persisted
	sub("every service healthy, every init job exited 0", func(s *Stack, t *testing.T) { s.checkHealthy(t) })
	sub("only the proxy listens beyond loopback", func(s *Stack, t *testing.T) { s.checkPublishedPorts(t) })
	sub("s3 buckets and credentials", func(s *Stack, t *testing.T) { p.s3Key = s.checkS3(t) })
	sub("mlflow through the proxy", func(s *Stack, t *testing.T) { p.runID, p.artifactKey = s.checkMLflow(t) })
	sub("superset through the proxy", func(s *Stack, t *testing.T) { p.savedQueryID = s.checkSuperset(t) })
	sub("prometheus targets and rules", func(s *Stack, t *testing.T) { p.sampleTime = s.checkPrometheus(t) })
	sub("every trading panel query returns data from hftsim", func(s *Stack, t *testing.T) { s.checkDashboardQueries(t) })
	sub("the demo writes every table of the data contract", func(s *Stack, t *testing.T) { s.checkDemoData(t) })
	sub("every chart of every Superset dashboard returns rows", func(s *Stack, t *testing.T) { p.assets = s.checkSupersetDashboards(t) })
	sub("alert latency", func(s *Stack, t *testing.T) { s.measureAlertLatency(t) })
	sub("alert reaches the telegram stand-in", func(s *Stack, t *testing.T) { s.checkAlertDelivery(t) })
	sub("alertmanager silence", func(s *Stack, t *testing.T) { p.silenceID = s.createSilence(t) })
	sub("proxy auth and a stopped upstream", func(s *Stack, t *testing.T) { s.checkProxy(t) })
	sub("an intruder on hft_network reaches no internal endpoint", func(s *Stack, t *testing.T) { s.checkIntruder(t) })
	sub("no proxied path gives data without credentials", func(s *Stack, t *testing.T) { s.checkCrawl(t) })
	sub("the docker socket proxy passes only Alloy's reads", func(s *Stack, t *testing.T) { s.checkSocketProxy(t) })
	sub("doctor", func(s *Stack, t *testing.T) { s.checkDoctor(t) })
	sub("doctor leaves nothing that grows", func(s *Stack, t *testing.T) { s.checkDoctorLeavesNothing(t) })
	sub("every container under its memory budget", func(s *Stack, t *testing.T) { s.checkFootprint(t) })
	sub("airflow: export to Parquet, rerun, train and register, data quality to the alert", func(s *Stack, t *testing.T) { s.checkAirflow(t) })
	sub("mlflow takes concurrent run logging", func(s *Stack, t *testing.T) { s.checkMLflowConcurrency(t) })
	sub("no secret in any process's arguments", func(s *Stack, t *testing.T) {
		leaks, samples := argv.result()
		if samples < 10 {
			t.Fatalf("the process list was read %d times, too few to tell", samples)
		}
		for _, l := range leaks {
			t.Errorf("a secret of .env stood in the host's process list: %s", l)
		}
		t.Logf("%d samples of ps -eo args from the first up to here: no secret", samples)
	})

	sub("second up is a no-op", func(s *Stack, t *testing.T) {
		before := s.containers()
		out, err := s.run(s.Opsctl, "up", "--build=false", "--no-doctor")
		if err != nil {
			t.Fatalf("second opsctl up: %v\n%s", err, out)
		}
		after := s.containers()
		for svc, b := range before {
			if b.State == "running" && (after[svc].ID != b.ID || after[svc].StartedAt != b.StartedAt) {
				t.Errorf("%s was recreated or restarted by a second up", svc)
			}
		}
		s.checkPersisted(t, p)
		if got := s.supersetSession(t).counts(t); got != p.assets {
			t.Errorf("after a second up Superset holds %+v, before %+v: the import added or lost assets", got, p.assets)
		}
	})
	sub("down and up keep the data", func(s *Stack, t *testing.T) {
		s.leaveStub()
		s.compose("down")
		if out, err := s.run(s.Opsctl, "up", "--build=false", "--no-doctor"); err != nil {
			t.Fatalf("opsctl up after down: %v\n%s", err, out)
		}
		s.joinStub()
		s.checkPersisted(t, p)
	})
	sub("killed stateful containers restart with their data", func(s *Stack, t *testing.T) {
		// SIGKILL: no graceful shutdown, nothing flushed on the way out.
		stateful := s.statefulServices(t)
		cs := s.containers()
		for _, svc := range stateful {
			if cs[svc].ID == "" {
				t.Fatalf("stateful service %s has no container to kill (services: %v)", svc, stateful)
			}
		}
		for _, svc := range stateful {
			s.must("docker", "kill", cs[svc].ID)
		}
		// Docker does not restart a container that was killed by hand
		// (restart policies apply to crashes): start them as a user would.
		if out, err := s.run(s.Opsctl, "up", "--build=false", "--no-doctor"); err != nil {
			t.Fatalf("opsctl up after the kill: %v\n%s", err, out)
		}
		s.waitHealthy(stateful...)
		s.checkPersisted(t, p)
	})
	sub("backups: scheduled, drilled, restored onto an empty stack, damage refused", func(s *Stack, t *testing.T) { s.checkBackupRestore(t, p) })
	sub("superset chart queries over a day of history", func(s *Stack, t *testing.T) { s.measureChartQueries(t, start) })
	// Last but the screenshots: it changes the password of .env, which
	// this subtest's copy of the stack alone knows.
	sub("superset's connection survives a password change", func(s *Stack, t *testing.T) { s.checkSupersetPasswordChange(t) })
	sub("screenshots", func(s *Stack, t *testing.T) { s.screenshots(t) })
	// Last: it switches the node to its public name over HTTPS.
	sub("tls: issued by an ACME CA, every UI over HTTPS, HTTP redirected, renewed", func(s *Stack, t *testing.T) { s.checkTLS(t) })
}

// statefulServices are the services that declare state (x-ops.state) and
// run in this test.
func (s *Stack) statefulServices(t *testing.T) []string {
	decls, err := opsdecl.Load(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// The services of the enabled profiles only: acme (profile tls) keeps
	// state too, and runs only in the TLS subtest.
	enabled := map[string]bool{}
	for _, svc := range strings.Fields(s.compose("config", "--services")) {
		enabled[svc] = true
	}
	var out []string
	for _, d := range decls {
		if len(d.State) > 0 && !notBuildable[d.Name] && enabled[d.Name] {
			out = append(out, d.Name)
		}
	}
	if len(out) < 5 {
		t.Fatalf("x-ops declares state for too few services: %v", out)
	}
	return out
}

// anonymousVolume is the name Docker gives a volume nobody named.
var anonymousVolume = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Stack) checkHealthy(t *testing.T) {
	cs := s.containers()
	oneShot := map[string]bool{"ops-init": true, "s3-init": true, "superset-init": true, "airflow-init": true}
	for svc, c := range cs {
		switch {
		case oneShot[svc]:
			if c.State != "exited" || c.ExitCode != 0 {
				t.Errorf("init job %s: %s, exit %d", svc, c.State, c.ExitCode)
			}
		case c.State != "running" || (c.Health != "" && c.Health != "healthy"):
			t.Errorf("%s: %s/%s", svc, c.State, c.Health)
		case c.Health == "":
			t.Errorf("%s runs without a healthcheck", svc)
		}
	}
	for svc := range oneShot {
		if _, ok := cs[svc]; !ok {
			t.Errorf("init job %s did not run", svc)
		}
	}
	// An image's VOLUME that no mount covers becomes an anonymous volume,
	// left behind at every recreation of the container (docker compose
	// down without --volumes, a changed config).
	for svc, c := range cs {
		raw := s.must("docker", "inspect", "--format", "{{json .Mounts}}", c.ID)
		var mounts []struct{ Type, Name, Destination string }
		if err := json.Unmarshal([]byte(raw), &mounts); err != nil {
			t.Fatalf("docker inspect %s: %v", svc, err)
		}
		for _, m := range mounts {
			if m.Type == "volume" && anonymousVolume.MatchString(m.Name) {
				t.Errorf("%s has an anonymous volume at %s (the image's VOLUME): mount a named volume or a tmpfs there", svc, m.Destination)
			}
		}
	}
	for svc := range notBuildable {
		if _, ok := cs[svc]; ok {
			t.Errorf("%s has no local image and should have been left out", svc)
		}
	}
}

func (s *Stack) checkPublishedPorts(t *testing.T) {
	out := s.must("docker", "ps", "--format", "{{.Names}}\t{{.Ports}}")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, ports, _ := strings.Cut(line, "\t")
		if !strings.HasPrefix(name, project) {
			continue
		}
		for _, p := range strings.Split(ports, ", ") {
			if !strings.Contains(p, "->") {
				continue
			}
			host := p[:strings.LastIndex(p[:strings.Index(p, "->")], ":")]
			if host != "127.0.0.1" && !strings.Contains(name, "reverse-proxy") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
		}
	}
}

func (s *Stack) store(t *testing.T, secret string) *s3store.Store {
	st, err := s3store.New(s3URL, s.Env["AWS_ACCESS_KEY_ID"], secret)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (s *Stack) checkS3(t *testing.T) string {
	ctx := context.Background()
	st := s.store(t, s.Env["AWS_SECRET_ACCESS_KEY"])
	buckets, err := st.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mlflow", "backups"} {
		if !strings.Contains(","+strings.Join(buckets, ",")+",", ","+want+",") {
			t.Errorf("bucket %s missing: %v", want, buckets)
		}
	}
	if err := st.RoundTrip(ctx, "backups", "stacktest/roundtrip"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store(t, "not-the-secret-key-at-all").ListBuckets(ctx); err == nil || !s3store.IsAuthError(err) {
		t.Errorf("a wrong secret key was not refused as an auth error: %v", err)
	}
	if err := s.store(t, "not-the-secret-key-at-all").RoundTrip(ctx, "backups", "stacktest/denied"); err == nil {
		t.Error("a put with a wrong key succeeded")
	}
	key := "stacktest/persist.txt"
	if err := st.RoundTrip(ctx, "backups", key); err != nil {
		t.Fatal(err)
	}
	// RoundTrip deletes its object; leave one behind for the restarts.
	if err := putObject(ctx, st, "backups", key); err != nil {
		t.Fatal(err)
	}
	return key
}

func putObject(ctx context.Context, st *s3store.Store, bucket, key string) error {
	return st.Put(ctx, bucket, key, []byte("kept across restarts\n"))
}

func (s *Stack) mlflow() *doctor.MLflowClient {
	return &doctor.MLflowClient{Base: proxyURL + "/mlflow", User: s.Env["PROXY_BASIC_AUTH_USER"], Pass: s.Env["PROXY_BASIC_AUTH_PASSWORD"], Client: &http.Client{Timeout: 30 * time.Second}}
}

func (s *Stack) checkMLflow(t *testing.T) (runID, key string) {
	ctx := context.Background()
	m := s.mlflow()
	exp, err := m.ExperimentID(ctx, "stacktest")
	if err != nil {
		t.Fatal(err)
	}
	run, err := m.LogRun(ctx, exp, map[string]string{"model": "lgbm", "window": "250ms"}, "sharpe", 1.75, "model.txt", []byte("weights\n"))
	if err != nil {
		t.Fatal(err)
	}
	params, metrics, err := m.GetRun(ctx, run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if params["window"] != "250ms" || metrics["sharpe"] != 1.75 {
		t.Errorf("run came back as params %v metrics %v", params, metrics)
	}
	key, _ = run.ArtifactKey("model.txt")
	ok, err := s.store(t, s.Env["AWS_SECRET_ACCESS_KEY"]).ObjectExists(ctx, "mlflow", key)
	if err != nil || !ok {
		t.Errorf("artifact s3://mlflow/%s not in the object store: %v", key, err)
	}
	code, body := httpGet(t, proxyURL+"/mlflow/", s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"])
	if code != 200 || !bytes.Contains(body, []byte("<html")) {
		t.Errorf("/mlflow/ UI page: %d", code)
	}
	// The UI's assets must load under the prefix too.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+\.(?:js|css))"`).FindAllSubmatch(body, 3) {
		asset := string(m[1])
		if !strings.HasPrefix(asset, "http") {
			if !strings.HasPrefix(asset, "/") {
				asset = "/mlflow/" + strings.TrimPrefix(asset, "./")
			}
			if c, _ := httpGet(t, proxyURL+asset, s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]); c != 200 {
				t.Errorf("MLflow UI asset %s: %d", asset, c)
			}
		}
	}
	return run.RunID, key
}

// supersetClient is a session logged in through the proxy, with the CSRF
// token Superset wants on every write.
type supersetClient struct {
	http *http.Client
	csrf string
}

func (s *Stack) supersetSession(t *testing.T) *supersetClient {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 60 * time.Second, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if _, err := doctor.SupersetLogin(context.Background(), client, proxyURL, s.Env["SUPERSET_ADMIN_USER"], s.Env["SUPERSET_ADMIN_PASSWORD"]); err != nil {
		t.Fatal(err)
	}
	c := &supersetClient{http: client}
	var tok struct {
		Result string `json:"result"`
	}
	if code := c.api(t, http.MethodGet, "/api/v1/security/csrf_token/", nil, &tok); code != 200 || tok.Result == "" {
		t.Fatalf("csrf token: %d", code)
	}
	c.csrf = tok.Result
	return c
}

func (c *supersetClient) api(t *testing.T, method, path string, in, out any) int {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatalf("%s %s: encoding the request: %v", method, path, err)
		}
	}
	req, err := http.NewRequest(method, proxyURL+"/superset"+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		// Not on a GET: the chart-data API reads a typed body as JSON.
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Referer", proxyURL+"/superset/")
	if c.csrf != "" {
		req.Header.Set("X-CSRFToken", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(b.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d: %v: %.300s", method, path, resp.StatusCode, err, b.String())
		}
	}
	return resp.StatusCode
}

func (s *Stack) timescaleDatabaseID(t *testing.T, c *supersetClient) int {
	var dbs struct {
		Result []struct {
			ID   int    `json:"id"`
			Name string `json:"database_name"`
		} `json:"result"`
	}
	c.api(t, http.MethodGet, "/api/v1/database/", nil, &dbs)
	for _, d := range dbs.Result {
		if d.Name == "timescaledb" {
			return d.ID
		}
	}
	t.Fatalf("database timescaledb is not registered in Superset: %+v", dbs.Result)
	return 0
}

func (s *Stack) checkSuperset(t *testing.T) int {
	code, _ := httpGet(t, proxyURL+"/superset/health", "", "")
	if code != 200 {
		t.Fatalf("/superset/health: %d", code)
	}
	// Assets Superset 6.1 addresses outside its prefix (see nginx.conf).
	for _, asset := range []string{"/superset/superset/static/assets/images/superset-logo-horiz.png", "/static/assets/images/pwa/icon-192.png"} {
		if code, _ := httpGet(t, proxyURL+asset, "", ""); code != 200 {
			t.Errorf("Superset asset %s: %d", asset, code)
		}
	}
	c := s.supersetSession(t)
	id := s.timescaleDatabaseID(t, c)
	var res struct {
		Data []map[string]any `json:"data"`
	}
	code = c.api(t, http.MethodPost, "/api/v1/sqllab/execute/", map[string]any{"database_id": id, "sql": "SELECT 41 + 1 AS answer", "runAsync": false}, &res)
	if code != 200 || len(res.Data) != 1 || fmt.Sprint(res.Data[0]["answer"]) != "42" {
		t.Errorf("query on timescaledb: %d %+v", code, res)
	}
	var created struct {
		ID int `json:"id"`
	}
	code = c.api(t, http.MethodPost, "/api/v1/saved_query/", map[string]any{"db_id": id, "label": "stacktest", "sql": "SELECT 1"}, &created)
	if code != 201 || created.ID == 0 {
		t.Fatalf("saving a query: %d", code)
	}
	return created.ID
}

func (s *Stack) checkPrometheus(t *testing.T) time.Time {
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	var sample time.Time
	aliases := s.aliases(t)
	eventually(t, 2*time.Minute, 2*time.Second, "every target of a running service is up", func() error {
		var out struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string
					Health    string
					LastError string
				}
			}
		}
		if err := getJSON(proxyURL+"/prometheus/api/v1/targets?state=active", user, pass, &out); err != nil {
			return err
		}
		running := s.containers()
		up := map[string]bool{}
		for _, tg := range out.Data.ActiveTargets {
			job := tg.Labels["job"]
			svc := strings.Split(tg.Labels["instance"], ":")[0]
			if name, ok := aliases[svc]; ok {
				svc = name // prometheus-internal is Prometheus
			}
			if c, ok := running[svc]; !ok || c.State != "running" {
				continue // not part of this run: the trading stacks, the left-out services
			}
			if tg.Health != "up" {
				return errorf("%s: %s %s", job, tg.Health, tg.LastError)
			}
			up[job] = true
		}
		for _, job := range []string{"prometheus", "alertmanager", "node-exporter", "seaweedfs", "collector", "executor"} {
			if !up[job] {
				return errorf("job %s is not up (up: %v)", job, up)
			}
		}
		return nil
	})
	_, body := httpGet(t, proxyURL+"/prometheus/api/v1/rules", user, pass)
	if !bytes.Contains(body, []byte(`"name":"Watchdog"`)) || bytes.Contains(body, []byte(`"health":"err"`)) {
		t.Errorf("rules not loaded or failing: %.300s", body)
	}
	// A sample Prometheus holds (the timestamp of its latest self-scrape),
	// not a time picked on the test's clock: right after the start the
	// first scrape of a 15 s job may come later than "30 s ago".
	eventually(t, time.Minute, 2*time.Second, "a sample of up{job=\"prometheus\"}", func() error {
		var res queryResult
		if err := getJSON(proxyURL+"/prometheus/api/v1/query?query="+url.QueryEscape(`timestamp(up{job="prometheus"})`), user, pass, &res); err != nil {
			return err
		}
		if res.Status != "success" || len(res.Data.Result) != 1 {
			return errorf("%s %s: %d series", res.Status, res.Error, len(res.Data.Result))
		}
		ts, err := res.Data.Result[0].number()
		if err != nil {
			return err
		}
		// Rounded up: an instant query looks back from its time, and
		// checkPersisted asks at whole seconds.
		sample = time.Unix(int64(math.Ceil(ts)), 0)
		return nil
	})
	return sample
}

func (s *Stack) checkAlertDelivery(t *testing.T) {
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	// Prometheus → Alertmanager: the watchdog arrives.
	eventually(t, 2*time.Minute, 2*time.Second, "Watchdog reaches Alertmanager", func() error {
		var alerts []struct {
			Labels map[string]string `json:"labels"`
		}
		if err := getJSON(proxyURL+"/alertmanager/api/v2/alerts?filter=alertname%3DWatchdog", user, pass, &alerts); err != nil {
			return err
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "Watchdog" {
				return nil
			}
		}
		return errorf("not yet: %v", alerts)
	})
	// Alertmanager → Telegram: a critical alert is delivered at once.
	clearTelegram(t)
	alert := []map[string]any{{
		"labels": map[string]string{"alertname": "StackTestCritical", "severity": "critical", "job": "collector", "instance": "collector:8000"},
		"annotations": map[string]string{
			"summary":       "stack test alert",
			"description":   "p99 < budget & rising",
			"runbook_url":   "runbooks/ops-node.md#watchdog",
			"dashboard_url": "grafana/d/collector?var-channel=books&var-inst_id=BTC-USDT",
		},
	}}
	body, err := json.Marshal(alert)
	if err != nil {
		t.Fatal(err)
	}
	preq, err := http.NewRequest(http.MethodPost, proxyURL+"/alertmanager/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	preq.SetBasicAuth(user, pass)
	preq.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(preq)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("posting the alert: %v %v", err, resp)
	}
	resp.Body.Close()
	eventually(t, time.Minute, time.Second, "the Telegram stand-in receives the alert", func() error {
		// The relative runbook and dashboard links arrive absolute, under the
		// public URL, and the message is HTML Telegram accepts (the stand-in
		// refuses anything else with 400, as Telegram does).
		got, err := telegramMessages()
		if err != nil {
			return err
		}
		for _, m := range got {
			if a, ok := m.Alert(); !ok || !a.Is("FIRING", "StackTestCritical", "collector collector:8000") {
				continue
			}
			for _, want := range []string{
				s.Env["OPS_PUBLIC_URL"] + "/runbooks/ops-node.md#watchdog",
				s.Env["OPS_PUBLIC_URL"] + "/grafana/d/collector?var-channel=books&amp;var-inst_id=BTC-USDT",
				"p99 &lt; budget &amp; rising",
			} {
				if !strings.Contains(m.Body.Text, want) {
					return errorf("message lacks %q: %s", want, m.Body.Text)
				}
			}
			if m.Body.ChatID.String() != "-1004242" || m.Body.ParseMode != "HTML" {
				return errorf("message has chat_id %s and parse_mode %q, want -1004242 and HTML", m.Body.ChatID, m.Body.ParseMode)
			}
			return nil
		}
		return errorf("no FIRING message of StackTestCritical (collector collector:8000) in %d messages: %v", len(got), texts(got))
	})
}

func (s *Stack) createSilence(t *testing.T) string {
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	body, err := json.Marshal(map[string]any{
		"matchers":  []map[string]any{{"name": "alertname", "value": "StackTestSilenced", "isRegex": false, "isEqual": true}},
		"startsAt":  time.Now().UTC().Format(time.RFC3339),
		"endsAt":    time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"createdBy": "stacktest", "comment": "must survive restarts",
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, proxyURL+"/alertmanager/api/v2/silences", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("creating a silence: %s: %v", resp.Status, err)
	}
	if out.SilenceID == "" {
		t.Fatalf("creating a silence: %s", resp.Status)
	}
	return out.SilenceID
}

func (s *Stack) checkProxy(t *testing.T) {
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	decls, err := opsdecl.Load(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// The UIs as compose.yaml's x-ops declares them: behind the proxy's
	// login, or their own.
	proxied, own := []string{"/", "/runbooks/ops-node.md"}, []string{}
	for _, ui := range decls.UIs() {
		switch {
		case notBuildable[ui.Name]:
		case ui.UI.Login.Proxy:
			proxied = append(proxied, ui.UI.Open)
		default:
			own = append(own, ui.UI.Probe)
		}
	}
	if len(proxied) < 5 || len(own) < 2 {
		t.Fatalf("x-ops declares too few UIs: proxied %v, own login %v", proxied, own)
	}
	for _, path := range proxied {
		if code, _ := httpGet(t, proxyURL+path, "", ""); code != 401 {
			t.Errorf("%s without credentials: %d, want 401", path, code)
		}
		if code, _ := httpGet(t, proxyURL+path, user, "wrong-password"); code != 401 {
			t.Errorf("%s with a wrong password: %d, want 401", path, code)
		}
		if code, _ := httpGet(t, proxyURL+path, user, pass); code != 200 && code != 302 {
			t.Errorf("%s with credentials: %d", path, code)
		}
	}
	for _, path := range own {
		if code, body := httpGet(t, proxyURL+path, "", ""); code != 200 || !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
			t.Errorf("%s: %d, want its own login page", path, code)
		}
	}
	code, body := httpGet(t, proxyURL+"/", user, pass)
	if code != 200 || !bytes.Contains(body, []byte("/grafana/")) {
		t.Errorf("landing page: %d", code)
	}
	if c, _ := httpGet(t, proxyURL+"/grafana/", "", ""); c != 502 {
		t.Errorf("/grafana/ with Grafana absent: %d, want 502 (the proxy keeps serving the rest)", c)
	}
	s.compose("stop", "mlflow")
	defer func() {
		s.compose("start", "mlflow")
		s.waitHealthy("mlflow")
	}()
	// 502 once Docker's DNS forgets the name, 504 while nginx still holds
	// the stopped container's address; either way within seconds.
	if err := poll(time.Minute, time.Second, func() error {
		c, _, err := get(proxyURL+"/mlflow/", user, pass)
		if err != nil {
			return err
		}
		if c != 502 && c != 504 {
			return errorf("%d, want 502 or 504", c)
		}
		return nil
	}); err != nil {
		t.Errorf("/mlflow/ with MLflow stopped: %v", err)
	}
	if c, _ := httpGet(t, proxyURL+"/prometheus/api/v1/status/buildinfo", user, pass); c != 200 {
		t.Errorf("/prometheus/ while MLflow is stopped: %d", c)
	}
}

func (s *Stack) checkDoctor(t *testing.T) {
	start := time.Now()
	out, err := s.run(s.Opsctl, "doctor", "--json")
	t.Logf("opsctl doctor took %s", time.Since(start).Round(100*time.Millisecond))
	var results []doctor.Result
	if jerr := json.Unmarshal([]byte(out), &results); jerr != nil {
		t.Fatalf("doctor --json: %v\n%s", jerr, out)
	}
	for _, r := range results {
		svc := map[string]string{"grafana UI": "grafana", "grafana datasources": "grafana", "loki push/query": "loki", "container metrics": "cadvisor"}[r.Name]
		switch {
		case notBuildable[svc] && r.Status != doctor.Skipped:
			t.Errorf("%s: %s, want skipped: not running", r.Name, r.Status)
		case !notBuildable[svc] && r.Status != doctor.OK:
			t.Errorf("%s: %s: %s", r.Name, r.Status, r.Detail)
		}
	}
	budgets := false
	for _, r := range results {
		if r.Name == "container budgets" {
			budgets = true
			t.Logf("doctor's container budgets: %s", r.Detail)
			if !strings.Contains(r.Detail, "mlflow ") || !strings.Contains(r.Detail, " MiB of ") {
				t.Errorf("container budgets does not show each container against its limit: %s", r.Detail)
			}
		}
	}
	if !budgets {
		t.Error("doctor has no container budgets check")
	}
	if err != nil && !t.Failed() {
		t.Errorf("doctor exited with %v", err)
	}
}

func (s *Stack) checkPersisted(t *testing.T, p persisted) {
	ctx := context.Background()
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	st := s.store(t, s.Env["AWS_SECRET_ACCESS_KEY"])
	if ok, err := st.ObjectExists(ctx, "backups", p.s3Key); !ok {
		t.Errorf("S3 object backups/%s lost: %v", p.s3Key, err)
	}
	if p.runID != "" {
		params, _, err := s.mlflow().GetRun(ctx, p.runID)
		if err != nil || params["model"] != "lgbm" {
			t.Errorf("MLflow run %s lost: %v %v", p.runID, params, err)
		}
		if ok, err := st.ObjectExists(ctx, "mlflow", p.artifactKey); !ok {
			t.Errorf("MLflow artifact %s lost: %v", p.artifactKey, err)
		}
	}
	if !p.sampleTime.IsZero() {
		eventually(t, time.Minute, 2*time.Second, "Prometheus sample from before the restart", func() error {
			var res queryResult
			if err := getJSON(fmt.Sprintf("%s/prometheus/api/v1/query?query=up%%7Bjob%%3D%%22prometheus%%22%%7D&time=%d", proxyURL, p.sampleTime.Unix()), user, pass, &res); err != nil {
				return err
			}
			if res.Status != "success" || len(res.Data.Result) == 0 {
				return errorf("no sample at %s: %s %s", p.sampleTime, res.Status, res.Error)
			}
			return nil
		})
	}
	if p.silenceID != "" {
		eventually(t, time.Minute, 2*time.Second, "Alertmanager silence", func() error {
			var sil struct {
				ID      string `json:"id"`
				Comment string `json:"comment"`
			}
			if err := getJSON(proxyURL+"/alertmanager/api/v2/silence/"+p.silenceID, user, pass, &sil); err != nil {
				return err
			}
			if sil.ID != p.silenceID || sil.Comment != "must survive restarts" {
				return errorf("silence %s came back as %+v", p.silenceID, sil)
			}
			return nil
		})
	}
	if p.savedQueryID != 0 {
		eventually(t, 2*time.Minute, 5*time.Second, "Superset metadata", func() error {
			c := s.supersetSession(t)
			var q struct {
				Result struct {
					Label string `json:"label"`
				} `json:"result"`
			}
			if code := c.api(t, http.MethodGet, fmt.Sprintf("/api/v1/saved_query/%d", p.savedQueryID), nil, &q); code != 200 || q.Result.Label != "stacktest" {
				return errorf("saved query %d: %d %+v", p.savedQueryID, code, q)
			}
			return nil
		})
	}
}

// screenshots renders the landing page and the UIs with headless Chromium
// into docs/screenshots when OPS_SCREENSHOTS is set.
func (s *Stack) screenshots(t *testing.T) {
	dir := os.Getenv("OPS_SCREENSHOTS")
	if dir == "" {
		t.Skip("set OPS_SCREENSHOTS=<dir> to take screenshots")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	// Chromium cannot send basic auth from the command line, and MLflow's UI
	// refuses to fetch from a URL with credentials in it: a loopback
	// forwarder adds the proxy's credentials, as a browser would after the
	// password prompt.
	// Superset's pages get the session of its admin, as after its login
	// form.
	target, _ := url.Parse(proxyURL)
	session := s.supersetSession(t).http.Jar.Cookies(&url.URL{Scheme: "http", Host: target.Host, Path: "/superset/"})
	fwd := httputil.NewSingleHostReverseProxy(target)
	director := fwd.Director
	fwd.Director = func(r *http.Request) {
		director(r)
		r.SetBasicAuth(s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"])
		if strings.HasPrefix(r.URL.Path, "/superset/") && r.URL.Path != "/superset/login/" {
			for _, c := range session {
				r.AddCookie(c)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fwd}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	pages := map[string]string{
		"landing.png":    base + "/",
		"mlflow.png":     base + "/mlflow/#/experiments",
		"prometheus.png": base + "/prometheus/targets",
		"superset.png":   base + "/superset/login/",
	}
	for _, d := range supersetassets.Dashboards() {
		// Superset's own /superset/dashboard/ route, under its app root.
		pages["superset-"+d.Slug+".png"] = base + "/superset/superset/dashboard/" + d.Slug + "/"
	}
	// A dashboard is taller and loads each chart's data after the page.
	size := func(name string) string {
		if strings.HasPrefix(name, "superset-") {
			return "--window-size=1400,1250"
		}
		return "--window-size=1280,800"
	}
	budget := func(name string) string {
		if strings.HasPrefix(name, "superset-") {
			return "--virtual-time-budget=30000"
		}
		return "--virtual-time-budget=8000"
	}
	os.MkdirAll(dir, 0o755)
	for name, url := range pages {
		profile := t.TempDir()
		cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
			"--user-data-dir="+profile, size(name), budget(name),
			"--screenshot="+filepath.Join(dir, name), url)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("screenshot %s: %v\n%s", name, err, out)
		}
	}
}

// promQueries lists the Prometheus queries of a dashboard file's panels.
// checkDashboardQueries runs every panel query of the trading dashboards
// that reads the metrics contract against Prometheus scraping hftsim, with
// Grafana's variables substituted, and requires data.
func (s *Stack) checkDashboardQueries(t *testing.T) {
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	all, err := dashboards.PrometheusQueries(filepath.Join(s.Root, dashboards.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{}
	for _, q := range all {
		if q.ReadsContract() {
			queries[q.Name()] = q.Expr
		}
	}
	if len(queries) < 20 {
		t.Fatalf("only %d trading panel queries found", len(queries))
	}
	substitute := func(expr string) string {
		return dashboards.ExpandVariables(expr, func(name string) string {
			switch name {
			case "__rate_interval":
				return "1m"
			case "__interval":
				return "15s"
			case "__range":
				return "5m"
			default:
				return ".*"
			}
		})
	}
	// The latency histograms also arrive as native histograms (protobuf
	// scrape), next to the classic buckets the panels read.
	pending := map[string]string{
		"native histogram: ack latency":      `histogram_count(rate(hft_order_ack_latency_seconds{job="executor"}[1m])) > 0`,
		"native histogram: db write latency": `histogram_quantile(0.99, sum(rate(hft_db_write_duration_seconds{job="collector"}[1m])))`,
	}
	for name, expr := range queries {
		pending[name] = substitute(expr)
	}
	// Counters and histograms need a few scrapes (5 s apart) to have rates:
	// ask until every query has data or the deadline passes. A query
	// Prometheus refuses is reported at once; it will not get better.
	start := time.Now()
	err = poll(3*time.Minute, 5*time.Second, func() error {
		for name, q := range pending {
			var res queryResult
			code, body, err := get(proxyURL+"/prometheus/api/v1/query?query="+url.QueryEscape(q), user, pass)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(body, &res); err != nil {
				t.Errorf("%s: %s: %d: %v: %.300s", name, q, code, err, body)
				delete(pending, name)
				continue
			}
			switch {
			case code != 200 || res.Status != "success":
				t.Errorf("%s: %s: %d %s", name, q, code, res.Error)
				delete(pending, name)
			case len(res.Data.Result) > 0:
				delete(pending, name)
			}
		}
		if len(pending) > 0 {
			return errorf("%d queries without data", len(pending))
		}
		return nil
	})
	if err != nil {
		for _, name := range slices.Sorted(maps.Keys(pending)) {
			t.Errorf("no data from hftsim (healthy scenario) after %s: %s: %s", time.Since(start).Round(time.Second), name, pending[name])
		}
	}
	t.Logf("%d trading panel queries, %d without data, all answered after %s", len(queries), len(pending), time.Since(start).Round(time.Second))
}

// queryResult is the answer of Prometheus' /api/v1/query.
type queryResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []series `json:"result"`
	} `json:"data"`
}

// series is one series of an instant vector: its labels and its value as
// [time, "value"].
type series struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

func (s series) number() (float64, error) {
	if len(s.Value) != 2 {
		return 0, errorf("value %v is not [time, \"value\"]", s.Value)
	}
	str, ok := s.Value[1].(string)
	if !ok {
		return 0, errorf("value %v is not [time, \"value\"]", s.Value)
	}
	return strconv.ParseFloat(str, 64)
}

// sentMessage is one sendMessage call kept by the Telegram stand-in
// (GET /messages), with the fields of its body the tests read.
type sentMessage struct {
	Body struct {
		ChatID    json.Number `json:"chat_id"`
		Text      string      `json:"text"`
		ParseMode string      `json:"parse_mode"`
	} `json:"body"`
}

// Alert reads the notification the message is (see parseAlert).
func (m sentMessage) Alert() (Alert, bool) { return parseAlert(m.Body.Text) }

// telegramMessages reads what the Telegram stand-in received since it was
// last cleared.
func telegramMessages() ([]sentMessage, error) {
	var msgs []sentMessage
	if err := getJSON(telegramURL+"/messages", "", "", &msgs); err != nil {
		return nil, fmt.Errorf("the Telegram stand-in's messages: %w", err)
	}
	return msgs, nil
}

// clearTelegram empties the Telegram stand-in's list of messages.
func clearTelegram(t testing.TB) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, telegramURL+"/messages", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("clearing the Telegram stand-in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clearing the Telegram stand-in: %s", resp.Status)
	}
}

func texts(msgs []sentMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Body.Text)
	}
	return out
}

// Alert is what alertmanager/templates/telegram.tmpl writes of a
// notification: its status, the group's alertname and severity (the header
// line), and "job instance" of each alert (its where: line). group_by is
// alertname, job, instance, so these are the labels that tell one
// notification group from another.
type Alert struct {
	Status, Alertname, Severity string
	Where                       []string
}

var (
	tgHeader = regexp.MustCompile(`^\S+ <b>(FIRING|RESOLVED)</b> (\S+)(?: \[([^\]]*)\])?\n`)
	tgWhere  = regexp.MustCompile(`(?m)^\s*where: (\S+) (\S+)\s*$`)
)

// parseAlert reads a message's header and where: lines (sorted); ok is
// false for a text the template did not write.
func parseAlert(text string) (a Alert, ok bool) {
	h := tgHeader.FindStringSubmatch(text)
	if h == nil {
		return Alert{}, false
	}
	a = Alert{Status: h[1], Alertname: h[2], Severity: h[3]}
	for _, w := range tgWhere.FindAllStringSubmatch(text, -1) {
		a.Where = append(a.Where, w[1]+" "+w[2])
	}
	slices.Sort(a.Where)
	return a, true
}

// Is says whether a is the notification of status for the alert named
// alertname whose alerts are exactly where ("job instance" each): a RESOLVED
// message of another alert, or of the same alert on another instance, is
// not it.
func (a Alert) Is(status, alertname string, where ...string) bool {
	if a.Status != status || a.Alertname != alertname {
		return false
	}
	where = slices.Clone(where)
	slices.Sort(where)
	return slices.Equal(a.Where, where)
}

// jobsAre says whether every alert of a is of one of the jobs, and there is
// at least one.
func (a Alert) jobsAre(jobs func(string) bool) bool {
	for _, w := range a.Where {
		if job, _, _ := strings.Cut(w, " "); !jobs(job) {
			return false
		}
	}
	return len(a.Where) > 0
}

// leftOutTargetsOnly says whether a Telegram message is an OpsTargetDown
// page about services this test environment does not run, and nothing else.
func leftOutTargetsOnly(text string) bool {
	a, ok := parseAlert(text)
	return ok && a.Alertname == "OpsTargetDown" && a.jobsAre(func(job string) bool { return notBuildable[job] })
}

// measureAlertLatency switches hftsim's executor into the kill-switch
// scenario and times how long the Telegram stand-in takes to receive the
// page; OPS_ALERT_TRIALS sets the number of trials (0 skips). With
// OPS_HEALTHY_MINUTES it first runs the healthy scenario that long and
// requires no alert but the watchdog and informational ones.
func (s *Stack) measureAlertLatency(t *testing.T) {
	trials, _ := strconv.Atoi(os.Getenv("OPS_ALERT_TRIALS"))
	minutes, _ := strconv.Atoi(os.Getenv("OPS_HEALTHY_MINUTES"))
	if trials == 0 && minutes == 0 {
		t.Skip("set OPS_ALERT_TRIALS=10 (and OPS_HEALTHY_MINUTES=10) to measure")
	}
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	scenario := func(port, name string) {
		resp, err := httpClient.Post("http://127.0.0.1:"+port+"/scenario?name="+name, "", nil)
		if err != nil {
			t.Fatalf("switching to %s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("switching to %s: %s", name, resp.Status)
		}
	}
	if minutes > 0 {
		scenario("18000", "healthy")
		scenario("18001", "healthy")
		clearTelegram(t)
		// The healthy period is the measurement itself, not a wait for a
		// condition: it runs its full length.
		time.Sleep(time.Duration(minutes) * time.Minute)
		var alerts []struct {
			Labels map[string]string `json:"labels"`
		}
		if err := getJSON(proxyURL+"/alertmanager/api/v2/alerts?active=true&silenced=false", user, pass, &alerts); err != nil {
			t.Fatal(err)
		}
		var unexpected []string
		for _, a := range alerts {
			// Targets of the services this test environment leaves out are
			// down by construction; on a user's machine they run.
			if a.Labels["alertname"] == "OpsTargetDown" && notBuildable[a.Labels["job"]] || strings.HasPrefix(a.Labels["alertname"], "StackTest") {
				continue
			}
			if sev := a.Labels["severity"]; sev != "none" && sev != "info" {
				unexpected = append(unexpected, a.Labels["alertname"]+"/"+sev)
			}
		}
		// Not only at the end: any alert that fired during the period, as
		// Prometheus' ALERTS series recorded it, and any Telegram message.
		q := fmt.Sprintf(`max by (alertname, severity, job) (max_over_time(ALERTS{alertstate="firing",severity!~"none|info"}[%dm]))`, minutes)
		var fired queryResult
		if err := getJSON(proxyURL+"/prometheus/api/v1/query?query="+url.QueryEscape(q), user, pass, &fired); err != nil {
			t.Fatal(err)
		}
		if fired.Status != "success" {
			t.Fatalf("%s: %s %s", q, fired.Status, fired.Error)
		}
		for _, r := range fired.Data.Result {
			if r.Metric["alertname"] == "OpsTargetDown" && notBuildable[r.Metric["job"]] {
				continue
			}
			unexpected = append(unexpected, "fired during the period: "+r.Metric["alertname"]+"/"+r.Metric["severity"])
		}
		sent, err := telegramMessages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sent {
			// The alert posted by the delivery subtest resolves on its own;
			// OpsTargetDown of left-out services is expected, as above.
			if a, ok := m.Alert(); ok && strings.HasPrefix(a.Alertname, "StackTest") || leftOutTargetsOnly(m.Body.Text) {
				continue
			}
			unexpected = append(unexpected, "sent to Telegram: "+m.Body.Text)
		}
		t.Logf("healthy for %d min: %d alerts active; unexpected: %v", minutes, len(alerts), unexpected)
		if len(unexpected) > 0 {
			t.Errorf("alerts on healthy data: %v", unexpected)
		}
	}
	// find returns the first notification that match accepts.
	find := func(what string, match func(Alert) bool) (Alert, error) {
		msgs, err := telegramMessages()
		if err != nil {
			return Alert{}, err
		}
		for _, m := range msgs {
			if a, ok := m.Alert(); ok && match(a) {
				return a, nil
			}
		}
		return Alert{}, errorf("no %s among %d messages: %v", what, len(msgs), texts(msgs))
	}
	executor := func(job string) bool { return job == "executor" }
	var lat []time.Duration
	for i := 0; i < trials; i++ {
		clearTelegram(t)
		t0 := time.Now()
		scenario("18001", "kill-switch")
		var page Alert
		if err := poll(2*time.Minute, 100*time.Millisecond, func() (err error) {
			page, err = find("FIRING KillSwitchEngaged of the executor", func(a Alert) bool {
				return a.Status == "FIRING" && a.Alertname == "KillSwitchEngaged" && a.jobsAre(executor)
			})
			return err
		}); err != nil {
			t.Fatalf("trial %d: no page: %v", i+1, err)
		}
		lat = append(lat, time.Since(t0))
		scenario("18001", "healthy")
		// Wait for this page's own resolution, so the next trial opens a
		// new group: RESOLVED, KillSwitchEngaged, the same instances.
		if err := poll(4*time.Minute, time.Second, func() error {
			_, err := find(fmt.Sprintf("RESOLVED KillSwitchEngaged %v", page.Where), func(a Alert) bool {
				return a.Is("RESOLVED", "KillSwitchEngaged", page.Where...)
			})
			return err
		}); err != nil {
			t.Fatalf("trial %d: the page %v never resolved: %v", i+1, page.Where, err)
		}
		t.Logf("trial %d: page after %s", i+1, lat[i].Round(10*time.Millisecond))
	}
	if len(lat) > 0 {
		sorted := slices.Clone(lat)
		slices.Sort(sorted)
		q := func(p float64) time.Duration { return sorted[int(math.Ceil(p*float64(len(sorted))))-1] }
		t.Logf("alert latency over %d trials: p50 %s, p95 %s, max %s", len(lat), q(0.5).Round(10*time.Millisecond), q(0.95).Round(10*time.Millisecond), sorted[len(sorted)-1].Round(10*time.Millisecond))
	}
}

// aliases maps each network alias of the project's services to the service.
func (s *Stack) aliases(t *testing.T) map[string]string {
	t.Helper()
	var cfg struct {
		Services map[string]struct {
			Networks map[string]*struct {
				Aliases []string `json:"aliases"`
			} `json:"networks"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(s.compose("config", "--format", "json")), &cfg); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, svc := range cfg.Services {
		for _, n := range svc.Networks {
			if n != nil {
				for _, a := range n.Aliases {
					out[a] = name
				}
			}
		}
	}
	return out
}
