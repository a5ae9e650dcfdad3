package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/finding"
	"github.com/okx-hft/okx-hft-ops/internal/repotree"
	"github.com/okx-hft/okx-hft-ops/internal/setup"
	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

// repoFiles are the parts of the repository opsctl check reads.
var repoFiles = []string{
	"compose.yaml", ".env.example", "Dockerfile", "go.mod", "hftsim",
	"mlflow", "superset", "runbooks", "prometheus", "alertmanager", "loki", "alloy", "grafana", "nginx",
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyRepo copies the checked files of the repository into a fresh dir.
func copyRepo(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	if err := repotree.Copy(repoRoot(t), dst, repoFiles); err != nil {
		t.Fatal(err)
	}
	return dst
}

func runCheck(t testing.TB, dir string) finding.List {
	t.Helper()
	promtool := tools.Promtool(repoRoot(t))
	if promtool == nil {
		t.Fatal("promtool is not available (go tool promtool)")
	}
	nginx := tools.Nginx()
	if nginx == nil && os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed; CI installs it so that `nginx -t` runs")
	}
	return Run(context.Background(), dir, Options{Promtool: promtool, Nginx: nginx})
}

func errorsOf(l finding.List) finding.List {
	var out finding.List
	for _, f := range l {
		if f.Severity == finding.Error {
			out = append(out, f)
		}
	}
	return out
}

func TestRepositoryPasses(t *testing.T) {
	dir := copyRepo(t)
	if errs := errorsOf(runCheck(t, dir)); len(errs) > 0 {
		for _, f := range errs {
			t.Error(f)
		}
	}
}

func TestRepositoryWithGeneratedEnvPasses(t *testing.T) {
	dir := copyRepo(t)
	if _, err := setup.Init(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range runCheck(t, dir) {
		t.Error(f)
	}
}

// brokenCase is one file of testdata/broken: a single defect applied to a
// copy of the repository, and the finding it must produce.
type brokenCase struct {
	name                       string
	check, file, pos, contains string
	also                       []string // other checks the same defect may trip
	withEnv                    bool
	archive                    *txtar.Archive
}

func parseCase(t *testing.T, path string) brokenCase {
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := brokenCase{name: strings.TrimSuffix(filepath.Base(path), ".txtar"), archive: a}
	for _, line := range strings.Split(string(a.Comment), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "check":
			c.check = v
		case "file":
			c.file = v
		case "pos":
			c.pos = v
		case "contains":
			c.contains = v
		case "also":
			c.also = strings.Fields(v)
		case "env":
			c.withEnv = v == "generated"
		}
	}
	if c.check == "" || c.file == "" || c.contains == "" {
		t.Fatalf("%s: the comment must give check:, file: and contains:", path)
	}
	return c
}

// apply writes the case's sections: "edit PATH" holds OLD, a line "=>",
// and NEW, replaced exactly once; any other name is a whole file.
func (c brokenCase) apply(t *testing.T, dir string) {
	for _, f := range c.archive.Files {
		if f.Name == "set .env" {
			p := filepath.Join(dir, ".env")
			data, _ := os.ReadFile(p)
			env, errs := envfile.Parse(".env", data)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				if err := env.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(p, env.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if rel, ok := strings.CutPrefix(f.Name, "edit "); ok {
			p := filepath.Join(dir, rel)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			old, new, ok := strings.Cut(string(f.Data), "=>\n")
			if !ok {
				t.Fatalf("%s: edit %s has no \"=>\" line", c.name, rel)
			}
			if n := strings.Count(string(data), old); n != 1 {
				t.Fatalf("%s: edit %s: the old text occurs %d times, want once:\n%s", c.name, rel, n, old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrokenCorpus(t *testing.T) {
	paths, _ := filepath.Glob("testdata/broken/*.txtar")
	if len(paths) < 30 {
		t.Fatalf("the corpus has %d cases; it must keep at least 30", len(paths))
	}
	for _, p := range paths {
		c := parseCase(t, p)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyRepo(t)
			if c.withEnv {
				if _, err := setup.Init(dir); err != nil {
					t.Fatal(err)
				}
			}
			c.apply(t, dir)
			found := runCheck(t, dir)
			var matched bool
			for _, f := range found {
				if f.Check == c.check && f.File == c.file && strings.Contains(f.Message, c.contains) && (c.pos == "" || f.Position == c.pos) {
					matched = true
				}
			}
			if !matched {
				t.Errorf("want a finding [%s] %s:%s containing %q; got:\n%s", c.check, c.file, c.pos, c.contains, dump(found))
			}
			// One defect, one finding: nothing else may fail.
			for _, f := range errorsOf(found) {
				if (f.Check != c.check || f.File != c.file) && !slices.Contains(c.also, f.Check) {
					t.Errorf("unrelated error finding: %s", f)
				}
			}
		})
	}
}

func dump(l finding.List) string {
	var b strings.Builder
	for _, f := range l {
		fmt.Fprintln(&b, "  ", f)
	}
	return b.String()
}
