package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/doctor"
	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/setup"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
)

func loadEnv(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, setup.EnvFile))
	if err != nil {
		return nil, fmt.Errorf("reading .env: %w (run opsctl init)", err)
	}
	f, errs := envfile.Parse(setup.EnvFile, data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return f.Map(), nil
}

func cmdUp(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("up", stderr)
	dir := fs.String("dir", ".", "repository root")
	build := fs.Bool("build", true, "build the repository's images (opsctl, MLflow, Superset) before starting")
	timeout := fs.Duration("timeout", 15*time.Minute, "how long to wait for every service to become healthy")
	skipDoctor := fs.Bool("no-doctor", false, "do not run opsctl doctor at the end")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	ctx := context.Background()
	r := &stack.Runner{Dir: *dir, Stdout: stdout}
	if err := r.Preflight(ctx); err != nil {
		fmt.Fprintln(stderr, "opsctl up:", err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(*dir, setup.EnvFile)); os.IsNotExist(err) {
		fmt.Fprintln(stdout, "== .env is missing: opsctl init")
		if code := cmdInit([]string{"--dir", *dir}, stdout, stderr); code != 0 {
			return code
		}
	}
	env, err := loadEnv(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl up:", err)
		return 1
	}
	if running, err := r.Running(ctx); err == nil && !running["reverse-proxy"] {
		if err := stack.PortFree(net.JoinHostPort(env["OPS_BIND_ADDRESS"], env["OPS_HTTP_PORT"])); err != nil {
			fmt.Fprintln(stderr, "opsctl up:", err)
			return 1
		}
	}
	if created, err := r.EnsureNetwork(ctx); err != nil {
		fmt.Fprintln(stderr, "opsctl up:", err)
		return 1
	} else if created {
		fmt.Fprintln(stdout, "== created network", stack.Network)
	}
	fmt.Fprintln(stdout, "== docker compose up (waiting for every service to be healthy)")
	start := time.Now()
	if err := r.Up(ctx, *build, *timeout); err != nil {
		fmt.Fprintln(stderr, "opsctl up:", err)
		return 1
	}
	fmt.Fprintf(stdout, "== stack healthy in %s\n", time.Since(start).Round(time.Second))
	if *skipDoctor {
		return 0
	}
	return cmdDoctor([]string{"--dir", *dir}, stdout, stderr)
}

func cmdDown(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("down", stderr)
	dir := fs.String("dir", ".", "repository root")
	volumes := fs.Bool("volumes", false, "also delete the volumes: every metric, log, experiment, object and dashboard state")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	r := &stack.Runner{Dir: *dir, Stdout: stdout}
	if err := r.Down(context.Background(), *volumes); err != nil {
		fmt.Fprintln(stderr, "opsctl down:", err)
		return 1
	}
	if !*volumes {
		fmt.Fprintln(stdout, "stopped; volumes kept (opsctl down --volumes deletes them)")
	}
	return 0
}

func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doctor", stderr)
	dir := fs.String("dir", ".", "repository root (for .env)")
	base := fs.String("url", "", "the proxy's URL (default http://${OPS_BIND_ADDRESS}:${OPS_HTTP_PORT}, loopback for a wildcard address); with --file, the service's own port")
	file := fs.String("file", "", "check the services of this compose file alone (mlflow/compose.yaml, superset/compose.yaml: started with docker compose --env-file .env -f FILE)")
	asJSON := fs.Bool("json", false, "print results as JSON")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	env, err := loadEnv(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl doctor:", err)
		return 1
	}
	if *base == "" {
		*base = "http://" + net.JoinHostPort(dialHost(env["OPS_BIND_ADDRESS"]), env["OPS_HTTP_PORT"])
	}
	debug := dialHost(env["OPS_DEBUG_BIND"])
	s3URL, s3External := doctorS3URL(env["MLFLOW_S3_ENDPOINT_URL"], debug)
	cfg := doctor.Config{
		BaseURL:    *base,
		S3URL:      s3URL,
		S3External: s3External,
		LokiURL:    "http://" + net.JoinHostPort(debug, "3100"),
		Env:        env,
	}
	composeFile := opsdecl.File
	if *file != "" {
		composeFile = *file
	}
	decls, err := opsdecl.LoadFile(*dir, composeFile)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl doctor:", err)
		return 1
	}
	cfg.UIs = decls.UIs()
	r := &stack.Runner{Dir: *dir, Stdout: io.Discard}
	if *file != "" {
		r.Files = []string{*file}
	}
	cfg.Usage = r.Usage
	if running, err := r.Running(context.Background()); err == nil {
		cfg.Running = running
	}
	start := time.Now()
	results := doctor.Run(context.Background(), cfg)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
		for _, res := range results {
			mark := map[doctor.Status]string{doctor.OK: "✓ ok", doctor.Fail: "✗ FAIL", doctor.Skipped: "- skipped"}[res.Status]
			fmt.Fprintf(tw, "%s\t%s\t%s\n", res.Name, mark, strings.ReplaceAll(res.Detail, "\n", " "))
			if res.Hint != "" {
				fmt.Fprintf(tw, "\t\thint: %s\n", res.Hint)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "doctor finished in %.1fs\n", time.Since(start).Seconds())
	}
	if doctor.Failed(results) {
		return 1
	}
	return 0
}

// dialHost is the address this host reaches a port published on bind at:
// a wildcard bind (empty, 0.0.0.0, ::) through loopback of its family, a
// specific address (127.0.0.1, a LAN address) at that address, since a
// port published on 192.168.1.5 is not reachable on 127.0.0.1.
func dialHost(bind string) string {
	switch ip := net.ParseIP(bind); {
	case bind == "" || (ip != nil && ip.Equal(net.IPv4zero)):
		return "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		return "::1"
	}
	return bind
}

// doctorS3URL is where doctor reaches the S3 endpoint MLflow uses
// (MLFLOW_S3_ENDPOINT_URL): an endpoint named by a container name of the
// stack (seaweedfs, its alias minio) through its debugging port on the
// host; any other (Hetzner Object Storage, say) as it is.
func doctorS3URL(endpoint, debugBind string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "http://" + net.JoinHostPort(debugBind, "9000"), false
	}
	if host := u.Hostname(); !strings.Contains(host, ".") && host != "localhost" {
		port := u.Port()
		if port == "" {
			port = "9000"
		}
		return "http://" + net.JoinHostPort(debugBind, port), false
	}
	return strings.TrimSuffix(endpoint, "/"), true
}
