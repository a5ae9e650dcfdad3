// Package yamlpos finds the line of a key path in a YAML document, so a
// finding about "services.grafana.ports[0]" can name the line a person edits.
package yamlpos

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is a parsed YAML document.
type Doc struct{ root *yaml.Node }

// Parse parses data; a document that does not parse yields a Doc whose
// lookups all return 0.
func Parse(data []byte) *Doc {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil || len(n.Content) == 0 {
		return &Doc{}
	}
	return &Doc{root: n.Content[0]}
}

// Root is the document's top node (nil for a document that did not
// parse), for a reader that needs more than lines (comments, say).
func (d *Doc) Root() *yaml.Node { return d.root }

var segment = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// Line returns the line of the deepest node of path that exists (so a
// missing key points at its parent), or 0.
func (d *Doc) Line(path string) int {
	if d.root == nil {
		return 0
	}
	n, line := d.root, d.root.Line
	for _, m := range segment.FindAllStringSubmatch(path, -1) {
		var next *yaml.Node
		switch {
		case m[2] != "":
			i, _ := strconv.Atoi(m[2])
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				next = n.Content[i]
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == m[1] {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
		if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
			line = n.Line
		} else if m[2] != "" {
			line = n.Line
		}
	}
	return line
}

// LineString is Line formatted for a finding, "" when unknown.
func (d *Doc) LineString(path string) string {
	if l := d.Line(path); l > 0 {
		return strconv.Itoa(l)
	}
	return ""
}

// FindText returns the first line containing s, or 0: a fallback for
// messages that name a value rather than a path.
func FindText(data []byte, s string) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}
