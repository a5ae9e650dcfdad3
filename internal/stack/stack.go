// Package stack drives Docker Compose for opsctl up and down: it checks the
// tools, creates the shared network, starts the services and follows their
// health until every one is healthy or has completed.
package stack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Network is the external network the sibling stacks join.
const Network = "hft_network"

// MinComposeVersion supports `depends_on.required` and `up --wait`.
var MinComposeVersion = [3]int{2, 20, 0}

// Runner runs docker commands in a directory.
type Runner struct {
	Dir string
	// Files are compose files other than Dir's compose.yaml (relative to
	// Dir), run as the project the first names with Dir's .env, as
	// `docker compose --env-file .env -f FILE` does: mlflow/compose.yaml
	// or superset/compose.yaml alone.
	Files []string
	// Project overrides the project's name (docker compose -p).
	Project string
	Stdout  io.Writer // progress for people
}

// ComposeArgs is the argv of `docker compose args...` (without "docker") for
// the runner's files and project.
func (r *Runner) ComposeArgs(args ...string) []string {
	out := []string{"compose"}
	if r.Project != "" {
		out = append(out, "-p", r.Project)
	}
	if len(r.Files) > 0 {
		out = append(out, "--env-file", ".env")
		for _, f := range r.Files {
			out = append(out, "-f", f)
		}
	}
	return append(out, args...)
}

func (r *Runner) docker(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = r.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("docker %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// Preflight checks that Docker answers and Compose v2 is recent enough.
func (r *Runner) Preflight(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("docker is not installed: install Docker Engine (https://docs.docker.com/engine/install/) and the Compose v2 plugin")
	}
	if _, err := r.docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return fmt.Errorf("the Docker daemon does not answer (is it running, and may this user use it?): %w", err)
	}
	out, err := r.docker(ctx, "compose", "version", "--short")
	if err != nil {
		return errors.New("Docker Compose v2 is missing: install the docker-compose-plugin package (the old docker-compose v1 is not supported)")
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if !atLeast(v, MinComposeVersion) {
		return fmt.Errorf("Docker Compose %s is too old: %d.%d or newer is needed", v, MinComposeVersion[0], MinComposeVersion[1])
	}
	return nil
}

func atLeast(version string, min [3]int) bool {
	parts := strings.SplitN(strings.SplitN(version, "-", 2)[0], ".", 3)
	for i := 0; i < 3; i++ {
		n := 0
		if i < len(parts) {
			n, _ = strconv.Atoi(parts[i])
		}
		if n != min[i] {
			return n > min[i]
		}
	}
	return true
}

// EnsureNetwork creates hft_network when it does not exist.
func (r *Runner) EnsureNetwork(ctx context.Context) (created bool, err error) {
	if _, err := r.docker(ctx, "network", "inspect", Network); err == nil {
		return false, nil
	}
	if _, err := r.docker(ctx, "network", "create", Network); err != nil {
		return false, err
	}
	return true, nil
}

// Container is one service's container as `docker compose ps` reports it.
type Container struct {
	Service  string `json:"Service"`
	Name     string `json:"Name"`
	State    string `json:"State"`  // running, exited, restarting, created
	Health   string `json:"Health"` // healthy, unhealthy, starting, ""
	ExitCode int    `json:"ExitCode"`
}

// Status is a person's word for the container's state.
func (c Container) Status() string {
	switch {
	case c.State == "running" && c.Health != "":
		return c.Health
	case c.State == "exited":
		return fmt.Sprintf("exited (%d)", c.ExitCode)
	default:
		return c.State
	}
}

// PS lists the stack's containers, stopped ones included.
func (r *Runner) PS(ctx context.Context) ([]Container, error) {
	out, err := r.docker(ctx, r.ComposeArgs("ps", "--all", "--format", "json")...)
	if err != nil {
		return nil, err
	}
	var cs []Container
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &cs); err != nil {
			return nil, err
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(trimmed))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for sc.Scan() {
			var c Container
			if err := json.Unmarshal(sc.Bytes(), &c); err == nil {
				cs = append(cs, c)
			}
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Service < cs[j].Service })
	return cs, nil
}

// Running returns the services whose containers run.
func (r *Runner) Running(ctx context.Context) (map[string]bool, error) {
	names, err := r.runningNames(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, svc := range names {
		m[svc] = true
	}
	return m, nil
}

// runningNames maps the name of each running container to its service.
func (r *Runner) runningNames(ctx context.Context) (map[string]string, error) {
	cs, err := r.PS(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, c := range cs {
		if c.State == "running" {
			names[c.Name] = c.Service
		}
	}
	return names, nil
}

// PortFree reports an error when addr cannot be bound (another program
// holds it).
func PortFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("port %s is taken by another program: stop it, or set OPS_HTTP_PORT in .env", addr)
	}
	return l.Close()
}

// Up starts the stack detached (build only when asked), then follows the
// containers until every one is healthy, running without a healthcheck, or
// exited 0; it fails on an unhealthy container or a failed one-shot job,
// showing that service's last log lines.
func (r *Runner) Up(ctx context.Context, build bool, timeout time.Duration) error {
	args := r.ComposeArgs("up", "--detach", "--remove-orphans")
	if build {
		args = append(args, "--build")
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stdout
	upErr := cmd.Run()
	deadline := time.Now().Add(timeout)
	last := map[string]string{}
	for {
		cs, err := r.PS(ctx)
		if err != nil {
			return err
		}
		pending := 0
		for _, c := range cs {
			st := c.Status()
			if last[c.Service] != st {
				fmt.Fprintf(r.Stdout, "  %-18s %s\n", c.Service, st)
				last[c.Service] = st
			}
			switch {
			case c.Health == "unhealthy":
				return fmt.Errorf("service %s is unhealthy:\n%s", c.Service, r.Logs(ctx, c.Service, 20))
			case c.State == "exited" && c.ExitCode != 0:
				return fmt.Errorf("service %s exited with code %d:\n%s", c.Service, c.ExitCode, r.Logs(ctx, c.Service, 20))
			case c.State == "running" && (c.Health == "" || c.Health == "healthy"):
			case c.State == "exited":
			default:
				pending++
			}
		}
		if pending == 0 && upErr == nil && len(cs) > 0 {
			return nil
		}
		if pending == 0 && upErr != nil {
			return fmt.Errorf("docker compose up failed: %v", upErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s: %d services not ready", timeout, pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Logs returns the last n log lines of a service, indented.
func (r *Runner) Logs(ctx context.Context, service string, n int) string {
	cmd := exec.CommandContext(ctx, "docker", r.ComposeArgs("logs", "--no-color", "--tail", strconv.Itoa(n), service)...)
	cmd.Dir = r.Dir
	out, _ := cmd.CombinedOutput()
	return "    " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n    ")
}

// Down stops the stack; volumes are removed only when asked.
func (r *Runner) Down(ctx context.Context, volumes bool) error {
	args := r.ComposeArgs("down", "--remove-orphans")
	if volumes {
		args = append(args, "--volumes")
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stdout
	return cmd.Run()
}

// Compose runs `docker compose args...` for the runner's files and project
// with its output (stdout and stderr) streamed to out; the error names the
// command and its exit status.
func (r *Runner) Compose(ctx context.Context, out io.Writer, args ...string) error {
	argv := r.ComposeArgs(args...)
	cmd := exec.CommandContext(ctx, "docker", argv...)
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker %s: %w", strings.Join(argv, " "), err)
	}
	return nil
}
