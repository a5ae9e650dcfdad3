package alloy

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"testing"
)

var positionFormat = regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`)

// FuzzParse feeds arbitrary bytes to Parse and Check. Neither may panic or
// hang; every error and finding must carry a position inside the input.
func FuzzParse(f *testing.F) {
	pipeline, err := os.ReadFile("testdata/pipeline.alloy")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pipeline)
	f.Add([]byte(baseConfig))
	f.Add([]byte(moduleConfig))
	f.Add([]byte(telemetryConfig))
	if shipped, err := os.ReadFile("../../alloy/config.alloy"); err == nil {
		f.Add(shipped)
	}
	for _, d := range defects {
		f.Add([]byte(d.source(f)))
	}
	for _, c := range parseErrors {
		f.Add([]byte(c.src))
	}

	f.Fuzz(func(t *testing.T, src []byte) {
		lines := bytes.Count(src, []byte("\n")) + 1
		file, err := Parse(src)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if !se.Pos.Valid() || se.Pos.Line > lines {
				t.Fatalf("error %q has position %s outside the %d-line input", se.Msg, se.Pos, lines)
			}
			if se.Msg == "" {
				t.Fatal("error without message")
			}
			if file != nil {
				t.Fatal("file returned together with an error")
			}
		} else if file == nil {
			t.Fatal("nil file without error")
		}

		findings, urls := Check("fuzz.alloy", src)
		if err != nil && len(findings) != 1 {
			t.Fatalf("syntax error %v gave %d findings, want 1", err, len(findings))
		}
		for _, fd := range findings {
			if !positionFormat.MatchString(fd.Position) || fd.Check != CheckName || fd.Message == "" {
				t.Fatalf("malformed finding %+v", fd)
			}
		}
		for _, u := range urls {
			if !u.Pos.Valid() || u.Pos.Line > lines {
				t.Fatalf("URL %+v has position outside the input", u)
			}
			_ = u.Host()
		}

		problems, ferr := FormatProblems(src)
		if (ferr != nil) != (err != nil) {
			t.Fatalf("FormatProblems error %v, Parse error %v", ferr, err)
		}
		for _, p := range problems {
			if p.Line < 1 || p.Line > lines || p.Msg == "" {
				t.Fatalf("format problem %+v outside the %d-line input", p, lines)
			}
		}
	})
}
