package alloy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sexpr renders an expression with explicit structure and the position of
// every node, so a test pins down both precedence and positions.
func sexpr(e Expr) string {
	at := "@" + e.Position().String()
	switch n := e.(type) {
	case *Literal:
		return n.Raw + at
	case *Ident:
		return n.Name + at
	case *Access:
		return fmt.Sprintf("(. %s %s@%s)", sexpr(n.X), n.Name, n.NamePos)
	case *Index:
		return fmt.Sprintf("([] %s %s)", sexpr(n.X), sexpr(n.Index))
	case *Call:
		args := make([]string, len(n.Args))
		for i, a := range n.Args {
			args[i] = sexpr(a)
		}
		return fmt.Sprintf("(call %s [%s])", sexpr(n.Fn), strings.Join(args, " "))
	case *Unary:
		return fmt.Sprintf("(%s%s %s)", n.Op, at, sexpr(n.X))
	case *Binary:
		return fmt.Sprintf("(%s@%s %s %s)", n.Op, n.OpPos, sexpr(n.X), sexpr(n.Y))
	case *Paren:
		return fmt.Sprintf("(paren%s %s)", at, sexpr(n.X))
	case *Array:
		el := make([]string, len(n.Elems))
		for i, a := range n.Elems {
			el[i] = sexpr(a)
		}
		return fmt.Sprintf("[%s]%s", strings.Join(el, " "), at)
	case *Object:
		fs := make([]string, len(n.Fields))
		for i, f := range n.Fields {
			fs[i] = fmt.Sprintf("%s@%s=%s", f.Name, f.NamePos, sexpr(f.Value))
		}
		return fmt.Sprintf("{%s}%s", strings.Join(fs, " "), at)
	}
	return "?"
}

// parseValue parses `x = <src>` and returns the expression.
func parseValue(t *testing.T, src string) Expr {
	t.Helper()
	f, err := Parse([]byte("x = " + src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return f.Body[0].(*Attribute).Value
}

func TestParseExpressions(t *testing.T) {
	cases := []struct{ src, want string }{
		{`1 + 2 * 3`, `(+@1:7 1@1:5 (*@1:11 2@1:9 3@1:13))`},
		{`1 - 2 - 3`, `(-@1:11 (-@1:7 1@1:5 2@1:9) 3@1:13)`},
		{`2 ^ 3 ^ 2`, `(^@1:7 2@1:5 (^@1:11 3@1:9 2@1:13))`},
		{`-2 ^ 2`, `(^@1:8 (-@1:5 2@1:6) 2@1:10)`},
		{`a || b && !c`, `(||@1:7 a@1:5 (&&@1:12 b@1:10 (!@1:15 c@1:16)))`},
		{`1 < 2 == true`, `(==@1:11 (<@1:7 1@1:5 2@1:9) true@1:14)`},
		{`(1 + 2) % 3`, `(%@1:13 (paren@1:5 (+@1:8 1@1:6 2@1:10)) 3@1:15)`},
		{`5 / 2.5e1 >= .5`, `(>=@1:15 (/@1:7 5@1:5 2.5e1@1:9) .5@1:18)`},
		{`loki.write.default.receiver`, `(. (. (. loki@1:5 write@1:10) default@1:16) receiver@1:24)`},
		{`a.b[0].c`, `(. ([] (. a@1:5 b@1:7) 0@1:9) c@1:12)`},
		{`sys.env("HOST")`, `(call (. sys@1:5 env@1:9) ["HOST"@1:13])`},
		{`coalesce(env("A"), "b",)`, `(call coalesce@1:5 [(call env@1:14 ["A"@1:18]) "b"@1:24])`},
		{`string.format("%s-%d", "a", 1)`, `(call (. string@1:5 format@1:12) ["%s-%d"@1:19 "a"@1:28 1@1:33])`},
		{`[1, [true, null], ]`, `[1@1:6 [true@1:10 null@1:16]@1:9]@1:5`},
		{`{ a = 1, "b c" = [], }`, `{a@1:7=1@1:11 b c@1:14=[]@1:22}@1:5`},
		{"[\n  1,\n  2,\n]", `[1@2:3 2@3:3]@1:5`},
		{"{\n  // comment\n  k = /* inline */ `raw\nstring`,\n}", "{k@3:3=`raw\nstring`@3:20}@1:5"},
		{`!!false`, `(!@1:5 (!@1:6 false@1:7))`},
		// Columns count bytes: "é" is two.
		{`["é", b]`, `["é"@1:6 b@1:12]@1:5`},
	}
	for _, c := range cases {
		if got := sexpr(parseValue(t, c.src)); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.src, got, c.want)
		}
	}
}

