// Package e2e runs the real compose.yaml under a real Docker engine, with
// test/stack/compose.test.yaml swapping each image for a local build of the
// same upstream version, and asserts what a user of the node relies on.
//
// It needs Docker, the local images (test/stack/build-images.sh) and
// OPS_STACK_TEST=1; .ci/run provides all three.
package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/repotree"
	"github.com/okx-hft/okx-hft-ops/internal/setup"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
	amtemplate "github.com/prometheus/alertmanager/template"
)

const (
	project         = "okxops-stacktest"
	sidecarsProject = "okxops-stacktest-sidecars"
	proxyURL        = "http://127.0.0.1:8080"
	s3URL           = "http://127.0.0.1:9000"
	telegramURL     = "http://127.0.0.1:18081"
)

// Stack is a copy of the repository with its own .env, run as its own
// compose project.
type Stack struct {
	t      *testing.T
	Dir    string
	Root   string
	Opsctl string
	Env    map[string]string
	// Profiles is COMPOSE_PROFILES of the stack's commands: "demo" when
	// empty; the TLS subtest adds tls.
	Profiles string
}

func repoRoot(t testing.TB) string {
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var stackFiles = []string{
	"compose.yaml", ".env.example", "Dockerfile", "mlflow", "superset", "airflow", "prometheus",
	"alertmanager", "loki", "alloy", "grafana", "nginx", "runbooks", "test/stack/compose.test.yaml",
	"test/stack/sidecars.compose.yaml", "test/stack/mlflow.test.yaml", "test/stack/superset.test.yaml", "test/stack/airflow.test.yaml",
}

func newStack(t *testing.T) *Stack {
	t.Helper()
	if os.Getenv("OPS_STACK_TEST") != "1" {
		t.Skip("the stack test needs Docker and the local images: run it with OPS_STACK_TEST=1 (make test-stack)")
	}
	root := repoRoot(t)
	dir := filepath.Join(os.TempDir(), project)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("removing the copy of an earlier run: %v", err)
	}
	if err := repotree.Copy(root, dir, stackFiles); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "opsctl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/opsctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building opsctl: %v\n%s", err, out)
	}
	if _, err := setup.Init(dir); err != nil {
		t.Fatal(err)
	}
	s := &Stack{t: t, Dir: dir, Root: root, Opsctl: bin}
	// Alertmanager delivers to the local stand-in for Telegram's API; the
	// PostgreSQL standing in for TimescaleDB gets a password from .env.
	s.setEnv(map[string]string{
		"TELEGRAM_BOT_TOKEN":   "123456:stacktest-token",
		"TELEGRAM_CHAT_ID":     "-1004242",
		"TELEGRAM_API_URL":     "http://telegram-stub:8081",
		"TIMESCALEDB_PASSWORD": "St4ckT3stTimescalePassw0rd",
		// The backups go to the sidecars' second S3; Grafana and Loki
		// have no image here, so their parts are not backed up.
		"BACKUP_REPOSITORY":    "s3:http://backup-s3:8333/" + backupBucket + "/node",
		"BACKUP_S3_ACCESS_KEY": "STACKTESTBACKUPKEY0000000001",
		"BACKUP_S3_SECRET_KEY": "St4ckT3stBackupTargetSecretKey0000000000",
		"BACKUP_COMPONENTS":    "mlflow,superset,alertmanager,prometheus,objects",
	})
	return s
}

