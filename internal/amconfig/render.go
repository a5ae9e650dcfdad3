// Package amconfig renders the Alertmanager configuration template: Alertmanager
// reads no environment variables, so the Telegram settings from .env are
// written into its config at every start of the stack.
package amconfig

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	amcfg "github.com/prometheus/alertmanager/config"
)

// Settings are the template's inputs, read from the environment.
type Settings struct {
	TelegramBotToken     string
	TelegramChatID       string
	TelegramAPIURL       string
	TelegramBotTokenFile string
	PublicURL            string
	// DeadMansSwitchURL receives the always-firing Watchdog every minute;
	// an outside service alerts when the pings stop (the node is blind).
	DeadMansSwitchURL string
}

// Telegram reports whether Telegram delivery is configured.
func (s Settings) Telegram() bool { return s.TelegramBotToken != "" && s.TelegramChatID != "" }

// FromEnv reads the settings from environment variables; the bot token is
// written to tokenFile, next to the rendered config.
func FromEnv(getenv func(string) string, tokenFile string) Settings {
	return Settings{
		TelegramBotToken:     getenv("TELEGRAM_BOT_TOKEN"),
		TelegramChatID:       getenv("TELEGRAM_CHAT_ID"),
		TelegramAPIURL:       getenv("TELEGRAM_API_URL"),
		TelegramBotTokenFile: tokenFile,
		PublicURL:            getenv("OPS_PUBLIC_URL"),
		DeadMansSwitchURL:    getenv("DEADMANS_SWITCH_URL"),
	}
}

// Validate names every bad setting with the variable to fix.
func (s Settings) Validate() error {
	var problems []string
	if (s.TelegramBotToken == "") != (s.TelegramChatID == "") {
		problems = append(problems, "set both TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, or neither")
	}
	if s.TelegramChatID != "" {
		if _, err := strconv.ParseInt(s.TelegramChatID, 10, 64); err != nil {
			problems = append(problems, fmt.Sprintf("TELEGRAM_CHAT_ID=%q is not an integer chat id (groups are negative, e.g. -1001234567890)", s.TelegramChatID))
		}
	}
	if strings.ContainsAny(s.TelegramBotToken, " \t\r\n") {
		problems = append(problems, "TELEGRAM_BOT_TOKEN contains white space")
	}
	if s.Telegram() {
		if u, err := url.Parse(s.TelegramAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("TELEGRAM_API_URL=%q is not an http(s) URL", s.TelegramAPIURL))
		}
	}
	if s.DeadMansSwitchURL != "" {
		if u, err := url.Parse(s.DeadMansSwitchURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("DEADMANS_SWITCH_URL=%q is not an http(s) URL", s.DeadMansSwitchURL))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Render executes the template text with s.
func Render(name, text string, s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b.Bytes(), nil
}

// RenderFile renders templatePath into outPath and writes the bot token
// file (mode 0600) when Telegram is configured.
func RenderFile(templatePath, outPath string, s Settings) error {
	text, err := os.ReadFile(templatePath)
	if err != nil {
		return err
	}
	out, err := Render(templatePath, string(text), s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	if s.Telegram() {
		if err := os.WriteFile(s.TelegramBotTokenFile, []byte(s.TelegramBotToken), 0o600); err != nil {
			return err
		}
		// Alertmanager's image runs as nobody (65534); the file stays
		// unreadable to everyone else. Outside a container (tests, no
		// root) the chown fails harmlessly.
		_ = os.Chown(s.TelegramBotTokenFile, 65534, 65534)
	} else if err := os.Remove(s.TelegramBotTokenFile); err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(outPath, out, 0o644)
}

// LoadAlertmanager parses rendered configuration with Alertmanager's own
// config package, which validates routes, receivers and matchers.
func LoadAlertmanager(rendered []byte) (*Config, error) { return amcfg.Load(string(rendered)) }

// Config is Alertmanager's configuration type.
type Config = amcfg.Config
