package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	"mlflow", "superset", "airflow", "runbooks", "prometheus", "alertmanager", "loki", "alloy", "grafana", "nginx", "terraform",
	"README.md", "README.ru.md",
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

// runCheck runs the check as `opsctl check --no-docker` does: promtool
// built once by `make tools` (no test builds it inside its own timeout) and
// this machine's nginx. A validator that cannot run is an error finding,
// so a test can never pass without it.
func runCheck(t testing.TB, dir string) finding.List {
	t.Helper()
	if _, _, ok := tools.CachedPromtool(repoRoot(t)); !ok {
		t.Fatal("promtool of the pinned version is not built: run `make tools` first")
	}
	return Run(context.Background(), dir, Options{Tools: &ToolOptions{}})
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

// corpusCase is one file of testdata/broken or testdata/valid: edits
// applied to a copy of the repository and, for a broken case, the one
// finding it must produce, stated fully: check, severity, file, position
// and message.
type corpusCase struct {
	name                                 string
	check, severity, file, pos, contains string
	also                                 []string // other checks the same defect may trip
	warnings                             int      // valid cases: the warnings the edit may cause
	withEnv                              bool
	archive                              *txtar.Archive
}

// noPosition is written `pos: -`: the check gives the finding no line or
// key (a file-wide defect, or a reader that cannot tell).
const noPosition = "-"

func readCase(t *testing.T, path string) corpusCase {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := corpusCase{name: strings.TrimSuffix(filepath.Base(path), ".txtar"), archive: a}
	for _, line := range strings.Split(string(a.Comment), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "check":
			c.check = v
		case "severity":
			c.severity = v
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
		case "warnings":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: warnings: %q is not a number", path, v)
			}
			c.warnings = n
		}
	}
	return c
}

// parseCase reads a broken case; every key of the finding is mandatory.
func parseCase(t *testing.T, path string) corpusCase {
	t.Helper()
	c := readCase(t, path)
	if c.check == "" || c.severity == "" || c.file == "" || c.pos == "" || c.contains == "" {
		t.Fatalf("%s: the comment must give check:, severity:, file:, pos: and contains: (pos: a line \"12\", \"12:5\", a key path, or - when the check gives none)", path)
	}
	if c.severity != string(finding.Error) && c.severity != string(finding.Warning) {
		t.Fatalf("%s: severity: %q is neither error nor warning", path, c.severity)
	}
	return c
}

// matches reports whether f is the finding the case states.
func (c corpusCase) matches(f finding.Finding) bool {
	pos := f.Position
	if pos == "" {
		pos = noPosition
	}
	return f.Check == c.check && string(f.Severity) == c.severity && f.File == c.file && pos == c.pos && strings.Contains(f.Message, c.contains)
}

// apply writes the case's sections: "edit PATH" holds OLD, a line "=>",
// and NEW, replaced exactly once; "set .env" holds KEY=VALUE lines set
// through envfile (the value is the literal text after "="); "append
// PATH" adds its text at the end of the file as written; any other name
// is a whole file.
func (c corpusCase) apply(t *testing.T, dir string) {
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
		if rel, ok := strings.CutPrefix(f.Name, "append "); ok {
			p := filepath.Join(dir, rel)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
				data = append(data, '\n')
			}
			if err := os.WriteFile(p, append(data, f.Data...), 0o600); err != nil {
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
			if !slices.ContainsFunc(found, c.matches) {
				t.Errorf("want a finding %s:%s: %s [%s] containing %q; got:\n%s", c.file, c.pos, c.severity, c.check, c.contains, dump(found))
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

// TestValidCorpus applies edits a user makes to a working node (another
// scrape job, receiver, proxy location, runbook heading, retention, .env
// quoting) after `opsctl init`, and asserts that the check raises no error
// and no more warnings than the case declares (warnings: N).
func TestValidCorpus(t *testing.T) {
	paths, _ := filepath.Glob("testdata/valid/*.txtar")
	if len(paths) < 10 {
		t.Fatalf("the valid corpus has %d cases; it must keep at least 10", len(paths))
	}
	for _, p := range paths {
		c := readCase(t, p)
		if len(c.archive.Files) == 0 {
			t.Fatalf("%s: no edit", p)
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := copyRepo(t)
			if _, err := setup.Init(dir); err != nil {
				t.Fatal(err)
			}
			c.apply(t, dir)
			found := runCheck(t, dir)
			var warnings finding.List
			for _, f := range found {
				switch f.Severity {
				case finding.Error:
					t.Errorf("a valid edit is refused: %s", f)
				case finding.Warning:
					warnings = append(warnings, f)
				}
			}
			if len(warnings) != c.warnings {
				t.Errorf("%d warnings, the case allows %d:\n%s", len(warnings), c.warnings, dump(warnings))
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
