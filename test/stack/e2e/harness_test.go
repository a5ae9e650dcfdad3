// Package e2e runs the real compose.yaml under a real Docker engine, with
// test/stack/compose.test.yaml swapping each image for a local build of the
// same upstream version, and asserts what a user of the node relies on.
//
// It needs Docker, the local images (test/stack/build-images.sh) and
// OPS_STACK_TEST=1; .ci/run provides all three.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/repotree"
	"github.com/okx-hft/okx-hft-ops/internal/setup"
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
}

func repoRoot(t testing.TB) string {
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var stackFiles = []string{
	"compose.yaml", ".env.example", "Dockerfile", "mlflow", "superset", "prometheus",
	"alertmanager", "loki", "alloy", "grafana", "nginx", "runbooks", "test/stack/compose.test.yaml",
	"test/stack/sidecars.compose.yaml",
}

func newStack(t *testing.T) *Stack {
	t.Helper()
	if os.Getenv("OPS_STACK_TEST") != "1" {
		t.Skip("the stack test needs Docker and the local images: run it with OPS_STACK_TEST=1 (make test-stack)")
	}
	root := repoRoot(t)
	dir := filepath.Join(os.TempDir(), project)
	os.RemoveAll(dir)
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
	})
	return s
}

func (s *Stack) setEnv(kv map[string]string) {
	p := filepath.Join(s.Dir, ".env")
	data, _ := os.ReadFile(p)
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
		"COMPOSE_PROFILES=demo",
	)
}

// run runs a command in the stack's directory and returns its output.
func (s *Stack) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.Dir
	cmd.Env = s.environ()
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

func (s *Stack) sidecars(args ...string) string {
	s.t.Helper()
	return s.must("docker", append([]string{"compose", "-p", sidecarsProject, "-f", "test/stack/sidecars.compose.yaml", "--env-file", ".env"}, args...)...)
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
		json.Unmarshal([]byte(raw), &st)
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
	deadline := time.Now().Add(5 * time.Minute)
	for {
		cs := s.containers()
		pending := []string{}
		for _, svc := range services {
			if c := cs[svc]; c.State != "running" || (c.Health != "" && c.Health != "healthy") {
				pending = append(pending, svc+"="+c.State+"/"+c.Health)
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not healthy after 5 minutes: %v", pending)
		}
		time.Sleep(2 * time.Second)
	}
}

func httpGet(t testing.TB, url, user, pass string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(2 * time.Second)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func TestLeftOutTargetsOnly(t *testing.T) {
	page := func(alert string, jobs ...string) string {
		s := "🔥 <b>FIRING</b> " + alert + " [warning]\n"
		for _, j := range jobs {
			s += "• " + j + " cannot be scraped\n  where: " + j + " " + j + ":1234\n"
		}
		return s
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
