// Package envfile reads and writes the .env files of the stack. Values are
// read by Docker Compose's own dotenv reader
// (github.com/compose-spec/compose-go/v2/dotenv, the version go.mod pins),
// so every value is exactly what `docker compose` sees: quotes, escapes in
// double quotes, and ${VAR} / $VAR interpolation from the lines above in
// unquoted and double-quoted values. This package adds what Compose's
// reader lacks: the line of every defect (all of them, not only the first),
// and a writer that keeps comments and order (opsctl init).
//
// The shell environment is not consulted: a value is read as a
// `docker compose` started from a clean environment reads it.
package envfile

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/sirupsen/logrus"
)

// Line is one statement of an env file (usually one line; a quoted value
// may span several), kept so a file can be rewritten with its comments and
// order intact.
type Line struct {
	Number  int    // 1-based line where the statement starts
	Raw     string // the text as read, without the final newline
	Key     string // empty for comments, blank lines and unreadable lines
	Value   string // the value Compose gives Key
	Comment string // the comment block directly above this key, without '#'
}

// File is a parsed env file.
type File struct {
	Path  string
	Lines []Line
	// Warnings are lines Compose reads, but likely not as meant: a key set
	// twice, a $ that interpolates, a name with no value.
	Warnings []*ParseError
	bom      bool
	index    map[string]int // key → position in Lines of the line Compose uses (the last)
}

func (f *File) lookup(key string) (int, bool) {
	if f == nil {
		return 0, false // a file that could not be read holds nothing
	}
	if f.index == nil {
		f.index = map[string]int{}
		for i, l := range f.Lines {
			if l.Key != "" {
				f.index[l.Key] = i
			}
		}
	}
	i, ok := f.index[key]
	return i, ok
}

// ParseError is a defect at a line of an env file, with its fix.
type ParseError struct {
	Path string
	Line int
	Msg  string
	Fix  string
}

func (e *ParseError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	return s
}

var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// MaxLineLength bounds one line; a longer one is almost certainly not an
// env file (a binary, a pasted blob).
const MaxLineLength = 64 * 1024

const fixLine = "write KEY=VALUE lines, # comments and blank lines only; quote a value with ' to take it literally"

var (
	exportPrefix = regexp.MustCompile(`^export\s+`)
	composeLine  = regexp.MustCompile(`^line (\d+): `)
	// dollar finds what Compose's template package expands in a value:
	// $NAME, ${...}; $$ is a literal $.
	dollar = regexp.MustCompile(`\$(\$|\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)`)
)

// isSpace is Compose's: a space but not a line break (dotenv/parser.go).
func isSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// Parse reads env file content. It returns every defect it finds, one per
// statement, rather than stopping at the first as Compose does, and never
// panics. Lines Compose reads but likely not as meant are in f.Warnings.
func Parse(path string, data []byte) (*File, []*ParseError) {
	f := &File{Path: path}
	var errs []*ParseError
	if b, ok := bytes.CutPrefix(data, []byte("\uFEFF")); ok {
		f.bom, data = true, b // Compose skips a UTF-8 byte order mark
	}
	text := string(data)
	lines := strings.Split(text, "\n")
	last := len(lines) - 1
	if lines[last] == "" {
		lines = lines[:last] // the file ends with a newline
	}
	values := map[string]string{} // what Compose has read so far
	seen := map[string]int{}
	var comment []string
	for i := 0; i < len(lines); i++ {
		n := i + 1
		raw := lines[i]
		if len(raw) > MaxLineLength {
			errs = append(errs, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("line is %d bytes long; lines are limited to %d", len(raw), MaxLineLength), Fix: fixLine})
			f.Lines = append(f.Lines, Line{Number: n, Raw: raw})
			comment = nil
			continue
		}
		trimmed := strings.TrimLeftFunc(raw, unicode.IsSpace)
		switch {
		case trimmed == "":
			f.Lines = append(f.Lines, Line{Number: n, Raw: raw})
			comment = nil
			continue
		case trimmed[0] == '#':
			f.Lines = append(f.Lines, Line{Number: n, Raw: raw})
			comment = append(comment, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(trimmed), "#")))
			continue
		}
		st := scan(lines, i)
		i = st.end
		line := Line{Number: n, Raw: strings.Join(lines[n-1:st.end+1], "\n")}
		fail := func(msg, fix string) {
			errs = append(errs, &ParseError{Path: path, Line: n, Msg: msg, Fix: fix})
		}
		switch {
		case st.problem != "":
			fail(st.problem, st.fix)
		default:
			// Compose reads the statement, with the values read above it to
			// interpolate from, as it does in the whole file.
			src := line.Raw
			if st.end < len(lines)-1 || strings.HasSuffix(text, "\n") {
				src += "\n"
			}
			got, err := composeRead(src, values)
			if err != nil {
				msg := err.Error()
				at := n
				if m := composeLine.FindStringSubmatch(msg); m != nil {
					if k, err := strconv.Atoi(m[1]); err == nil && k >= 1 && k <= strings.Count(line.Raw, "\n")+1 {
						at = n + k - 1
					}
					msg = strings.TrimPrefix(msg, m[0])
				}
				errs = append(errs, &ParseError{Path: path, Line: at, Msg: "Compose cannot read this line: " + msg, Fix: fixLine})
				break
			}
			if st.inherited {
				f.Warnings = append(f.Warnings, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("%s has no value: Compose takes it from the environment of the shell that runs docker compose", st.key), Fix: fmt.Sprintf("write %s=<value>", st.key)})
				break
			}
			v, ok := got[st.key]
			if len(got) != 1 || !ok {
				fail(fmt.Sprintf("is not KEY=VALUE as Compose reads it (it reads %d variables here)", len(got)), fixLine)
				break
			}
			if !keyPattern.MatchString(st.key) {
				f.Warnings = append(f.Warnings, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("%q is not a name compose.yaml can interpolate (letters, digits and _; not starting with a digit)", truncate(st.key)), Fix: "rename it, e.g. " + strings.Map(func(r rune) rune {
					if r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
						return r
					}
					return '_'
				}, st.key)})
			}
			if first, dup := seen[st.key]; dup {
				f.Warnings = append(f.Warnings, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("%s is set twice (first on line %d); Compose uses this line's value", st.key, first), Fix: "keep one"})
			} else {
				seen[st.key] = n
			}
			if st.quote != '\'' {
				written := st.value
				if st.quote == '"' {
					// \\ and \$ are escapes in double quotes: \$ is a literal $.
					written = strings.NewReplacer(`\\`, "", `\$`, "").Replace(written)
				}
				for _, m := range dollar.FindAllString(written, -1) {
					if m == "$$" {
						continue
					}
					f.Warnings = append(f.Warnings, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("the value of %s contains %s, which Compose replaces with a variable's value (here %q)", st.key, truncate(m), truncate(v)), Fix: fmt.Sprintf("if the $ is meant literally, write $$ or put the value in single quotes: %s='...'", st.key)})
					break
				}
			}
			values[st.key] = v
			line.Key, line.Value = st.key, v
			line.Comment = strings.Join(comment, "\n")
		}
		comment = nil
		f.Lines = append(f.Lines, line)
	}
	return f, errs
}

