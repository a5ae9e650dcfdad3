// Package finding is the common currency of every offline check: a defect
// located in a file, with the fix a person should apply.
package finding

import (
	"fmt"
	"sort"
)

// Severity says whether a finding fails the check.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one defect. Position is a line ("12"), a line and column
// ("12:5") or a key path ("services.grafana.ports[0]"), whichever the
// reader of that file can give.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Position string   `json:"position,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

func (f Finding) String() string {
	loc := f.File
	if f.Position != "" {
		loc += ":" + f.Position
	}
	s := fmt.Sprintf("%s: %s [%s] %s", loc, f.Severity, f.Check, f.Message)
	if f.Fix != "" {
		s += " (fix: " + f.Fix + ")"
	}
	return s
}

// List collects findings; checks append to it.
type List []Finding

// Errorf records an error-severity finding.
func (l *List) Errorf(check, file, pos, fix, format string, args ...any) {
	*l = append(*l, Finding{Check: check, Severity: Error, File: file, Position: pos, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// Warnf records a warning-severity finding.
func (l *List) Warnf(check, file, pos, fix, format string, args ...any) {
	*l = append(*l, Finding{Check: check, Severity: Warning, File: file, Position: pos, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// HasErrors reports whether any finding fails the check.
func (l List) HasErrors() bool {
	for _, f := range l {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Sort orders findings by file, then position, then check, so output is stable.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		if l[i].Position != l[j].Position {
			return l[i].Position < l[j].Position
		}
		return l[i].Check < l[j].Check
	})
}
