package dashboards

// A LogQL string-literal tokenizer: where the string literals of a query
// are, whether each is raw (backtick) or interpreted (double quotes), and
// where Grafana variables land. Loki's own parser is AGPL and is not
// imported; its lexer (pkg/logql/syntax/lex.go) reads strings the way Go's
// text/scanner does: "..." with Go's escapes, decoded by strconv.Unquote
// (so \d is "invalid char escape"), and `...` taken as typed, ending at
// the next backtick.

import (
	"fmt"
	"strconv"
	"strings"
)

// Literal is one string literal of a LogQL query.
type Literal struct {
	Start, End int    // byte offsets of the opening and just past the closing quote
	Raw        bool   // a backtick string
	Value      string // the decoded value
}

// LogQLLiterals lists the string literals of expr in order. It fails where
// Loki's lexer would: on a string that does not end, or a double-quoted
// string whose escapes Go's strconv.Unquote refuses.
func LogQLLiterals(expr string) ([]Literal, error) {
	var out []Literal
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '`':
			end := strings.IndexByte(expr[i+1:], '`')
			if end < 0 {
				return out, fmt.Errorf("offset %d: backtick string does not end", i)
			}
			out = append(out, Literal{Start: i, End: i + end + 2, Raw: true, Value: expr[i+1 : i+1+end]})
			i += end + 1
		case '"':
			j := i + 1
			for ; j < len(expr) && expr[j] != '"'; j++ {
				if expr[j] == '\\' {
					j++
				}
				if j < len(expr) && expr[j] == '\n' {
					return out, fmt.Errorf("offset %d: string has a newline", i)
				}
			}
			if j >= len(expr) {
				return out, fmt.Errorf("offset %d: string does not end", i)
			}
			v, err := strconv.Unquote(expr[i : j+1])
			if err != nil {
				return out, fmt.Errorf("offset %d: %s: invalid char escape (%v)", i, expr[i:j+1], err)
			}
			out = append(out, Literal{Start: i, End: j + 1, Value: v})
			i = j
		}
	}
	return out, nil
}

// Where a variable lands in a LogQL query.
type VarPlace int

const (
	OutsideString VarPlace = iota
	InQuotedString
	InRawString
)

// VarUse is one use of a Grafana variable in a query.
type VarUse struct {
	Name  string
	Place VarPlace
	At    int // byte offset
}

// LogQLVariables lists every Grafana variable of a LogQL query and where it
// stands. The query is read before Grafana interpolates it, so a literal is
// tracked by its delimiters only: a backslash escapes the next byte in a
// double-quoted string, nothing in a raw one.
func LogQLVariables(expr string) []VarUse {
	var out []VarUse
	var quote byte
	for i := 0; i < len(expr); {
		c := expr[i]
		if name, n := variableAt(expr, i); n > 0 {
			place := OutsideString
			switch quote {
			case '"':
				place = InQuotedString
			case '`':
				place = InRawString
			}
			out = append(out, VarUse{Name: name, Place: place, At: i})
			i += n
			continue
		}
		switch {
		case quote == 0 && (c == '"' || c == '`'):
			quote = c
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		}
		i++
	}
	return out
}
