package check

import "testing"

// The Terraform modules alone, without promtool: the corpus covers the
// rest through the whole check.
func TestTerraformModulesPass(t *testing.T) {
	r := &Repo{Dir: repoRoot(t)}
	r.checkTerraform()
	for _, f := range r.f {
		t.Error(f)
	}
}
