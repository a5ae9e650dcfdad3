package nginxconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// specContext is where each directive of Specs may stand, to build a
// configuration nginx reads up to that directive.
var specContext = map[string]string{
	"worker_processes": "main", "pid": "main", "user": "main", "error_log": "main", "events": "main",
	"include": "main", "http": "main", "worker_connections": "events",
	"map": "http", "upstream": "http", "log_format": "http", "server": "http",
	"listen": "server", "server_name": "server", "keepalive": "upstream",
}

// wrap places one directive in its context.
func wrap(name, stmt string) string {
	switch specContext[name] {
	case "main":
		return stmt + "\nevents {}\n"
	case "events":
		return "events {\n" + stmt + "\n}\n"
	case "http":
		return "events {}\nhttp {\n" + stmt + "\n}\n"
	case "server":
		return "events {}\nhttp {\nserver {\n" + stmt + "\n}\n}\n"
	case "upstream":
		return "events {}\nhttp {\nupstream u {\nserver 127.0.0.1:1;\n" + stmt + "\n}\n}\n"
	default:
		return "events {}\nhttp {\nserver {\nlocation /x/ {\n" + stmt + "\n}\n}\n}\n"
	}
}

func statement(name string, s Spec, n int) string {
	args := strings.Repeat(" x", n)
	if s.Block {
		return name + args + " { }"
	}
	return name + args + ";"
}

func nginxT(t *testing.T, bin, conf string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	p := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "-t", "-q", "-p", dir+"/", "-e", "stderr", "-c", p).CombinedOutput()
	return string(out)
}

// TestSpecsAgreeWithNginx writes each directive of Specs with one argument
// too few and one too many and asserts that nginx itself refuses exactly
// those counts, and that Validate reports them at the directive's line.
func TestSpecsAgreeWithNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("nginx is not installed; CI installs it")
			}
			t.Skip("nginx is not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	for name, s := range Specs {
		counts := map[int]bool{s.Min: false}
		if s.Min > 0 {
			counts[s.Min-1] = true
		}
		if s.Max >= 0 {
			counts[s.Max] = false
			counts[s.Max+1] = true
		}
		for n, bad := range counts {
			conf := wrap(name, statement(name, s, n))
			out := nginxT(t, bin, conf)
			refused := strings.Contains(out, "invalid number of arguments in \""+name+"\"")
			if refused != bad {
				t.Errorf("%s with %d arguments: nginx refuses the count: %v, the table says %v\n%s\n%s", name, n, refused, bad, conf, out)
				continue
			}
			ds, err := Parse(conf)
			if err != nil {
				t.Fatalf("%q: %v", conf, err)
			}
			errs := Validate(ds)
			if bad != (len(errs) == 1) {
				t.Errorf("%s with %d arguments: Validate says %v\n%s", name, n, errs, conf)
				continue
			}
			if bad && (!strings.Contains(errs[0].Msg, "invalid number of arguments") || ds == nil) {
				t.Errorf("%s: message %q", name, errs[0].Msg)
			}
		}
	}
}

func TestValidateNamesLineAndForm(t *testing.T) {
	src := "http {\n  server {\n    location /a/ {\n      auth_basic;\n      proxy_pass;\n    }\n    location { }\n    set $a;\n    internal { }\n    map $a $b { default 1; '' 0; x y z; }\n  }\n}\n"
	ds, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Validate(ds) {
		got = append(got, e.Error())
	}
	want := []string{
		`line 4: invalid number of arguments in "auth_basic": it takes 1 argument, here none; write auth_basic "okx-hft-ops"; or auth_basic off;`,
		`line 5: invalid number of arguments in "proxy_pass": it takes 1 argument, here none; write proxy_pass http://$name_upstream;`,
		`line 7: invalid number of arguments in "location": it takes 1 to 2 arguments, here none; write location /path/ { ... } or location = /path { ... }`,
		`line 8: invalid number of arguments in "set": it takes 2 arguments, here 1; write set $name_upstream service:port;`,
		`line 9: "internal" takes no block: write internal;`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestArgNeverPanics(t *testing.T) {
	var nilDir *Directive
	d := &Directive{Name: "auth_basic"}
	if d.Arg(0) != "" || d.Arg(-1) != "" || nilDir.Arg(0) != "" {
		t.Error("Arg of a missing argument is not empty")
	}
	d.Args = []string{"off"}
	if d.Arg(0) != "off" {
		t.Error("Arg(0)")
	}
}
