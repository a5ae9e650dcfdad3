package stack

import (
	"slices"
	"testing"
)

func TestComposeArgs(t *testing.T) {
	for _, c := range []struct {
		r    Runner
		want []string
	}{
		{Runner{}, []string{"compose", "ps"}},
		{Runner{Files: []string{"mlflow/compose.yaml"}}, []string{"compose", "--env-file", ".env", "-f", "mlflow/compose.yaml", "ps"}},
		{Runner{Files: []string{"a.yaml", "b.yaml"}, Project: "p"}, []string{"compose", "-p", "p", "--env-file", ".env", "-f", "a.yaml", "-f", "b.yaml", "ps"}},
	} {
		if got := c.r.ComposeArgs("ps"); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
}
