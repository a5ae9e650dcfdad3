// Command ops-probe is the health check of the images that ship no shell,
// wget or curl (Loki, Alloy, Grafana): GET a URL, exit 0 on a 2xx answer.
// It is its own small binary, not opsctl, because a health check runs every
// 10-15 s in each of those containers: opsctl carries every config parser
// (Prometheus' service discoveries with their cloud SDKs among them), and its
// start-up alone holds about 70 MiB.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/probe"
)

func main() {
	fs := flag.NewFlagSet("ops-probe", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 4*time.Second, "request timeout")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: ops-probe [--timeout 4s] URL\n\nHealth check: GET URL, exit 0 on a 2xx answer, 1 otherwise.\n\nExample:\n  ops-probe http://127.0.0.1:3100/ready")
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	if err := probe.Check(context.Background(), fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "ops-probe:", err)
		os.Exit(1)
	}
}
