package alloy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const byteOrderMark = 0xFEFF

// lexer turns Alloy source into tokens. It stops at the first lexical error:
// a config checker gains little from guessing past a broken string or an
// illegal character, and stopping keeps every error position trustworthy.
type lexer struct {
	src  []byte
	off  int // offset of the next unread byte
	line int // position of src[off]
	col  int

	// insertTerm is set after a token that can end a statement; the next
	// line break (or end of file) then becomes a tokTerminator.
	insertTerm bool
	err        *Error
}

func newLexer(src []byte) *lexer {
	l := &lexer{src: src, line: 1, col: 1}
	if r, size := utf8.DecodeRune(src); r == byteOrderMark {
		l.off = size // a leading BOM is an encoding marker, not content
	}
	return l
}

func (l *lexer) pos() Pos { return Pos{Line: l.line, Col: l.col} }

// peek returns the rune at off and its width; width 0 means end of input.
func (l *lexer) peek() (rune, int) {
	if l.off >= len(l.src) {
		return -1, 0
	}
	if c := l.src[l.off]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(l.src[l.off:])
}

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

// advance consumes one rune of the given width, keeping line and column.
func (l *lexer) advance(r rune, width int) {
	l.off += width
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col += width
	}
}

func (l *lexer) fail(at Pos, hint, format string, args ...any) token {
	if l.err == nil {
		l.err = &Error{Pos: at, Msg: fmt.Sprintf(format, args...), Hint: hint}
	}
	l.off = len(l.src) // nothing after an error is trusted
	return token{kind: tokEOF, pos: at}
}

// next returns the next token. After an error it returns tokEOF forever and
// l.err holds the error.
func (l *lexer) next() token {
	if l.err != nil {
		return token{kind: tokEOF, pos: l.err.Pos}
	}
	for {
		r, w := l.peek()
		switch {
		case r == ' ' || r == '\t' || r == '\r':
			l.advance(r, w)
			continue
		case r == '\n':
			if l.insertTerm {
				at := l.pos()
				l.advance(r, w)
				l.insertTerm = false
				return token{kind: tokTerminator, pos: at, text: "\n"}
			}
			l.advance(r, w)
			continue
		case r == '/' && (l.peekByte(1) == '/' || l.peekByte(1) == '*'):
			at := l.pos()
			spansLine, ok := l.skipComment()
			if l.err != nil {
				return token{kind: tokEOF, pos: l.err.Pos}
			}
			if !ok {
				return l.fail(at, "close the comment with */", "block comment not terminated")
			}
			// A block comment that contains a line break ends the statement
			// just as the line break would have.
			if spansLine && l.insertTerm {
				l.insertTerm = false
				return token{kind: tokTerminator, pos: at, text: "\n"}
			}
			continue
		}
		break
	}

	start := l.pos()
	startOff := l.off
	r, w := l.peek()
	if w == 0 {
		if l.insertTerm {
			// The implied terminator at end of file has no text, so that
			// messages say "end of file" rather than "line break".
			l.insertTerm = false
			return token{kind: tokTerminator, pos: start}
		}
		return token{kind: tokEOF, pos: start}
	}
	if r == utf8.RuneError && w == 1 {
		return l.fail(start, "save the file as UTF-8", "illegal UTF-8 encoding")
	}

	switch {
	case isLetter(r):
		for isLetter(r) || isDigit(r) {
			l.advance(r, w)
			r, w = l.peek()
		}
		text := string(l.src[startOff:l.off])
		kind := tokIdent
		switch text {
		case "true", "false":
			kind = tokBool
		case "null":
			kind = tokNull
		}
		l.insertTerm = true
		return token{kind: kind, pos: start, text: text}

	case isDecimal(r) || (r == '.' && isDecimal(rune(l.peekByte(1)))):
		return l.number(start, startOff)
	}

	l.advance(r, w)
	simple := func(k tokenKind, term bool) token {
		l.insertTerm = term
		return token{kind: k, pos: start, text: string(l.src[startOff:l.off])}
	}
	// pair lexes a one- or two-character operator: single, or double when
	// the next byte is second.
	pair := func(single, double tokenKind, second byte) token {
		if l.peekByte(0) == second {
			l.advance(rune(second), 1)
			return simple(double, false)
		}
		return simple(single, false)
	}
	switch r {
	case '"':
		return l.quoted(start, startOff)
	case '`':
		return l.raw(start, startOff)
	case '\'':
		return l.fail(start, `write strings in double quotes "..." or backticks`, "illegal single-quoted string; use double quotes")
	case '|':
		if l.peekByte(0) != '|' {
			return l.fail(start, "use || for logical or", "missing second | in ||")
		}
		return pair(tokOr, tokOr, '|')
	case '&':
		if l.peekByte(0) != '&' {
			return l.fail(start, "use && for logical and", "missing second & in &&")
		}
		return pair(tokAnd, tokAnd, '&')
	case '!':
		return pair(tokNot, tokNeq, '=')
	case '=':
		return pair(tokAssign, tokEq, '=')
	case '<':
		return pair(tokLt, tokLte, '=')
	case '>':
		return pair(tokGt, tokGte, '=')
	case '+':
		return simple(tokAdd, false)
	case '-':
		return simple(tokSub, false)
	case '*':
		return simple(tokMul, false)
	case '/':
		return simple(tokDiv, false)
	case '%':
		return simple(tokMod, false)
	case '^':
		return simple(tokPow, false)
	case '{':
		return simple(tokLBrace, false)
	case '}':
		return simple(tokRBrace, true)
	case '(':
		return simple(tokLParen, false)
	case ')':
		return simple(tokRParen, true)
	case '[':
		return simple(tokLBrack, false)
	case ']':
		return simple(tokRBrack, true)
	case ',':
		return simple(tokComma, false)
	case '.':
		return simple(tokDot, false)
	}
	if r == 0 {
		return l.fail(start, "remove the NUL byte", "illegal character NUL")
	}
	if r == byteOrderMark {
		return l.fail(start, "remove the byte order mark", "illegal byte order mark")
	}
	return l.fail(start, "remove the character", "illegal character %#U", r)
}

// illegalInside rejects bytes Alloy refuses anywhere in a file, even inside
// strings and comments: NUL and invalid UTF-8.
func (l *lexer) illegalInside(r rune, w int) *token {
	var t token
	switch {
	case r == 0:
		t = l.fail(l.pos(), "remove the NUL byte", "illegal character NUL")
	case r == utf8.RuneError && w == 1:
		t = l.fail(l.pos(), "save the file as UTF-8", "illegal UTF-8 encoding")
	default:
		return nil
	}
	return &t
}

// skipComment consumes a // or /* */ comment. It reports whether the comment
// contains a line break (only block comments can) and whether it was closed.
func (l *lexer) skipComment() (spansLine, ok bool) {
	if l.peekByte(1) == '/' {
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			r, w := l.peek()
			if l.illegalInside(r, w) != nil {
				return false, false
			}
			l.advance(r, w)
		}
		return false, true
	}
	l.advance('/', 1)
	l.advance('*', 1)
	for l.off < len(l.src) {
		if l.src[l.off] == '*' && l.peekByte(1) == '/' {
			l.advance('*', 1)
			l.advance('/', 1)
			return spansLine, true
		}
		r, w := l.peek()
		if l.illegalInside(r, w) != nil {
			return false, false
		}
		if r == '\n' {
			spansLine = true
		}
		l.advance(r, w)
	}
	return spansLine, false
}

func (l *lexer) digits() int {
	n := 0
	for l.off < len(l.src) && isDecimal(rune(l.src[l.off])) {
		l.advance(rune(l.src[l.off]), 1)
		n++
	}
	return n
}

func (l *lexer) number(start Pos, startOff int) token {
	kind := tokNumber
	if l.peekByte(0) != '.' {
		l.digits()
	}
	if l.peekByte(0) == '.' {
		kind = tokFloat
		l.advance('.', 1)
		l.digits()
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		kind = tokFloat
		l.advance(rune(c), 1)
		if c := l.peekByte(0); c == '+' || c == '-' {
			l.advance(rune(c), 1)
		}
		if l.digits() == 0 {
			return l.fail(start, "write an exponent such as 1e6", "exponent has no digits")
		}
	}
	l.insertTerm = true
	return token{kind: kind, pos: start, text: string(l.src[startOff:l.off])}
}

// quoted lexes a double-quoted string, decoding its escapes. The escape set
// is Go's (\a \b \f \n \r \t \v \\ \" octal \x \u \U), which is what Alloy
// accepts.
func (l *lexer) quoted(start Pos, startOff int) token {
	var val strings.Builder
	for {
		r, w := l.peek()
		if w == 0 || r == '\n' {
			return l.fail(start, `close the string with " on the same line, or use a backtick string for multiple lines`, "string literal not terminated")
		}
		if bad := l.illegalInside(r, w); bad != nil {
			return *bad
		}
		l.advance(r, w)
		if r == '"' {
			break
		}
		if r != '\\' {
			val.WriteRune(r)
			continue
		}
		if !l.escape(&val) {
			return token{kind: tokEOF, pos: l.err.Pos}
		}
	}
	l.insertTerm = true
	return token{kind: tokString, pos: start, text: string(l.src[startOff:l.off]), str: val.String()}
}

// escape decodes the escape sequence after a backslash into val.
func (l *lexer) escape(val *strings.Builder) bool {
	at := Pos{Line: l.line, Col: l.col - 1} // the backslash
	const hint = `write a backslash as \\; valid escapes are \n \t \" \\ \xHH \uHHHH`
	c := l.peekByte(0)
	if l.off >= len(l.src) {
		l.fail(at, hint, "escape sequence not terminated")
		return false
	}
	simple := map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '"': '"'}
	if b, ok := simple[c]; ok {
		l.advance(rune(c), 1)
		val.WriteByte(b)
		return true
	}
	var n int
	var base, max uint32
	switch {
	case c >= '0' && c <= '7':
		n, base, max = 3, 8, 255
	case c == 'x':
		l.advance('x', 1)
		n, base, max = 2, 16, 255
	case c == 'u':
		l.advance('u', 1)
		n, base, max = 4, 16, unicode.MaxRune
	case c == 'U':
		l.advance('U', 1)
		n, base, max = 8, 16, unicode.MaxRune
	default:
		l.fail(at, hint, "unknown escape sequence")
		return false
	}
	var x uint32
	for ; n > 0; n-- {
		if l.off >= len(l.src) {
			l.fail(at, hint, "escape sequence not terminated")
			return false
		}
		c := l.src[l.off]
		d := uint32(digitValue(c))
		if d >= base {
			if c < utf8.RuneSelf {
				l.fail(at, hint, "illegal character %q in escape sequence", rune(c))
			} else {
				l.fail(at, hint, "illegal character in escape sequence")
			}
			return false
		}
		x = x*base + d
		l.advance(rune(c), 1)
	}
	if x > max || (x >= 0xD800 && x < 0xE000) {
		l.fail(at, hint, "escape sequence is invalid Unicode code point")
		return false
	}
	if max == 255 {
		val.WriteByte(byte(x)) // \x and octal escapes denote bytes
	} else {
		val.WriteRune(rune(x))
	}
	return true
}

// raw lexes a backtick string: no escapes, line breaks allowed.
func (l *lexer) raw(start Pos, startOff int) token {
	contentStart := l.off
	for {
		r, w := l.peek()
		if w == 0 {
			return l.fail(start, "close the raw string with a backtick", "raw string literal not terminated")
		}
		if bad := l.illegalInside(r, w); bad != nil {
			return *bad
		}
		if r == '`' {
			content := string(l.src[contentStart:l.off])
			l.advance(r, w)
			l.insertTerm = true
			return token{kind: tokString, pos: start, text: string(l.src[startOff:l.off]), str: content}
		}
		l.advance(r, w)
	}
}

func isLetter(r rune) bool {
	return r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') ||
		(r >= utf8.RuneSelf && r != utf8.RuneError && unicode.IsLetter(r))
}

func isDecimal(r rune) bool { return '0' <= r && r <= '9' }

func isDigit(r rune) bool {
	return isDecimal(r) || (r >= utf8.RuneSelf && r != utf8.RuneError && unicode.IsDigit(r))
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return 16
}

// isIdentifier reports whether s is a valid Alloy identifier, the rule for
// block labels.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if !isLetter(r) && (i == 0 || !isDigit(r)) {
			return false
		}
	}
	return true
}
