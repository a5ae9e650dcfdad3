// Package envfile reads and writes the .env files of the stack in the subset
// of the dotenv format that Docker Compose, opsctl and people all read the
// same way: KEY=VALUE lines, comments and blank lines. Values may be quoted
// with double or single quotes; anything else is reported with its line.
package envfile

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Line is one line of an env file, kept so a file can be rewritten with its
// comments and order intact.
type Line struct {
	Number  int    // 1-based
	Raw     string // the line as read, without the newline
	Key     string // empty for comments and blank lines
	Value   string // unquoted value
	Comment string // the comment block directly above this key, without '#'
}

// File is a parsed env file.
type File struct {
	Path  string
	Lines []Line
	index map[string]int // key → position in Lines (the first, for duplicates)
}

func (f *File) lookup(key string) (int, bool) {
	if f.index == nil {
		f.index = map[string]int{}
		for i, l := range f.Lines {
			if _, seen := f.index[l.Key]; l.Key != "" && !seen {
				f.index[l.Key] = i
			}
		}
	}
	i, ok := f.index[key]
	return i, ok
}

// ParseError is a defect at a line of an env file.
type ParseError struct {
	Path string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// MaxLineLength bounds one line; a longer one is almost certainly not an
// env file (a binary, a pasted blob).
const MaxLineLength = 64 * 1024

// Parse reads env file content. It returns every defect it finds, one per
// line, rather than stopping at the first, and never panics.
func Parse(path string, data []byte) (*File, []*ParseError) {
	f := &File{Path: path}
	var errs []*ParseError
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength+1)
	var comment []string
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimSuffix(sc.Text(), "\r")
		line := Line{Number: n, Raw: raw}
		trimmed := strings.TrimSpace(raw)
		switch {
		case trimmed == "":
			comment = nil
		case strings.HasPrefix(trimmed, "#"):
			comment = append(comment, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
		default:
			key, value, err := parseAssignment(trimmed)
			if err != "" {
				errs = append(errs, &ParseError{Path: path, Line: n, Msg: err})
				comment = nil
				break
			}
			if first, dup := seen[key]; dup {
				errs = append(errs, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf("%s is set twice (first on line %d); keep one", key, first)})
			} else {
				seen[key] = n
			}
			line.Key, line.Value = key, value
			line.Comment = strings.Join(comment, "\n")
			comment = nil
		}
		f.Lines = append(f.Lines, line)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &ParseError{Path: path, Line: n + 1, Msg: fmt.Sprintf("cannot read line: %v (lines are limited to %d bytes)", err, MaxLineLength)})
	}
	return f, errs
}

func parseAssignment(s string) (key, value, problem string) {
	if i := strings.IndexFunc(s, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }); i >= 0 {
		return "", "", fmt.Sprintf("control character %q at column %d; env files hold printable text only", s[i], i+1)
	}
	s = strings.TrimPrefix(s, "export ")
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return "", "", fmt.Sprintf("%q is not KEY=VALUE", truncate(s))
	}
	key = strings.TrimSpace(s[:eq])
	if !keyPattern.MatchString(key) {
		return "", "", fmt.Sprintf("%q is not a valid variable name (letters, digits and _; not starting with a digit)", truncate(key))
	}
	rest := strings.TrimSpace(s[eq+1:])
	if rest == "" {
		return key, "", ""
	}
	switch q := rest[0]; q {
	case '"', '\'':
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return "", "", fmt.Sprintf("value of %s opens a %c quote that is never closed", key, q)
		}
		value = rest[1 : 1+end]
		after := strings.TrimSpace(rest[2+end:])
		if after != "" && !strings.HasPrefix(after, "#") {
			return "", "", fmt.Sprintf("unexpected text %q after the quoted value of %s", truncate(after), key)
		}
		if q == '"' && strings.ContainsAny(value, `\$`) {
			return "", "", fmt.Sprintf("value of %s uses \\ or $ inside double quotes, which Compose expands; use single quotes", key)
		}
		return key, value, ""
	}
	// Unquoted: an inline comment starts at " #".
	if i := strings.Index(rest, " #"); i >= 0 {
		rest = strings.TrimSpace(rest[:i])
	}
	if strings.ContainsAny(rest, "\"'`") {
		return "", "", fmt.Sprintf("value of %s contains a quote character; quote the whole value", key)
	}
	return key, rest, ""
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Get returns the value of key and whether it is set.
func (f *File) Get(key string) (string, bool) {
	if i, ok := f.lookup(key); ok {
		return f.Lines[i].Value, true
	}
	return "", false
}

// LineOf returns the line number of key, or 0.
func (f *File) LineOf(key string) int {
	if i, ok := f.lookup(key); ok {
		return f.Lines[i].Number
	}
	return 0
}

// Keys lists the keys in file order.
func (f *File) Keys() []string {
	var keys []string
	for _, l := range f.Lines {
		if l.Key != "" {
			keys = append(keys, l.Key)
		}
	}
	return keys
}

// Map returns the key/value pairs.
func (f *File) Map() map[string]string {
	m := map[string]string{}
	for _, l := range f.Lines {
		if l.Key != "" {
			m[l.Key] = l.Value
		}
	}
	return m
}

// Set changes the value of key, appending the key when it is missing. It
// refuses values this format cannot hold (a newline, or both kinds of quote
// together with characters Compose would expand).
func (f *File) Set(key, value string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("%q is not a valid variable name", key)
	}
	q, err := quote(value)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if i, ok := f.lookup(key); ok {
		f.Lines[i].Value = value
		f.Lines[i].Raw = key + "=" + q
		return nil
	}
	f.Lines = append(f.Lines, Line{Number: len(f.Lines) + 1, Raw: key + "=" + q, Key: key, Value: value})
	f.index[key] = len(f.Lines) - 1
	return nil
}

// Bytes renders the file, keeping comments and order.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range f.Lines {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func quote(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("a value cannot span lines")
	}
	if !strings.ContainsAny(v, " \t#\"'$\\`") {
		return v, nil
	}
	if !strings.Contains(v, "'") {
		return "'" + v + "'", nil
	}
	if !strings.ContainsAny(v, "\"$\\") {
		return `"` + v + `"`, nil
	}
	return "", fmt.Errorf("a value with a single quote cannot also hold \", $ or \\")
}
