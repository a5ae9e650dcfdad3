package yamlpos

import "testing"

func TestLine(t *testing.T) {
	doc := Parse([]byte("a:\n  b:\n    - x\n    - y: 1\n      z: 2\nc: 3\n"))
	cases := map[string]int{"a": 1, "a.b": 2, "a.b[0]": 3, "a.b[1].z": 5, "c": 6, "a.missing": 1, "a.b[9]": 2}
	for path, want := range cases {
		if got := doc.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	if Parse([]byte("a: [")).Line("a") != 0 {
		t.Error("a broken document must give 0")
	}
}
