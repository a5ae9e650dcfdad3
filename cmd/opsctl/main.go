// Command opsctl prepares, checks and runs the okx-hft-ops stack.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `opsctl — the operator's tool of the okx-hft-ops node

Usage:
  opsctl init   [--dir DIR]               create .env with fresh secrets and the proxy's basic-auth file
  opsctl check  [--dir DIR] [--env FILE] [--json] [--skip NAME,...]
                                          validate every config with the pinned programs' own
                                          validators; exit 1 on errors, 3 if a validator could not run
  opsctl tools  [--dir DIR]               build promtool of the pinned version once (for check without Docker)
  opsctl up     [--dir DIR] [--build=false] [--timeout 15m]
                                          create hft_network, init .env if missing, start the stack,
                                          wait until every service is healthy, then run doctor
  opsctl doctor [--dir DIR] [--url URL] [--json]
                                          end-to-end checks of the running stack through the proxy
  opsctl down   [--dir DIR] [--volumes]   stop the stack (volumes are kept unless --volumes)
  opsctl version
  opsctl <command> --help                 the command's flags and an example

Inside the stack's containers (used by compose.yaml):
  opsctl container-init ...               install the health probe, render the Alertmanager config
  opsctl s3 ensure-buckets ...            create the stack's buckets
  opsctl probe URL                        health check: exit 0 on a 2xx answer

Examples:
  opsctl up
  opsctl doctor --json | jq '.[] | select(.status=="fail")'
  opsctl check --json | jq '.findings[] | select(.severity=="error")'
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "init":
		return cmdInit(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "up":
		return cmdUp(args[1:], stdout, stderr)
	case "down":
		return cmdDown(args[1:], stdout, stderr)
	case "doctor":
		return cmdDoctor(args[1:], stdout, stderr)
	case "container-init":
		return cmdContainerInit(args[1:], stdout, stderr)
	case "s3":
		return cmdS3(args[1:], stdout, stderr)
	case "tools":
		return cmdTools(args[1:], stdout, stderr)
	case "probe":
		return cmdProbe(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "opsctl", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "opsctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
