package repotree

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootAndCopy(t *testing.T) {
	root, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "compose.yaml")); err != nil {
		t.Fatalf("root %s is not the repository: %v", root, err)
	}
	dst := t.TempDir()
	if err := Copy(root, dst, []string{"go.mod", "superset"}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	got, _ := os.ReadFile(filepath.Join(dst, "go.mod"))
	if string(got) != string(want) {
		t.Error("go.mod copied wrongly")
	}
	st, err := os.Stat(filepath.Join(dst, "superset", "ops-superset-init.sh"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("the init script lost its executable bit: %v %v", st, err)
	}
	if err := Copy(root, dst, []string{"no-such-file"}); err == nil {
		t.Error("a missing path must be an error")
	}
}
