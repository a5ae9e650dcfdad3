package e2e

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/doctor"
	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
)

// standalone is a compose file of the node that also starts alone.
type standalone struct {
	file     string   // the file, as a user names it
	override string   // the stack test's local images for it
	url      string   // where doctor finds its service without the proxy
	doctor   []string // doctor's checks that are its part
}

var standalones = []standalone{
	{"mlflow/compose.yaml", "test/stack/mlflow.test.yaml", "http://127.0.0.1:5000", []string{"s3 round trip", "mlflow round trip"}},
	{"superset/compose.yaml", "test/stack/superset.test.yaml", "http://127.0.0.1:8088", []string{"superset login"}},
	{"airflow/compose.yaml", "test/stack/airflow.test.yaml", "http://127.0.0.1:8085", []string{"airflow"}},
}

// project is the compose project the test runs the file alone as.
func (a standalone) project() string {
	return project + "-" + strings.TrimSuffix(a.file, "/compose.yaml")
}

func (s *Stack) standaloneRunner(a standalone) *stack.Runner {
	// Up's errors carry the failing service's log lines.
	return &stack.Runner{Dir: s.Dir, Files: []string{a.file, a.override}, Project: a.project(), Stdout: io.Discard}
}

// checkStandalone starts one file of the node alone, as its README
// command does (docker compose --env-file .env -f FILE up), checks that
// it runs exactly its own services, healthy, and that doctor's part for
// it passes, then removes it with its volumes.
func (s *Stack) checkStandalone(t *testing.T, a standalone) {
	r := s.standaloneRunner(a)
	defer func() {
		if err := r.Down(context.Background(), true); err != nil {
			t.Errorf("removing %s: %v", a.project(), err)
		}
	}()
	start := time.Now()
	if err := r.Up(context.Background(), false, 10*time.Minute); err != nil {
		t.Fatalf("%s alone: %v", a.file, err)
	}
	t.Logf("%s up alone in %s", a.file, time.Since(start).Round(time.Second))

	decls, err := opsdecl.LoadFile(s.Dir, a.file)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, d := range decls {
		want = append(want, d.Name)
	}
	cs, err := r.PS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		got = append(got, c.Service)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s alone runs %v, want its own services %v", a.file, got, want)
	}

	out, err := s.runEnv([]string{"COMPOSE_PROJECT_NAME=" + a.project()}, s.Opsctl, "doctor", "--file", a.file, "--url", a.url, "--json")
	var results []doctor.Result
	if jerr := json.Unmarshal([]byte(out), &results); jerr != nil {
		t.Fatalf("doctor --file %s --json: %v (%v)\n%s", a.file, jerr, err, out)
	}
	status := map[string]doctor.Result{}
	for _, res := range results {
		status[res.Name] = res
		if res.Status == doctor.Fail {
			t.Errorf("doctor --file %s: %s failed: %s", a.file, res.Name, res.Detail)
		}
	}
	for _, name := range a.doctor {
		if status[name].Status != doctor.OK {
			t.Errorf("doctor --file %s: %s is %s (%s), want ok", a.file, name, status[name].Status, status[name].Detail)
		} else {
			t.Logf("doctor --file %s: %s ok: %s", a.file, name, status[name].Detail)
		}
	}
	if err != nil && !t.Failed() {
		t.Errorf("doctor --file %s exited with %v", a.file, err)
	}
}
