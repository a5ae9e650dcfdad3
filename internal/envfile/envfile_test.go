package envfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// composeReads is Compose's own reading of a whole file, as `docker
// compose` does it for .env (dotenv.GetEnvFromFile: the lines above are the
// lookup, the shell environment is empty here).
func composeReads(t testing.TB, src string) (map[string]string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return dotenv.GetEnvFromFile(map[string]string{}, []string{p})
}

// Lines Compose accepts, each with the value Compose gives X. The value is
// also written down by hand, so a reader that agrees with itself but not
// with Compose fails.
var accepted = []struct {
	src, want string
}{
	{"X=plain", "plain"},
	{"X=it's", "it's"},
	{`X="a\$b"`, "a$b"},
	{`X='a$b'`, "a$b"},
	{`X=a$$b`, "a$b"},
	{"X=ab$cd", "ab"},
	{"cd=Q\nX=ab$cd", "abQ"},
	{"cd=Q\nX=ab${cd}ef", "abQef"},
	{"cd=Q\nX=\"ab${cd}\"", "abQ"},
	{"cd=Q\nX='ab${cd}'", "ab${cd}"},
	{"X=${unset:-fallback}", "fallback"},
	{`X="say \"hi\""`, `say "hi"`},
	{`X="tab\there"`, "tab\there"},
	{`X="two\nlines"`, "two\nlines"},
	{"X=\"spans\nlines\"", "spans\nlines"},
	{`X='it\'s'`, "it's"},
	{`X='back\slash'`, `back\slash`},
	{`X=back\slash`, `back\slash`},
	{"X=a\"b", `a"b`},
	{"X=value # comment", "value"},
	{"X=value#not-a-comment", "value#not-a-comment"},
	{"X=\"quoted\" # comment", "quoted"},
	{"X=  spaced  ", "spaced"},
	{"export X=exported", "exported"},
	{"X: yaml-style", "yaml-style"},
	{"X=", ""},
	{"X=''", ""},
	{"X=1\r", "1"},
	{"X=first\nX=second", "second"},
	{"\uFEFFX=bom", "bom"},
	{"X=%40p4ss=w0rd", "%40p4ss=w0rd"},
	{"X=http://minio:9000", "http://minio:9000"},
}

func TestValuesAreWhatComposeReads(t *testing.T) {
	for _, c := range accepted {
		src := c.src + "\n"
		compose, err := composeReads(t, src)
		if err != nil {
			t.Errorf("%q: Compose refuses it: %v", c.src, err)
			continue
		}
		if compose["X"] != c.want {
			t.Errorf("%q: Compose reads %q, the table says %q", c.src, compose["X"], c.want)
		}
		f, errs := Parse(".env", []byte(src))
		if len(errs) > 0 {
			t.Errorf("%q: refused: %v", c.src, errs)
			continue
		}
		if got, ok := f.Get("X"); !ok || got != compose["X"] {
			t.Errorf("%q: read %q (set %v), Compose reads %q", c.src, got, ok, compose["X"])
		}
		for k, v := range compose {
			if got, _ := f.Get(k); got != v {
				t.Errorf("%q: %s = %q, Compose reads %q", c.src, k, got, v)
			}
		}
		if string(f.Bytes()) != src {
			t.Errorf("%q: an unchanged file is written back as %q", c.src, f.Bytes())
		}
	}
}

func TestRepositoryExampleIsReadAsCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	compose, err := composeReads(t, string(data))
	if err != nil {
		t.Fatal(err)
	}
	f, errs := Parse(".env.example", data)
	if len(errs) > 0 || len(f.Warnings) > 0 {
		t.Fatalf("errors %v, warnings %v", errs, f.Warnings)
	}
	if len(f.Map()) != len(compose) {
		t.Errorf("%d keys, Compose reads %d", len(f.Map()), len(compose))
	}
	for k, v := range compose {
		if got, ok := f.Get(k); !ok || got != v {
			t.Errorf("%s = %q, Compose reads %q", k, got, v)
		}
	}
	if string(f.Bytes()) != string(data) {
		t.Error(".env.example is not written back unchanged")
	}
}