// composeRead runs Compose's reader on one statement. Compose's template
// package logs "The x variable is not set" through logrus for every unset
// $x; Parse reports that itself, with the line, so the log is held back.
func composeRead(src string, values map[string]string) (map[string]string, error) {
	if strings.Contains(src, "$") && logrus.IsLevelEnabled(logrus.WarnLevel) {
		old := logrus.GetLevel()
		logrus.SetLevel(logrus.ErrorLevel)
		defer logrus.SetLevel(old)
	}
	return dotenv.UnmarshalWithLookup(src, func(k string) (string, bool) {
		v, ok := values[k]
		return v, ok
	})
}

// statement is what scan finds of one statement: its key, where its value
// starts, and the last line it takes.
type statement struct {
	key       string
	inherited bool   // KEY alone: the value comes from the shell
	quote     byte   // the value's quote, or 0
	value     string // the value as written (between the quotes)
	end       int    // index of the last line
	problem   string // why the statement cannot be read
	fix       string
}

// scan finds the extent of the statement starting on lines[i], following
// the grammar of Compose's parser (dotenv/parser.go): `export ` is
// skipped, the key ends at '=' or ':' (a line without either names a
// variable to inherit), an unquoted value ends at the line's end and a
// quoted one at its closing quote, which may be on a later line.
func scan(lines []string, i int) statement {
	st := statement{end: i}
	s := strings.TrimLeftFunc(lines[i], unicode.IsSpace)
	if exportPrefix.MatchString(s) {
		s = strings.TrimLeftFunc(strings.TrimPrefix(s, "export"), isSpace)
	}
	if bad := strings.IndexFunc(s, func(r rune) bool { return (r < 0x20 && r != '\t' && r != '\r') || r == 0x7f }); bad >= 0 {
		st.problem = fmt.Sprintf("control character %q at column %d; env files hold printable text only", s[bad], bad+1)
		st.fix = fixLine
		return st
	}
	eq := strings.IndexAny(s, "=:")
	if eq < 0 {
		st.key, st.inherited = strings.TrimRightFunc(s, unicode.IsSpace), true
		if strings.ContainsFunc(st.key, isSpace) || !validKeyChars(st.key) {
			st.problem = fmt.Sprintf("%q is not KEY=VALUE", truncate(strings.TrimSpace(s)))
			st.fix = fixLine
		}
		return st
	}
	st.key = strings.TrimRightFunc(s[:eq], unicode.IsSpace)
	if !validKeyChars(st.key) || strings.ContainsFunc(st.key, isSpace) {
		st.problem = fmt.Sprintf("%q is not KEY=VALUE: %q is not a variable name", truncate(strings.TrimSpace(s)), truncate(st.key))
		st.fix = fixLine
		return st
	}
	rest := strings.TrimLeftFunc(s[eq+1:], isSpace)
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		st.value, _, _ = strings.Cut(rest, " #")
		return st
	}
	st.quote = rest[0]
	// Find the closing quote as Compose does: a backslash makes the next
	// character literal, in single quotes too.
	var b strings.Builder
	body := rest[1:]
	escaped := false
	for j := i; ; {
		for k := 0; k < len(body); k++ {
			c := body[k]
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == st.quote:
				st.end = j
				st.value = b.String()
				after := strings.TrimLeftFunc(body[k+1:], isSpace)
				if after != "" && after[0] != '#' {
					st.problem = fmt.Sprintf("unexpected text %q after the closing quote of %s; Compose would read it as another variable", truncate(after), st.key)
					st.fix = "one KEY=VALUE per line; start a comment with \" #\""
				}
				return st
			}
			b.WriteByte(c)
		}
		j++
		if j >= len(lines) {
			st.problem = fmt.Sprintf("value of %s opens a %c quote that is never closed", st.key, st.quote)
			st.fix = fmt.Sprintf("close the quote: %s=%c...%c", st.key, st.quote, st.quote)
			st.end = i
			return st
		}
		b.WriteByte('\n')
		body = lines[j]
	}
}

