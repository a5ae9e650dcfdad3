package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/setup"
)

func cmdInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("init", stderr)
	dir := fs.String("dir", ".", "repository root (where .env.example is)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	res, err := setup.Init(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl init:", err)
		return 1
	}
	switch {
	case res.Created:
		fmt.Fprintf(stdout, "created .env (mode 0600) with %d fresh secrets\n", len(res.Generated))
	case len(res.Generated)+len(res.Added) > 0:
		fmt.Fprintf(stdout, "completed .env: %d keys added from .env.example, %d secrets generated\n", len(res.Added), len(res.Generated))
	default:
		fmt.Fprintln(stdout, ".env is complete; nothing changed")
	}
	if res.HtpasswdNew {
		fmt.Fprintln(stdout, "wrote", setup.HtpasswdFile)
	}
	for _, w := range res.WeakExisting {
		fmt.Fprintf(stdout, "warning: %s; empty it in .env and run opsctl init again\n", w)
	}
	e := res.Env
	base := strings.TrimSuffix(e["OPS_PUBLIC_URL"], "/")
	fmt.Fprintf(stdout, `
URLs (after "make up"):
  %-14s %s/                 login %s / PROXY_BASIC_AUTH_PASSWORD
  %-14s %s/grafana/         login %s / GRAFANA_ADMIN_PASSWORD
  %-14s %s/prometheus/      proxy login
  %-14s %s/alertmanager/    proxy login
  %-14s %s/mlflow/          proxy login
  %-14s %s/superset/        login %s / SUPERSET_ADMIN_PASSWORD
  %-14s %s/storage/admin    login %s / SEAWEEDFS_ADMIN_PASSWORD
  %-14s %s                  keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
Passwords are in .env; print one with: grep ^GRAFANA_ADMIN_PASSWORD= .env
`,
		"landing page", base, e["PROXY_BASIC_AUTH_USER"],
		"Grafana", base, e["GRAFANA_ADMIN_USER"],
		"Prometheus", base,
		"Alertmanager", base,
		"MLflow", base,
		"Superset", base, e["SUPERSET_ADMIN_USER"],
		"Object storage", base, e["SEAWEEDFS_ADMIN_USER"],
		"S3 API", "http://"+e["OPS_DEBUG_BIND"]+":9000",
	)
	return 0
}