func TestParseKeepsCommentsAndLines(t *testing.T) {
	src := "# header\n\n# what A is\nA=1\nexport B = two words # trailing\nC=\"multi\nline\"\nD=\"quoted\"\nE=\n"
	f, errs := Parse(".env", []byte(src))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "multi\nline", "D": "quoted", "E": ""}
	for k, v := range want {
		if got, ok := f.Get(k); !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if f.Lines[3].Comment != "what A is" {
		t.Errorf("comment of A = %q", f.Lines[3].Comment)
	}
	for k, line := range map[string]int{"A": 4, "B": 5, "C": 6, "D": 8, "E": 9} {
		if f.LineOf(k) != line {
			t.Errorf("LineOf(%s) = %d, want %d", k, f.LineOf(k), line)
		}
	}
}

// Lines Compose refuses (or reads as something else than meant), each
// reported at its line with a message and a fix.
func TestParseErrorsNameTheLineAndFix(t *testing.T) {
	cases := []struct {
		src          string
		line         int
		want         string
		composeFails bool
	}{
		{"A=1\nnot an assignment\n", 2, "is not KEY=VALUE", true},
		{"A=1\nbad key!=2\n", 2, "is not KEY=VALUE", true},
		{"A=1\nB=\"open\nC=2\n", 2, "never closed", true},
		{"A=1\nB='x' junk\n", 2, "after the closing quote", false},
		{"A=1\nB='it's'\n", 2, "after the closing quote", true},
		{"A=1\nB=${NOPE:?must be set}\n", 2, "Compose cannot read this line", true},
		{"A=1\nB=x\x00y\n", 2, "control character", false},
		{"A=1\n# c\nok=1\nbad=\"a\" b=c\n", 4, "after the closing quote", false},
	}
	for _, c := range cases {
		_, composeErr := composeReads(t, c.src)
		if (composeErr != nil) != c.composeFails {
			t.Errorf("%q: Compose's error %v, the table says it fails: %v", c.src, composeErr, c.composeFails)
		}
		_, errs := Parse("x.env", []byte(c.src))
		if len(errs) != 1 {
			t.Errorf("%q: want 1 error, got %v", c.src, errs)
			continue
		}
		e := errs[0]
		if e.Line != c.line || !strings.Contains(e.Msg, c.want) || e.Fix == "" {
			t.Errorf("%q: got %v, want line %d containing %q and a fix", c.src, e, c.line, c.want)
		}
		if !strings.HasPrefix(e.Error(), "x.env:") {
			t.Errorf("%q: %q does not name the file and line", c.src, e.Error())
		}
	}
}

func TestWarningsOnLinesComposeReadsDifferently(t *testing.T) {
	cases := []struct {
		src  string
		line int
		want string
	}{
		{"A=1\nA=2\n", 2, "set twice (first on line 1)"},
		{"P=pa$word\n", 1, "contains $word, which Compose replaces"},
		{"P=\"pa${word}\"\n", 1, "contains ${word}"},
		{"INHERITED\n", 1, "has no value"},
		{"my-key=1\n", 1, "not a name compose.yaml can interpolate"},
	}
	for _, c := range cases {
		f, errs := Parse("x.env", []byte(c.src))
		if len(errs) != 0 {
			t.Errorf("%q: refused %v; Compose reads it", c.src, errs)
			continue
		}
		if len(f.Warnings) != 1 || f.Warnings[0].Line != c.line || !strings.Contains(f.Warnings[0].Msg, c.want) || f.Warnings[0].Fix == "" {
			t.Errorf("%q: warnings %v, want one on line %d containing %q", c.src, f.Warnings, c.line, c.want)
		}
	}
	for _, quiet := range []string{"P='pa$word'\n", "P=pa$$word\n", "P=\"pa\\$word\"\n", "P=\"a\\\\\"\n"} {
		if f, _ := Parse("x.env", []byte(quiet)); len(f.Warnings) != 0 {
			t.Errorf("%q: a literal $ warned: %v", quiet, f.Warnings)
		}
	}
}