func TestParseStrings(t *testing.T) {
	cases := []struct{ src, want string }{
		{`"plain"`, "plain"},
		{`"tab\tquote\"backslash\\"`, "tab\tquote\"backslash\\"},
		{`"\a\b\f\n\r\v"`, "\a\b\f\n\r\v"},
		{`"\x41\101\u00e9\U0001F600"`, "AAé😀"},
		{"`C:\\no\\escapes`", `C:\no\escapes`},
		{`"é and 日本"`, "é and 日本"},
	}
	for _, c := range cases {
		lit, ok := parseValue(t, c.src).(*Literal)
		if !ok || lit.Kind != StringLit || lit.Value != c.want || lit.Raw != c.src {
			t.Errorf("%s: got %+v, want value %q", c.src, lit, c.want)
		}
	}
}

func TestParseBlocks(t *testing.T) {
	src := "\ufeff// leading comment\ndiscovery.relabel \"logs\" {\n  targets = []\n  rule { action = \"keep\" }\n  rule {\n  }\n}\nlogging { level = \"warn\" } /* trailing\n comment */\n"
	f, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Body) != 2 {
		t.Fatalf("got %d top-level statements", len(f.Body))
	}
	b := f.Body[0].(*Block)
	if b.FullName() != "discovery.relabel" || b.Label != "logs" || !b.HasLabel || b.NamePos != (Pos{2, 1}) ||
		b.LabelPos != (Pos{2, 19}) || b.LBrace != (Pos{2, 26}) || b.RBrace != (Pos{7, 1}) || len(b.Body) != 3 {
		t.Errorf("block = %+v", b)
	}
	rule := b.Body[1].(*Block)
	if rule.FullName() != "rule" || rule.HasLabel || rule.NamePos != (Pos{4, 3}) || len(rule.Body) != 1 {
		t.Errorf("rule = %+v", rule)
	}
	if a := rule.Body[0].(*Attribute); a.Name != "action" || a.NamePos != (Pos{4, 10}) {
		t.Errorf("attribute = %+v", a)
	}
	if l := f.Body[1].(*Block); l.FullName() != "logging" || l.NamePos != (Pos{8, 1}) {
		t.Errorf("logging = %+v", l)
	}
}

// parseErrors are sources that must fail, with the position and message of
// the error. They also seed the fuzzer.
var parseErrors = []struct{ src, pos, msg string }{
	{"x = [\n  1,\n  2\n]", "3:4", "missing ',' before line break in list"},
	{"x = {\n  a = 1\n}", "2:8", "missing ',' before line break in object"},
	{"x = f(1 2)", "1:9", "missing ',' in argument list, got number 2"},
	{"x = \"abc\ny = 1", "1:5", "string literal not terminated"},
	{"x = `abc", "1:5", "raw string literal not terminated"},
	{"x = 'abc'", "1:5", "illegal single-quoted string; use double quotes"},
	{"x = \"\\q\"", "1:6", "unknown escape sequence"},
	{"x = \"\\xZZ\"", "1:6", "illegal character 'Z' in escape sequence"},
	{"x = \"\\uD800\"", "1:6", "escape sequence is invalid Unicode code point"},
	{"x = 1e", "1:5", "exponent has no digits"},
	{"x = a | b", "1:7", "missing second | in ||"},
	{"x = a & b", "1:7", "missing second & in &&"},
	{"x = 1 # comment", "1:7", "illegal character U+0023 '#'"},
	{"x = \"a\x00\"", "1:7", "illegal character NUL"},
	{"// comment \xff\nx = 1", "1:12", "illegal UTF-8 encoding"},
	{"x = `\x00`", "1:6", "illegal character NUL"},
	{"x = \xff", "1:5", "illegal UTF-8 encoding"},
	{"a {\n}\n/* never closed", "3:1", "block comment not terminated"},
	{"x = ", "1:5", "expected expression, got end of file"},
	{"x = )", "1:5", `expected expression, got ")"`},
	{"a.b = 1", "1:1", `attribute name "a.b" may not contain "."`},
	{"a \"l\" = 1", "1:3", "attribute names may not have labels"},
	{"loki.write \"a-b\" {}", "1:12", `block label "a-b" is not a valid identifier`},
	{"loki.write `raw` {}", "1:12", "expected block label to be a double-quoted string, got `raw`"},
	{"loki.write \"a\"\n{}", "1:15", `expected "{" after block name loki.write, got line break`},
	{"logging", "1:8", `expected "=" or "{" after logging, got end of file`},
	{"logging\n", "1:8", `expected "=" or "{" after logging, got line break`},
	{"loki. \"x\" {}", "1:7", `expected identifier after "." in block name, got string "x"`},
	{"x = 1 y = 2", "1:7", "expected line break after attribute x, got identifier y"},
	{"a {} b {}", "1:6", "expected line break after block a, got identifier b"},
	{"x = loki.write \"a\" {}", "1:16", "cannot assign a block to attribute x"},
	// Like Alloy, ".1" lexes as a number, so the access never starts.
	{"x = a.1", "1:6", "expected line break after attribute x, got number .1"},
	{"x = a.\n", "2:1", `expected identifier after ".", got end of file`}, // no terminator after "."
	{"x = a[1", "1:8", `expected "]", got end of file`},
	{"a {\n  b {\n    c = 1\n  }\n", "5:1", `block a opened at 1:3 is not closed: got end of file`},
	{"}", "1:1", `expected attribute or block name, got "}"`},
	{"x = { 1 = 2 }", "1:7", "expected object key (identifier or string), got number 1"},
	{"x = { a 2 }", "1:9", `expected "=", got number 2`},
}

