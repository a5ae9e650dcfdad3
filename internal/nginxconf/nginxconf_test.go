package nginxconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRepoConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	locs := Find(ds, "location")
	var paths []string
	for _, l := range locs {
		paths = append(paths, strings.Join(l.Args, " "))
	}
	for _, want := range []string{"/grafana/", "/prometheus/", "= /healthz"} {
		found := false
		for _, p := range paths {
			found = found || p == want
		}
		if !found {
			t.Errorf("location %q not found in %v", want, paths)
		}
	}
}

func TestParseStructure(t *testing.T) {
	ds, err := Parse("http {\n  server {\n    location /a/ {\n      set $u \"grafana:3000\";\n      proxy_pass http://$u;\n    }\n  }\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	loc := Find(ds, "location")[0]
	if loc.Line != 3 || loc.Args[0] != "/a/" {
		t.Fatalf("location = %+v", loc)
	}
	set := loc.Child("set")
	if set == nil || set.Args[1] != "grafana:3000" || set.Line != 4 {
		t.Fatalf("set = %+v", set)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src  string
		line int
		want string
	}{
		{"a b;\nc d\n", 2, "not terminated"},
		{"a {\n b;\n", 2, "never closed"},
		{"a;\n}\n", 2, "unexpected"},
		{"a \"b;\n", 1, "never closed"},
		{"a;\n;\n", 2, "directive name is missing"},
	}
	for _, c := range cases {
		_, err := Parse(c.src)
		se, ok := err.(*SyntaxError)
		if !ok || se.Line != c.line || !strings.Contains(se.Msg, c.want) {
			t.Errorf("%q: got %v, want line %d containing %q", c.src, err, c.line, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile(filepath.Join("..", "..", "nginx", "nginx.conf")); err == nil {
		f.Add(string(src))
	}
	f.Add("http { server { listen 8080; location / { return 200 \"ok\"; } } }")
	f.Add("a 'b' \"c\" ${d}e;")
	f.Add("a {{{{ }")
	f.Add("auth_basic;\nlocation { }\nmap $a $b { x y z; }\nupstream u { server a:1; }\n")
	f.Add("location = /x { return 404; } # c\n}")
	f.Fuzz(func(t *testing.T, src string) {
		ds, err := Parse(src)
		if err != nil {
			if se, ok := err.(*SyntaxError); !ok || se.Line < 0 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, e := range Validate(ds) {
			if e.Line < 1 || e.Msg == "" {
				t.Fatalf("finding without a line: %+v", e)
			}
		}
		for _, d := range Find(ds, "location") {
			_ = d.Arg(0) + d.Arg(1) + d.Arg(5)
			if d.Parent != nil && d.Parent.Block == nil {
				t.Fatalf("%s at line %d has a parent without a block", d.Name, d.Line)
			}
		}
	})
}
