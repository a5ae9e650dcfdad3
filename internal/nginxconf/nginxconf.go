// Package nginxconf reads nginx configuration into a tree of directives with
// line numbers, so opsctl can cross-check the proxy's locations and
// upstreams against compose.yaml. Syntax itself is judged by `nginx -t`;
// this reader only needs to be exact about structure and never panic.
package nginxconf

import (
	"fmt"
	"strings"
)

// Directive is one statement: a name, its arguments, and a block for
// directives such as http, server and location.
type Directive struct {
	Name   string
	Args   []string
	Line   int
	Block  []*Directive // nil when the directive has no block
	Parent *Directive   // the directive whose block holds this one; nil at the top
}

// Arg returns the i-th argument, or "" when there are fewer: a directive
// with a wrong argument count (`auth_basic;`) must not crash a reader.
func (d *Directive) Arg(i int) string {
	if d == nil || i < 0 || i >= len(d.Args) {
		return ""
	}
	return d.Args[i]
}

// SyntaxError is a structural defect at a line.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxDepth bounds block nesting; real configurations stay below 10.
const MaxDepth = 64

type token struct {
	text   string
	line   int
	quoted bool
}

func tokenize(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, token{text: string(c), line: line})
			i++
		case c == '"' || c == '\'':
			start, startLine := i+1, line
			j := start
			var b strings.Builder
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				if src[j] == '\n' {
					line++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, &SyntaxError{Line: startLine, Msg: fmt.Sprintf("quote %c is never closed", c)}
			}
			toks = append(toks, token{text: b.String(), line: startLine, quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n;{}\"'", rune(src[j])) {
				// ${var} inside a word: braces belong to the word
				if src[j] == '$' && j+1 < len(src) && src[j+1] == '{' {
					if k := strings.IndexByte(src[j:], '}'); k > 0 {
						j += k + 1
						continue
					}
				}
				j++
			}
			toks = append(toks, token{text: src[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}

// Parse reads a whole configuration file.
func Parse(src string) ([]*Directive, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	ds, err := p.block(0, nil)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, &SyntaxError{Line: p.toks[p.pos].line, Msg: "unexpected \"}\""}
	}
	return ds, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) block(depth int, parent *Directive) ([]*Directive, error) {
	if depth > MaxDepth {
		line := 0
		if p.pos < len(p.toks) {
			line = p.toks[p.pos].line
		}
		return nil, &SyntaxError{Line: line, Msg: "blocks nested too deeply"}
	}
	var out []*Directive
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if !t.quoted && t.text == "}" {
			if depth == 0 {
				return nil, &SyntaxError{Line: t.line, Msg: "unexpected \"}\""}
			}
			return out, nil
		}
		if !t.quoted && (t.text == ";" || t.text == "{") {
			return nil, &SyntaxError{Line: t.line, Msg: fmt.Sprintf("unexpected %q: a directive name is missing", t.text)}
		}
		d := &Directive{Name: t.text, Line: t.line, Parent: parent}
		p.pos++
		for {
			if p.pos >= len(p.toks) {
				return nil, &SyntaxError{Line: d.Line, Msg: fmt.Sprintf("directive %q is not terminated by \";\" or a block", d.Name)}
			}
			a := p.toks[p.pos]
			if !a.quoted && a.text == ";" {
				p.pos++
				break
			}
			if !a.quoted && a.text == "}" {
				return nil, &SyntaxError{Line: a.line, Msg: fmt.Sprintf("directive %q is not terminated by \";\"", d.Name)}
			}
			if !a.quoted && a.text == "{" {
				p.pos++
				inner, err := p.block(depth+1, d)
				if err != nil {
					return nil, err
				}
				if p.pos >= len(p.toks) {
					return nil, &SyntaxError{Line: d.Line, Msg: fmt.Sprintf("block of %q is never closed", d.Name)}
				}
				p.pos++ // the closing brace
				d.Block = inner
				if d.Block == nil {
					d.Block = []*Directive{}
				}
				break
			}
			d.Args = append(d.Args, a.text)
			p.pos++
		}
		out = append(out, d)
	}
	if depth > 0 {
		return nil, &SyntaxError{Line: lastLine(p.toks), Msg: "a block is never closed (missing \"}\")"}
	}
	return out, nil
}

func lastLine(toks []token) int {
	if len(toks) == 0 {
		return 1
	}
	return toks[len(toks)-1].line
}

// Find returns every directive named name at any depth, in order.
func Find(ds []*Directive, name string) []*Directive {
	var out []*Directive
	var walk func([]*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			if d.Name == name {
				out = append(out, d)
			}
			walk(d.Block)
		}
	}
	walk(ds)
	return out
}

// Child returns the first direct child directive named name, or nil.
func (d *Directive) Child(name string) *Directive {
	for _, c := range d.Block {
		if c.Name == name {
			return c
		}
	}
	return nil
}
