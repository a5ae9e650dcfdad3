package alloy

import (
	"fmt"
	"unicode/utf8"
)

// Pos is a location in an Alloy file. Line and Col are 1-based; Col counts
// bytes, like go/token, so a column is stable whatever the editor's notion of
// character width.
type Pos struct {
	Line int
	Col  int
}

// String renders "line:col", the position format finding.Finding expects.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Valid reports whether p points into a file (the zero Pos does not).
func (p Pos) Valid() bool { return p.Line > 0 && p.Col > 0 }

// before orders positions in source order.
func (p Pos) before(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Error is a syntax error at a position. Hint, when set, says how to repair
// it; it becomes the finding's fix.
type Error struct {
	Pos  Pos
	Msg  string
	Hint string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

type tokenKind int

const (
	tokEOF tokenKind = iota
	// tokTerminator ends a statement. The lexer inserts it at a line break
	// that follows a token which can end an expression, as Go does with
	// semicolons; that is why a multi-line list needs a trailing comma.
	tokTerminator
	tokIdent
	tokString
	tokNumber
	tokFloat
	tokBool
	tokNull

	tokAssign // =
	tokOr     // ||
	tokAnd    // &&
	tokNot    // !
	tokEq     // ==
	tokNeq    // !=
	tokLt     // <
	tokLte    // <=
	tokGt     // >
	tokGte    // >=
	tokAdd    // +
	tokSub    // -
	tokMul    // *
	tokDiv    // /
	tokMod    // %
	tokPow    // ^

	tokLBrace // {
	tokRBrace // }
	tokLParen // (
	tokRParen // )
	tokLBrack // [
	tokRBrack // ]
	tokComma  // ,
	tokDot    // .
)

var tokenText = map[tokenKind]string{
	tokEOF:        "end of file",
	tokTerminator: "line break",
	tokIdent:      "identifier",
	tokString:     "string",
	tokNumber:     "number",
	tokFloat:      "number",
	tokBool:       "bool",
	tokNull:       "null",
	tokAssign:     `"="`,
	tokOr:         `"||"`,
	tokAnd:        `"&&"`,
	tokNot:        `"!"`,
	tokEq:         `"=="`,
	tokNeq:        `"!="`,
	tokLt:         `"<"`,
	tokLte:        `"<="`,
	tokGt:         `">"`,
	tokGte:        `">="`,
	tokAdd:        `"+"`,
	tokSub:        `"-"`,
	tokMul:        `"*"`,
	tokDiv:        `"/"`,
	tokMod:        `"%"`,
	tokPow:        `"^"`,
	tokLBrace:     `"{"`,
	tokRBrace:     `"}"`,
	tokLParen:     `"("`,
	tokRParen:     `")"`,
	tokLBrack:     `"["`,
	tokRBrack:     `"]"`,
	tokComma:      `","`,
	tokDot:        `"."`,
}

func (k tokenKind) String() string {
	if s, ok := tokenText[k]; ok {
		return s
	}
	return fmt.Sprintf("token(%d)", int(k))
}

// binaryPrecedence is the binding strength of a binary operator, 0 for a
// token that is not one. "^" is handled apart because it is
// right-associative.
func (k tokenKind) binaryPrecedence() int {
	switch k {
	case tokOr:
		return 1
	case tokAnd:
		return 2
	case tokEq, tokNeq, tokLt, tokLte, tokGt, tokGte:
		return 3
	case tokAdd, tokSub:
		return 4
	case tokMul, tokDiv, tokMod:
		return 5
	}
	return 0
}

// operator is the source spelling of an operator token, used in the AST.
func (k tokenKind) operator() string {
	s := tokenText[k]
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

type token struct {
	kind tokenKind
	pos  Pos
	text string // source text as written (quotes included for strings)
	str  string // decoded value of a string literal
}

// describe names a token for an error message, quoting its text where that
// helps the reader find it.
func (t token) describe() string {
	switch t.kind {
	case tokTerminator:
		if t.text == "" {
			return tokEOF.String()
		}
	case tokIdent:
		return fmt.Sprintf("identifier %s", t.text)
	case tokString, tokNumber, tokFloat, tokBool:
		return fmt.Sprintf("%s %s", t.kind, shorten(t.text, 40))
	}
	return t.kind.String()
}

// shorten cuts s to at most n bytes on a rune boundary so messages quoting
// user text stay readable.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
