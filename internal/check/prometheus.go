package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	// Every service discovery Prometheus has (docker_sd_configs,
	// http_sd_configs, kubernetes_sd_configs, ...), registered as
	// Prometheus itself registers them (cmd/prometheus/main.go imports this
	// package): a config using one that is not registered fails to load
	// with "field ... not found".
	_ "github.com/prometheus/prometheus/discovery/install"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const (
	prometheusFile = "prometheus/prometheus.yml"
	ruleTestGlob   = "prometheus/tests/*.yml"
)

// Severities an alert may carry; Alertmanager routes on them.
var Severities = []string{"critical", "warning", "info", "none"}

var lineRef = regexp.MustCompile(`line (\d+)`)

// lineColPrefix is the file position rulefmt puts first ("25:15: group
// ..."), after an optional file name; a position inside the expression
// further on ("could not parse expression: 1:16: ...") is not the file's.
var lineColPrefix = regexp.MustCompile(`^(?:[^ ]*: )?(\d+):(\d+): `)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// PromQLParser is the parser every check of a query uses.
var PromQLParser = parser.NewParser(parser.Options{})

// routePrefix returns the path of a --web.external-url flag in a service's
// command ("/prometheus"), or "".
func (r *Repo) routePrefix(service string) string {
	s, ok := r.service(service)
	if !ok {
		return ""
	}
	for _, a := range s.Command {
		if v, ok := strings.CutPrefix(a, "--web.external-url="); ok {
			if u, err := url.Parse(v); err == nil {
				return strings.TrimSuffix(u.Path, "/")
			}
		}
		if v, ok := strings.CutPrefix(a, "--web.route-prefix="); ok {
			return strings.TrimSuffix(v, "/")
		}
	}
	if service == "grafana" {
		if v := s.Environment["GF_SERVER_ROOT_URL"]; v != nil && s.Environment["GF_SERVER_SERVE_FROM_SUB_PATH"] != nil && *s.Environment["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true" {
			if u, err := url.Parse(*v); err == nil {
				return strings.TrimSuffix(u.Path, "/")
			}
		}
	}
	return ""
}

// hostPath maps a path inside a service's container to the repository file
// bind-mounted there, relative to the repository root.
func (r *Repo) hostPath(service, containerPath string) (string, bool) {
	s, ok := r.service(service)
	if !ok {
		return "", false
	}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		target := strings.TrimSuffix(v.Target, "/")
		if containerPath == target || strings.HasPrefix(containerPath, target+"/") {
			src := v.Source
			if rel, err := filepath.Rel(r.Dir, src); err == nil {
				src = rel
			}
			return filepath.Join(src, strings.TrimPrefix(containerPath, target)), true
		}
	}
	return "", false
}

