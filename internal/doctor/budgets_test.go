package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/stack"
)

func TestCheckBudgets(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name    string
		usage   []stack.Usage
		err     error
		wantErr string
		want    string
	}{
		{name: "within", usage: []stack.Usage{{Service: "mlflow", MemBytes: 380 * mib, LimitBytes: 512 * mib, CPUPercent: 0.4}, {Service: "alertmanager", MemBytes: 16 * mib, LimitBytes: 64 * mib}},
			want: "396 MiB of 576 MiB of limits, 0.4% of one core: mlflow 380/512 MiB 0.4%, alertmanager 16/64 MiB 0.0%"},
		{name: "near the limit", usage: []stack.Usage{{Service: "superset", MemBytes: 470 * mib, LimitBytes: 512 * mib}}, wantErr: "superset uses 92% of its memory limit"},
		{name: "no limit", usage: []stack.Usage{{Service: "extra", MemBytes: 10 * mib}}, wantErr: "extra runs without a memory limit"},
		{name: "oom", usage: []stack.Usage{{Service: "loki", MemBytes: 10 * mib, LimitBytes: 320 * mib, OOMKilled: true}}, wantErr: "loki was OOM-killed"},
		{name: "nothing runs", usage: nil, wantErr: "no container of the stack runs"},
		{name: "docker fails", err: errors.New("docker stats: Cannot connect"), wantErr: "Cannot connect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &doctor{cfg: Config{Usage: func(context.Context) ([]stack.Usage, error) { return c.usage, c.err }}}
			got, err := d.checkBudgets(context.Background())
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case c.want != "" && got != c.want:
				t.Errorf("detail %q, want %q", got, c.want)
			}
		})
	}
}
