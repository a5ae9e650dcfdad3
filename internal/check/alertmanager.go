package check

import (
	"fmt"
	"github.com/okx-hft/okx-hft-ops/internal/tghtml"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/okx-hft/okx-hft-ops/internal/amconfig"
)

const alertmanagerTemplate = "alertmanager/alertmanager.yml.tmpl"

// alertmanagerVariants are the configurations the template can produce:
// without Telegram (the default) and with it.
func (r *Repo) alertmanagerVariants() map[string]amconfig.Settings {
	tokenFile := "/etc/alertmanager/rendered/telegram_bot_token"
	variants := map[string]amconfig.Settings{
		"without Telegram":                      {TelegramAPIURL: r.Env["TELEGRAM_API_URL"], TelegramBotTokenFile: tokenFile, PublicURL: r.Env["OPS_PUBLIC_URL"]},
		"with Telegram and a dead man's switch": {TelegramBotToken: "123456:sample-token", TelegramChatID: "-1001234567890", TelegramAPIURL: "https://api.telegram.org", TelegramBotTokenFile: tokenFile, PublicURL: r.Env["OPS_PUBLIC_URL"], DeadMansSwitchURL: "https://deadman.example.net/ping/sample"},
	}
	if r.Env["TELEGRAM_BOT_TOKEN"] != "" || r.Env["TELEGRAM_CHAT_ID"] != "" || r.Env["DEADMANS_SWITCH_URL"] != "" {
		variants["from "+r.EnvPath] = amconfig.FromEnv(func(k string) string { return r.Env[k] }, tokenFile)
	}
	return variants
}

func (r *Repo) checkAlertmanager() {
	data, ok := r.read(alertmanagerTemplate)
	if !ok {
		return
	}
	var templates []string
	parseMode := ""
	loaded := 0
	for name, settings := range r.alertmanagerVariants() {
		if err := settings.Validate(); err != nil {
			key := "TELEGRAM_CHAT_ID"
			for _, k := range []string{"TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "DEADMANS_SWITCH_URL", "TELEGRAM_CHAT_ID"} {
				if strings.Contains(err.Error(), k) {
					key = k
					break
				}
			}
			r.f.Errorf("alertmanager", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf(key)), "fix "+key+" in "+r.EnvPath, "%v", err)
			continue
		}
		out, err := amconfig.Render(alertmanagerTemplate, string(data), settings)
		if err != nil {
			r.f.Errorf("alertmanager", alertmanagerTemplate, templateLine(err.Error()), "fix the Go template syntax", "cannot render %s: %v", name, err)
			continue
		}
		r.amRendered = append(r.amRendered, renderedVariant{name: name, config: out})
		cfg, err := amconfig.LoadAlertmanager(out)
		if err != nil {
			pos := renderedLine(err.Error(), out, data)
			if pos == "" {
				pos = quotedValueLine(string(data), err.Error())
			}
			r.f.Errorf("alertmanager", alertmanagerTemplate, pos, "see https://prometheus.io/docs/alerting/latest/configuration/", "Alertmanager rejects the config rendered %s: %v", name, err)
			continue
		}
		loaded++
		if len(templates) == 0 {
			templates = cfg.Templates
		}
		r.checkAlertmanagerRouting(cfg, name)
		for _, rcv := range cfg.Receivers {
			for _, tc := range rcv.TelegramConfigs {
				parseMode = tc.ParseMode
			}
		}
	}
	switch {
	case loaded == 0 || r.Project == nil:
		// Nothing to say about templates the config never got to name.
	case len(templates) == 0:
		r.f.Errorf("alertmanager", alertmanagerTemplate, "", "add templates: [/etc/alertmanager/templates/*.tmpl]", "the config loads no templates, so the Telegram message template is undefined")
	default:
		r.checkAlertmanagerTemplates(templates, parseMode)
	}
}