func (r *Repo) checkPrometheus(ctx context.Context) {
	data, ok := r.read(prometheusFile)
	if !ok {
		return
	}
	doc := yamlpos.Parse(data)
	cfg, err := promconfig.LoadFile(r.path(prometheusFile), false, quietLogger())
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), r.path(prometheusFile), prometheusFile)
		pos := ""
		if m := lineRef.FindStringSubmatch(msg); m != nil {
			pos = m[1]
		}
		r.f.Errorf("prometheus", prometheusFile, pos, "see https://prometheus.io/docs/prometheus/latest/configuration/configuration/", "Prometheus cannot load the config: %s", msg)
		return
	}

	jobs := map[string]bool{}
	for i, sc := range cfg.ScrapeConfigs {
		base := fmt.Sprintf("scrape_configs[%d]", i)
		jobs[sc.JobName] = true
		for _, sd := range sc.ServiceDiscoveryConfigs {
			static, ok := sd.(discovery.StaticConfig)
			if !ok {
				continue
			}
			for k, tg := range static {
				pos := doc.LineString(fmt.Sprintf("%s.static_configs[%d].targets", base, k))
				for _, t := range tg.Targets {
					addr := string(t[model.AddressLabel])
					host, port, err := net.SplitHostPort(addr)
					if err != nil {
						r.f.Errorf("prometheus-target", prometheusFile, pos, "write targets as host:port", "job %s: target %q has no port", sc.JobName, addr)
						continue
					}
					if host == "localhost" || host == "127.0.0.1" {
						r.f.Errorf("prometheus-target", prometheusFile, pos, "use the compose service name, e.g. prometheus:9090", "job %s: target %q is the Prometheus container itself, not a service", sc.JobName, addr)
						continue
					}
					r.checkEndpoint("prometheus", prometheusFile, pos, "job "+sc.JobName, host, port, false)
					if s, ok := r.serviceByHost(host); ok {
						if prefix := r.routePrefix(s.Name); prefix != "" && !strings.HasPrefix(sc.MetricsPath, prefix+"/") {
							r.f.Errorf("prometheus-target", prometheusFile, doc.LineString(base+".job_name"), fmt.Sprintf("set metrics_path: %s/metrics", prefix), "job %s: %s serves under %s, but metrics_path is %s", sc.JobName, s.Name, prefix, sc.MetricsPath)
						}
					}
				}
			}
		}
	}
	for i, am := range cfg.AlertingConfig.AlertmanagerConfigs {
		base := fmt.Sprintf("alerting.alertmanagers[%d]", i)
		for _, sd := range am.ServiceDiscoveryConfigs {
			if static, ok := sd.(discovery.StaticConfig); ok {
				for _, tg := range static {
					for _, t := range tg.Targets {
						host, port, _ := net.SplitHostPort(string(t[model.AddressLabel]))
						r.checkEndpoint("prometheus", prometheusFile, doc.LineString(base), "alertmanager", host, port, false)
						if s, ok := r.serviceByHost(host); ok && r.Project != nil {
							if want := r.routePrefix(s.Name); strings.TrimSuffix(am.PathPrefix, "/") != want {
								r.f.Errorf("prometheus-alerting", prometheusFile, doc.LineString(base), fmt.Sprintf("set path_prefix: %s", want), "alerts would be posted to %q but Alertmanager serves under %q", am.PathPrefix, want)
							}
						}
					}
				}
			}
		}
	}
	if len(cfg.AlertingConfig.AlertmanagerConfigs) == 0 {
		r.f.Errorf("prometheus-alerting", prometheusFile, doc.LineString("alerting"), "add alerting.alertmanagers with target alertmanager:9093", "Prometheus sends alerts nowhere")
	}

	var ruleFiles []string
	for i, pattern := range cfg.RuleFiles {
		if r.Project == nil {
			break // the mounts are unknown; compose.yaml's own finding says why
		}
		host, ok := r.hostPath("prometheus", pattern)
		if !ok {
			r.f.Errorf("prometheus-rules", prometheusFile, doc.LineString(fmt.Sprintf("rule_files[%d]", i)), "point rule_files at a directory mounted from the repository (./prometheus → /etc/prometheus)", "rule file pattern %q is not inside a mount of the prometheus service", pattern)
			continue
		}
		matches, _ := filepath.Glob(r.path(host))
		if len(matches) == 0 {
			r.f.Errorf("prometheus-rules", prometheusFile, doc.LineString(fmt.Sprintf("rule_files[%d]", i)), "add rule files or fix the pattern", "rule file pattern %q (%s in the repository) matches no file", pattern, host)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(r.Dir, m)
			ruleFiles = append(ruleFiles, rel)
		}
	}
	if len(cfg.RuleFiles) == 0 {
		r.f.Errorf("prometheus-rules", prometheusFile, "", "add rule_files: [/etc/prometheus/rules/*.yml]", "Prometheus loads no rule files")
	}
	for _, rf := range ruleFiles {
		r.checkRuleFile(rf, jobs)
	}
	r.checkRuleTestsExist()
}

