package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

// TestBackfill writes half an hour and reads it back with Prometheus'
// OpenMetrics parser (the one promtool's create-blocks-from uses): every
// contract metric of both roles is there with the scrape labels, each
// family's lines are together, and each series' timestamps rise by the
// interval.
func TestBackfill(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data.om")
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"backfill", "--out", out, "--hours", "0.5", "--end", "2026-01-02T03:00:00Z", "--instruments", "BTC-USDT,ETH-USDT-SWAP"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	for _, want := range []string{"2026-01-02T02:30:00Z to 2026-01-02T03:00:00Z every 5s, 2 instruments", "feed-stale", "db-down"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("# EOF\n")) {
		t.Error(`the file does not end with "# EOF"`)
	}
	p, err := textparse.New(data, "application/openmetrics-text", labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int64{}
	jobs := map[string]bool{}
	families := map[string]bool{}
	current := ""
	var lset labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("promtool's parser refuses the file: %v", err)
		}
		switch e {
		case textparse.EntryType:
			name, _ := p.Type()
			if families[string(name)] {
				t.Fatalf("family %s appears twice; OpenMetrics wants its lines together", name)
			}
			families[string(name)], current = true, string(name)
		case textparse.EntrySeries:
			_, ts, _ := p.Series()
			p.Labels(&lset)
			if !strings.HasPrefix(lset.Get("__name__"), current) {
				t.Fatalf("series %s outside its family %s", lset, current)
			}
			if ts == nil {
				t.Fatalf("series %s has no timestamp", lset)
			}
			key := lset.String()
			if prev, ok := last[key]; ok && *ts-prev != 5000 {
				t.Fatalf("series %s: timestamp %d after %d, want +5s", key, *ts, prev)
			}
			last[key] = *ts
			if lset.Get("stack") != "trading" || lset.Get("instance") != lset.Get("job")+":8000" {
				t.Fatalf("series %s lacks the scrape labels", lset)
			}
			jobs[lset.Get("job")] = true
			var ex exemplar.Exemplar
			p.Exemplar(&ex)
		}
	}
	if len(jobs) != 2 {
		t.Errorf("jobs %v, want collector and executor", jobs)
	}
	for _, m := range hftmetrics.Contract() {
		if !strings.HasPrefix(m.Name, "hft_") {
			continue // postgres-exporter's, not a simulated service's
		}
		if !families[strings.TrimSuffix(m.Name, "_total")] {
			t.Errorf("contract metric %s missing", m.Name)
		}
	}
	if !families["up"] {
		t.Error("no up series")
	}
	for key, ts := range last {
		if ts != 1767322800000 {
			t.Errorf("series %s ends at %d, want the end of the period", key, ts)
			break
		}
	}
}

func TestBackfillRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--out is required"},
		{[]string{"--out", dir + "/x", "--hours", "0"}, "--hours 0 out of range"},
		{[]string{"--out", dir + "/x", "--interval", "7s", "--tick", "2s"}, "--tick 2s must be 10ms to 1s and divide --interval 7s"},
		{[]string{"--out", dir + "/x", "--schedule", "chaos"}, `--schedule "chaos" unknown`},
		{[]string{"--out", dir + "/x", "--end", "yesterday"}, "--end:"},
		{[]string{"--out", dir + "/x", "--instruments", "BTC-USDT,bad id"}, "bad id"},
	} {
		var stdout, stderr bytes.Buffer
		rc := run(append([]string{"backfill"}, tc.args...), &stdout, &stderr)
		if rc != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("backfill %v: rc %d, stderr %q; want 2 and %q", tc.args, rc, stderr.String(), tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files: %v", entries)
	}
}