func TestSetWritesWhatComposeReadsBack(t *testing.T) {
	values := []string{"", "plain", "s3cr3t with space", "it's", "a$b", "$$", `back\slash`, `trail\`, `"dq"`, `it's "both" $x \ `, "tab\tin", "line\nbreak", "bell\x07", " lead", "#hash", "a #b"}
	f, errs := Parse(".env", []byte("# c\nA=\nB=keep\n"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for i, v := range values {
		if err := f.Set("A", v); err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if err := f.Set("Z"+strings.Repeat("Z", i), v); err != nil {
			t.Fatal(err)
		}
		out := string(f.Bytes())
		compose, err := composeReads(t, out)
		if err != nil {
			t.Errorf("%q: Compose refuses the rewrite %q: %v", v, out, err)
			continue
		}
		if compose["A"] != v || compose["B"] != "keep" {
			t.Errorf("%q: written as %q, Compose reads A=%q B=%q", v, out, compose["A"], compose["B"])
		}
		g, errs := Parse(".env", []byte(out))
		if len(errs) != 0 {
			t.Errorf("%q: the rewrite does not parse: %v", v, errs)
		} else if got, _ := g.Get("A"); got != v {
			t.Errorf("%q: read back as %q", v, got)
		}
	}
	if !strings.HasPrefix(string(f.Bytes()), "# c\n") {
		t.Errorf("comment lost:\n%s", f.Bytes())
	}
	if err := f.Set("1BAD", "x"); err == nil {
		t.Error("an invalid name was accepted")
	}
}

func TestSetChangesTheLineComposeUses(t *testing.T) {
	f, _ := Parse(".env", []byte("A=1\nA=2\n"))
	if err := f.Set("A", "3"); err != nil {
		t.Fatal(err)
	}
	compose, err := composeReads(t, string(f.Bytes()))
	if err != nil || compose["A"] != "3" {
		t.Errorf("Compose reads A=%q (%v) from %q", compose["A"], err, f.Bytes())
	}
}

func TestNilFileReadsAsEmpty(t *testing.T) {
	var f *File // an env file that could not be read
	if _, ok := f.Get("A"); ok || f.LineOf("A") != 0 || len(f.Keys()) != 0 || len(f.Map()) != 0 {
		t.Error("a nil file is not empty")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\nB='x'\n", "C=\"y\" # z\n", "export D = e\n", "=\n", "A=1\nA=2", "X='unterminated", "X=ab$cd\n", "X=\"a\\$b\"\n", "X=it's\n", "X=\"multi\nline\"\n"} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", ".env.example")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := Parse("fuzz.env", data)
		for _, e := range append(errs, file.Warnings...) {
			if e.Line < 1 || e.Msg == "" || e.Fix == "" {
				t.Fatalf("finding without a line, message or fix: %+v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		// What parses must be what Compose reads.
		compose, err := composeReads(t, string(data))
		if err != nil {
			t.Fatalf("accepted, but Compose refuses it: %v\n%q", err, data)
		}
		for k, v := range compose {
			if got, ok := file.Get(k); ok && got != v {
				t.Fatalf("%s = %q, Compose reads %q\n%q", k, got, v, data)
			}
		}
		// A file that parses must survive a rewrite of every value unchanged.
		for _, k := range file.Keys() {
			v, _ := file.Get(k)
			if !keyPattern.MatchString(k) {
				continue
			}
			if err := file.Set(k, v); err != nil {
				t.Fatalf("a value that parsed cannot be written back: %s=%q: %v", k, v, err)
			}
		}
		again, errs := Parse("fuzz.env", file.Bytes())
		if len(errs) > 0 {
			t.Fatalf("rewritten file does not parse: %v\n%q", errs, file.Bytes())
		}
		for _, k := range file.Keys() {
			a, _ := file.Get(k)
			b, _ := again.Get(k)
			if a != b {
				t.Fatalf("%s changed from %q to %q in a rewrite", k, a, b)
			}
		}
	})
}
