package main

import (
	"log/slog"
	"math"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

const ordersPerSecond = 4.0

// Order types the simulated strategy uses, with their weights: a market
// maker quoting post-only, taking with IOC now and then.
var simOrdTypes = []struct {
	ordType string
	weight  float64
}{
	{hftmetrics.OrdTypePostOnly, 0.70},
	{hftmetrics.OrdTypeLimit, 0.15},
	{hftmetrics.OrdTypeIOC, 0.10},
	{hftmetrics.OrdTypeMarket, 0.05},
}

// Reject codes of the reject-rate scenario, by weight; healthy rejects are
// rare price-limit and balance rejects.
var (
	rejectRateCodes = []string{"51008", "51008", "51008", "51006", "51006", "51006", "51121", "51131", "51020"}
	healthyCodes    = []string{"51006", "51008"}
)

type instModel struct {
	id     string
	pos    float64 // USD notional
	posH   hftmetrics.Position
	orders [2][]hftmetrics.Orders // [side][ord type index]
}

type executorModel struct {
	m     *hftmetrics.ExecutorMetrics
	conn  *connModel
	insts []*instModel
	acc   float64
	rlAcc float64

	realized, unrealized, peak float64
	kill                       bool

	sent, rejects, rateLimited, slowAcks int // since the last stats line
}

func newExecutorModel(s *sim, m *hftmetrics.ExecutorMetrics, instruments []string) *executorModel {
	e := &executorModel{m: m, conn: newConnModel(hftmetrics.EndpointPrivate, m.Conn(hftmetrics.EndpointPrivate))}
	for _, id := range instruments {
		in := &instModel{id: id, posH: m.Position(id)}
		for side, sideName := range []string{hftmetrics.SideBuy, hftmetrics.SideSell} {
			for _, ot := range simOrdTypes {
				in.orders[side] = append(in.orders[side], m.Orders(id, sideName, ot.ordType))
			}
		}
		in.pos = s.uniform(-20000, 20000)
		in.posH.Set(in.pos)
		e.insts = append(e.insts, in)
	}
	m.SetPnL(0, 0)
	m.SetDrawdown(0)
	m.SetKillSwitch(false)
	return e
}

func (e *executorModel) switched(s *sim, old, name string) {
	kill := name == scKillSwitch
	if kill == e.kill {
		return
	}
	e.kill = kill
	e.m.SetKillSwitch(kill)
	if kill {
		s.detail = "no new orders; positions flattened"
		s.event(slog.LevelError, "kill_switch", "kill switch engaged: order entry stopped, flattening positions",
			slog.String("reason", "operator"), slog.Float64("drawdown_usd", math.Round(e.peak-e.realized-e.unrealized)))
	} else {
		s.event(slog.LevelInfo, "kill_switch", "kill switch released: order entry resumed")
	}
}

func (e *executorModel) step(s *sim, now time.Time, dt float64) {
	e.conn.step(s, now, dt)
	e.trade(s, dt)
	e.risk(s, dt)
}

// trade simulates the orders of the tick and their responses.
func (e *executorModel) trade(s *sim, dt float64) {
	n := s.count(ordersPerSecond, dt, &e.acc)
	if e.kill || !e.conn.up {
		n = 0
	}
	rateLimit := s.active(scRateLimit)
	rejectRate := s.active(scRejectRate)
	slow := s.active(scAckLatency)
	for range n {
		in := e.insts[s.rng.IntN(len(e.insts))]
		side := s.rng.IntN(2)
		ot := 0
		for r := s.rng.Float64(); ot < len(simOrdTypes)-1 && r >= simOrdTypes[ot].weight; ot++ {
			r -= simOrdTypes[ot].weight
		}
		in.orders[side][ot].Sent()
		e.sent++

		code := ""
		switch {
		case rateLimit && s.bern(0.35):
			code = "50011"
			if s.bern(0.3) {
				code = "50061"
			}
		case rejectRate && s.bern(0.25):
			code = rejectRateCodes[s.rng.IntN(len(rejectRateCodes))]
		case s.bern(0.004):
			code = healthyCodes[s.rng.IntN(len(healthyCodes))]
		}
		latency := s.lognormal(0.004, 0.45)
		if slow {
			latency = s.lognormal(0.1, 0.45)
		}
		if code == "50011" || code == "50061" {
			latency = s.lognormal(0.002, 0.3) // refused at the gateway
		}
		e.m.OrderAck(seconds(latency))
		if latency > 0.1 {
			e.slowAcks++
			s.eventEvery("slow-ack", time.Second, slog.LevelWarn, "order_ack_slow", "order acknowledged over the 100 ms budget",
				slog.String("inst_id", in.id), slog.String("ord_type", simOrdTypes[ot].ordType), slog.Float64("latency_seconds", round6(latency)))
		}
		if code == "" {
			continue
		}
		e.m.Reject(code)
		e.rejects++
		s.eventEvery("reject/"+code, time.Second, slog.LevelWarn, "order_reject", "order rejected by OKX",
			slog.String("inst_id", in.id), slog.String("code", code), slog.String("side", []string{"buy", "sell"}[side]),
			slog.String("ord_type", simOrdTypes[ot].ordType))
	}
	// Cancels and amends run into the limit too.
	if rateLimit && !e.kill && e.conn.up {
		for range s.count(1.5, dt, &e.rlAcc) {
			e.m.RateLimited("50011")
			e.rateLimited++
			s.eventEvery("ratelimit", time.Second, slog.LevelWarn, "rate_limited", "cancel refused: rate limit", slog.String("code", "50011"))
		}
	}
}

// risk moves positions and PnL: a small positive drift when healthy, a
// steady loss in drawdown, flattening when the kill switch is engaged.
func (e *executorModel) risk(s *sim, dt float64) {
	sq := math.Sqrt(dt)
	for _, in := range e.insts {
		if e.kill {
			in.pos *= math.Exp(-dt / 2.5)
			if math.Abs(in.pos) < 1 {
				in.pos = 0
			}
		} else {
			in.pos += -0.02*in.pos*dt + 3000*sq*s.norm()
			in.pos = math.Max(-100000, math.Min(100000, in.pos))
		}
		in.posH.Set(math.Round(in.pos*100) / 100)
	}
	drift, sigma := 0.6, 6.0
	switch {
	case e.kill:
		drift, sigma = 0, 1
	case s.active(scDrawdown):
		drift, sigma = -45, 25
	}
	e.realized += drift*dt + sigma*sq*s.norm()
	if e.kill {
		e.unrealized *= math.Exp(-dt / 2.5)
	} else {
		e.unrealized += -e.unrealized*dt/20 + 40*sq*s.norm()
	}
	total := e.realized + e.unrealized
	e.peak = math.Max(e.peak, total)
	dd := e.peak - total
	e.m.SetPnL(math.Round(e.realized*100)/100, math.Round(e.unrealized*100)/100)
	e.m.SetDrawdown(math.Round(dd*100) / 100)
	if dd > 1000 {
		s.eventEvery("drawdown", 30*time.Second, slog.LevelWarn, "drawdown", "drawdown above 1000 USD",
			slog.Float64("drawdown_usd", math.Round(dd)), slog.Float64("pnl_usd", math.Round(total)))
	}
}

func (e *executorModel) logStats(s *sim) {
	s.event(slog.LevelInfo, "stats", "executor stats (last 10 s)",
		slog.String("scenario", s.scenario), slog.Int("orders_sent", e.sent), slog.Int("rejects", e.rejects),
		slog.Int("rate_limited", e.rateLimited), slog.Int("slow_acks", e.slowAcks),
		slog.Float64("pnl_usd", math.Round(e.realized+e.unrealized)), slog.Bool("kill_switch", e.kill),
		slog.Bool("ws_connected", e.conn.up))
	e.sent, e.rejects, e.rateLimited, e.slowAcks = 0, 0, 0, 0
}
