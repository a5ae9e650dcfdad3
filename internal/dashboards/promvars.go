package dashboards

import (
	"strings"
)

// ReplaceGrafanaVariables turns a PromQL expression written for Grafana into
// one the PromQL parser accepts, by replacing every Grafana variable ($name,
// ${name}, ${name:format}, [[name]]) with a placeholder that fits where it
// stands:
//
//   - $__interval, $__rate_interval, $__range, $__auto: the duration 5m;
//     $__interval_ms, $__range_ms, $__range_s: a number;
//   - inside a string literal: the word placeholder;
//   - inside [...] or after offset: 5m; after @: 1;
//   - a label name inside {...} or by/without/on/ignoring/group_left/
//     group_right (...): placeholder_label;
//   - a function argument that PromQL types as scalar (the first of topk,
//     bottomk, quantile, histogram_quantile..., any later one, vector's): 1;
//   - anywhere else: the metric name placeholder_metric.
//
// The result is only meant for parsing: it checks syntax and types, not
// what the query returns.
func ReplaceGrafanaVariables(expr string) string {
	var b strings.Builder
	var quote byte      // delimiter of the string literal we are in, or 0
	brackets := 0       // depth of [...] outside strings
	braces := 0         // depth of {...} outside strings
	var parens []parenT // open parentheses outside strings

	for i := 0; i < len(expr); {
		c := expr[i]
		if quote != 0 {
			if name, n := variableAt(expr, i); n > 0 {
				b.WriteString(placeholder(name, ctxString))
				i += n
				continue
			}
			if c == '\\' && quote != '`' && i+1 < len(expr) {
				b.WriteString(expr[i : i+2])
				i += 2
				continue
			}
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
			i++
			continue
		}

		if name, n := variableAt(expr, i); n > 0 {
			ctx := ctxVector
			next := nextNonSpace(expr, i+n)
			prev := lastWord(b.String())
			switch {
			case brackets > 0 || prev == "offset":
				ctx = ctxDuration
			case strings.HasSuffix(strings.TrimRight(b.String(), " \t\n"), "@"):
				ctx = ctxScalar
			case braces > 0:
				ctx = ctxLabel
			case len(parens) > 0 && parens[len(parens)-1].grouping:
				ctx = ctxLabel
			case next == '{' || next == '[':
				ctx = ctxVector
			case len(parens) > 0 && parens[len(parens)-1].scalarArg():
				ctx = ctxScalar
			}
			b.WriteString(placeholder(name, ctx))
			i += n
			continue
		}

		switch c {
		case '"', '\'', '`':
			quote = c
		case '#': // comment to the end of the line
			end := strings.IndexByte(expr[i:], '\n')
			if end < 0 {
				end = len(expr) - i
			}
			b.WriteString(expr[i : i+end])
			i += end
			continue
		case '[':
			brackets++
		case ']':
			brackets--
		case '{':
			braces++
		case '}':
			braces--
		case '(':
			word := lastWord(b.String())
			parens = append(parens, parenT{fn: word, grouping: groupingKeywords[word]})
		case ')':
			if len(parens) > 0 {
				parens = parens[:len(parens)-1]
			}
		case ',':
			if len(parens) > 0 {
				parens[len(parens)-1].arg++
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

type varContext int

const (
	ctxVector varContext = iota
	ctxString
	ctxDuration
	ctxScalar
	ctxLabel
)

type parenT struct {
	fn       string // identifier right before "(", if any
	grouping bool   // the parenthesis lists label names
	arg      int    // index of the current argument
}

// scalarArg says whether the current argument is typed scalar by PromQL.
func (p parenT) scalarArg() bool {
	if p.fn == "" || p.grouping {
		return false
	}
	switch p.fn {
	case "vector":
		return true
	case "topk", "bottomk", "limitk", "limit_ratio", "quantile", "histogram_quantile", "quantile_over_time":
		return p.arg == 0 // (parameter, vector)
	case "count_values":
		return false // (label string, vector)
	case "histogram_fraction":
		return p.arg < 2 // (lower, upper, vector)
	}
	// Other functions take a vector first; their further arguments are
	// scalars (clamp, round, predict_linear...) or strings.
	return p.arg > 0
}

var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// Grafana's built-in time variables, by what they expand to.
var builtinVariables = map[string]string{
	"__interval":         "5m",
	"__rate_interval":    "5m",
	"__range":            "5m",
	"__auto":             "5m",
	"__interval_ms":      "300000",
	"__rate_interval_ms": "300000",
	"__range_ms":         "300000",
	"__range_s":          "300",
}

func placeholder(name string, ctx varContext) string {
	if v, ok := builtinVariables[name]; ok {
		return v
	}
	switch ctx {
	case ctxString:
		return "placeholder"
	case ctxDuration:
		return "5m"
	case ctxScalar:
		return "1"
	case ctxLabel:
		return "placeholder_label"
	default:
		return "placeholder_metric"
	}
}

// variableAt recognises a Grafana variable starting at s[i] and returns its
// name and length in s, or a length of 0.
func variableAt(s string, i int) (string, int) {
	switch {
	case strings.HasPrefix(s[i:], "${"):
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", 0
		}
		name := s[i+2 : i+end]
		if k := strings.IndexAny(name, ":."); k >= 0 {
			name = name[:k] // ${var:format}, ${var.field}
		}
		if !isIdent(name) {
			return "", 0
		}
		return name, end + 1
	case strings.HasPrefix(s[i:], "[["):
		end := strings.Index(s[i:], "]]")
		if end < 0 {
			return "", 0
		}
		name := s[i+2 : i+end]
		if k := strings.IndexByte(name, ':'); k >= 0 {
			name = name[:k]
		}
		if !isIdent(name) {
			return "", 0
		}
		return name, end + 2
	case s[i] == '$':
		j := i + 1
		for j < len(s) && isIdentByte(s[j], j == i+1) {
			j++
		}
		if j == i+1 {
			return "", 0 // a lone $, e.g. the end anchor of a regex
		}
		return s[i+1 : j], j - i
	}
	return "", 0
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// lastWord is the identifier that ends s, ignoring trailing spaces.
func lastWord(s string) string {
	s = strings.TrimRight(s, " \t\n")
	j := len(s)
	for j > 0 && isIdentByte(s[j-1], false) {
		j--
	}
	return s[j:]
}

func nextNonSpace(s string, i int) byte {
	for ; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' && s[i] != '\n' {
			return s[i]
		}
	}
	return 0
}
