package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/amconfig"
	"github.com/okx-hft/okx-hft-ops/internal/probe"
	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

func cmdContainerInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("container-init", stderr)
	toolsDir := fs.String("tools-dir", "", "copy the health probe (--probe-binary) here for the images without wget")
	probeBin := fs.String("probe-binary", "/ops-probe", "the ops-probe binary to install into --tools-dir")
	tmpl := fs.String("alertmanager-template", "", "Alertmanager config template")
	out := fs.String("alertmanager-out", "", "where to write the rendered Alertmanager config")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if *toolsDir != "" {
		dst, err := probe.Install(*probeBin, *toolsDir, "ops-probe")
		if err != nil {
			fmt.Fprintln(stderr, "container-init: installing the probe:", err)
			return 1
		}
		fmt.Fprintln(stdout, "installed", dst)
	}
	if *tmpl != "" {
		if *out == "" {
			fmt.Fprintln(stderr, "container-init: --alertmanager-out is required with --alertmanager-template")
			return 2
		}
		s := amconfig.FromEnv(os.Getenv, filepath.Join(filepath.Dir(*out), "telegram_bot_token"))
		if err := amconfig.RenderFile(*tmpl, *out, s); err != nil {
			fmt.Fprintln(stderr, "container-init: Alertmanager config:", err, "(fix the TELEGRAM_* values in .env)")
			return 1
		}
		if s.Telegram() {
			fmt.Fprintln(stdout, "rendered", *out, "with Telegram delivery")
		} else {
			fmt.Fprintln(stdout, "rendered", *out, "without Telegram (TELEGRAM_BOT_TOKEN empty): alerts stay in Alertmanager")
		}
	}
	return 0
}

func cmdS3(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return cmdS3([]string{"ensure-buckets", "--help"}, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "ensure-buckets" {
		fmt.Fprintln(stderr, "usage: opsctl s3 ensure-buckets --endpoint URL --buckets a,b [--timeout 2m]")
		return 2
	}
	fs := newFlags("s3", stderr)
	endpoint := fs.String("endpoint", os.Getenv("MLFLOW_S3_ENDPOINT_URL"), "S3 endpoint")
	buckets := fs.String("buckets", os.Getenv("S3_BUCKETS"), "comma-separated bucket names")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if code, done := parseFlags(fs, args[1:], stdout); done {
		return code
	}
	names, err := s3store.ParseBuckets(*buckets)
	if err != nil {
		fmt.Fprintln(stderr, "s3 ensure-buckets:", err)
		return 2
	}
	store, err := s3store.New(*endpoint, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
	if err != nil {
		fmt.Fprintln(stderr, "s3 ensure-buckets:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := store.EnsureBuckets(ctx, names, func(s string) { fmt.Fprintln(stdout, s) }); err != nil {
		fmt.Fprintln(stderr, "s3 ensure-buckets:", err)
		return 1
	}
	return 0
}

func cmdProbe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("probe", stderr)
	timeout := fs.Duration("timeout", 4*time.Second, "request timeout")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: opsctl probe [--timeout 4s] URL")
		return 2
	}
	if err := probe.Check(context.Background(), fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return 1
	}
	return 0
}