func (r *Repo) checkRuleFile(rel string, jobs map[string]bool) {
	data, ok := r.read(rel)
	if !ok {
		return
	}
	doc := yamlpos.Parse(data)
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, PromQLParser, quietLogger())
	for _, err := range errs {
		msg := err.Error()
		pos := ""
		if m := lineColPrefix.FindStringSubmatch(msg); m != nil {
			pos = m[1] + ":" + m[2]
		} else if m := lineRef.FindStringSubmatch(msg); m != nil {
			pos = m[1]
		}
		r.f.Errorf("prometheus-rules", rel, pos, "fix the rule; PromQL reference: https://prometheus.io/docs/prometheus/latest/querying/basics/", "%s", msg)
	}
	if groups == nil {
		return
	}
	for gi, g := range groups.Groups {
		for ri, rule := range g.Rules {
			base := fmt.Sprintf("groups[%d].rules[%d]", gi, ri)
			if rule.Alert == "" {
				continue
			}
			sev := rule.Labels["severity"]
			if !slices.Contains(Severities, sev) {
				r.f.Errorf("prometheus-rules", rel, doc.LineString(base+".labels"), fmt.Sprintf("set labels.severity to one of %v", Severities), "alert %s has severity %q; Alertmanager routes on severity", rule.Alert, sev)
			}
			for _, a := range []string{"summary", "runbook_url", "dashboard_url"} {
				if rule.Annotations[a] == "" {
					r.f.Errorf("prometheus-rules", rel, doc.LineString(base+".annotations"), fmt.Sprintf("add annotations.%s", a), "alert %s has no %s", rule.Alert, a)
				}
			}
			r.checkRuleJobs(rel, doc.LineString(base+".expr"), rule.Alert, rule.Expr, jobs)
			r.checkRunbook(rel, doc.LineString(base+".annotations"), rule.Alert, rule.Annotations["runbook_url"])
			r.checkDashboardLink(rel, doc.LineString(base+".annotations.dashboard_url"), rule.Alert, rule.Annotations["dashboard_url"])
		}
	}
}

// checkRuleJobs flags job="x" matchers that name no scrape job: such an
// alert can never fire.
func (r *Repo) checkRuleJobs(file, pos, name, expr string, jobs map[string]bool) {
	e, err := PromQLParser.ParseExpr(expr)
	if err != nil {
		return
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == "job" && m.Type.String() == "=" && !jobs[m.Value] {
				r.f.Errorf("prometheus-rules", file, pos, "use a job_name of prometheus/prometheus.yml", "rule %s selects job=%q, which no scrape config defines", name, m.Value)
			}
		}
		return nil
	})
}

// checkRuleTestsExist: promtool runs them (validators.go); a rule set with
// no tests at all is a defect of its own.
func (r *Repo) checkRuleTestsExist() {
	if tests, _ := filepath.Glob(r.path(ruleTestGlob)); len(tests) == 0 {
		r.f.Errorf("promtool", "prometheus/tests", "", "add promtool unit tests (prometheus/tests/*.test.yml) for the alert rules", "no rule unit tests")
	}
}

var runbookRef = regexp.MustCompile(`(?:^|/)(runbooks/[A-Za-z0-9_.-]+\.md)#([^#?/\s]+)$`)

// atxHeading is a Markdown heading of any level ("## X", "### X"), with an
// optional closing run of #.
var atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)

// checkRunbook verifies that a runbook_url pointing into runbooks/ names an
// existing file and a heading of it, at any level, by the anchor GitHub
// gives that heading.
func (r *Repo) checkRunbook(file, pos, alert, link string) {
	m := runbookRef.FindStringSubmatch(link)
	if m == nil {
		return
	}
	data, err := os.ReadFile(r.path(m[1]))
	if err != nil {
		r.f.Errorf("runbook", file, pos, "add the runbook file "+m[1], "alert %s links to %s, which does not exist", alert, m[1])
		return
	}
	if slices.Contains(Anchors(string(data)), m[2]) {
		return
	}
	r.f.Errorf("runbook", file, pos, fmt.Sprintf("add a section \"## %s\" to %s", alert, m[1]), "alert %s links to %s#%s, which has no such section", alert, m[1], m[2])
}

