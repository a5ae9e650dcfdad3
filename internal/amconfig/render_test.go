package amconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "alertmanager", "alertmanager.yml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRenderWithoutTelegramRoutesToBlackhole(t *testing.T) {
	out, err := Render("t", repoTemplate(t), Settings{TelegramAPIURL: "https://api.telegram.org"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "telegram_configs") || !strings.Contains(s, "receiver: blackhole") {
		t.Fatalf("without a token the config must not contain a telegram receiver:\n%s", s)
	}
}

func TestRenderWithTelegram(t *testing.T) {
	out, err := Render("t", repoTemplate(t), Settings{TelegramBotToken: "123:abc", TelegramChatID: "-100123", TelegramAPIURL: "http://127.0.0.1:9999", TelegramBotTokenFile: "/x/token"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"chat_id: -100123", "bot_token_file: /x/token", "api_url: http://127.0.0.1:9999", "receiver: telegram", `{{ template "ops.telegram.message" . }}`} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "123:abc") {
		t.Error("the bot token must go to the token file, not into the config")
	}
}

func TestValidateNamesTheVariable(t *testing.T) {
	cases := map[string]Settings{
		"TELEGRAM_CHAT_ID":   {TelegramBotToken: "1:a", TelegramChatID: "@chan", TelegramAPIURL: "https://api.telegram.org"},
		"or neither":         {TelegramBotToken: "1:a"},
		"TELEGRAM_API_URL":   {TelegramBotToken: "1:a", TelegramChatID: "5", TelegramAPIURL: "api.telegram.org"},
		"TELEGRAM_BOT_TOKEN": {TelegramBotToken: "1: a", TelegramChatID: "5", TelegramAPIURL: "https://api.telegram.org"},
	}
	for want, s := range cases {
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want an error naming %s", s, err, want)
		}
	}
}

func TestRenderFileWritesAndRemovesToken(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "am.tmpl")
	os.WriteFile(tmpl, []byte(repoTemplate(t)), 0o644)
	out := filepath.Join(dir, "out", "alertmanager.yml")
	token := filepath.Join(dir, "out", "telegram_bot_token")
	s := Settings{TelegramBotToken: "1:a", TelegramChatID: "5", TelegramAPIURL: "https://api.telegram.org", TelegramBotTokenFile: token}
	if err := RenderFile(tmpl, out, s); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(token); string(b) != "1:a" {
		t.Fatalf("token file = %q", b)
	}
	s.TelegramBotToken, s.TelegramChatID = "", ""
	if err := RenderFile(tmpl, out, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(token); !os.IsNotExist(err) {
		t.Error("token file left behind after Telegram was switched off")
	}
}

func TestRenderDeadMansSwitch(t *testing.T) {
	s := Settings{TelegramAPIURL: "https://api.telegram.org", DeadMansSwitchURL: "https://hc.example.net/ping/abc"}
	out, err := Render("t", repoTemplate(t), s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadAlertmanager(out)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	first := cfg.Route.Routes[0]
	if first.Receiver != "deadmansswitch" || first.RepeatInterval == nil || first.RepeatInterval.String() != "1m" {
		t.Errorf("the Watchdog must go first to the dead man's switch every minute, got %+v", first)
	}
	if !strings.Contains(string(out), "url: https://hc.example.net/ping/abc") {
		t.Errorf("webhook URL missing:\n%s", out)
	}
	s.DeadMansSwitchURL = "hc.example.net/ping"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "DEADMANS_SWITCH_URL") {
		t.Errorf("a URL without scheme must be refused naming DEADMANS_SWITCH_URL, got %v", err)
	}
	without, _ := Render("t", repoTemplate(t), Settings{TelegramAPIURL: "https://api.telegram.org"})
	if strings.Contains(string(without), "deadmansswitch") {
		t.Error("without DEADMANS_SWITCH_URL there must be no dead man's switch receiver")
	}
}
