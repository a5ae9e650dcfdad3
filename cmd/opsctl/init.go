package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
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
	decls, err := opsdecl.Load(*dir)
	if err != nil {
		// .env is written; only the list of URLs needs compose.yaml.
		fmt.Fprintln(stderr, "opsctl init: no list of URLs:", err)
		return 0
	}
	fmt.Fprintln(stdout, "\nURLs (after \"make up\"):")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  landing page\t%s/\tlogin %s / PROXY_BASIC_AUTH_PASSWORD\n", base, e["PROXY_BASIC_AUTH_USER"])
	for _, s := range decls.UIs() {
		login := "proxy login"
		if !s.UI.Login.Proxy {
			login = fmt.Sprintf("login %s / %s", e[s.UI.Login.User], s.UI.Login.Password)
		}
		fmt.Fprintf(tw, "  %s\t%s%s\t%s\n", s.UI.Title, base, s.UI.Open, login)
	}
	fmt.Fprintf(tw, "  S3 API\thttp://%s:9000\tkeys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY\n", e["OPS_DEBUG_BIND"])
	tw.Flush()
	fmt.Fprintln(stdout, "Passwords are in .env; print one with: grep ^GRAFANA_ADMIN_PASSWORD= .env")
	return 0
}
