package alloy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

// TestShippedConfigFormatted: alloy/config.alloy is laid out as `alloy fmt`
// writes it, so `alloy fmt --test` (run where Alloy is available) passes
// and a diff after formatting shows only real changes.
func TestShippedConfigFormatted(t *testing.T) {
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "alloy", "config.alloy"))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := FormatProblems(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("alloy/config.alloy:%s", p)
	}
}

// tabs writes → as a tab, so the cases read as alloy fmt's output does.
func tabs(s string) string { return strings.ReplaceAll(s, "→", "\t") }

func TestFormatProblems(t *testing.T) {
	formatted := []struct{ name, src string }{
		{"aligned run", "a {\n→x      = 1\n→longer = 2\n}\n"},
		{"blank line ends a run", "a {\n→x = 1\n\n→longer = 2\n}\n"},
		// walker.go: the first line of a multi-line attribute belongs to
		// the run before it; the statement after it starts a new run.
		{"multi-line value joins the run before it", "a {\n→x    = 1\n→list = [\n→→1,\n→]\n→longer_name = 2\n}\n"},
		{"object fields align", "a = {\n→k      = 1,\n→longer = {\n→→inner = true,\n→},\n→z = 2,\n}\n"},
		{"block after attribute", "a \"x\" {\n→forward_to = []\n\n→stage.drop {\n→→older_than = \"1h\"\n→}\n}\n"},
		{"empty block", "a { }\n\nb \"l\" { }\n"},
		{"comments", "// top\na {\n→// inside\n→x = 1\n}\n"},
		{"multi-line raw string keeps its text", "a {\n→x = `line\n    indented by spaces\n`\n}\n"},
		{"call arguments on lines", "a {\n→x = f(\n→→1,\n→)\n}\n"},
	}
	for _, c := range formatted {
		t.Run(c.name, func(t *testing.T) {
			problems, err := FormatProblems([]byte(tabs(c.src)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("formatted input reported: %s", p)
			}
		})
	}

	unformatted := []struct{ name, src, want string }{
		{"spaces for indentation", "a {\n  x = 1\n}\n", "2: indent with tabs"},
		{"too deep", "a {\n→→x = 1\n}\n", "2: indent with 1 tab"},
		{"closing brace indented", "a {\n→x = 1\n→}\n", "3: indent with 0 tabs"},
		{"misaligned =", "a {\n→x = 1\n→longer = 2\n}\n", "2: align = with the other 1 lines of this run: 6 spaces after x"},
		{"aligned across a blank line", "a {\n→x      = 1\n\n→longer = 2\n}\n", "2: write x = with one space"},
		{"aligned past a multi-line statement", "a {\n→list = [\n→→1,\n→]\n→x    = 2\n}\n", "5: write x = with one space"},
		{"two spaces after =", "a {\n→x =  1\n}\n", "2: write one space after the = of x"},
		{"object field misaligned", "a = {\n→k = 1,\n→longer = 2,\n}\n", "2: align = with the other 1 lines"},
		{"object element indent", "a = [\n1,\n]\n", "2: indent with 1 tab"},
		{"no blank line before a block", "a {\n→x = 1\n→b { }\n}\n", "3: put a blank line before the block"},
		{"two blank lines", "a { }\n\n\nb { }\n", "3: remove the second blank line"},
		{"trailing whitespace", "a {\n→x = 1 \n}\n", "2: remove the trailing whitespace"},
		{"no final newline", "a { }", "1: end the file with a newline"},
		{"blank line after {", "a {\n\n→x = 1\n}\n", "2: remove the blank line after {"},
		{"header spacing", "a  \"l\" {\n→x = 1\n}\n", `1: write the block header as a "l" {`},
		{"empty block spacing", "a {}\n", "1: write an empty block as a { }"},
	}
	for _, c := range unformatted {
		t.Run(c.name, func(t *testing.T) {
			problems, err := FormatProblems([]byte(tabs(c.src)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
				if strings.HasPrefix(p.String(), c.want) {
					return
				}
			}
			t.Errorf("want a problem starting %q; got %q", c.want, got)
		})
	}
}