// validKeyChars is Compose's rule for a variable name: letters, digits and
// _ . - [ ] (dotenv/parser.go, locateKeyName).
func validKeyChars(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		switch {
		case r == '_' || r == '.' || r == '-' || r == '[' || r == ']':
		case unicode.IsLetter(r) || unicode.IsNumber(r) || isSpace(r):
		default:
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Get returns the value Compose gives key and whether it is set.
func (f *File) Get(key string) (string, bool) {
	if i, ok := f.lookup(key); ok {
		return f.Lines[i].Value, true
	}
	return "", false
}

// LineOf returns the line of key that Compose uses (the last), or 0.
func (f *File) LineOf(key string) int {
	if i, ok := f.lookup(key); ok {
		return f.Lines[i].Number
	}
	return 0
}

// Keys lists the keys in file order, each once.
func (f *File) Keys() []string {
	if f == nil {
		return nil
	}
	var keys []string
	seen := map[string]bool{}
	for _, l := range f.Lines {
		if l.Key != "" && !seen[l.Key] {
			seen[l.Key] = true
			keys = append(keys, l.Key)
		}
	}
	return keys
}

// Map returns the key/value pairs as Compose reads them.
func (f *File) Map() map[string]string {
	m := map[string]string{}
	if f == nil {
		return m
	}
	for _, l := range f.Lines {
		if l.Key != "" {
			m[l.Key] = l.Value
		}
	}
	return m
}

// Set changes the value of key on the line Compose uses, appending the key
// when it is missing. The value is written so that Compose reads it back
// exactly (bare, in single quotes, or in double quotes with escapes).
func (f *File) Set(key, value string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("%q is not a valid variable name", key)
	}
	q, err := Quote(value)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if i, ok := f.lookup(key); ok {
		f.Lines[i].Value = value
		f.Lines[i].Raw = key + "=" + q
		return nil
	}
	next := 1
	if n := len(f.Lines); n > 0 {
		next = f.Lines[n-1].Number + strings.Count(f.Lines[n-1].Raw, "\n") + 1
	}
	f.Lines = append(f.Lines, Line{Number: next, Raw: key + "=" + q, Key: key, Value: value})
	f.index[key] = len(f.Lines) - 1
	return nil
}

// Bytes renders the file, keeping comments and order; a file that was not
// changed comes out as it was read (with a final newline).
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	if f.bom {
		b.WriteString("\uFEFF")
	}
	for _, l := range f.Lines {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Quote writes v as an env file value that Compose reads back as exactly
// v: bare when nothing in it is special, else in single quotes (literal),
// else in double quotes with \ " $ and line breaks escaped. Each candidate
// is read back with Compose's reader before it is chosen.
func Quote(v string) (string, error) {
	var dq strings.Builder
	control := false
	for i := 0; i < len(v); i++ { // bytes, so that invalid UTF-8 stays as it is
		r := v[i]
		switch {
		case r == '\\' || r == '"' || r == '$':
			dq.WriteByte('\\')
			dq.WriteByte(r)
		case r == '\n':
			dq.WriteString(`\n`)
			control = true // one line: the escape, not a line break in quotes
		case r == '\r':
			dq.WriteString(`\r`)
			control = true
		case r < 0x20 && r != '\t' || r == 0x7f:
			// Compose reads \0 and three octal digits as that byte.
			fmt.Fprintf(&dq, `\0%03o`, r)
			control = true
		default:
			dq.WriteByte(r)
		}
	}
	candidates := []string{`"` + dq.String() + `"`}
	if !control {
		candidates = append([]string{v, "'" + v + "'"}, candidates...)
	}
	for _, c := range candidates {
		if c == v && (strings.ContainsAny(v, " \t#\"'$\\`\r\n") || v != strings.TrimFunc(v, unicode.IsSpace)) {
			continue
		}
		got, err := dotenv.UnmarshalWithLookup("K="+c+"\n", func(string) (string, bool) { return "", false })
		if err == nil && len(got) == 1 && got["K"] == v {
			return c, nil
		}
	}
	return "", fmt.Errorf("value %q cannot be written so that Compose reads it back unchanged", truncate(v))
}
