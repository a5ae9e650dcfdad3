package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A UI declared in one place, x-ops.ui, is all it takes to learn what else
// is missing: the proxy's location, the landing page's link and both
// READMEs' mention are each named, nothing else.
func TestNewUIDeclarationNamesWhatIsMissing(t *testing.T) {
	dir := copyRepo(t)
	p := filepath.Join(dir, "compose.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	old := "    x-ops:\n      state: [/loki]\n"
	if strings.Count(string(data), old) != 1 {
		t.Fatalf("compose.yaml no longer has loki's x-ops as %q", old)
	}
	data = []byte(strings.Replace(string(data), old, old+"      ui: {path: /loki/, probe: /loki/ready, title: Loki, login: proxy}\n", 1))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"nginx/nginx.conf":      "the proxy does not serve /loki/",
		"nginx/html/index.html": "the landing page has no link to /loki/",
		"README.md":             "README.md has no row for the UI /loki/",
		"README.ru.md":          "README.ru.md has no row for the UI /loki/",
	}
	errs := errorsOf(runCheck(t, dir))
	for _, f := range errs {
		if w, ok := want[f.File]; ok && strings.Contains(f.Message, w) {
			delete(want, f.File)
			continue
		}
		t.Errorf("unexpected finding: %s", f)
	}
	for file, w := range want {
		t.Errorf("no finding in %s containing %q", file, w)
	}
}
