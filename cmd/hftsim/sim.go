package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
	"github.com/prometheus/client_golang/prometheus"
)

// config is what a simulator is built from.
type config struct {
	Role        string
	Seed        uint64
	Instruments []string
}

// sim is one simulated service. Tick advances it to a point in time; it is
// the only place that draws random numbers, so a sim is deterministic given
// its seed, the times it is ticked at and the scenario switches. All methods
// are safe for concurrent use (the HTTP handlers and the ticker).
type sim struct {
	mu       sync.Mutex
	role     string
	rng      *rand.Rand
	log      *slog.Logger
	scenario string
	since    time.Time
	detail   string
	last     time.Time // time of the last tick
	statsAt  time.Time
	throttle map[string]*throttled

	clock clockModel
	col   *collectorModel
	exe   *executorModel
	data  *dataModel // rows of the data contract; nil unless --write-db
}

type throttled struct {
	last       time.Time
	suppressed int
}

// newSim builds a simulator registered on reg, in scenario healthy, with
// its clock at start.
func newSim(cfg config, reg prometheus.Registerer, log *slog.Logger, start time.Time) (*sim, error) {
	s := &sim{
		role:     cfg.Role,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		log:      log,
		scenario: scHealthy,
		since:    start,
		last:     start,
		statsAt:  start,
		throttle: map[string]*throttled{},
	}
	switch cfg.Role {
	case roleCollector:
		m, err := hftmetrics.NewCollectorMetrics(reg, cfg.Instruments)
		if err != nil {
			return nil, err
		}
		s.clock = newClockModel(m.Clock())
		s.col = newCollectorModel(s, m, cfg.Instruments, start)
	case roleExecutor:
		m, err := hftmetrics.NewExecutorMetrics(reg, cfg.Instruments)
		if err != nil {
			return nil, err
		}
		s.clock = newClockModel(m.Clock())
		s.exe = newExecutorModel(s, m, cfg.Instruments)
	default:
		return nil, fmt.Errorf("unknown role %q (collector or executor)", cfg.Role)
	}
	return s, nil
}

// Tick advances the simulation to now, simulating everything that happened
// since the previous tick in one batch. A gap longer than a second (a
// suspended process) is simulated as one second.
func (s *sim) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.After(s.last) {
		return
	}
	prev := s.last
	if now.Sub(prev) > time.Second {
		prev = now.Add(-time.Second)
	}
	s.last = now
	dt := now.Sub(prev).Seconds()
	s.clock.step(s, now, dt)
	if s.col != nil {
		s.col.step(s, prev, now, dt)
	}
	if s.exe != nil {
		s.exe.step(s, now, dt)
	}
	if s.data != nil {
		sc := ""
		if scenarioApplies(s.scenario, s.role) {
			sc = s.scenario
		}
		s.data.step(prev, now, sc)
	}
	if now.Sub(s.statsAt) >= 10*time.Second {
		s.statsAt = now
		if s.col != nil {
			s.col.logStats(s)
		}
		if s.exe != nil {
			s.exe.logStats(s)
		}
	}
}

// enableData makes the simulator produce the rows of the data contract,
// from its own random source seeded with seed.
func (s *sim) enableData(seed uint64, insts []string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = newDataModel(s.role, seed, insts, start)
}

// takeRows returns the rows produced since the last call.
func (s *sim) takeRows() rows {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return rows{}
	}
	return s.data.take()
}

// scenarioState is what GET /scenario returns.
type scenarioState struct {
	Role      string         `json:"role"`
	Scenario  string         `json:"scenario"`
	Applies   bool           `json:"applies"`
	Since     time.Time      `json:"since"`
	Detail    string         `json:"detail,omitempty"`
	Scenarios []scenarioInfo `json:"scenarios"`
}

func (s *sim) State() scenarioState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return scenarioState{
		Role:      s.role,
		Scenario:  s.scenario,
		Applies:   scenarioApplies(s.scenario, s.role),
		Since:     s.since,
		Detail:    s.detail,
		Scenarios: scenarios,
	}
}

