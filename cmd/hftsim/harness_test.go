package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	t0              = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	testInstruments = []string{"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"}
)

const testTick = 100 * time.Millisecond

// harness drives a sim with a fake clock: no sleeps, every tick explicit.
type harness struct {
	t    *testing.T
	s    *sim
	reg  *prometheus.Registry
	now  time.Time
	logs *bytes.Buffer
	// first is the snapshot at construction.
	first snapshot
}

func newHarness(t *testing.T, role string, seed uint64) *harness {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil)).With("role", role)
	s, err := newSim(config{Role: role, Seed: seed, Instruments: testInstruments}, reg, logger, t0)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s: s, reg: reg, now: t0, logs: logs}
	h.first = h.snap()
	return h
}

// run ticks the sim for d of simulated time, calling each (if not nil)
// after every tick.
func (h *harness) run(d time.Duration, each func()) {
	for end := h.now.Add(d); h.now.Before(end); {
		h.now = h.now.Add(testTick)
		h.s.Tick(h.now)
		if each != nil {
			each()
		}
	}
}

func (h *harness) switchTo(name string) {
	h.t.Helper()
	if err := h.s.SetScenario(name, h.now); err != nil {
		h.t.Fatal(err)
	}
}

// snapshot is every series' value: counters and gauges by value,
// histograms as name_count and name_sum, and classic buckets as
// name_bucket{le="..."}.
type snapshot map[string]float64

func (h *harness) snap() snapshot {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	out := snapshot{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var pairs []string
			for _, lp := range m.GetLabel() {
				pairs = append(pairs, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			key := mf.GetName() + "{" + strings.Join(pairs, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				hist := m.GetHistogram()
				out[mf.GetName()+"_count{}"] = float64(hist.GetSampleCount())
				out[mf.GetName()+"_sum{}"] = hist.GetSampleSum()
				for _, b := range hist.GetBucket() {
					out[fmt.Sprintf("%s_bucket{le=\"%g\"}", mf.GetName(), b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// sum adds the series of name whose labels include every k=v pair of
// match ("channel", "books", ...).
func (s snapshot) sum(name string, match ...string) float64 {
	total := 0.0
	for key, v := range s {
		if !strings.HasPrefix(key, name+"{") {
			continue
		}
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			if !strings.Contains(key, fmt.Sprintf("%s=%q", match[i], match[i+1])) {
				ok = false
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// fractionBelow is the share of a histogram's observations between two
// snapshots that were <= le (a classic bucket boundary).
func fractionBelow(before, after snapshot, name string, le float64) (float64, float64) {
	key := fmt.Sprintf("%s_bucket{le=\"%g\"}", name, le)
	n := after[name+"_count{}"] - before[name+"_count{}"]
	if n == 0 {
		return math.NaN(), 0
	}
	return (after[key] - before[key]) / n, n
}

// quantileBetween estimates the q-quantile of the observations between two
// snapshots from the classic buckets, interpolating linearly inside the
// bucket like PromQL's histogram_quantile.
func quantileBetween(before, after snapshot, name string, q float64) float64 {
	n := after[name+"_count{}"] - before[name+"_count{}"]
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	lower, prevCount := 0.0, 0.0
	for _, le := range hftmetrics.LatencyBuckets() {
		key := fmt.Sprintf("%s_bucket{le=\"%g\"}", name, le)
		count := after[key] - before[key]
		if count >= rank {
			return lower + (le-lower)*(rank-prevCount)/(count-prevCount)
		}
		lower, prevCount = le, count
	}
	return math.Inf(1)
}

func meanBetween(before, after snapshot, name string) float64 {
	n := after[name+"_count{}"] - before[name+"_count{}"]
	return (after[name+"_sum{}"] - before[name+"_sum{}"]) / n
}

// withoutWallClock drops the only series whose value comes from the wall
// clock rather than the sim's: the last-message time a subscription gets
// when it is resolved, kept until its first message (funding-rate pushes
// every ~45 s).
func (s snapshot) withoutWallClock() snapshot {
	out := snapshot{}
	for k, v := range s {
		if strings.Contains(k, `channel="funding-rate"`) && strings.HasPrefix(k, "hft_feed_last_") {
			continue
		}
		out[k] = v
	}
	return out
}

func (s snapshot) diff(o snapshot) []string {
	var out []string
	for k, v := range s {
		if w, ok := o[k]; !ok || w != v {
			out = append(out, fmt.Sprintf("%s: %v vs %v", k, v, o[k]))
		}
	}
	for k := range o {
		if _, ok := s[k]; !ok {
			out = append(out, k+": missing")
		}
	}
	sort.Strings(out)
	return out
}

// logLines parses the JSON log lines written so far.
func (h *harness) logLines() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (h *harness) eventCount(event string) int {
	n := 0
	for _, l := range h.logLines() {
		if l["event"] == event {
			n++
		}
	}
	return n
}

// age is how long ago, in simulated time, a subscription last received.
func (h *harness) age(s snapshot, channel, inst string) float64 {
	key := fmt.Sprintf("%s{channel=%q,inst_id=%q}", hftmetrics.MetricFeedLastMessageTimestamp, channel, inst)
	v, ok := s[key]
	if !ok {
		h.t.Fatalf("no series %s", key)
	}
	return float64(h.now.UnixNano())/1e9 - v
}
