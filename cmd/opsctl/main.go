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
  opsctl tools  [--dir DIR]               build promtool (for check without Docker) and restic (for the
                                          backup tests) of the pinned versions once, print their paths
  opsctl up     [--dir DIR] [--build=false] [--timeout 15m]
                                          create hft_network, init .env if missing, start the stack,
                                          wait until every service is healthy, then run doctor
  opsctl doctor [--dir DIR] [--url URL] [--json]
                                          end-to-end checks of the running stack through the proxy
  opsctl down   [--dir DIR] [--volumes]   stop the stack (volumes are kept unless --volumes)
  opsctl backup [--dir DIR] [--list] [--drill]
                                          back up every stateful part now (the backup service also
                                          does it every BACKUP_INTERVAL); --list the snapshots;
                                          --drill restore the newest into scratch space and verify it
  opsctl restore [--dir DIR] [--snapshot ID] [--force]
                                          verify a snapshot, then put it back onto an empty stack
                                          (--force: onto one with data) and start the stack
  opsctl version
  opsctl <command> --help                 the command's flags and an example

Inside the stack's containers (used by compose.yaml):
  opsctl container-init ...               install the health probe, render the Alertmanager config
  opsctl s3 ensure-buckets ...            create the stack's buckets
  opsctl acme serve                       the acme service (profile tls): the proxy's certificate
  opsctl probe URL                        health check: exit 0 on a 2xx answer
  opsctl backup-agent serve|now|drill|snapshots|restore
                                          the backup service: schedule, metrics, restore steps

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
	case "backup":
		return cmdBackup(args[1:], stdout, stderr)
	case "restore":
		return cmdRestore(args[1:], stdout, stderr)
	case "backup-agent":
		return cmdBackupAgent(args[1:], stdout, stderr)
	case "acme":
		return cmdACME(args[1:], stdout, stderr)
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