// LastTick is the time of the last tick, for the health check.
func (s *sim) LastTick() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// SetScenario switches the scenario at now. Switching to a scenario that
// does not concern the role changes nothing but the reported name.
func (s *sim) SetScenario(name string, now time.Time) error {
	if _, ok := lookupScenario(name); !ok {
		return fmt.Errorf("unknown scenario %q; valid: %s", name, validScenarioList())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == s.scenario {
		return nil
	}
	old := s.scenario
	s.scenario, s.since, s.detail = name, now, ""
	if s.col != nil {
		s.col.switched(s, old, name)
	}
	if s.exe != nil {
		s.exe.switched(s, old, name)
	}
	attrs := []slog.Attr{slog.String("scenario", name), slog.String("previous", old), slog.Bool("applies", scenarioApplies(name, s.role))}
	if s.detail != "" {
		attrs = append(attrs, slog.String("detail", s.detail))
	}
	s.event(slog.LevelInfo, "scenario", "scenario switched", attrs...)
	return nil
}

// active reports whether the current scenario is name and concerns the
// role.
func (s *sim) active(name string) bool {
	return s.scenario == name && scenarioApplies(name, s.role)
}

// ------------------------------------------------------------ randomness

func (s *sim) norm() float64                { return s.rng.NormFloat64() }
func (s *sim) uniform(a, b float64) float64 { return a + (b-a)*s.rng.Float64() }
func (s *sim) bern(p float64) bool          { return s.rng.Float64() < p }

// lognormal draws a positive value with the given median.
func (s *sim) lognormal(median, sigma float64) float64 { return median * math.Exp(sigma*s.norm()) }

// count turns a rate into a whole number of events for a tick of dt
// seconds, carrying the fraction over in acc (so low rates still fire) with
// ±15% noise.
func (s *sim) count(rate, dt float64, acc *float64) int {
	*acc += rate * dt * math.Max(0, 1+0.15*s.norm())
	n := int(*acc)
	*acc -= float64(n)
	return n
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// ------------------------------------------------------------ logging

// event logs one structured line: event names what happened, attrs carry
// inst_id, channel and details.
func (s *sim) event(level slog.Level, event, msg string, attrs ...slog.Attr) {
	s.log.LogAttrs(context.Background(), level, msg, append([]slog.Attr{slog.String("event", event)}, attrs...)...)
}

// eventEvery logs like event but at most once per period per key; the line
// carries how many were suppressed since the previous one.
func (s *sim) eventEvery(key string, period time.Duration, level slog.Level, event, msg string, attrs ...slog.Attr) {
	t := s.throttle[key]
	if t == nil {
		t = &throttled{}
		s.throttle[key] = t
	}
	if !t.last.IsZero() && s.last.Sub(t.last) < period {
		t.suppressed++
		return
	}
	if t.suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", t.suppressed))
	}
	t.last, t.suppressed = s.last, 0
	s.event(level, event, msg, attrs...)
}

// ------------------------------------------------------------ clock

// clockModel is the local clock against the exchange's: healthy, a steady
// +0.3 ms offset with 50 µs of measurement noise; clock-drift, NTP lost and
// the offset growing 4 ms/s; back to healthy, it slews back within seconds.
type clockModel struct {
	h      hftmetrics.Clock
	base   float64
	offset float64 // true offset, seconds
	synced bool
}

func newClockModel(h hftmetrics.Clock) clockModel {
	c := clockModel{h: h, base: 0.0003, offset: 0.0003, synced: true}
	h.SetOffset(seconds(c.offset))
	h.SetSynchronized(true)
	return c
}

func (c *clockModel) step(s *sim, now time.Time, dt float64) {
	if s.active(scClockDrift) {
		c.offset += 0.004 * dt
		c.synced = false
	} else {
		c.offset += (c.base - c.offset) * math.Min(1, dt/3)
		c.synced = math.Abs(c.offset-c.base) < 0.005
	}
	c.h.SetOffset(seconds(c.offset + 0.00005*s.norm()))
	c.h.SetSynchronized(c.synced)
	if math.Abs(c.offset) > 0.05 {
		s.eventEvery("clock", 10*time.Second, slog.LevelWarn, "clock_offset", "clock offset to the exchange above 50 ms",
			slog.Float64("offset_seconds", round6(c.offset)), slog.Bool("synchronized", c.synced))
	}
}

// measured is the offset the services see in exchange timestamps.
func (c *clockModel) measured() float64 { return c.offset }

// ------------------------------------------------------------ websocket

// connModel is one websocket connection: always up when healthy; in
// reconnect-storm it drops every ~4 s and takes several attempts to return.
type connModel struct {
	endpoint    string
	h           hftmetrics.Conn
	up          bool
	downUntil   time.Time
	nextAttempt time.Time
}

func newConnModel(endpoint string, h hftmetrics.Conn) *connModel {
	h.Connected()
	return &connModel{endpoint: endpoint, h: h, up: true}
}

func (c *connModel) step(s *sim, now time.Time, dt float64) {
	storm := s.active(scReconnectStorm)
	if c.up {
		if storm && s.bern(dt/4) {
			c.up = false
			c.h.Disconnected()
			c.downUntil = now.Add(seconds(s.uniform(0.5, 3)))
			c.nextAttempt = now.Add(seconds(s.uniform(0.1, 0.3)))
			s.event(slog.LevelWarn, "ws_disconnected", "websocket connection lost",
				slog.String("endpoint", c.endpoint), slog.String("reason", "close 1006 (abnormal closure)"))
		}
		return
	}
	if now.Before(c.nextAttempt) {
		return
	}
	c.h.ReconnectAttempt()
	if !storm || (!now.Before(c.downUntil) && s.bern(0.6)) {
		c.up = true
		c.h.Connected()
		s.event(slog.LevelInfo, "ws_connected", "websocket reconnected and resubscribed", slog.String("endpoint", c.endpoint))
		return
	}
	c.nextAttempt = now.Add(seconds(s.uniform(0.2, 0.8)))
	s.eventEvery("reconnect-fail/"+c.endpoint, time.Second, slog.LevelWarn, "ws_reconnect_failed", "websocket reconnect attempt failed",
		slog.String("endpoint", c.endpoint), slog.String("error", "dial tcp: i/o timeout"))
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }
