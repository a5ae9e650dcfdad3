package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
