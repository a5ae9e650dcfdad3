// Command dashgen writes the dashboards defined as code: the Grafana
// dashboards of internal/dashboards as JSON files, one <uid>.json per
// dashboard, which Grafana provisions; and Superset's datasets, charts and
// dashboards of internal/supersetassets as the files of Superset's import
// bundle, which superset-init imports.
//
//	go run ./cmd/dashgen                 # regenerate grafana/dashboards and superset/assets
//	go run ./cmd/dashgen -check          # exit 1 if a committed file is stale
//	go run ./cmd/dashgen -out /tmp/dash -superset-out /tmp/assets  # write elsewhere
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/supersetassets"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dashgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", dashboards.DefaultDir, "folder of the dashboard JSON files")
	supersetOut := fs.String("superset-out", supersetassets.DefaultDir, "folder of Superset's asset bundle")
	check := fs.Bool("check", false, "write nothing; exit 1 and name the files that differ from what the code generates")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dashgen [-out dir] [-superset-out dir] [-check]\n\n"+
			"Writes every dashboard of internal/dashboards as <uid>.json into -out, and\n"+
			"Superset's asset bundle of internal/supersetassets into -superset-out.\n\n"+
			"example:\n  go run ./cmd/dashgen -check\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dashgen: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}

	if !*check {
		changed, err := dashboards.Write(*out)
		if err != nil {
			fmt.Fprintf(stderr, "dashgen: %v\n", err)
			return 1
		}
		for _, name := range changed {
			fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(*out, name))
		}
	}

	if !*check {
		if err := supersetassets.Write(*supersetOut); err != nil {
			fmt.Fprintf(stderr, "dashgen: %v\n", err)
			return 1
		}
	}
	assetsStale, err := supersetassets.Diff(*supersetOut)
	if err != nil {
		fmt.Fprintf(stderr, "dashgen: %v\n", err)
		return 1
	}
	for _, p := range assetsStale {
		fmt.Fprintf(stderr, "%s: differs from what internal/supersetassets generates\n", filepath.Join(*supersetOut, p))
	}

	stale, err := dashboards.Stale(*out)
	if err != nil {
		fmt.Fprintf(stderr, "dashgen: %v\n", err)
		return 1
	}
	if len(stale) == 0 && len(assetsStale) == 0 {
		if *check {
			fmt.Fprintf(stdout, "%s is up to date\n", *out)
		}
		return 0
	}
	for _, s := range stale {
		fmt.Fprintf(stderr, "%s: %s\n", filepath.Join(*out, s.Name), s.Problem())
	}
	if *check {
		fmt.Fprintf(stderr, "dashgen: %d stale file(s) in %s and %s; run: go run ./cmd/dashgen\n", len(stale)+len(assetsStale), *out, *supersetOut)
	}
	return 1
}
