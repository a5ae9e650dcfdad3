package main

import (
	"math"
	"slices"
	"testing"
	"time"

	hm "github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	warmup = 10 * time.Second
	window = 30 * time.Second
)

// scenarioCase drives one scenario for one role: after a healthy warm-up it
// takes a snapshot, switches, runs the window and checks that the metric
// the scenario is meant to move moved the right way.
type scenarioCase struct {
	scenario, role string
	window         time.Duration // default window
	check          func(t *testing.T, h *harness, before, after snapshot)
	during         func(h *harness) // after every tick of the window
}

func TestScenariosMoveTheirMetrics(t *testing.T) {
	minConnected := map[string]float64{}
	cases := []scenarioCase{
		{scenario: scHealthy, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			for _, m := range []string{hm.MetricBookSequenceGaps, hm.MetricBookChecksumMismatches, hm.MetricDBWriteErrors, hm.MetricWSReconnects} {
				if v := a.sum(m); v != 0 {
					t.Errorf("%s = %v when healthy", m, v)
				}
			}
			expect(t, "connected", a.sum(hm.MetricWSConnected), "==", 1)
			expect(t, "clock synchronized", a.sum(hm.MetricClockSynchronized), "==", 1)
			expect(t, "|clock offset|", math.Abs(a.sum(hm.MetricClockOffset)), "<", 0.005)
			expect(t, "queue depth", a.sum(hm.MetricIngestQueueDepth), "<", 1000)
			expect(t, "mean write latency", meanBetween(b, a, hm.MetricDBWriteDuration), "<", 0.01)
			rate := (a.sum(hm.MetricFeedMessages, "inst_id", "BTC-USDT") - b.sum(hm.MetricFeedMessages, "inst_id", "BTC-USDT")) / window.Seconds()
			expect(t, "BTC-USDT messages per second", rate, ">", 200)
			expect(t, "BTC-USDT messages per second", rate, "<", 300)
			for _, inst := range testInstruments {
				for _, ch := range []string{hm.ChannelBBOTBT, hm.ChannelBooksL2TBT, hm.ChannelBooks, hm.ChannelTickers} {
					expect(t, ch+" "+inst+" age", h.age(a, ch, inst), "<", 1)
				}
			}
		}},
		{scenario: scHealthy, role: roleExecutor, check: func(t *testing.T, h *harness, b, a snapshot) {
			sent := a.sum(hm.MetricOrdersSent) - b.sum(hm.MetricOrdersSent)
			expect(t, "orders sent", sent, ">", 80)
			expect(t, "reject ratio", (a.sum(hm.MetricOrderRejects)-b.sum(hm.MetricOrderRejects))/sent, "<", 0.05)
			expect(t, "rate-limit responses", a.sum(hm.MetricRateLimitResponses), "==", 0)
			f, _ := fractionBelow(b, a, hm.MetricOrderAckLatency, 0.025)
			expect(t, "share of acks <= 25ms", f, ">=", 0.99)
			expect(t, "kill switch", a.sum(hm.MetricKillSwitchEngaged), "==", 0)
			expect(t, "connected", a.sum(hm.MetricWSConnected), "==", 1)
		}},
		{scenario: scFeedStale, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			st := h.s.col.stale
			if st == nil || h.s.State().Detail == "" {
				t.Fatal("no stale subscription chosen or reported")
			}
			expect(t, "stale feed age", h.age(a, st.channel, st.inst), ">=", window.Seconds()-0.2)
			expect(t, "stale feed messages", a.sum(hm.MetricFeedMessages, "channel", st.channel, "inst_id", st.inst)-b.sum(hm.MetricFeedMessages, "channel", st.channel, "inst_id", st.inst), "==", 0)
			for _, inst := range testInstruments {
				for _, ch := range []string{hm.ChannelBBOTBT, hm.ChannelBooksL2TBT, hm.ChannelBooks, hm.ChannelTickers} {
					if ch != st.channel || inst != st.inst {
						expect(t, ch+" "+inst+" age", h.age(a, ch, inst), "<", 1)
					}
				}
			}
			expect(t, "websocket connected", a.sum(hm.MetricWSConnected), "==", 1)
			expect(t, "reconnects", a.sum(hm.MetricWSReconnects), "==", 0)
			expect(t, "feed_stale log lines", float64(h.eventCount("feed_stale")), ">=", 2)
		}},
		reconnectCase(roleCollector, minConnected),
		reconnectCase(roleExecutor, minConnected),
		{scenario: scSequenceGap, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "sequence gaps", a.sum(hm.MetricBookSequenceGaps)-b.sum(hm.MetricBookSequenceGaps), ">=", 20)
			expect(t, "checksum mismatches", a.sum(hm.MetricBookChecksumMismatches), "==", 0)
			expect(t, "seq_gap log lines", float64(h.eventCount("seq_gap")), ">=", 10)
		}},
		{scenario: scChecksumMismatch, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "checksum mismatches", a.sum(hm.MetricBookChecksumMismatches)-b.sum(hm.MetricBookChecksumMismatches), ">=", 15)
			expect(t, "sequence gaps", a.sum(hm.MetricBookSequenceGaps), "==", 0)
		}},
		clockCase(roleCollector),
		clockCase(roleExecutor),
		{scenario: scAckLatency, role: roleExecutor, window: time.Minute, check: func(t *testing.T, h *harness, b, a snapshot) {
			// What histogram_quantile over the classic buckets would say.
			_, n := fractionBelow(b, a, hm.MetricOrderAckLatency, 0.25)
			expect(t, "acks in window", n, ">", 150)
			expect(t, "p99 ack latency before", quantileBetween(h.first, b, hm.MetricOrderAckLatency, 0.99), "<", 0.025)
			expect(t, "p99 ack latency", quantileBetween(b, a, hm.MetricOrderAckLatency, 0.99), ">", 0.2)
			expect(t, "p50 ack latency", quantileBetween(b, a, hm.MetricOrderAckLatency, 0.5), ">", 0.06)
			expect(t, "mean ack latency", meanBetween(b, a, hm.MetricOrderAckLatency), ">", 0.08)
		}},
		{scenario: scRejectRate, role: roleExecutor, check: func(t *testing.T, h *harness, b, a snapshot) {
			sent := a.sum(hm.MetricOrdersSent) - b.sum(hm.MetricOrdersSent)
			rej := a.sum(hm.MetricOrderRejects) - b.sum(hm.MetricOrderRejects)
			expect(t, "reject ratio", rej/sent, ">", 0.15)
			expect(t, "rejects 51008", a.sum(hm.MetricOrderRejects, "code", "51008")-b.sum(hm.MetricOrderRejects, "code", "51008"), ">", 0)
			expect(t, "rejects other", a.sum(hm.MetricOrderRejects, "code", "other"), "==", 0)
		}},
		{scenario: scRateLimit, role: roleExecutor, check: func(t *testing.T, h *harness, b, a snapshot) {
			rl := a.sum(hm.MetricRateLimitResponses) - b.sum(hm.MetricRateLimitResponses)
			expect(t, "rate-limit responses", rl, ">=", 40)
			r11 := a.sum(hm.MetricOrderRejects, "code", "50011") - b.sum(hm.MetricOrderRejects, "code", "50011")
			r61 := a.sum(hm.MetricOrderRejects, "code", "50061") - b.sum(hm.MetricOrderRejects, "code", "50061")
			expect(t, "rejects 50011", r11, ">", 0)
			expect(t, "rejects 50061", r61, ">", 0)
			expect(t, "rate-limit responses minus rate-limit rejects (cancels)", rl-r11-r61, ">", 0)
		}},
		{scenario: scDrawdown, role: roleExecutor, check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "drawdown growth", a.sum(hm.MetricDrawdown)-b.sum(hm.MetricDrawdown), ">", 500)
			expect(t, "realized PnL change", a.sum(hm.MetricPnLRealized)-b.sum(hm.MetricPnLRealized), "<", -500)
			expect(t, "kill switch", a.sum(hm.MetricKillSwitchEngaged), "==", 0)
		}},
		{scenario: scKillSwitch, role: roleExecutor, check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "kill switch", a.sum(hm.MetricKillSwitchEngaged), "==", 1)
			expect(t, "orders sent in window", a.sum(hm.MetricOrdersSent)-b.sum(hm.MetricOrdersSent), "==", 0)
			abs := func(s snapshot) float64 {
				total := 0.0
				for _, inst := range testInstruments {
					total += math.Abs(s.sum(hm.MetricPosition, "inst_id", inst))
				}
				return total
			}
			expect(t, "gross position before", abs(b), ">", 1000)
			expect(t, "gross position after", abs(a), "<", 1)
			h.switchTo(scHealthy)
			h.run(5*time.Second, nil)
			c := h.snap()
			expect(t, "kill switch after release", c.sum(hm.MetricKillSwitchEngaged), "==", 0)
			expect(t, "orders after release", c.sum(hm.MetricOrdersSent)-a.sum(hm.MetricOrdersSent), ">", 5)
		}},
		{scenario: scIngestLag, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "queue depth before", b.sum(hm.MetricIngestQueueDepth), "<", 1000)
			expect(t, "queue depth", a.sum(hm.MetricIngestQueueDepth), ">", 5000)
			expect(t, "mean write latency", meanBetween(b, a, hm.MetricDBWriteDuration), ">", 0.1)
			expect(t, "write errors", a.sum(hm.MetricDBWriteErrors)-b.sum(hm.MetricDBWriteErrors), ">", 0)
			expect(t, "rows written", a.sum(hm.MetricDBRowsWritten)-b.sum(hm.MetricDBRowsWritten), ">", 0)
		}},
		{scenario: scDBDown, role: roleCollector, check: func(t *testing.T, h *harness, b, a snapshot) {
			errs := a.sum(hm.MetricDBWriteErrors) - b.sum(hm.MetricDBWriteErrors)
			expect(t, "write errors per second", errs/window.Seconds(), ">", 20)
			expect(t, "rows written", a.sum(hm.MetricDBRowsWritten)-b.sum(hm.MetricDBRowsWritten), "==", 0)
			expect(t, "queue depth", a.sum(hm.MetricIngestQueueDepth), ">", 10000)
			expect(t, "db_write_error log lines", float64(h.eventCount("db_write_error")), ">", 10)
			// Back up: the backlog drains.
			h.switchTo(scHealthy)
			h.run(10*time.Second, nil)
			expect(t, "queue depth after recovery", h.snap().sum(hm.MetricIngestQueueDepth), "<", 1000)
		}},
	}

	// Every scenario is exercised for every role it concerns.
	for _, sc := range scenarios {
		for _, role := range sc.Roles {
			if !slices.ContainsFunc(cases, func(c scenarioCase) bool { return c.scenario == sc.Name && c.role == role }) {
				t.Errorf("scenario %s has no test for the %s", sc.Name, role)
			}
		}
	}

	for _, c := range cases {
		t.Run(c.scenario+"/"+c.role, func(t *testing.T) {
			h := newHarness(t, c.role, 42)
			h.run(warmup, nil)
			before := h.snap()
			h.switchTo(c.scenario)
			if !h.s.State().Applies {
				t.Fatalf("%s does not apply to the %s", c.scenario, c.role)
			}
			w := c.window
			if w == 0 {
				w = window
			}
			var during func()
			if c.during != nil {
				during = func() { c.during(h) }
			}
			h.run(w, during)
			c.check(t, h, before, h.snap())
		})
	}
}

func reconnectCase(role string, minConnected map[string]float64) scenarioCase {
	return scenarioCase{scenario: scReconnectStorm, role: role, window: time.Minute,
		during: func(h *harness) {
			v := h.snap().sum(hm.MetricWSConnected)
			if old, ok := minConnected[role]; !ok || v < old {
				minConnected[role] = v
			}
		},
		check: func(t *testing.T, h *harness, b, a snapshot) {
			expect(t, "reconnect attempts", a.sum(hm.MetricWSReconnects)-b.sum(hm.MetricWSReconnects), ">=", 10)
			expect(t, "lowest connected", minConnected[role], "==", 0)
			expect(t, "ws_disconnected log lines", float64(h.eventCount("ws_disconnected")), ">=", 5)
			h.switchTo(scHealthy)
			h.run(5*time.Second, nil)
			expect(t, "connected after the storm", h.snap().sum(hm.MetricWSConnected), "==", 1)
		}}
}

func clockCase(role string) scenarioCase {
	return scenarioCase{scenario: scClockDrift, role: role, check: func(t *testing.T, h *harness, b, a snapshot) {
		expect(t, "clock offset before", math.Abs(b.sum(hm.MetricClockOffset)), "<", 0.005)
		expect(t, "clock offset", a.sum(hm.MetricClockOffset), ">", 0.1)
		expect(t, "clock synchronized", a.sum(hm.MetricClockSynchronized), "==", 0)
		h.switchTo(scHealthy)
		h.run(20*time.Second, nil)
		c := h.snap()
		expect(t, "clock offset after resync", math.Abs(c.sum(hm.MetricClockOffset)), "<", 0.005)
		expect(t, "clock synchronized after resync", c.sum(hm.MetricClockSynchronized), "==", 1)
	}}
}

func expect(t *testing.T, what string, got float64, op string, want float64) {
	t.Helper()
	ok := false
	switch op {
	case "==":
		ok = got == want
	case "<":
		ok = got < want
	case "<=":
		ok = got <= want
	case ">":
		ok = got > want
	case ">=":
		ok = got >= want
	default:
		t.Fatalf("bad op %q", op)
	}
	if !ok {
		t.Errorf("%s = %v, want %s %v", what, got, op, want)
	}
}

// TestDeterminism: the same seed gives the same samples, tick by tick; a
// different seed does not.
func TestDeterminism(t *testing.T) {
	for _, role := range []string{roleCollector, roleExecutor} {
		t.Run(role, func(t *testing.T) {
			metric := hm.MetricFeedMessages
			if role == roleExecutor {
				metric = hm.MetricOrderAckLatency + "_sum"
			}
			trace := func(seed uint64) ([]float64, snapshot) {
				h := newHarness(t, role, seed)
				var samples []float64
				record := func() { samples = append(samples, h.snap().sum(metric)) }
				h.run(5*time.Second, record)
				h.switchTo(scReconnectStorm)
				h.run(10*time.Second, record)
				return samples, h.snap()
			}
			a, snapA := trace(42)
			b, snapB := trace(42)
			if !slices.Equal(a, b) {
				t.Fatalf("same seed, different %s samples:\n%v\n%v", metric, a[:10], b[:10])
			}
			if d := snapA.withoutWallClock().diff(snapB.withoutWallClock()); len(d) > 0 {
				t.Errorf("same seed, different metrics: %v", d)
			}
			if c, _ := trace(43); slices.Equal(a, c) {
				t.Errorf("seeds 42 and 43 gave the same %s samples", metric)
			}
			if a[len(a)-1] == 0 {
				t.Errorf("%s never moved", metric)
			}
		})
	}
}

// TestRolesIgnoreOtherScenarios: a scenario that does not concern a role
// leaves its metrics exactly as healthy would, and is reported as not
// applying.
func TestRolesIgnoreOtherScenarios(t *testing.T) {
	for _, role := range []string{roleCollector, roleExecutor} {
		for _, sc := range scenarios {
			if slices.Contains(sc.Roles, role) {
				continue
			}
			t.Run(role+"/"+sc.Name, func(t *testing.T) {
				healthy := newHarness(t, role, 7)
				other := newHarness(t, role, 7)
				healthy.run(3*time.Second, nil)
				other.run(3*time.Second, nil)
				other.switchTo(sc.Name)
				if st := other.s.State(); st.Applies || st.Scenario != sc.Name {
					t.Errorf("state %+v", st)
				}
				healthy.run(10*time.Second, nil)
				other.run(10*time.Second, nil)
				if d := healthy.snap().withoutWallClock().diff(other.snap().withoutWallClock()); len(d) > 0 {
					t.Errorf("%s changed the %s's metrics: %v", sc.Name, role, d)
				}
			})
		}
	}
}

// TestLogs: every line is JSON with time, level, msg, role and event; lines
// about a subscription or a table carry inst_id and channel.
func TestLogs(t *testing.T) {
	h := newHarness(t, roleCollector, 1)
	h.run(11*time.Second, nil) // one stats line
	for _, sc := range []string{scSequenceGap, scFeedStale, scDBDown, scReconnectStorm} {
		h.switchTo(sc)
		h.run(15*time.Second, nil)
	}
	lines := h.logLines()
	events := map[string]int{}
	for _, l := range lines {
		for _, k := range []string{"time", "level", "msg", "role", "event"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line without %s: %v", k, l)
			}
		}
		if l["role"] != roleCollector {
			t.Errorf("role %v", l["role"])
		}
		ev, _ := l["event"].(string)
		events[ev]++
		switch ev {
		case "seq_gap", "feed_stale":
			if l["inst_id"] == nil || l["channel"] == nil {
				t.Errorf("%s line without inst_id/channel: %v", ev, l)
			}
		case "db_write_error":
			if l["channel"] == nil || l["level"] != "ERROR" {
				t.Errorf("db_write_error line: %v", l)
			}
		}
	}
	for _, ev := range []string{"stats", "scenario", "seq_gap", "feed_stale", "db_write_error", "ws_disconnected", "ws_connected"} {
		if events[ev] == 0 {
			t.Errorf("no %s line (got %v)", ev, events)
		}
	}
	// Throttled: a flood of errors does not become a flood of lines.
	if events["db_write_error"] > 6*16 {
		t.Errorf("%d db_write_error lines in 15 s: not throttled", events["db_write_error"])
	}
}

func TestNewSimRejectsBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{Role: "trader", Instruments: testInstruments},
		{Role: roleCollector},
		{Role: roleExecutor, Instruments: []string{"btc"}},
	} {
		if _, err := newSim(cfg, prometheus.NewRegistry(), nil, t0); err == nil {
			t.Errorf("newSim(%+v) succeeded", cfg)
		}
	}
}
