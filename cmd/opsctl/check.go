package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/check"
	"github.com/okx-hft/okx-hft-ops/internal/finding"
	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "repository root")
	env := fs.String("env", "", "env file to check with (default .env when present, else .env.example)")
	asJSON := fs.Bool("json", false, "print findings as JSON")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long (promtool may need to build once)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	findings := check.Run(ctx, *dir, check.Options{EnvFile: *env, Promtool: tools.Promtool(*dir), Nginx: tools.Nginx()})
	errs, warns := count(findings)
	if *asJSON {
		out := struct {
			Findings []finding.Finding `json:"findings"`
			Errors   int               `json:"errors"`
			Warnings int               `json:"warnings"`
		}{Findings: findings, Errors: errs, Warnings: warns}
		if out.Findings == nil {
			out.Findings = []finding.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		for _, f := range findings {
			mark := "✗"
			if f.Severity == finding.Warning {
				mark = "!"
			}
			loc := f.File
			if f.Position != "" {
				loc += ":" + f.Position
			}
			fmt.Fprintf(stdout, "%s %s [%s] %s\n", mark, loc, f.Check, indent(f.Message))
			if f.Fix != "" {
				fmt.Fprintf(stdout, "    fix: %s\n", f.Fix)
			}
		}
		if errs == 0 {
			fmt.Fprintf(stdout, "✓ opsctl check: no errors, %d warnings (%.1fs)\n", warns, time.Since(start).Seconds())
		} else {
			fmt.Fprintf(stdout, "✗ opsctl check: %d errors, %d warnings (%.1fs)\n", errs, warns, time.Since(start).Seconds())
		}
	}
	if errs > 0 {
		return 1
	}
	return 0
}

func count(l finding.List) (errs, warns int) {
	for _, f := range l {
		if f.Severity == finding.Error {
			errs++
		} else {
			warns++
		}
	}
	return
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