func TestParseErrors(t *testing.T) {
	for _, c := range parseErrors {
		f, err := Parse([]byte(c.src))
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%q: want *Error, got %v", c.src, err)
			continue
		}
		if f != nil {
			t.Errorf("%q: file returned with an error", c.src)
		}
		if se.Pos.String() != c.pos || se.Msg != c.msg {
			t.Errorf("%q:\n got  %s: %s\n want %s: %s", c.src, se.Pos, se.Msg, c.pos, c.msg)
		}
		if se.Hint == "" {
			t.Errorf("%q: error has no hint", c.src)
		}
	}
}

func TestParseDepthIsBounded(t *testing.T) {
	cases := map[string]string{
		"lists":      "x = " + strings.Repeat("[", 100000),
		"parens":     "x = " + strings.Repeat("(", 100000) + "1",
		"unary":      "x = " + strings.Repeat("!", 100000) + "true",
		"power":      "x = 1" + strings.Repeat(" ^ 1", 100000),
		"blocks":     strings.Repeat("a {\n", 100000),
		"objects":    "x = " + strings.Repeat("{ a = ", 100000),
		"index":      "x = a" + strings.Repeat("[a", 100000),
		"call":       "x = " + strings.Repeat("f(", 100000),
		"sum chain":  "x = 1" + strings.Repeat(" + 1", 100000),
		"or chain":   "x = a" + strings.Repeat(" || a", 100000),
		"access":     "x = a" + strings.Repeat(".b", 100000),
		"index run":  "x = a" + strings.Repeat("[0]", 100000),
		"call run":   "x = f" + strings.Repeat("()", 100000),
		"mixed deep": "x = " + strings.Repeat("-[(", 70) + "1" + strings.Repeat(")]", 70),
	}
	for name, src := range cases {
		_, err := Parse([]byte(src))
		var se *Error
		if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, "nesting deeper than 200 levels") {
			t.Errorf("%s: want nesting error, got %v", name, err)
		}
	}
	// Just under the bound still parses.
	ok := "x = " + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("%d nested lists: %v", MaxDepth-1, err)
	}
}

func TestParseTerminatorRules(t *testing.T) {
	valid := []string{
		"",
		"\n\n// only comments\n/* and\nmore */\n",
		"a { b = 1 }",
		"a {\n  b = 1 // trailing comment\n  c = 2 /* block */\n  d = 3 /* multi\n  line */ e = 4\n}",
		"x = 1\r\ny = 2\r\n",
		"x = [\n  1,\n  2,\n]",
		"x = f(\n  1,\n)",
		"x = a\n  .b", // ".b" after a line break: the terminator comes first, so this must fail
	}
	for i, src := range valid {
		_, err := Parse([]byte(src))
		if wantErr := i == len(valid)-1; (err != nil) != wantErr {
			t.Errorf("%q: err = %v, want error: %v", src, err, wantErr)
		}
	}
}
