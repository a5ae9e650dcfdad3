package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleaseOf(t *testing.T) {
	for in, want := range map[string]string{"v0.315.0": "3.15.0", "v0.305.1": "3.5.1", "v0.316.0": "3.16.0", "v2.55.1": "2.55.1"} {
		if got := ReleaseOf(in); got != want {
			t.Errorf("ReleaseOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPromtoolModuleVersion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\nrequire (\n\tgithub.com/prometheus/common v0.67.1\n\tgithub.com/prometheus/prometheus v0.315.0\n)\n"), 0o644)
	v, err := PromtoolModuleVersion(dir)
	if err != nil || v != "v0.315.0" {
		t.Fatalf("got %q, %v", v, err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644)
	if _, err := PromtoolModuleVersion(dir); err == nil {
		t.Fatal("a go.mod without Prometheus gave a version")
	}
}

func TestHostPath(t *testing.T) {
	mounts := []Mount{{"/repo/prometheus", "/etc/prometheus"}, {"/repo/loki/loki.yaml", "/etc/loki/loki.yaml"}, {"/tmp/x/am.yml", "/etc/alertmanager/rendered/alertmanager.yml"}}
	for in, want := range map[string]string{
		"/etc/prometheus/prometheus.yml":              "/repo/prometheus/prometheus.yml",
		"/etc/prometheus":                             "/repo/prometheus",
		"-config.file=/etc/loki/loki.yaml":            "-config.file=/repo/loki/loki.yaml",
		"/etc/prometheusX/a":                          "/etc/prometheusX/a",
		"/etc/alertmanager/rendered/alertmanager.yml": "/tmp/x/am.yml",
		"check": "check",
	} {
		if got := hostPath(in, mounts); got != want {
			t.Errorf("hostPath(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRunLocal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	cat := &Tool{Name: "cat", Bin: "/bin/cat"}
	out, code, err := cat.Run(context.Background(), []Mount{{dir, "/etc/x"}}, nil, "/etc/x/f")
	if err != nil || code != 0 || out != "hello" {
		t.Fatalf("got %q, %d, %v", out, code, err)
	}
	_, code, err = cat.Run(context.Background(), nil, nil, "/nonexistent/file")
	if err != nil || code != 1 {
		t.Fatalf("a failing tool: want exit 1 and no error, got %d, %v", code, err)
	}
	missing := &Tool{Name: "missing", Bin: filepath.Join(dir, "no-such-binary")}
	if _, _, err := missing.Run(context.Background(), nil, nil); !errors.Is(err, ErrNotRun) {
		t.Fatalf("a missing binary must be ErrNotRun, got %v", err)
	}
}

// RunCached answers again only for identical input: the program is not
// started a second time, and is started again when an input file changes.
func TestRunCached(t *testing.T) {
	t.Setenv("OKX_HFT_OPS_CACHE", t.TempDir())
	in, counter := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	os.WriteFile(filepath.Join(in, "conf"), []byte("a"), 0o644)
	sh := &Tool{Name: "sh", Bin: "/bin/sh"}
	script := `echo run >> "` + counter + `"; cat /etc/x/conf; exit 1`
	runs := func() int {
		data, _ := os.ReadFile(counter)
		return len(data) / len("run\n")
	}
	for i := 0; i < 2; i++ {
		out, code, err := sh.RunCached(context.Background(), []Mount{{in, "/etc/x"}}, nil, "-c", script)
		if err != nil || code != 1 || out != "a" {
			t.Fatalf("run %d: got %q, %d, %v", i, out, code, err)
		}
	}
	if n := runs(); n != 1 {
		t.Fatalf("the program ran %d times for identical input, want 1", n)
	}
	os.WriteFile(filepath.Join(in, "conf"), []byte("b"), 0o644)
	out, _, _ := sh.RunCached(context.Background(), []Mount{{in, "/etc/x"}}, nil, "-c", script)
	if out != "b" || runs() != 2 {
		t.Fatalf("a changed input file must run the program again: got %q after %d runs", out, runs())
	}
}

// On the host, the output names container paths, as it does in an image.
func TestRunLocalOutputPaths(t *testing.T) {
	dir := t.TempDir()
	sh := &Tool{Name: "sh", Bin: "/bin/sh"}
	out, _, err := sh.Run(context.Background(), []Mount{{dir, "/etc/prometheus"}}, nil, "-c", "echo /etc/prometheus/x.yml")
	if err != nil || strings.TrimSpace(out) != "/etc/prometheus/x.yml" {
		t.Fatalf("got %q, %v", out, err)
	}
}