func (r *Repo) checkAlertmanagerRouting(cfg *amconfig.Config, variant string) {
	if cfg.Route == nil {
		return
	}
	critical := false
	for _, sub := range cfg.Route.Routes {
		for _, m := range sub.Matchers {
			if m.Name == "severity" && m.Matches("critical") && !m.Matches("warning") {
				critical = true
				if sub.GroupWait != nil && sub.GroupWait.String() != "0s" && !strings.HasPrefix(sub.GroupWait.String(), "0") && timeSeconds(sub.GroupWait) > 5 {
					r.f.Errorf("alertmanager", alertmanagerTemplate, "", "set group_wait: 0s (or a few seconds) on the critical route", "critical alerts wait %s before paging (%s)", sub.GroupWait, variant)
				}
			}
		}
	}
	if !critical {
		r.f.Errorf("alertmanager", alertmanagerTemplate, "", "add a route matching severity=\"critical\" with a short group_wait", "no route pages critical alerts at once (%s)", variant)
	}
}

func timeSeconds(d *model.Duration) float64 { return float64(*d) / 1e9 }

// checkAlertmanagerTemplates executes the Telegram message as the receiver
// does: with html/template when its parse_mode is HTML (Alertmanager then
// escapes every value for its context, and refuses constructs html/template
// finds ambiguous), with text/template otherwise.
func (r *Repo) checkAlertmanagerTemplates(patterns []string, parseMode string) {
	var files []string
	for _, p := range patterns {
		host, ok := r.hostPath("alertmanager", p)
		if !ok {
			r.f.Errorf("alertmanager", alertmanagerTemplate, "", "mount ./alertmanager/templates at /etc/alertmanager/templates", "template pattern %q is not inside a mount of the alertmanager service", p)
			continue
		}
		m, _ := filepath.Glob(r.path(host))
		files = append(files, m...)
	}
	tmpl, err := amtemplate.FromGlobs(files)
	if err != nil {
		r.f.Errorf("alertmanager-template", "alertmanager/templates", templateLine(err.Error()), "fix the template syntax", "%s", strings.ReplaceAll(err.Error(), r.Dir+"/", ""))
		return
	}
	render := func(d *amtemplate.Data) (string, error) {
		if parseMode == "HTML" {
			return tmpl.ExecuteHTMLString(`{{ template "ops.telegram.message" . }}`, d)
		}
		return tmpl.ExecuteTextString(`{{ template "ops.telegram.message" . }}`, d)
	}
	sample := &amtemplate.Data{
		Receiver: "telegram", Status: "firing",
		Alerts: amtemplate.Alerts{{Status: "firing",
			Labels:      amtemplate.KV{"alertname": "Sample", "severity": "critical", "job": "collector", "instance": "collector:8000"},
			Annotations: amtemplate.KV{"summary": "s", "description": "d", "runbook_url": "http://x/runbooks/a", "dashboard_url": "http://x/grafana/d/a"}}},
		CommonLabels: amtemplate.KV{"alertname": "Sample", "severity": "critical"},
		ExternalURL:  "http://localhost:8080/alertmanager",
	}
	out, err := render(sample)
	if err != nil {
		r.f.Errorf("alertmanager-template", "alertmanager/templates/telegram.tmpl", templateLine(err.Error()), "define ops.telegram.message and keep it executable", "the Telegram message template fails: %v", err)
		return
	}
	for _, want := range []string{"Sample", "runbook", "http://x/runbooks/a"} {
		if !strings.Contains(out, want) {
			r.f.Errorf("alertmanager-template", telegramTemplate, r.templateLineOf(telegramTemplate, `define "ops.telegram.message"`), "show the alert name, summary and runbook link", "the Telegram message does not contain %q:\n%s", want, out)
		}
	}
	// Rules link runbooks and dashboards relatively; a person tapping the
	// link in Telegram needs the public URL in front. The message goes out
	// with parse_mode HTML: values holding "<" or "&" must be escaped or
	// Telegram refuses it.
	sample.Alerts[0].Annotations["runbook_url"] = "runbooks/ops-node.md#watchdog"
	sample.Alerts[0].Annotations["dashboard_url"] = "grafana/d/collector?var-channel=books&var-inst_id=BTC-USDT"
	sample.Alerts[0].Annotations["description"] = "free < 10% & falling"
	out, err = render(sample)
	if err != nil {
		r.f.Errorf("alertmanager-template", "alertmanager/templates/telegram.tmpl", templateLine(err.Error()), "define ops.telegram.message and keep it executable", "the Telegram message template fails: %v", err)
		return
	}
	for _, want := range []struct{ text, fix string }{
		{"http://localhost:8080/runbooks/ops-node.md#watchdog", "prefix relative runbook_url values with the public URL (ExternalURL without /alertmanager)"},
		{"http://localhost:8080/grafana/d/collector?var-channel=books&amp;var-inst_id=BTC-USDT", "prefix relative dashboard_url values with the public URL"},
	} {
		if !strings.Contains(out, want.text) {
			r.f.Errorf("alertmanager-template", telegramTemplate, r.templateLineOf(telegramTemplate, `define "ops.telegram.message"`), want.fix, "a relative link does not become %s:\n%s", want.text, out)
		}
	}
	if parseMode != "HTML" {
		return
	}
	if err := tghtml.Validate(out); err != nil {
		pos := ""
		if m := tagInError.FindStringSubmatch(err.Error()); m != nil {
			pos = r.templateLineOf(telegramTemplate, "<"+m[1])
		}
		if pos == "" {
			pos = r.templateLineOf(telegramTemplate, `define "ops.telegram.message"`)
		}
		r.f.Errorf("alertmanager-template", telegramTemplate, pos, "use only the tags Telegram supports (b, i, u, s, a, code, pre, blockquote...) and write literal <, > and & as &lt;, &gt; and &amp;", "Telegram would refuse the message: %v\n%s", err, out)
	}
}

