package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/check"
	"github.com/okx-hft/okx-hft-ops/internal/finding"
	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

// Exit codes of opsctl check.
const (
	checkOK     = 0
	checkErrors = 1 // the configs have errors
	checkUsage  = 2
	checkNotRun = 3 // a validator could not run: nothing was checked by it
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	dir := fs.String("dir", ".", "repository root")
	env := fs.String("env", "", "env file to check with (default .env when present, else .env.example)")
	asJSON := fs.Bool("json", false, "print findings and validators as JSON")
	skip := fs.String("skip", "", "validators not to run, comma-separated ("+strings.Join(check.ValidatorNames, ", ")+"); the summary shows them as skipped")
	imagesFrom := fs.String("images-from", "", "a compose override whose services' images the validators run instead (e.g. local builds of the same versions)")
	noDocker := fs.Bool("no-docker", false, "do not use Docker even when it answers: run this machine's validators")
	build := fs.Bool("build-tools", true, "build promtool from the Go module pinned in go.mod when neither an image nor an earlier build has it (once, cached)")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long (a first promtool build takes minutes)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	opts := &check.ToolOptions{Skip: map[string]bool{}, BuildPromtool: *build, Progress: stderr}
	for _, name := range strings.FieldsFunc(*skip, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(check.ValidatorNames, name) {
			fmt.Fprintf(stderr, "opsctl check: --skip %s: no such validator (have %s)\n", name, strings.Join(check.ValidatorNames, ", "))
			return checkUsage
		}
		opts.Skip[name] = true
	}
	if *imagesFrom != "" {
		images, err := overrideImages(*imagesFrom)
		if err != nil {
			fmt.Fprintln(stderr, "opsctl check:", err)
			return checkUsage
		}
		opts.Images = images
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	opts.Docker = !*noDocker && tools.Docker(ctx)
	start := time.Now()
	report := check.RunReport(ctx, *dir, check.Options{EnvFile: *env, Tools: opts})
	errs, warns, notRun := count(report.Findings)
	if *asJSON {
		out := struct {
			Findings   []finding.Finding    `json:"findings"`
			Validators []check.ValidatorRun `json:"validators"`
			Disk       *check.Disk          `json:"disk,omitempty"`
			Errors     int                  `json:"errors"`
			Warnings   int                  `json:"warnings"`
			NotRun     int                  `json:"not_run"`
		}{Findings: report.Findings, Validators: report.Validators, Disk: report.Disk, Errors: errs, Warnings: warns, NotRun: notRun}
		if out.Findings == nil {
			out.Findings = []finding.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		for _, f := range report.Findings {
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
		fmt.Fprintln(stdout, "validators:")
		for _, v := range report.Validators {
			mark := map[string]string{check.VPassed: "✓", check.VFailed: "✗", check.VNotRun: "✗", check.VSkipped: "-"}[v.Status]
			line := fmt.Sprintf("  %s %-8s %-8s", mark, v.Name, v.Status)
			if v.Version != "" {
				line += " " + v.Version
			}
			line += " via " + v.Via
			if v.Reason != "" {
				line += ": " + v.Reason
			}
			if v.Remembered > 0 {
				line += fmt.Sprintf(" (%d answers remembered from an identical earlier run)", v.Remembered)
			}
			fmt.Fprintln(stdout, line)
			for _, c := range v.Checked {
				fmt.Fprintln(stdout, "      "+c)
			}
		}
		printDisk(stdout, report.Disk)
		took := time.Since(start).Seconds()
		switch {
		case errs > 0:
			fmt.Fprintf(stdout, "✗ opsctl check: %d errors, %d warnings (%.1fs)\n", errs, warns, took)
		case notRun > 0:
			fmt.Fprintf(stdout, "✗ opsctl check: %d validators could not run, so the configs are not fully checked; %d warnings (%.1fs)\n", notRun, warns, took)
		default:
			fmt.Fprintf(stdout, "✓ opsctl check: no errors, %d warnings (%.1fs)\n", warns, took)
		}
	}
	switch {
	case errs > 0:
		return checkErrors
	case notRun > 0:
		return checkNotRun
	}
	return checkOK
}

// count splits the error findings into config errors and validators that
// could not run.
func count(l finding.List) (errs, warns, notRun int) {
	for _, f := range l {
		switch {
		case f.Severity == finding.Warning:
			warns++
		case f.Check == check.NotRunCheck:
			notRun++
		default:
			errs++
		}
	}
	return
}

// overrideImages reads services.*.image of a compose override file.
func overrideImages(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--images-from: %w", err)
	}
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("--images-from %s: %v", path, err)
	}
	images := map[string]string{}
	for name, s := range doc.Services {
		if s.Image != "" {
			images[name] = s.Image
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("--images-from %s: no service names an image", path)
	}
	return images, nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

func cmdTools(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tools", stderr)
	dir := fs.String("dir", ".", "repository root (its go.mod pins promtool's version)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	abs, _ := filepath.Abs(*dir)
	if _, _, ok := tools.CachedPromtool(abs); !ok {
		fmt.Fprintln(stdout, "== building promtool from the Go module pinned in go.mod (once; a few minutes on a small machine)")
	}
	start := time.Now()
	path, err := tools.BuildPromtool(context.Background(), abs)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl tools:", err)
		return 1
	}
	version, _ := tools.PromtoolModuleVersion(abs)
	fmt.Fprintf(stdout, "promtool %s: %s (%.1fs)\n", tools.ReleaseOf(version), path, time.Since(start).Seconds())

	if _, ok := tools.CachedRestic(); !ok {
		fmt.Fprintf(stdout, "== building restic %s from its Go module (once; a minute or more on a small machine)\n", tools.ResticVersion)
	}
	start = time.Now()
	path, err = tools.BuildRestic(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "opsctl tools:", err)
		return 1
	}
	fmt.Fprintf(stdout, "restic %s: %s (%.1fs)\n", strings.TrimPrefix(tools.ResticVersion, "v"), path, time.Since(start).Seconds())
	return 0
}

// printDisk shows the node's worst-case disk: what each growing part may
// take at most, by its cap, and the sum against OPS_DISK_BUDGET.
func printDisk(w io.Writer, d *check.Disk) {
	if d == nil || len(d.Items) == 0 {
		return
	}
	size := func(b int64) string { return units.BytesSize(float64(b)) }
	budget := "OPS_DISK_BUDGET not set"
	if d.Budget > 0 {
		budget = fmt.Sprintf("%.0f%% of OPS_DISK_BUDGET %s", 100*float64(d.Total)/float64(d.Budget), size(d.Budget))
	}
	fmt.Fprintf(w, "disk, worst case the settings allow: %s, %s\n", size(d.Total), budget)
	for _, it := range d.Items {
		fmt.Fprintf(w, "  %-16s %10s  %s\n", it.Name, size(it.Bytes), it.Cap)
	}
}
