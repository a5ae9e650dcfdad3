package envfile

import (
	"strings"
	"testing"
)

func TestParseKeepsCommentsAndValues(t *testing.T) {
	src := "# header\n\n# what A is\nA=1\nexport B = two words # trailing\nC='it''s'\nD=\"quoted\"\nE=\n"
	f, errs := Parse(".env", []byte(src))
	if len(errs) != 1 || errs[0].Line != 6 {
		t.Fatalf("want one error on line 6 (unbalanced single quotes), got %v", errs)
	}
	want := map[string]string{"A": "1", "B": "two words", "D": "quoted", "E": ""}
	for k, v := range want {
		if got, ok := f.Get(k); !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if f.Lines[3].Comment != "what A is" {
		t.Errorf("comment of A = %q", f.Lines[3].Comment)
	}
	if f.LineOf("D") != 7 {
		t.Errorf("LineOf(D) = %d, want 7", f.LineOf("D"))
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		src  string
		line int
		want string
	}{
		{"A=1\nnot an assignment\n", 2, "is not KEY=VALUE"},
		{"A=1\n1A=2\n", 2, "not a valid variable name"},
		{"A=1\nB=\"open\n", 2, "never closed"},
		{"A=1\nA=2\n", 2, "set twice (first on line 1)"},
		{"A=\"x$y\"\n", 1, "use single quotes"},
		{"A=ab\"c\n", 1, "contains a quote"},
	}
	for _, c := range cases {
		_, errs := Parse("x.env", []byte(c.src))
		if len(errs) != 1 {
			t.Errorf("%q: want 1 error, got %v", c.src, errs)
			continue
		}
		if errs[0].Line != c.line || !strings.Contains(errs[0].Msg, c.want) {
			t.Errorf("%q: got %v, want line %d containing %q", c.src, errs[0], c.line, c.want)
		}
	}
}

func TestSetRoundTrips(t *testing.T) {
	f, errs := Parse(".env", []byte("# c\nA=\nB=keep\n"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if err := f.Set("A", "s3cr3t with space"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("Z", "new"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("Q", "it's \"$x\""); err == nil {
		t.Error("a value with both quotes and $ was accepted; it cannot be written back")
	}
	g, errs := Parse(".env", f.Bytes())
	if len(errs) != 0 {
		t.Fatalf("rewritten file does not parse: %v\n%s", errs, f.Bytes())
	}
	for k, v := range map[string]string{"A": "s3cr3t with space", "B": "keep", "Z": "new"} {
		if got, _ := g.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(string(f.Bytes()), "# c\n") {
		t.Errorf("comment lost:\n%s", f.Bytes())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\nB='x'\n", "C=\"y\" # z\n", "export D = e\n", "=\n", "A=1\nA=2", "X='unterminated"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := Parse("fuzz.env", data)
		for _, e := range errs {
			if e.Line < 1 || e.Msg == "" {
				t.Fatalf("error without a line or message: %+v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		// A file that parses must survive a rewrite of every value unchanged.
		for _, k := range file.Keys() {
			v, _ := file.Get(k)
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
