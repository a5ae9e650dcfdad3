// Package tghtml checks text against the rules of Telegram's Bot API for
// messages sent with parse_mode HTML (https://core.telegram.org/bots/api#html-style):
// only the supported tags, properly nested and closed; every <, > and & that
// is not part of a tag or entity escaped; only the named entities &lt; &gt;
// &amp; &quot; and numeric ones. Telegram refuses a message that breaks them
// with "Bad Request: can't parse entities", so Alertmanager's notification
// fails and the alert never reaches the phone.
//
// The check of the Telegram template (opsctl check) and the Telegram
// stand-in of the stack test both use it.
package tghtml

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest message text Telegram accepts, in characters after
// entities are parsed.
const MaxLen = 4096

// tags lists the supported tags and, for each, the attributes it may carry.
var tags = map[string][]string{
	"b": nil, "strong": nil, "i": nil, "em": nil, "u": nil, "ins": nil,
	"s": nil, "strike": nil, "del": nil, "tg-spoiler": nil, "code": {"class"},
	"pre": nil, "a": {"href"}, "span": {"class"}, "tg-emoji": {"emoji-id"},
	"blockquote": {"expandable"},
}

var entity = regexp.MustCompile(`^&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});`)

// attr matches one attribute: a name and an optional quoted or bare value.
var attr = regexp.MustCompile(`^\s+([a-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)

// Error is a violation of the rules, at a byte offset of the text.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("can't parse entities: %s at byte offset %d", e.Msg, e.Offset)
}

// Validate returns nil when Telegram would accept text with parse_mode HTML.
func Validate(text string) error {
	var open []string
	visible := 0
	for i := 0; i < len(text); {
		switch c := text[i]; c {
		case '&':
			m := entity.FindString(text[i:])
			if m == "" {
				return &Error{i, `"&" does not start an entity; write &amp;`}
			}
			i += len(m)
			visible++
		case '>':
			return &Error{i, `unescaped ">"; write &gt;`}
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return &Error{i, `unclosed "<"; write &lt; for a literal one`}
			}
			tag := text[i+1 : i+end]
			if tag == "" || !(tag[0] == '/' || tag[0] >= 'a' && tag[0] <= 'z') {
				return &Error{i, `unescaped "<"; write &lt;`}
			}
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				name = strings.TrimSpace(name)
				if len(open) == 0 || open[len(open)-1] != name {
					return &Error{i, fmt.Sprintf("end tag </%s> does not close the last open tag %v", name, open)}
				}
				open = open[:len(open)-1]
			} else {
				name, rest := tag, ""
				if k := strings.IndexAny(tag, " \t\n"); k >= 0 {
					name, rest = tag[:k], tag[k:]
				}
				allowed, ok := tags[name]
				if !ok {
					return &Error{i, fmt.Sprintf("unsupported start tag %q", name)}
				}
				for strings.TrimSpace(rest) != "" {
					m := attr.FindStringSubmatch(rest)
					if m == nil {
						return &Error{i, fmt.Sprintf("malformed attributes in <%s>", tag)}
					}
					found := false
					for _, a := range allowed {
						found = found || a == m[1]
					}
					if !found {
						return &Error{i, fmt.Sprintf("tag <%s> has unsupported attribute %q", name, m[1])}
					}
					for _, v := range m[2:] {
						if err := checkAttrValue(v); err != "" {
							return &Error{i, fmt.Sprintf("attribute %s of <%s>: %s", m[1], name, err)}
						}
					}
					rest = rest[len(m[0]):]
				}
				open = append(open, name)
			}
			i += end + 1
		default:
			_, size := utf8.DecodeRuneInString(text[i:])
			if size == 1 && c >= utf8.RuneSelf {
				return &Error{i, "invalid UTF-8"}
			}
			i += size
			visible++
		}
	}
	if len(open) > 0 {
		return &Error{len(text), fmt.Sprintf("tags %v are not closed", open)}
	}
	if visible > MaxLen {
		return &Error{len(text), fmt.Sprintf("message is %d characters long, over Telegram's %d", visible, MaxLen)}
	}
	return nil
}

// checkAttrValue applies the entity rule inside an attribute value.
func checkAttrValue(v string) string {
	for k := 0; k < len(v); k++ {
		switch v[k] {
		case '&':
			if entity.FindString(v[k:]) == "" {
				return `"&" does not start an entity; write &amp;`
			}
		case '<':
			return `unescaped "<"; write &lt;`
		}
	}
	return ""
}
