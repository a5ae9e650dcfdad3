package alloy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules below are those of Alloy's own formatter, `alloy fmt`
// (grafana/alloy internal/alloycli/cmd_fmt.go runs syntax/printer and adds
// a final newline; `alloy fmt --test` fails on any difference):
//
//   - syntax/printer/printer.go writes the output through a
//     text/tabwriter with TabIndent and padding 1, and writeIndent emits
//     one '\t' per level: indentation is tabs, never spaces.
//   - syntax/printer/walker.go walkAttributeStmt writes `name \v= value`,
//     and the tabwriter aligns the cells of a run of lines: the `=` of
//     consecutive attributes stands one column after the longest name. A
//     run ends at a blank line, a block, or after a statement that spans
//     lines (walkStmts writes a formfeed there); the first line of a
//     multi-line attribute still belongs to the run before it. Object
//     fields align the same way (walkObjectExpr), a field after a
//     multi-line value starting a new run.
//   - walkStmts separates two statements by a blank line when the source
//     has one (never more: newlineLimit) and always puts one before a
//     block; walkBlockStmt writes `name "label" {`, a formfeed, the body
//     one level deeper and `}`, or `name "label" { }` when the body is
//     empty.
//   - the trimmer drops trailing whitespace; cmd_fmt ends the file with one
//     newline.
//
// FormatProblems checks those rules; it does not reprint the file, so
// comments are only checked for tabs and trailing whitespace, and the
// spacing inside one-line lists, objects and calls is not checked.

// FormatProblem is one place where a file differs from what `alloy fmt`
// writes.
type FormatProblem struct {
	Line int
	Msg  string
}

func (p FormatProblem) String() string { return fmt.Sprintf("%d: %s", p.Line, p.Msg) }

// FormatProblems parses src and reports every line `alloy fmt` would
// change under the rules above, in line order. A syntax error is returned
// as err: a file that does not parse cannot be formatted either.
func FormatProblems(src []byte) ([]FormatProblem, error) {
	f, err := Parse(src)
	if err != nil {
		return nil, err
	}
	fc := &formatChecker{lines: strings.Split(string(src), "\n"), indent: map[int]int{}}
	fc.checkLines(src)
	fc.body(f.Body, 0)
	for line, depth := range fc.indent {
		if got := fc.leading(line); got != strings.Repeat("\t", depth) && !strings.Contains(got, " ") {
			fc.report(line, "indent with %d tab%s, as alloy fmt does (found %d)", depth, plural(depth), len(got))
		}
	}
	sort.SliceStable(fc.found, func(i, j int) bool { return fc.found[i].Line < fc.found[j].Line })
	return fc.found, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type formatChecker struct {
	lines  []string
	indent map[int]int // line -> the tab depth alloy fmt gives the token that starts it
	found  []FormatProblem
	seen   map[string]bool
}

func (fc *formatChecker) report(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := strconv.Itoa(line) + msg
	if fc.seen == nil {
		fc.seen = map[string]bool{}
	}
	if fc.seen[key] {
		return
	}
	fc.seen[key] = true
	fc.found = append(fc.found, FormatProblem{Line: line, Msg: msg})
}

// line returns source line n (1-based), "" past the end.
func (fc *formatChecker) line(n int) string {
	if n < 1 || n > len(fc.lines) {
		return ""
	}
	return fc.lines[n-1]
}

func (fc *formatChecker) leading(n int) string {
	l := fc.line(n)
	return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

func (fc *formatChecker) blank(n int) bool { return strings.TrimSpace(fc.line(n)) == "" }

// checkLines applies the rules that need no syntax tree: tabs for
// indentation, no trailing whitespace, at most one blank line in a row,
// none at the start, and one final newline.
func (fc *formatChecker) checkLines(src []byte) {
	inRaw := rawStringLines(src)
	last := len(fc.lines)
	if strings.HasSuffix(string(src), "\n") {
		last-- // the empty string after the final newline
	} else if len(src) > 0 {
		fc.report(len(fc.lines), "end the file with a newline")
	}
	for n := 1; n <= last; n++ {
		if inRaw[n] {
			continue // the inside of a multi-line raw string is its value
		}
		l := fc.line(n)
		if strings.Contains(fc.leading(n), " ") {
			fc.report(n, "indent with tabs, not spaces (alloy fmt indents with one tab per level)")
		}
		if l != strings.TrimRight(l, " \t\r") {
			fc.report(n, "remove the trailing whitespace")
		}
		if fc.blank(n) {
			switch {
			case n == 1:
				fc.report(n, "remove the blank line at the start of the file")
			case n == last:
				fc.report(n, "remove the blank line at the end of the file")
			case fc.blank(n - 1):
				fc.report(n, "remove the second blank line: alloy fmt keeps at most one")
			}
		}
	}
}

// rawStringLines marks the lines after the first of each backtick string
// that spans lines: their text is the string's value, not layout.
func rawStringLines(src []byte) map[int]bool {
	out := map[int]bool{}
	line, inRaw, inStr, inLineComment, inBlockComment := 1, false, false, false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inLineComment:
			if c == '\n' {
				inLineComment = false
			}
		case inBlockComment:
			if c == '*' && i+1 < len(src) && src[i+1] == '/' {
				inBlockComment = false
				i++
			}
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' || c == '\n' {
				inStr = false
			}
		case inRaw:
			if c == '`' {
				inRaw = false
			}
		case c == '`':
			inRaw = true
		case c == '"':
			inStr = true
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			inLineComment = true
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			inBlockComment = true
		}
		if c == '\n' {
			line++
			if inRaw {
				out[line] = true
			}
		}
	}
	return out
}

