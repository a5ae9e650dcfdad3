package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// commandHelp is what `opsctl <command> --help` prints besides the flags.
type commandHelp struct {
	synopsis string // "opsctl check [flags]"
	about    string
	example  string
}

var help = map[string]commandHelp{
	"init":           {"opsctl init [--dir DIR]", "Create .env with fresh secrets (keeping values already set) and the proxy's basic-auth file.", "opsctl init"},
	"check":          {"opsctl check [--dir DIR] [--env FILE] [--json] [--skip NAME,...] [--images-from FILE]", "Validate every config with the upstream programs at their pinned versions (from the images when Docker answers, else this machine's) and opsctl's cross-checks.\nExit 0: no errors; 1: the configs have errors; 3: a validator could not run (nothing was checked by it); 2: bad usage.", "opsctl check --skip nginx\n  opsctl check --json | jq '.validators'"},
	"up":             {"opsctl up [--dir DIR] [--build=false] [--timeout 15m] [--no-doctor]", "Create hft_network, init .env if missing, start the stack, wait until every service is healthy, then run doctor.", "opsctl up --timeout 20m"},
	"down":           {"opsctl down [--dir DIR] [--volumes]", "Stop the stack. Volumes (all data) are kept unless --volumes.", "opsctl down"},
	"doctor":         {"opsctl doctor [--dir DIR] [--url URL] [--file FILE] [--json]", "End-to-end checks of the running stack through the proxy, with the credentials of .env.", "opsctl doctor --json | jq '.[] | select(.status==\"fail\")'"},
	"tools":          {"opsctl tools [--dir DIR]", "Build the programs the checks and tests run on this host into the cache, once, and print their paths: promtool at the version go.mod pins (opsctl check without Docker) and restic at the version opsctl pins (the backup tests; the opsctl image carries the same).", "opsctl tools"},
	"backup":         {"opsctl backup [--dir DIR] [--list] [--drill]", "Back up every stateful part of the running stack now, through its backup service, into the restic repository of .env (BACKUP_REPOSITORY); --list prints the snapshots; --drill restores the newest into scratch space and verifies it.", "opsctl backup\n  opsctl backup --list"},
	"restore":        {"opsctl restore [--dir DIR] [--snapshot ID] [--force] [--build=false] [--timeout 15m]", "Restore a snapshot onto the stack: it is restored and verified into the backup service's volume first (nothing is overwritten before), then the stack is stopped, the files are put back, the objects uploaded, and the stack started. Refuses a stack that has data unless --force.", "opsctl restore --snapshot 4f2a9c1e"},
	"backup-agent":   {"opsctl backup-agent serve [--listen :9108]", "Inside the stack: the backup service (schedule, metrics, restore steps).", "opsctl backup-agent serve"},
	"container-init": {"opsctl container-init [flags]", "Inside the stack: install the health probe and render the Alertmanager config.", "opsctl container-init --tools-dir /opt/ops-tools"},
	"s3":             {"opsctl s3 ensure-buckets --endpoint URL --buckets a,b", "Inside the stack: create the stack's buckets (idempotent).", "opsctl s3 ensure-buckets --endpoint http://seaweedfs:9000 --buckets mlflow,backups"},
	"probe":          {"opsctl probe URL", "Health check: exit 0 on a 2xx answer.", "opsctl probe http://127.0.0.1:3100/ready"},
}

// newFlags is a flag set whose --help prints the synopsis, the flags and
// an example.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		h := help[name]
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", h.synopsis, h.about)
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nExample:\n  %s\n", h.example)
	}
	return fs
}

// parseFlags parses args; done is true when the command must return code:
// 0 after --help (printed to stdout), 2 on a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, true
	default:
		return 2, true
	}
}
