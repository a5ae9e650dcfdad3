package tghtml

import (
	"strings"
	"testing"
)

func TestValidateAccepts(t *testing.T) {
	for _, text := range []string{
		"plain text",
		"🔥 <b>FIRING</b> KillSwitchEngaged [critical]",
		`<a href="http://localhost:8080/grafana/d/collector?var-channel=books&amp;var-inst_id=BTC-USDT">dashboard</a>`,
		"p99 &lt; 50ms &amp; rising &gt; budget &quot;x&quot; &#39;y&#39; &#x1F525;",
		"<b>bold <i>italic</i></b> <code class=\"language-go\">x</code> <pre>y</pre>",
		"<blockquote expandable>long</blockquote> <span class=\"tg-spoiler\">s</span>",
		strings.Repeat("é", MaxLen),
	} {
		if err := Validate(text); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", text, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"free < 10%", `unclosed "<"`},
		{"free < 10% > 5%", `unescaped "<"`},
		{"a <br> b", `unsupported start tag "br"`},
		{"x > y", `unescaped ">"`},
		{"R&D", `"&" does not start an entity`},
		{"&nbsp;", `"&" does not start an entity`},
		{`<a href="http://x/?a=1&b=2">x</a>`, `attribute href of <a>: "&" does not start an entity`},
		{`<a target="_blank" href="http://x">x</a>`, `unsupported attribute "target"`},
		{"<b>open", "tags [b] are not closed"},
		{"<b><i>x</b></i>", "end tag </b> does not close the last open tag [b i]"},
		{"x</b>", "end tag </b> does not close"},
		{strings.Repeat("a", MaxLen+1), "over Telegram's 4096"},
		{"bad \xff byte", "invalid UTF-8"},
	} {
		err := Validate(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%.40q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(`<b>x</b> &amp; <a href="http://a/?b=1&amp;c=2">l</a>`)
	f.Add("<a href='x'")
	f.Fuzz(func(t *testing.T, text string) {
		_ = Validate(text) // must not panic
	})
}
