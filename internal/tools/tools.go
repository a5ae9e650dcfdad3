// Package tools runs the upstream programs opsctl check delegates to:
// promtool (rule unit tests) and nginx (-t).
package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Promtool returns a runner for `promtool test rules`: the promtool on
// PATH, else `go tool promtool` pinned in go.mod of moduleDir (the
// repository). It returns nil when neither is available.
func Promtool(moduleDir string) func(ctx context.Context, files []string) (string, bool, error) {
	var base []string
	if p, err := exec.LookPath("promtool"); err == nil {
		base = []string{p}
	} else if goBin, err := exec.LookPath("go"); err == nil {
		if data, err := os.ReadFile(filepath.Join(moduleDir, "go.mod")); err == nil && bytes.Contains(data, []byte("prometheus/cmd/promtool")) {
			base = []string{goBin, "tool", "promtool"}
		}
	}
	if base == nil {
		return nil
	}
	return func(ctx context.Context, files []string) (string, bool, error) {
		args := append(append(append([]string{}, base[1:]...), "test", "rules"), files...)
		cmd := exec.CommandContext(ctx, base[0], args...)
		cmd.Dir = moduleDir
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), true, nil
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			return string(out), false, nil
		default:
			return string(out), false, fmt.Errorf("%s: %v: %s", strings.Join(base, " "), err, lastLines(string(out), 5))
		}
	}
}

// Nginx returns a runner for `nginx -t`, or nil when nginx is not installed.
func Nginx() func(ctx context.Context, confPath string) (string, bool, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
		if bin == "" {
			return nil
		}
	}
	return func(ctx context.Context, confPath string) (string, bool, error) {
		prefix, err := os.MkdirTemp("", "opsctl-nginx-")
		if err != nil {
			return "", false, err
		}
		defer os.RemoveAll(prefix)
		os.MkdirAll(filepath.Join(prefix, "logs"), 0o755)
		abs, _ := filepath.Abs(confPath)
		cmd := exec.CommandContext(ctx, bin, "-t", "-q", "-p", prefix+"/", "-e", "stderr", "-c", abs)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), true, nil
		case errors.As(err, &exit):
			return string(out), false, nil
		default:
			return string(out), false, err
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