// Anchors lists the fragments GitHub gives the headings of a Markdown
// document, in order: a repeated heading gets -1, -2, ... as GitHub's
// slugger does. Headings inside fenced code blocks are not headings.
func Anchors(markdown string) []string {
	var out []string
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(markdown, "\n") {
		t := strings.TrimSpace(line)
		if fence == "" && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")) {
			fence = t[:3]
			continue
		}
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		}
		h := atxHeading.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if h == nil {
			continue
		}
		a := anchor(h[1])
		if n, dup := seen[a]; dup {
			seen[a] = n + 1
			a = fmt.Sprintf("%s-%d", a, n+1)
		} else {
			seen[a] = 0
		}
		out = append(out, a)
	}
	return out
}

// anchor is the fragment GitHub gives a heading: lower case, letters,
// digits, - and _ kept, each space a -, everything else dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(c), unicode.IsDigit(c), unicode.IsMark(c), c == '-', c == '_':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// dashboardRef matches a link to a provisioned Grafana dashboard, relative
// (grafana/d/uid?var-x=y, made absolute by the Telegram template) or
// absolute (https://host/grafana/d/uid/slug?...).
var dashboardRef = regexp.MustCompile(`^(?:https?://[^/]+/|/)?(?:.*/)?grafana/d/([^/?#]+)(?:/[^?#]*)?(?:\?([^#]*))?`)

// checkDashboardLink verifies that a dashboard_url names a dashboard of
// grafana/dashboards by uid, and that its var-NAME parameters are
// variables of that dashboard: a wrong uid opens "Dashboard not found" on
// the phone, a wrong variable silently shows every series.
func (r *Repo) checkDashboardLink(file, pos, alert, link string) {
	if link == "" {
		return
	}
	if strings.HasPrefix(link, "/") {
		r.f.Errorf("dashboard-link", file, pos, "write the link relative (grafana/d/<uid>?var-x=y) so the Telegram template prefixes OPS_PUBLIC_URL", "alert %s links its dashboard as %q, which a phone cannot open", alert, link)
		return
	}
	m := dashboardRef.FindStringSubmatch(link)
	if m == nil {
		return
	}
	if r.dashboardVars == nil {
		r.dashboardVars = map[string][]string{}
		files, _ := filepath.Glob(r.path(filepath.Join(dashboards.DefaultDir, "*.json")))
		for _, f := range files {
			var d struct {
				UID        string `json:"uid"`
				Templating struct {
					List []struct {
						Name string `json:"name"`
					} `json:"list"`
				} `json:"templating"`
			}
			data, err := os.ReadFile(f)
			if err != nil || json.Unmarshal(data, &d) != nil || d.UID == "" {
				continue // the dashboard check reports unreadable files
			}
			vars := []string{}
			for _, v := range d.Templating.List {
				vars = append(vars, v.Name)
			}
			r.dashboardVars[d.UID] = vars
		}
	}
	vars, ok := r.dashboardVars[m[1]]
	if !ok {
		var uids []string
		for uid := range r.dashboardVars {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		r.f.Errorf("dashboard-link", file, pos, fmt.Sprintf("link one of the provisioned dashboards: %s", strings.Join(uids, ", ")), "alert %s links to dashboard uid %q, which is not in %s", alert, m[1], dashboards.DefaultDir)
		return
	}
	for _, kv := range strings.Split(m[2], "&") {
		name, ok := strings.CutPrefix(strings.SplitN(kv, "=", 2)[0], "var-")
		if !ok || slices.Contains(vars, name) {
			continue
		}
		r.f.Errorf("dashboard-link", file, pos, fmt.Sprintf("use one of the variables of dashboard %s: %s", m[1], strings.Join(vars, ", ")), "alert %s sets var-%s, which dashboard %s does not define", alert, name, m[1])
	}
}