// body checks the statements of a file or block at tab depth depth.
func (fc *formatChecker) body(body Body, depth int) {
	var run []alignCell
	flush := func() {
		fc.align(run)
		run = nil
	}
	for i, stmt := range body {
		start := stmt.Position().Line
		fc.indent[start] = depth
		if i > 0 {
			prevEnd := stmtEndLine(body[i-1])
			_, isBlock := stmt.(*Block)
			gap := start - prevEnd - 1
			if isBlock && gap == 0 {
				fc.report(start, "put a blank line before the block, as alloy fmt does between a statement and a block")
			}
			if isBlock || gap > 0 || prevEnd > body[i-1].Position().Line {
				flush()
			}
			if _, prevBlock := body[i-1].(*Block); prevBlock {
				flush()
			}
		}
		switch s := stmt.(type) {
		case *Attribute:
			run = append(run, alignCell{line: start, col: s.NamePos.Col, name: s.Name})
			fc.expr(s.Value, depth)
		case *Block:
			fc.block(s, depth)
		}
	}
	flush()
}

func (fc *formatChecker) block(b *Block, depth int) {
	want := b.FullName()
	if b.HasLabel {
		want += " " + strconv.Quote(b.Label)
	}
	want += " {"
	l := fc.line(b.NamePos.Line)
	if b.LBrace.Line == b.NamePos.Line && b.NamePos.Col >= 1 && b.NamePos.Col <= b.LBrace.Col && b.LBrace.Col <= len(l) {
		if got := l[b.NamePos.Col-1 : b.LBrace.Col]; got != want {
			fc.report(b.NamePos.Line, "write the block header as %s", want)
		}
	} else {
		fc.report(b.NamePos.Line, "write the block header on one line: %s", want)
	}
	if len(b.Body) == 0 {
		if lb := fc.line(b.LBrace.Line); b.RBrace.Line == b.LBrace.Line && b.LBrace.Col >= 1 && b.LBrace.Col <= len(lb) {
			if rest := lb[b.LBrace.Col-1:]; !strings.HasPrefix(rest, "{ }") {
				fc.report(b.NamePos.Line, "write an empty block as %s }", want)
			}
		} else {
			fc.report(b.NamePos.Line, "write an empty block on one line: %s }", want)
		}
		return
	}
	first, last := b.Body[0], b.Body[len(b.Body)-1]
	if first.Position().Line == b.LBrace.Line {
		fc.report(b.LBrace.Line, "start the body of %s on the line after {", b.ID())
	} else if fc.blank(b.LBrace.Line + 1) {
		fc.report(b.LBrace.Line+1, "remove the blank line after {: alloy fmt starts the body on the next line")
	}
	end := stmtEndLine(last)
	if b.RBrace.Line == end {
		fc.report(b.RBrace.Line, "put the } of %s on a line of its own", b.ID())
	} else {
		fc.indent[b.RBrace.Line] = depth
		if fc.blank(b.RBrace.Line - 1) {
			fc.report(b.RBrace.Line-1, "remove the blank line before }: alloy fmt closes the block on the next line")
		}
	}
	fc.body(b.Body, depth+1)
}

