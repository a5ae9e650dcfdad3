package opsdecl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const sample = `services:
  web:
    image: x
    x-ops:
      state: [/data]
      ui: {path: /web/, open: /web/home, probe: /web/login, title: Web, login: {user: WEB_USER, password: WEB_PASSWORD}, private: {/web/metrics: "its version"}}
      hft_network: {why: reads the database, guard: its own login}
  sim: &sim
    image: y
    x-ops: {sibling: okx-hft-collector}
  sim2:
    <<: *sim
  sim3:
    <<: *sim
    x-ops: {sibling: okx-hft-executor}
  plain:
    image: z
`

func TestParse(t *testing.T) {
	d, problems := Parse([]byte(sample))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var names []string
	for _, s := range d {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "web,sim,sim2,sim3,plain" {
		t.Errorf("order %s, want compose.yaml's", got)
	}
	web := d.Get("web")
	if web.UI == nil || web.UI.Open != "/web/home" || web.UI.Login.User != "WEB_USER" || web.UI.Login.Proxy || web.UI.Private["/web/metrics"] != "its version" {
		t.Errorf("web's UI: %+v", web.UI)
	}
	if web.HFTNetwork == nil || web.HFTNetwork.Guard != "its own login" || len(web.State) != 1 || web.Line != 2 {
		t.Errorf("web: %+v", web)
	}
	if got := d.Get("sim2").Sibling; got != "okx-hft-collector" {
		t.Errorf("a merge key's x-ops: %q, want the anchor's", got)
	}
	if got := d.Get("sim3").Sibling; got != "okx-hft-executor" {
		t.Errorf("an own x-ops beside a merge key: %q, want its own", got)
	}
	if p := d.Get("plain"); p.UI != nil || p.HFTNetwork != nil || p.State != nil {
		t.Errorf("a service without x-ops: %+v", p)
	}
	if _, ok := d.Lookup("nosuch"); ok {
		t.Error("Lookup found a service compose.yaml does not have")
	}
	if len(d.UIs()) != 1 {
		t.Errorf("UIs: %d, want 1", len(d.UIs()))
	}
}

func TestParseProblems(t *testing.T) {
	for _, c := range []struct{ name, xops, want string }{
		{"unknown key", `{states: [/data]}`, "unknown key x-ops.states"},
		{"relative state", `{state: [data]}`, `x-ops.state "data" is not an absolute path`},
		{"state not a list", `{state: /data}`, "x-ops.state is not a list"},
		{"no guard", `{hft_network: {why: scrapes}}`, "x-ops.hft_network has no guard"},
		{"empty why", `{hft_network: {why: "", guard: keys}}`, "x-ops.hft_network.why is empty"},
		{"ui without login", `{ui: {path: /a/, probe: /a/, title: A}}`, "x-ops.ui has no login"},
		{"ui path without slash", `{ui: {path: /a, probe: /a, title: A, login: proxy}}`, `x-ops.ui.path "/a" is not a sub path`},
		{"probe elsewhere", `{ui: {path: /a/, probe: /b/, title: A, login: proxy}}`, `x-ops.ui.probe "/b/" is not under the UI's path /a/`},
		{"login word", `{ui: {path: /a/, probe: /a/, title: A, login: basic}}`, "neither proxy nor a user and password"},
		{"login half", `{ui: {path: /a/, probe: /a/, title: A, login: {user: U}}}`, "needs user and password"},
		{"private elsewhere", `{ui: {path: /a/, probe: /a/, title: A, login: proxy, private: {/b/metrics: x}}}`, `x-ops.ui.private "/b/metrics" is not under`},
		{"not a mapping", `[ui]`, "x-ops is not a mapping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, problems := Parse([]byte("services:\n  s:\n    image: x\n    x-ops: " + c.xops + "\n"))
			if len(problems) == 0 {
				t.Fatalf("no problem, want %q", c.want)
			}
			var msgs []string
			for _, p := range problems {
				if p.Line != 4 || p.Service != "s" || p.Fix == "" {
					t.Errorf("problem %+v: want line 4, service s and a fix", p)
				}
				msgs = append(msgs, p.Msg)
			}
			if !strings.Contains(strings.Join(msgs, "; "), c.want) {
				t.Errorf("problems %q, want one containing %q", msgs, c.want)
			}
		})
	}
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("compose.yaml", "include:\n  - sub/compose.yaml\n  - path: [gone/compose.yaml]\n  - https://example.invalid/compose.yaml\nservices:\n  a: {image: a:1.0}\n")
	write("sub/compose.yaml", "include:\n  - ../compose.yaml\nservices:\n  b: {image: b:1.0, x-ops: {state: [/data]}}\n")

	srcs, incErrs, err := Sources(dir, "compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range srcs {
		files = append(files, s.File)
	}
	if !slices.Equal(files, []string{"compose.yaml", "sub/compose.yaml"}) {
		t.Errorf("sources %v, want compose.yaml then sub/compose.yaml (the URL not followed)", files)
	}
	if len(incErrs) != 2 {
		t.Fatalf("include errors %v, want the cycle and the missing file", incErrs)
	}
	if e := incErrs[0]; e.From != "sub/compose.yaml" || e.File != "compose.yaml" || !errors.Is(e.Err, ErrIncludedTwice) {
		t.Errorf("first include error %+v, want sub/compose.yaml including compose.yaml again", e)
	}
	if e := incErrs[1]; e.From != "compose.yaml" || e.File != "gone/compose.yaml" || !errors.Is(e.Err, fs.ErrNotExist) {
		t.Errorf("second include error %+v, want gone/compose.yaml missing", e)
	}
	if _, err := LoadFile(dir, "compose.yaml"); err == nil || !strings.Contains(err.Error(), "include gone/compose.yaml") {
		t.Errorf("LoadFile: %v, want the include that cannot be followed named", err)
	}
	if _, _, err := Sources(dir, "nothere.yaml"); err == nil {
		t.Error("Sources of a missing file: no error")
	}
}
