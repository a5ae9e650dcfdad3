package check

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

// ToolOptions say which upstream validators may run and how.
type ToolOptions struct {
	// Docker: an engine answers, so a pinned image that is present runs
	// the validator of its own version.
	Docker bool
	// Images replaces the image of a service for its validator (service →
	// image), e.g. the stack test's local builds of the same versions.
	Images map[string]string
	// Skip names validators the user chose not to run (--skip).
	Skip map[string]bool
	// BuildPromtool lets the check build promtool from the pinned Go
	// module (once; it is cached) when no image and no build has it.
	BuildPromtool bool
	// Progress gets a line before anything slow (a promtool build).
	Progress io.Writer
}

// validatorFiles is the file each validator checks first.
var validatorFiles = map[string]string{
	"promtool": prometheusFile,
	"amtool":   alertmanagerTemplate,
	"nginx":    nginxFile,
	"loki":     "loki/loki.yaml",
	"alloy":    "alloy/config.alloy",
}

// Validator names, as --skip takes them.
var ValidatorNames = []string{"promtool", "amtool", "nginx", "loki", "alloy"}

// ValidatorRun says what one upstream validator did.
type ValidatorRun struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"` // passed, failed, not run, skipped
	Via     string   `json:"via"`
	Version string   `json:"version,omitempty"`
	Checked []string `json:"checked,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	// Remembered: answers of the program to identical input (same image or
	// binary, arguments and file contents) given again from the cache.
	Remembered int `json:"remembered,omitempty"`
}

// Validator statuses.
const (
	VPassed  = "passed"
	VFailed  = "failed"
	VNotRun  = "not run"
	VSkipped = "skipped"
)

// NotRunCheck is the check name of the finding recorded for a validator
// that could not run: the command's exit code tells it from config errors.
const NotRunCheck = "validator"

type validation struct {
	run      ValidatorRun
	findings finding.List
	tool     *tools.Tool // the program that ran, once one was found
}

// use records the program a validator runs: where it comes from, its
// version, and (after the run, in runValidators) how many answers the
// result cache gave.
func (v *validation) use(t *tools.Tool) {
	v.tool = t
	v.run.Via, v.run.Version = t.Via, t.Version
}

// runValidators runs every upstream validator, in parallel, and records
// what each did. It runs after the structural checks: where one of those
// already reported an error in a file, the upstream program's failure on
// the same file is kept in the report and not repeated as a finding.
func (r *Repo) runValidators(ctx context.Context, opts *ToolOptions) []ValidatorRun {
	if opts == nil {
		opts = &ToolOptions{}
	}
	funcs := map[string]func(context.Context, *ToolOptions, *validation){
		"promtool": r.validatePromtool,
		"amtool":   r.validateAmtool,
		"nginx":    r.validateNginx,
		"loki":     r.validateLoki,
		"alloy":    r.validateAlloy,
	}
	results := make([]*validation, len(ValidatorNames))
	var wg sync.WaitGroup
	for i, name := range ValidatorNames {
		v := &validation{run: ValidatorRun{Name: name}}
		results[i] = v
		if opts.Skip[name] {
			v.run.Status, v.run.Via, v.run.Reason = VSkipped, "-", "skipped with --skip "+name
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			funcs[name](ctx, opts, v)
		}()
	}
	wg.Wait()
	for _, v := range results {
		if v.tool != nil {
			v.run.Remembered = v.tool.Remembered
		}
	}
	failedFiles := map[string]bool{}
	for _, f := range r.f {
		if f.Severity == finding.Error {
			failedFiles[f.File] = true
		}
	}
	var runs []ValidatorRun
	for _, v := range results {
		if r.Project == nil && v.run.Status == VNotRun {
			// compose.yaml did not load, which is an error already: the
			// validators that read its mounts could not be set up.
			v.run.Reason = "compose.yaml did not load (see its error)"
			runs = append(runs, v.run)
			continue
		}
		for _, f := range v.findings {
			if f.Check != NotRunCheck && failedFiles[f.File] {
				continue
			}
			r.f = append(r.f, f)
		}
		if v.run.Status == VNotRun {
			fix := "make the validator runnable (see the reason), or pass --skip " + v.run.Name + " to go on without it"
			r.f.Errorf(NotRunCheck, validatorFiles[v.run.Name], "", fix, "%s could not run, so nothing was checked by it: %s", v.run.Name, v.run.Reason)
		}
		runs = append(runs, v.run)
	}
	return runs
}

// serviceTool resolves the pinned image of a compose service to a tool when
// the engine answers and the image is present.
func (r *Repo) serviceTool(ctx context.Context, opts *ToolOptions, name, service, bin string) (*tools.Tool, string) {
	s, ok := r.service(service)
	image := s.Image
	if img := opts.Images[service]; img != "" {
		image = img
	}
	switch {
	case !ok || image == "":
		return nil, "compose.yaml has no service " + service
	case !opts.Docker:
		return nil, "no Docker engine answers"
	}
	id, present := tools.ImageID(ctx, image)
	if !present {
		return nil, "image " + image + " is not present (docker compose pull " + service + ")"
	}
	return &tools.Tool{Name: name, Via: "image " + image, Version: imageTag(image), Image: image, ImageID: id, Bin: bin}, ""
}

func imageTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

// mounts are the bind mounts of a service as compose gives them: the files
// the validator in the image sees where the service sees them. A source
// that does not exist yet (secrets/htpasswd before opsctl init) is replaced
// by an empty scratch file, so docker creates nothing on the host.
func (r *Repo) mounts(service, scratch string) []tools.Mount {
	s, _ := r.service(service)
	var ms []tools.Mount
	for i, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind || v.Source == "" || v.Target == "" {
			continue
		}
		src := v.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(r.Dir, src)
		}
		fi, err := os.Stat(src)
		if err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
			continue // a socket or device (Alloy's docker.sock): no validator reads it
		}
		if err != nil && scratch != "" {
			src = filepath.Join(scratch, fmt.Sprintf("missing-%d", i))
			os.WriteFile(src, nil, 0o644)
		}
		ms = append(ms, tools.Mount{Host: src, Container: v.Target})
	}
	return ms
}

// containerPath is where the service sees a file of the repository.
func containerPath(host string, ms []tools.Mount) (string, bool) {
	for _, m := range ms {
		if host == m.Host {
			return m.Container, true
		}
		if rest, ok := strings.CutPrefix(host, m.Host+"/"); ok {
			return m.Container + "/" + rest, true
		}
	}
	return "", false
}

// relOutput rewrites container and host paths in a tool's output to paths
// of the repository.
func (r *Repo) relOutput(out string, ms []tools.Mount) string {
	sorted := append([]tools.Mount(nil), ms...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i].Container) > len(sorted[j].Container) })
	for _, m := range sorted {
		if rel, err := filepath.Rel(r.Dir, m.Host); err == nil && !strings.HasPrefix(rel, "..") {
			out = strings.ReplaceAll(out, m.Container, rel)
		}
	}
	return strings.ReplaceAll(out, r.Dir+"/", "")
}

var toolLineRef = regexp.MustCompile(`(?i)\bline (\d+)`)

func firstLine(out string) string {
	if m := toolLineRef.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

func scratchDir() string {
	d, err := os.MkdirTemp("", "opsctl-check-")
	if err != nil {
		return ""
	}
	os.Chmod(d, 0o755) // the validator in an image runs as its own user
	return d
}

// ---------------------------------------------------------------- promtool

func (r *Repo) validatePromtool(ctx context.Context, opts *ToolOptions, v *validation) {
	ms := r.mounts("prometheus", "")
	tool, why := r.serviceTool(ctx, opts, "promtool", "prometheus", "/bin/promtool")
	if tool == nil {
		path, version, ok := tools.CachedPromtool(r.Dir)
		if !ok && opts.BuildPromtool {
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "… %s: building promtool from the Go module pinned in go.mod, once (a few minutes on a small machine; cached in %s)\n", why, tools.CacheDir())
			}
			var err error
			path, err = tools.BuildPromtool(ctx, r.Dir)
			if err != nil {
				v.run.Status, v.run.Via, v.run.Reason = VNotRun, "go build", err.Error()
				return
			}
			version, _ = tools.PromtoolModuleVersion(r.Dir)
			ok = true
		}
		if !ok {
			v.run.Status, v.run.Via = VNotRun, "-"
			v.run.Reason = why + ", and promtool is not built here: run `make tools` (builds it from the Go module pinned in go.mod)"
			return
		}
		tool = &tools.Tool{Name: "promtool", Via: "built from " + tools.PromtoolModule + " " + version, Version: tools.ReleaseOf(version), Bin: path}
	}
	v.use(tool)
	if len(ms) == 0 {
		v.run.Status, v.run.Reason = VNotRun, "the prometheus service mounts no configuration"
		return
	}
	_, ok := containerPath(r.path(prometheusFile), ms)
	if !ok {
		v.run.Status, v.run.Reason = VNotRun, prometheusFile+" is not mounted into the prometheus service"
		return
	}
	failed := false
	// run runs one promtool command over files (repository paths) and
	// gives each failing file its own finding: promtool prints a section
	// per file ("Checking F" / "Unit Testing:  F").
	run := func(args []string, files []string) bool {
		var in, inFiles []string
		for _, f := range files {
			p, ok := containerPath(r.path(f), ms)
			if !ok {
				v.findings.Errorf("promtool", f, "", "keep it under prometheus/, which compose.yaml mounts", "%s is not mounted into the prometheus service", f)
				continue
			}
			in, inFiles = append(in, p), append(inFiles, f)
		}
		if len(in) == 0 {
			return true
		}
		out, code, err := tool.RunCached(ctx, ms, nil, append(append([]string{}, args...), in...)...)
		if err != nil {
			v.run.Status, v.run.Reason = VNotRun, err.Error()
			return false
		}
		for _, f := range files {
			v.run.Checked = append(v.run.Checked, strings.Join(args, " ")+" "+f)
		}
		if code == 0 {
			return true
		}
		failed = true
		out = strings.TrimSpace(r.relOutput(out, ms))
		sections := promtoolSections(out, files)
		if len(sections) == 0 && len(in) > 1 {
			// promtool 3 names no file in the output of `test rules`
			// ("SUCCESS" or "FAILED:" per file, in order): each file is run
			// alone to find the failing ones.
			for i, f := range inFiles {
				one, code, err := tool.RunCached(ctx, ms, nil, append(append([]string{}, args...), in[i])...)
				if err == nil && code != 0 {
					sections[f] = strings.TrimSpace(r.relOutput(one, ms))
				}
			}
		}
		if len(sections) == 0 {
			sections = map[string]string{files[0]: out}
		}
		for _, f := range files {
			if text, ok := sections[f]; ok {
				pos := firstLine(text)
				if data, err := os.ReadFile(r.path(f)); err == nil && pos == "" {
					pos = failedTestLine(string(data), text)
				}
				v.findings.Errorf("promtool", f, pos, "fix what promtool names", "promtool %s fails:\n%s", strings.Join(args, " "), text)
			}
		}
		return true
	}
	if !run([]string{"check", "config"}, []string{prometheusFile}) {
		return
	}
	// check config follows rule_files only where the container paths
	// exist, so the rule files are named to check rules as well.
	if !run([]string{"check", "rules"}, r.globRel("prometheus/rules/*.yml")) {
		return
	}
	if !run([]string{"test", "rules"}, r.globRel(ruleTestGlob)) {
		return
	}
	v.run.Status = VPassed
	if failed {
		v.run.Status = VFailed
	}
}

// ------------------------------------------------------------------ amtool

func (r *Repo) validateAmtool(ctx context.Context, opts *ToolOptions, v *validation) {
	tool, why := r.serviceTool(ctx, opts, "amtool", "alertmanager", "/bin/amtool")
	if tool == nil {
		// Without the image, the config is loaded by Alertmanager's own
		// config package, the one amtool check-config calls
		// (checkAlertmanager); that is the check, and it is named so.
		v.run.Status, v.run.Via = VPassed, "Alertmanager's config package (go.mod) in place of amtool: "+why
		v.run.Checked = []string{"config.Load of every rendered variant of " + alertmanagerTemplate}
		return
	}
	v.use(tool)
	scratch := scratchDir()
	defer os.RemoveAll(scratch)
	ms := r.mounts("alertmanager", scratch)
	const renderedDir = "/etc/alertmanager/rendered"
	ms = append(ms, tools.Mount{Host: scratch, Container: renderedDir})
	// The variants checkAlertmanager rendered, in a fixed order: the file
	// names are part of what the result cache keys on.
	variants := append([]renderedVariant(nil), r.amRendered...)
	sort.Slice(variants, func(i, j int) bool { return variants[i].name < variants[j].name })
	var files []string
	for i, rv := range variants {
		f := fmt.Sprintf("variant-%d.yml", i)
		if err := os.WriteFile(filepath.Join(scratch, f), rv.config, 0o644); err != nil {
			v.run.Status, v.run.Reason = VNotRun, err.Error()
			return
		}
		files = append(files, renderedDir+"/"+f)
		v.run.Checked = append(v.run.Checked, "check-config "+alertmanagerTemplate+" rendered "+rv.name)
	}
	if len(files) == 0 {
		v.run.Status = VFailed
		return
	}
	out, code, err := tool.RunCached(ctx, ms, nil, append([]string{"check-config"}, files...)...)
	if err != nil {
		v.run.Status, v.run.Reason = VNotRun, err.Error()
		return
	}
	v.run.Status = VPassed
	if code != 0 {
		v.run.Status = VFailed
		v.findings.Errorf("amtool", alertmanagerTemplate, "", "fix what amtool names in the template", "amtool check-config fails:\n%s", strings.TrimSpace(r.relOutput(out, ms)))
	}
}

// ------------------------------------------------------------------- nginx

// nginxConfigs are the nginx configurations of the stack: the service
// that runs each, the file, and the path the service reads it from (""
// for the image's default, /etc/nginx/nginx.conf).
var nginxConfigs = []struct{ service, file, target string }{
	{"reverse-proxy", nginxFile, ""},
	{"tls-proxy", tlsProxyFile, ""},
	{"docker-socket-proxy", socketProxyFile, "/etc/nginx/docker-socket-proxy.conf"},
}

const (
	socketProxyFile = "alloy/docker-socket-proxy.conf"
	tlsProxyFile    = "nginx/tls-proxy.conf"
)

func (r *Repo) validateNginx(ctx context.Context, opts *ToolOptions, v *validation) {
	tool, why := r.serviceTool(ctx, opts, "nginx", "reverse-proxy", "nginx")
	var bin string
	if tool != nil {
		v.use(tool)
	} else {
		if bin = tools.NginxBinary(); bin == "" {
			v.run.Status, v.run.Via = VNotRun, "-"
			v.run.Reason = why + ", and nginx is not installed here (apt-get install nginx-light)"
			return
		}
		v.run.Via, v.run.Version = "this machine's nginx ("+bin+"), older than the image: "+why, tools.NginxVersion(ctx, bin)
	}
	v.run.Status = VPassed
	for _, c := range nginxConfigs {
		if _, ok := r.service(c.service); !ok && c.service != "reverse-proxy" {
			continue
		}
		var out string
		var passed bool
		if tool != nil {
			scratch := scratchDir()
			ms := r.mounts(c.service, scratch)
			args := []string{"-t", "-q"}
			if c.target != "" {
				args = append(args, "-c", c.target)
			}
			o, code, err := tool.RunCached(ctx, ms, nil, args...)
			os.RemoveAll(scratch)
			if err != nil {
				v.run.Status, v.run.Reason = VNotRun, err.Error()
				return
			}
			out, passed = r.relOutput(o, ms), code == 0
			v.run.Checked = append(v.run.Checked, "nginx -t "+c.file+" with the "+c.service+" service's mounts")
		} else {
			o, ok, err := tools.NginxTest(ctx, bin, r.path(c.file))
			if err != nil {
				v.run.Status, v.run.Reason = VNotRun, err.Error()
				return
			}
			out, passed = strings.ReplaceAll(o, r.Dir+"/", ""), ok
			v.run.Checked = append(v.run.Checked, "nginx -t "+c.file)
		}
		if !passed {
			v.run.Status = VFailed
			pos := ""
			if m := nginxErrLine.FindStringSubmatch(out); m != nil {
				pos = m[1]
			}
			v.findings.Errorf("nginx", c.file, pos, "fix the directive nginx names", "`nginx -t` fails: %s", strings.TrimSpace(out))
		}
	}
}

// -------------------------------------------------------------------- loki

func (r *Repo) validateLoki(ctx context.Context, opts *ToolOptions, v *validation) {
	tool, why := r.serviceTool(ctx, opts, "loki", "loki", "")
	if tool == nil {
		v.run.Status, v.run.Via = VPassed, "opsctl's structural checks of loki/loki.yaml in place of loki -verify-config: "+why
		v.run.Checked = []string{"schema, storage paths, retention and limits of loki/loki.yaml"}
		return
	}
	v.use(tool)
	s, _ := r.service("loki")
	ms := r.mounts("loki", "")
	env := map[string]string{}
	for k, val := range s.Environment {
		if val != nil {
			env[k] = *val
		}
	}
	args := append(append([]string{}, s.Command...), "-verify-config")
	out, code, err := tool.RunCached(ctx, ms, env, args...)
	if err != nil {
		v.run.Status, v.run.Reason = VNotRun, err.Error()
		return
	}
	v.run.Checked = []string{"loki -verify-config with the loki service's command and environment"}
	v.run.Status = VPassed
	if code != 0 {
		v.run.Status = VFailed
		out = strings.TrimSpace(r.relOutput(out, ms))
		v.findings.Errorf("loki", "loki/loki.yaml", firstLine(out), "fix what Loki names", "loki -verify-config fails:\n%s", out)
	}
}

// ------------------------------------------------------------------- alloy

func (r *Repo) validateAlloy(ctx context.Context, opts *ToolOptions, v *validation) {
	tool, why := r.serviceTool(ctx, opts, "alloy", "alloy", "")
	if tool == nil {
		v.run.Status, v.run.Via = VPassed, "opsctl's own Alloy parser (internal/alloy) in place of alloy validate and alloy fmt: "+why
		v.run.Checked = []string{"syntax, components, references and labels of alloy/config.alloy"}
		return
	}
	v.use(tool)
	ms := r.mounts("alloy", "")
	const file = "alloy/config.alloy"
	in, ok := containerPath(r.path(file), ms)
	if !ok {
		v.run.Status, v.run.Reason = VNotRun, file+" is not mounted into the alloy service"
		return
	}
	v.run.Status = VPassed
	for _, args := range [][]string{{"validate", in}, {"fmt", "--test", in}} {
		out, code, err := tool.RunCached(ctx, ms, nil, args...)
		if err != nil {
			v.run.Status, v.run.Reason = VNotRun, err.Error()
			return
		}
		v.run.Checked = append(v.run.Checked, "alloy "+args[0]+" "+file)
		if code != 0 {
			v.run.Status = VFailed
			fix := "fix what Alloy names"
			if args[0] == "fmt" {
				fix = "format it: docker run --rm -v $PWD/alloy:/a " + tool.Image + " fmt -w /a/config.alloy"
			}
			out = strings.TrimSpace(r.relOutput(out, ms))
			v.findings.Errorf("alloy", file, firstLine(out), fix, "alloy %s fails:\n%s", args[0], out)
		}
	}
}

func (r *Repo) globRel(pattern string) []string {
	matches, _ := filepath.Glob(r.path(pattern))
	var rel []string
	for _, m := range matches {
		p, _ := filepath.Rel(r.Dir, m)
		rel = append(rel, p)
	}
	return rel
}

var promtoolHeader = regexp.MustCompile(`(?m)^(?:Checking|Unit Testing:)\s+(\S+)\s*$`)

// promtoolSections splits promtool's output into the failing sections of
// the named files (a section that says SUCCESS is left out).
func promtoolSections(out string, files []string) map[string]string {
	idx := promtoolHeader.FindAllStringSubmatchIndex(out, -1)
	sections := map[string]string{}
	for i, m := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		name, text := out[m[2]:m[3]], strings.TrimSpace(out[m[0]:end])
		if !strings.Contains(text, "FAILED") {
			continue
		}
		for _, f := range files {
			if name == f || strings.HasSuffix(name, "/"+f) {
				sections[f] = text
			}
		}
	}
	return sections
}

var (
	failedAlertTest = regexp.MustCompile(`alertname: (\S+), time: (\S+),`)
	failedTestGroup = regexp.MustCompile(`(?m)^\s*name: (.+),\s*$`)
)

// failedTestLine finds the alert_rule_test a failing `promtool test rules`
// section names ("name: G, alertname: A, time: T"): the line of that
// test's alertname, in group G when promtool names one.
func failedTestLine(src, section string) string {
	m := failedAlertTest.FindStringSubmatch(section)
	if m == nil {
		return ""
	}
	alert, at := m[1], m[2]
	lines := strings.Split(src, "\n")
	start := 0
	if g := failedTestGroup.FindStringSubmatch(section); g != nil {
		for i, l := range lines {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")) == "name: "+strings.TrimSpace(g[1]) {
				start = i
				break
			}
		}
	}
	evalAt := regexp.MustCompile(`eval_time:\s*` + regexp.QuoteMeta(at) + `\b`)
	named := regexp.MustCompile(`alertname:\s*` + regexp.QuoteMeta(alert) + `\b`)
	for i := start; i < len(lines); i++ {
		if !evalAt.MatchString(lines[i]) {
			continue
		}
		for j := i; j < len(lines) && j <= i+2; j++ {
			if named.MatchString(lines[j]) {
				return fmt.Sprint(j + 1)
			}
		}
	}
	return ""
}