// expr checks the lines an expression spans; depth is the tab depth of the
// line it starts on.
func (fc *formatChecker) expr(e Expr, depth int) {
	switch n := e.(type) {
	case *Array:
		prev := n.LBrack.Line
		for _, el := range n.Elems {
			if el.Position().Line != prev {
				fc.indent[el.Position().Line] = depth + 1
			}
			fc.expr(el, depth+1)
			prev = exprEndLine(el)
		}
		if n.RBrack.Line != prev {
			fc.indent[n.RBrack.Line] = depth
		}
	case *Object:
		var run []alignCell
		prev := n.LBrace.Line
		for i, f := range n.Fields {
			if f.NamePos.Line != prev {
				fc.indent[f.NamePos.Line] = depth + 1
				if i > 0 && exprEndLine(n.Fields[i-1].Value) > n.Fields[i-1].NamePos.Line {
					fc.align(run)
					run = nil
				}
				name := f.Name
				if f.Quoted {
					name = strconv.Quote(f.Name)
				}
				run = append(run, alignCell{line: f.NamePos.Line, col: f.NamePos.Col, name: name})
			}
			fc.expr(f.Value, depth+1)
			prev = exprEndLine(f.Value)
		}
		fc.align(run)
		if n.RBrace.Line != prev {
			fc.indent[n.RBrace.Line] = depth
		}
	case *Call:
		fc.expr(n.Fn, depth)
		prev := n.LParen.Line
		for _, a := range n.Args {
			if a.Position().Line != prev {
				fc.indent[a.Position().Line] = depth + 1
			}
			fc.expr(a, depth+1)
			prev = exprEndLine(a)
		}
		if n.RParen.Line != prev {
			fc.indent[n.RParen.Line] = depth
		}
	case *Access:
		fc.expr(n.X, depth)
	case *Index:
		fc.expr(n.X, depth)
		fc.expr(n.Index, depth)
	case *Unary:
		fc.expr(n.X, depth)
	case *Binary:
		fc.expr(n.X, depth)
		fc.expr(n.Y, depth)
	case *Paren:
		fc.expr(n.X, depth)
	}
}

// alignCell is the name of an attribute or field that starts a line.
type alignCell struct {
	line, col int
	name      string
}

// align checks one run: every `=` one column after the longest name (the
// tabwriter's padding of 1), and one space after it.
func (fc *formatChecker) align(run []alignCell) {
	width := 0
	for _, c := range run {
		width = max(width, utf8.RuneCountInString(c.name))
	}
	for _, c := range run {
		l := fc.line(c.line)
		start := c.col - 1 + len(c.name)
		if start > len(l) {
			continue
		}
		rest := l[start:]
		spaces := len(rest) - len(strings.TrimLeft(rest, " \t"))
		want := width - utf8.RuneCountInString(c.name) + 1
		if !strings.HasPrefix(rest[spaces:], "=") {
			continue // the name is quoted differently or the = is on another line
		}
		if spaces != want || strings.Contains(rest[:spaces], "\t") {
			if len(run) == 1 {
				fc.report(c.line, "write %s = with one space before =", c.name)
			} else {
				fc.report(c.line, "align = with the other %d lines of this run: %d space%s after %s, as alloy fmt pads to the longest name", len(run)-1, want, plural(want), c.name)
			}
		}
		after := rest[spaces+1:]
		if after != "" && (!strings.HasPrefix(after, " ") || strings.HasPrefix(after, "  ") || strings.HasPrefix(after, " \t")) {
			fc.report(c.line, "write one space after the = of %s", c.name)
		}
	}
}

// stmtEndLine is the last line of a statement.
func stmtEndLine(s Stmt) int {
	switch n := s.(type) {
	case *Attribute:
		return exprEndLine(n.Value)
	case *Block:
		return n.RBrace.Line
	}
	return s.Position().Line
}

// exprEndLine is the last line of an expression.
func exprEndLine(e Expr) int {
	switch n := e.(type) {
	case *Literal:
		return n.Pos.Line + strings.Count(n.Raw, "\n")
	case *Ident:
		return n.Pos.Line
	case *Access:
		return n.NamePos.Line
	case *Index:
		return n.RBrack.Line
	case *Call:
		return n.RParen.Line
	case *Unary:
		return exprEndLine(n.X)
	case *Binary:
		return exprEndLine(n.Y)
	case *Paren:
		return n.RParen.Line
	case *Array:
		return n.RBrack.Line
	case *Object:
		return n.RBrace.Line
	}
	return e.Position().Line
}
