package check

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzNginxCheck runs the structural nginx check on any text as
// nginx/nginx.conf: it reports or passes, and never panics (auth_basic;
// with no argument once crashed it).
func FuzzNginxCheck(f *testing.F) {
	if src, err := os.ReadFile(filepath.Join("..", "..", "nginx", "nginx.conf")); err == nil {
		f.Add(string(src))
	}
	f.Add("http { server { location /grafana/ { auth_basic; proxy_pass; set; } location = / { auth_basic; } } }")
	f.Add("server { location ~ ( { proxy_pass http://$x; } location ^~ { } location = { } }")
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "nginx"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, nginxFile), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := &Repo{Dir: dir}
		r.checkNginx()
		for _, f := range r.f {
			if f.File != nginxFile || f.Message == "" || f.Fix == "" {
				t.Fatalf("finding without file, message or fix: %+v", f)
			}
		}
	})
}