func (s *Stack) setEnv(kv map[string]string) {
	p := filepath.Join(s.Dir, ".env")
	data, err := os.ReadFile(p)
	if err != nil {
		s.t.Fatal(err)
	}
	f, errs := envfile.Parse(".env", data)
	if len(errs) > 0 {
		s.t.Fatal(errs)
	}
	for k, v := range kv {
		if err := f.Set(k, v); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := os.WriteFile(p, f.Bytes(), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.Env = f.Map()
}

func (s *Stack) environ() []string {
	return append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+project,
		"COMPOSE_FILE=compose.yaml:test/stack/compose.test.yaml",
		// The demo profile: hftsim as the collector and executor.
		"COMPOSE_PROFILES="+cmp.Or(s.Profiles, "demo"),
	)
}

// in returns the stack for a subtest: the same stack, reporting to t.
func (s *Stack) in(t *testing.T) *Stack {
	c := *s
	c.t = t
	return &c
}

// runner is opsctl up's own driver of Docker, in the stack's directory.
func (s *Stack) runner() *stack.Runner { return &stack.Runner{Dir: s.Dir} }

// prepare makes the machine ready for the run the way a user's machine is
// made ready, and assumes nothing an earlier run may have left: Docker and
// Compose answer (opsctl up's preflight), every image the run uses is present
// (a new machine has none until test/stack/build-images.sh), nothing of an
// earlier run that was killed before its cleanup is left (its volumes hold
// the secrets of another .env), and hft_network exists, created by the code
// opsctl up creates it with, before the sidecars join it. It returns whether
// it created the network, which the cleanup then removes.
func (s *Stack) prepare(ctx context.Context) (createdNetwork bool) {
	s.t.Helper()
	r := s.runner()
	if err := r.Preflight(ctx); err != nil {
		s.t.Fatal(err)
	}
	var missing []string
	for _, img := range append(s.images("compose", "config", "--images"),
		s.images(append(s.sidecarsArgs(), "config", "--images")...)...) {
		if _, err := s.run("docker", "image", "inspect", "--format", "{{.ID}}", img); err != nil {
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		s.t.Fatalf("images missing: %s; build them with bash test/stack/build-images.sh (make test-stack does)",
			strings.Join(missing, ", "))
	}
	s.down()
	created, err := r.EnsureNetwork(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	if created {
		s.t.Logf("created network %s (removed again at the end)", stack.Network)
	}
	return created
}

// images lists the images of a compose project (docker compose ... config
// --images), without duplicates.
func (s *Stack) images(args ...string) []string {
	s.t.Helper()
	out := s.must("docker", args...)
	var imgs []string
	for _, img := range strings.Fields(out) {
		if !slices.Contains(imgs, img) {
			imgs = append(imgs, img)
		}
	}
	if len(imgs) == 0 {
		s.t.Fatalf("docker %s lists no image", strings.Join(args, " "))
	}
	return imgs
}

// down removes both projects with their volumes; errors are logged, since
// it also runs where there is nothing to remove.
func (s *Stack) down() {
	s.leaveStub()
	// With every profile a run enables: compose down leaves the
	// containers of services whose profile is off.
	s = &Stack{t: s.t, Dir: s.Dir, Root: s.Root, Opsctl: s.Opsctl, Env: s.Env, Profiles: "demo,tls"}
	all := [][]string{
		{"compose", "down", "--volumes", "--remove-orphans"},
		append(s.sidecarsArgs(), "down", "--volumes", "--remove-orphans"),
	}
	for _, a := range standalones {
		all = append(all, s.standaloneRunner(a).ComposeArgs("down", "--volumes", "--remove-orphans"))
	}
	for _, args := range all {
		if out, err := s.run("docker", args...); err != nil {
			s.t.Logf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// run runs a command in the stack's directory and returns its output.
func (s *Stack) run(name string, args ...string) (string, error) {
	return s.runEnv(nil, name, args...)
}

// runEnv is run with extra environment variables, which win over the
// stack's own (COMPOSE_PROJECT_NAME of another project, say).
func (s *Stack) runEnv(extra []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.Dir
	cmd.Env = append(s.environ(), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (s *Stack) must(name string, args ...string) string {
	s.t.Helper()
	out, err := s.run(name, args...)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (s *Stack) compose(args ...string) string {
	s.t.Helper()
	return s.must("docker", append([]string{"compose"}, args...)...)
}

func (s *Stack) sidecarsArgs() []string {
	return []string{"compose", "-p", sidecarsProject, "-f", "test/stack/sidecars.compose.yaml", "--env-file", ".env"}
}

func (s *Stack) sidecars(args ...string) string {
	s.t.Helper()
	return s.must("docker", append(s.sidecarsArgs(), args...)...)
}

// containers maps each service to its container's state.
type containerState struct {
	ID, Service, State, Health string
	ExitCode                   int
	StartedAt                  string
}

func (s *Stack) containers() map[string]containerState {
	s.t.Helper()
	out := s.compose("ps", "--all", "--format", "{{.Service}}")
	m := map[string]containerState{}
	for _, svc := range strings.Fields(out) {
		id := strings.TrimSpace(s.compose("ps", "--all", "-q", svc))
		raw := s.must("docker", "inspect", "--format", "{{json .State}}", id)
		var st struct {
			Status    string
			ExitCode  int
			StartedAt string
			Health    *struct{ Status string }
		}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			s.t.Fatalf("docker inspect %s (%s): %v: %.300s", id, svc, err, raw)
		}
		c := containerState{ID: id, Service: svc, State: st.Status, ExitCode: st.ExitCode, StartedAt: st.StartedAt}
		if st.Health != nil {
			c.Health = st.Health.Status
		}
		m[svc] = c
	}
	return m
}

// waitHealthy waits until every listed service runs healthy again.
func (s *Stack) waitHealthy(services ...string) {
	s.t.Helper()
	eventually(s.t, 5*time.Minute, 2*time.Second, "healthy again: "+strings.Join(services, ", "), func() error {
		cs := s.containers()
		pending := []string{}
		for _, svc := range services {
			if c := cs[svc]; c.State != "running" || (c.Health != "" && c.Health != "healthy") {
				pending = append(pending, svc+"="+c.State+"/"+c.Health)
			}
		}
		if len(pending) > 0 {
			return errorf("not healthy: %v", pending)
		}
		return nil
	})
}

var httpClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches a URL (redirects are not followed) and returns the status and
// body, or the error that kept it from answering: inside a poll, a refused
// connection during a restart is one more try, not the end of the test.
func get(url, user, pass string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, b.Bytes(), fmt.Errorf("GET %s: reading the body: %w", url, err)
	}
	return resp.StatusCode, b.Bytes(), nil
}

// httpGet is get for a service that must answer now.
func httpGet(t testing.TB, url, user, pass string) (int, []byte) {
	t.Helper()
	code, body, err := get(url, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// getJSON fetches a URL that must answer 200 with JSON and decodes it.
func getJSON(url, user, pass string, out any) error {
	code, body, err := get(url, user, pass)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %.300s", url, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %v: %.300s", url, err, body)
	}
	return nil
}

// poll calls f every interval until it returns nil or timeout has passed,
// and returns the last error then. f runs at least once, and once more at the
// deadline, so a condition that holds in time is never reported as late.
func poll(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("still failing after %s: %w", timeout, err)
		}
		time.Sleep(min(interval, left))
	}
}

// eventually is poll that ends the test when the condition does not hold in
// time.
func eventually(t testing.TB, timeout, interval time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, interval, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func TestLeftOutTargetsOnly(t *testing.T) {
	page := func(alert string, jobs ...string) string {
		var where []string
		for _, j := range jobs {
			where = append(where, j+" "+j+":1234")
		}
		return notification(t, "FIRING", alert, "warning", where...)
	}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{page("OpsTargetDown", "loki"), true},
		{page("OpsTargetDown", "grafana", "alloy"), true},
		{page("OpsTargetDown", "loki", "prometheus"), false},
		{page("OpsTargetDown"), false},
		{page("KillSwitchEngaged", "loki"), false},
	} {
		if got := leftOutTargetsOnly(tc.text); got != tc.want {
			t.Errorf("leftOutTargetsOnly(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// notification renders the repository's alertmanager/templates/telegram.tmpl
// as Alertmanager's Telegram receiver does with parse_mode HTML, for a group
// of alerts of one name (where: "job instance" of each), so that the parser
// is tested against the real template.
func notification(t *testing.T, status, alertname, severity string, where ...string) string {
	t.Helper()
	tmpl, err := amtemplate.FromGlobs([]string{filepath.Join(repoRoot(t), "alertmanager", "templates", "*.tmpl")})
	if err != nil {
		t.Fatal(err)
	}
	d := &amtemplate.Data{
		Receiver: "telegram", Status: strings.ToLower(status),
		CommonLabels: amtemplate.KV{"alertname": alertname, "severity": severity},
		ExternalURL:  "http://127.0.0.1:8080/alertmanager",
	}
	for _, w := range where {
		job, instance, _ := strings.Cut(w, " ")
		d.Alerts = append(d.Alerts, amtemplate.Alert{Status: d.Status,
			Labels:      amtemplate.KV{"alertname": alertname, "severity": severity, "job": job, "instance": instance},
			Annotations: amtemplate.KV{"summary": "summary of " + w, "description": "a < b & c", "runbook_url": "runbooks/x.md#a", "dashboard_url": "grafana/d/x?a=1&b=2"}})
	}
	out, err := tmpl.ExecuteHTMLString(`{{ template "ops.telegram.message" . }}`, d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseAlert(t *testing.T) {
	a, ok := parseAlert(notification(t, "RESOLVED", "KillSwitchEngaged", "critical", "executor executor:8000", "executor executor-2:8000"))
	if !ok {
		t.Fatal("a message of the template was not recognised")
	}
	want := Alert{Status: "RESOLVED", Alertname: "KillSwitchEngaged", Severity: "critical",
		Where: []string{"executor executor-2:8000", "executor executor:8000"}}
	if a.Status != want.Status || a.Alertname != want.Alertname || a.Severity != want.Severity || !slices.Equal(a.Where, want.Where) {
		t.Errorf("parseAlert = %+v, want %+v", a, want)
	}
	for _, text := range []string{"", "RESOLVED KillSwitchEngaged", "✅ <b>resolved</b> KillSwitchEngaged\n", "hello\n✅ <b>RESOLVED</b> X\n"} {
		if a, ok := parseAlert(text); ok {
			t.Errorf("parseAlert(%q) = %+v, want not a notification", text, a)
		}
	}
}

// The RESOLVED message that ends a kill-switch trial must be that page's:
// another alert's resolution, or the same alert's on another instance, or
// a message that only mentions the name, is not.
func TestAlertIs(t *testing.T) {
	where := []string{"executor executor:8000"}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{notification(t, "RESOLVED", "KillSwitchEngaged", "critical", "executor executor:8000"), true},
		{notification(t, "FIRING", "KillSwitchEngaged", "critical", "executor executor:8000"), false},
		{notification(t, "RESOLVED", "OrderRejectRateHigh", "warning", "executor executor:8000"), false},
		{notification(t, "RESOLVED", "KillSwitchEngaged", "critical", "executor executor-2:8000"), false},
		{notification(t, "RESOLVED", "KillSwitchEngaged", "critical", "executor executor:8000", "executor executor-2:8000"), false},
		{notification(t, "RESOLVED", "KillSwitchEngaged", "critical"), false},
		{notification(t, "RESOLVED", "StackTestCritical", "critical", "collector collector:8000") + "\nKillSwitchEngaged", false},
	} {
		a, _ := parseAlert(tc.text)
		if got := a.Is("RESOLVED", "KillSwitchEngaged", where...); got != tc.want {
			t.Errorf("Is(RESOLVED, KillSwitchEngaged, %v) of %q = %v, want %v", where, tc.text, got, tc.want)
		}
	}
}

func TestPoll(t *testing.T) {
	calls := 0
	if err := poll(time.Second, time.Millisecond, func() error {
		if calls++; calls < 3 {
			return errorf("not yet %d", calls)
		}
		return nil
	}); err != nil || calls != 3 {
		t.Errorf("poll of a condition that holds at the third call: %v after %d calls", err, calls)
	}
	calls = 0
	start := time.Now()
	err := poll(50*time.Millisecond, 20*time.Millisecond, func() error { calls++; return errorf("never %d", calls) })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("never %d", calls)) {
		t.Errorf("poll of a condition that never holds: %v, want the last error (call %d)", err, calls)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("poll gave up after %s, want its 50ms timeout", d)
	}
	if calls < 3 {
		t.Errorf("poll called the condition %d times in 50ms every 20ms, want at least 3 (the last at the deadline)", calls)
	}
}
