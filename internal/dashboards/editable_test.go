package dashboards

import (
	"path/filepath"
	"testing"
)

// Every shipped dashboard is read-only, as its provider (allowUiUpdates:
// false) requires; an editable one, or one without "editable" (Grafana's
// default is true), is refused, and allowUiUpdates: true accepts both.
func TestCheckEditable(t *testing.T) {
	if got := CheckEditable(filepath.Join(repoRoot(t), DefaultDir), false, "p.yaml"); len(got) != 0 {
		t.Errorf("shipped dashboards: %v", got)
	}
	for doc, bad := range map[string]bool{
		`{"uid": "a", "editable": false}`: false,
		`{"uid": "a", "editable": true}`:  true,
		`{"uid": "a"}`:                    true,
	} {
		dir := t.TempDir()
		writeFile(t, dir, "a.json", []byte(doc))
		got := CheckEditable(dir, false, "p.yaml")
		if bad != (len(got) == 1) || (bad && (got[0].Position != "editable" || got[0].Check != CheckName)) {
			t.Errorf("%s: got %v, want a finding: %v", doc, got, bad)
		}
		if got := CheckEditable(dir, true, "p.yaml"); len(got) != 0 {
			t.Errorf("%s with allowUiUpdates: %v", doc, got)
		}
	}
}
