package check

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/alloy"
)

const alloyFile = "alloy/config.alloy"

func (r *Repo) checkAlloy() {
	data, ok := r.read(alloyFile)
	if !ok {
		return
	}
	findings, urls := alloy.Check(alloyFile, data)
	r.f = append(r.f, findings...)
	if !findings.HasErrors() { // on a broken file these would only repeat it
		r.checkAlloyFormat(data)
		r.checkAlloyAgeBound(data)
	}
	hasLokiWrite := false
	for _, u := range urls {
		pos := fmt.Sprint(u.Pos.Line)
		if u.DockerHost {
			parsed, err := url.Parse(u.Value)
			if err == nil && parsed.Scheme == "unix" {
				r.checkAlloySocket(pos, parsed.Path)
			}
			continue
		}
		parsed, err := url.Parse(u.Value)
		if err != nil {
			continue
		}
		r.checkEndpoint("alloy", alloyFile, pos, u.Component+" "+u.Attribute, parsed.Hostname(), parsed.Port(), true)
		if strings.HasPrefix(u.Component, "loki.write") {
			hasLokiWrite = true
			if s, ok := r.serviceByHost(parsed.Hostname()); ok && s.Name != "loki" {
				r.f.Errorf("alloy", alloyFile, pos, "point loki.write at http://loki:3100/loki/api/v1/push", "loki.write sends to %s, not loki", s.Name)
			}
			if parsed.Path != "/loki/api/v1/push" {
				r.f.Errorf("alloy", alloyFile, pos, "use the push path /loki/api/v1/push", "loki.write url path %q is not Loki's push API", parsed.Path)
			}
		}
	}
	if !hasLokiWrite {
		r.f.Errorf("alloy", alloyFile, "", "add loki.write with endpoint url http://loki:3100/loki/api/v1/push", "Alloy sends logs nowhere")
	}
}

// checkAlloySocket verifies that the Docker socket Alloy reads is mounted
// into the alloy container.
func (r *Repo) checkAlloySocket(pos, socket string) {
	s, ok := r.service("alloy")
	if !ok {
		return
	}
	for _, v := range s.Volumes {
		if v.Target == socket {
			return
		}
	}
	r.f.Errorf("alloy", alloyFile, pos, fmt.Sprintf("mount /var/run/docker.sock at %s (read-only) in the alloy service", socket), "Alloy reads the Docker socket %s, which is not mounted", socket)
}

// checkAlloyFormat warns when the file is not laid out as `alloy fmt`
// writes it: one finding at the first line it would change.
func (r *Repo) checkAlloyFormat(data []byte) {
	problems, err := alloy.FormatProblems(data)
	if err != nil || len(problems) == 0 {
		return
	}
	more := ""
	if len(problems) > 1 {
		more = fmt.Sprintf(" (and %d more lines)", len(problems)-1)
	}
	r.f.Warnf("alloy", alloyFile, fmt.Sprint(problems[0].Line), "run alloy fmt -w "+alloyFile+" (tabs for indentation, = aligned in each run of attributes)",
		"not formatted as alloy fmt formats it: %s%s", problems[0].Msg, more)
}

// checkAlloyAgeBound requires every loki.source.docker to reach loki.write
// only through a loki.process whose stage.drop has older_than, no longer
// than the age Loki still accepts. Without positions (a fresh alloy_data
// volume) loki.source.docker reads each container's log from its first
// line; Loki refuses what is older than reject_old_samples_max_age, so the
// bound keeps a restart from resending, and failing on, whole histories.
func (r *Repo) checkAlloyAgeBound(data []byte) {
	f, err := alloy.Parse(data)
	if err != nil {
		return
	}
	maxAge, maxAgeText := time.Duration(0), ""
	if cfg, ok := r.lokiLimits(); ok {
		if d, text, err := lokiRejectOldAge(cfg); err == nil {
			maxAge, maxAgeText = d, text
		}
	}
	var blocks []*alloy.Block
	for _, stmt := range f.Body {
		if b, ok := stmt.(*alloy.Block); ok && b.HasLabel {
			blocks = append(blocks, b)
		}
	}
	target := func(path []string) *alloy.Block {
		for _, b := range blocks {
			id := append(slices.Clone(b.Name), b.Label)
			if len(path) > len(id) && slices.Equal(path[:len(id)], id) {
				return b
			}
		}
		return nil
	}
	fix := `forward to a loki.process with stage.drop { older_than = "24h" } (at most Loki's reject_old_samples_max_age) that forwards to loki.write`
	for _, src := range blocks {
		if src.FullName() != "loki.source.docker" {
			continue
		}
		seen := map[*alloy.Block]bool{}
		var walk func(from *alloy.Block)
		walk = func(from *alloy.Block) {
			if seen[from] {
				return
			}
			seen[from] = true
			arr, ok := alloyAttr(from.Body, "forward_to").(*alloy.Array)
			if !ok {
				return
			}
			for _, el := range arr.Elems {
				next := target(alloy.ReferencePath(el))
				switch {
				case next == nil:
					// not a component of this file: nothing to follow
				case next.FullName() == "loki.write":
					r.f.Errorf("alloy", alloyFile, el.Position().String(), fix,
						"%s reaches %s with no bound on the age of lines: on a fresh alloy_data volume it resends every container's whole log, which Loki refuses beyond reject_old_samples_max_age",
						src.ID(), next.ID())
				case next.FullName() == "loki.process" && r.alloyDropsOld(next, maxAge, maxAgeText):
					// bounded
				default:
					walk(next)
				}
			}
		}
		walk(src)
	}
}

// alloyDropsOld reports whether a loki.process has a stage.drop with
// older_than, and refuses a bound longer than Loki accepts.
func (r *Repo) alloyDropsOld(process *alloy.Block, maxAge time.Duration, maxAgeText string) bool {
	found := false
	for _, stmt := range process.Body {
		b, ok := stmt.(*alloy.Block)
		if !ok || b.FullName() != "stage.drop" {
			continue
		}
		lit, ok := alloyAttr(b.Body, "older_than").(*alloy.Literal)
		if !ok {
			continue
		}
		found = true
		if lit.Kind != alloy.StringLit {
			continue
		}
		// Alloy decodes duration arguments with time.ParseDuration
		// (grafana/alloy syntax/internal/value/decode.go).
		d, err := time.ParseDuration(lit.Value)
		switch {
		case err != nil:
			r.f.Errorf("alloy", alloyFile, lit.Pos.String(), `write a Go duration such as "24h"`, "older_than %s: %v", lit.Raw, err)
		case maxAge > 0 && d > maxAge:
			r.f.Errorf("alloy", alloyFile, lit.Pos.String(), fmt.Sprintf("set older_than to at most %s (loki/loki.yaml limits_config.reject_old_samples_max_age)", maxAgeText),
				"older_than %s is longer than Loki's reject_old_samples_max_age %s: lines between the two ages are sent and refused", lit.Value, maxAgeText)
		}
	}
	return found
}

// alloyAttr is the value of the attribute name directly in body, or nil.
func alloyAttr(body alloy.Body, name string) alloy.Expr {
	for _, stmt := range body {
		if a, ok := stmt.(*alloy.Attribute); ok && a.Name == name {
			return a.Value
		}
	}
	return nil
}