func templateLine(msg string) string {
	if m := tmplLine.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// renderedLine maps a "line N" of the rendered config back to the
// template by the text of that line; the template's own line when found.
func renderedLine(msg string, rendered, template []byte) string {
	m := lineRef.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	var n int
	fmt.Sscan(m[1], &n)
	lines := strings.Split(string(rendered), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	text := strings.TrimSpace(lines[n-1])
	for i, l := range strings.Split(string(template), "\n") {
		if text != "" && strings.TrimSpace(l) == text {
			return fmt.Sprint(i + 1)
		}
	}
	return ""
}

var tmplLine = regexp.MustCompile(`:(\d+):`)

const telegramTemplate = "alertmanager/templates/telegram.tmpl"

var (
	tagInError   = regexp.MustCompile(`tag "([a-zA-Z0-9]+)"`)
	quotedInText = regexp.MustCompile(`"([^"]{2,})"`)
)

// templateLineOf is the line of file holding text, when exactly one does.
func (r *Repo) templateLineOf(file, text string) string {
	data, err := os.ReadFile(r.path(file))
	if err != nil {
		return ""
	}
	return uniqueLine(string(data), func(line string) bool { return strings.Contains(line, text) })
}

// quotedValueLine locates an error that quotes a name but gives no line
// (`undefined receiver "pager" used in route`): the one line of the
// template naming it after a key (`receiver: pager`).
func quotedValueLine(src, msg string) string {
	m := quotedInText.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return uniqueLine(src, func(line string) bool {
		t := strings.TrimSpace(line)
		return !strings.HasPrefix(t, "#") && (strings.HasSuffix(t, ": "+m[1]) || strings.HasSuffix(t, `: "`+m[1]+`"`))
	})
}

// renderedVariant is the Alertmanager config the template rendered for one
// variant, kept for amtool (validators.go).
type renderedVariant struct {
	name   string
	config []byte
}
