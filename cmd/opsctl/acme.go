package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/okx-hft/okx-hft-ops/internal/acme"
)

// cmdACME is the acme service (profile tls): it keeps tls-proxy's
// certificate and answers the CA's HTTP-01 requests.
func cmdACME(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(stderr, "usage: opsctl acme serve [--listen :8402]")
		return 2
	}
	fs := newFlags("acme", stderr)
	listen := fs.String("listen", ":8402", "address of /.well-known/acme-challenge/ and /-/healthy")
	dir := fs.String("dir", acme.DefaultDir, "the account and tls.pem (a volume tls-proxy mounts read-only)")
	if code, done := parseFlags(fs, args[1:], stdout); done {
		return code
	}
	cfg, err := acme.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "opsctl acme: .env: %v\n", err)
		return 1
	}
	cfg.Dir = *dir
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)
	logger.Printf("acme: %s from %s, checked every %s", strings.Join(cfg.Domains, ","), cfg.Directory, cfg.Check)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &acme.Agent{Cfg: cfg, Log: logger.Printf}
	if err := a.Serve(ctx, *listen); err != nil {
		fmt.Fprintln(stderr, "opsctl acme:", err)
		return 1
	}
	return 0
}
