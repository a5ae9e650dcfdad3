package main

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"time"
)

// The rows of the data contract (pkg/hftdata) the simulators write: the
// collector its market data, the executor its orders, fills and positions.
// Prices and sizes are decimal strings, as OKX sends them, rounded to each
// instrument's tick and lot, so the numeric columns hold them exactly.

type tradeRow struct {
	TS       time.Time
	Inst, ID string
	Px, Sz   dec
	Side     string
}

type bookRow struct {
	TS                         time.Time
	Inst                       string
	Seq, PrevSeq               int64
	BidPx, BidSz, AskPx, AskSz dec
	BidDepth, AskDepth         dec
}

type featureRow struct {
	TS                                       time.Time
	Inst                                     string
	Mid                                      dec
	SpreadBps, BookImb, TradeImb, Volatility float64
}

type orderRow struct {
	TS                         time.Time
	OrdID, ClOrdID, Inst, Side string
	OrdType                    string
	Px, Sz                     dec
}

type orderEventRow struct {
	TS                 time.Time
	OrdID, Inst, State string
	AccFillSz          dec
	AvgPx              dec // null when nothing is filled
	SCode, SMsg        string
}

type fillRow struct {
	TS                         time.Time
	Inst, TradeID, OrdID, Side string
	Px, Sz, Fee                dec
	FeeCcy, ExecType           string
	Mid                        dec
}

type positionRow struct {
	TS               time.Time
	Inst             string
	Pos, AvgPx       dec // AvgPx null when flat
	UPL, RealizedPnL dec
}

// rows is what one step of the data model produced.
type rows struct {
	Trades    []tradeRow
	Books     []bookRow
	Features  []featureRow
	Orders    []orderRow
	Events    []orderEventRow
	Fills     []fillRow
	Positions []positionRow
}

// append adds the rows of o.
func (r *rows) append(o rows) {
	r.Trades = append(r.Trades, o.Trades...)
	r.Books = append(r.Books, o.Books...)
	r.Features = append(r.Features, o.Features...)
	r.Orders = append(r.Orders, o.Orders...)
	r.Events = append(r.Events, o.Events...)
	r.Fills = append(r.Fills, o.Fills...)
	r.Positions = append(r.Positions, o.Positions...)
}

func (r *rows) len() int {
	return len(r.Trades) + len(r.Books) + len(r.Features) + len(r.Orders) + len(r.Events) + len(r.Fills) + len(r.Positions)
}

// instSpec is an instrument's price scale: a starting mid, the tick and
// lot as OKX lists them (GET /api/v5/public/instruments), and the
// annualised volatility of its price walk.
type instSpec struct {
	mid, tick, lot, vol float64
}

func specOf(inst string) instSpec {
	switch inst {
	case "BTC-USDT":
		return instSpec{91000, 0.1, 0.00000001, 0.55}
	case "BTC-USDT-SWAP":
		return instSpec{91010, 0.1, 0.01, 0.55}
	case "ETH-USDT":
		return instSpec{3100, 0.01, 0.000001, 0.7}
	case "ETH-USDT-SWAP":
		return instSpec{3101, 0.01, 0.01, 0.7}
	}
	return instSpec{100, 0.01, 0.001, 0.8}
}

// decimals is how many digits after the point step needs: the smallest n
// with step × 10^n a whole number.
func decimals(step float64) int {
	for n := 0; n < 12; n++ {
		v := step * math.Pow10(n)
		if math.Abs(v-math.Round(v)) < 1e-9*math.Max(1, v) {
			return n
		}
	}
	return 12
}

// dec is an exact decimal, m × 10^exp, as a numeric column stores it; the
// zero dec is SQL NULL. The rows carry decs, not strings: pgx then sends
// numeric in binary without parsing text (the backfill's COPY spent most
// of its time parsing decimal strings).
type dec struct {
	m   int64
	exp int32
	ok  bool
}

func (d dec) String() string {
	if !d.ok {
		return ""
	}
	return new(big.Rat).SetFrac(big.NewInt(d.m), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.exp)), nil)).FloatString(int(-d.exp))
}

// fmtStep is v rounded to a multiple of step (a tick or a lot), exact.
func fmtStep(v, step float64) dec {
	n := decimals(step)
	unit := math.Round(step * math.Pow10(n))
	return dec{m: int64(math.Round(v/step) * unit), exp: int32(-n), ok: true}
}

// market is one instrument's simulated book: a random walk of the mid,
// a spread of one to a few ticks, sizes at the top and in the first five
// levels, and the trades against it.
type market struct {
	inst          string
	spec          instSpec
	mid           float64
	spreadTicks   int
	seq           int64
	tradeSeq      int64
	buyVol        float64 // traded size in the last second, for the features
	sellVol       float64
	lastFeature   time.Time
	returns       []float64 // 1 s log returns, last minute
	lastSecondMid float64
	tradeAcc      float64
}

// dataModel produces the rows of one role. It draws from its own random
// source, seeded from the simulator's seed, so adding it changes none of
// the metrics the simulator already produced for that seed.
type dataModel struct {
	role    string
	rng     *rand.Rand
	markets []*market
	ordSeq  int64
	open    []*simOrder
	pos     map[string]*position
	lastPos time.Time
	nextOrd map[string]time.Time
	out     rows
}

type simOrder struct {
	id, inst, side   string
	px, sz           dec
	pxF, szF, filled float64
	due              time.Time // when its outcome happens
	outcome          string    // filled, partially_filled, canceled
}

type position struct {
	pos, avgPx, realized float64
}

// Rates of the healthy market: book updates (bbo-tbt) and trades per
// second and instrument, orders per instrument every few seconds.
const (
	bookUpdatesPerSec = 10.0
	tradesPerSec      = 6.0
	orderEvery        = 3 * time.Second
	positionEvery     = 5 * time.Second
)

func newDataModel(role string, seed uint64, insts []string, start time.Time) *dataModel {
	d := &dataModel{
		role:    role,
		rng:     rand.New(rand.NewPCG(seed^0x6a09e667f3bcc908, seed+0xbb67ae8584caa73b)),
		pos:     map[string]*position{},
		nextOrd: map[string]time.Time{},
		lastPos: start,
	}
	for i, inst := range insts {
		sp := specOf(inst)
		d.markets = append(d.markets, &market{inst: inst, spec: sp, mid: sp.mid, spreadTicks: 1, seq: 1_000_000 * int64(i+1), lastFeature: start, lastSecondMid: sp.mid})
		d.pos[inst] = &position{}
		d.nextOrd[inst] = start.Add(time.Duration(i) * orderEvery / time.Duration(len(insts)+1))
	}
	return d
}

// take returns the rows produced since the last call.
func (d *dataModel) take() rows {
	r := d.out
	d.out = rows{}
	return r
}

// step advances every market from prev to now (at most a second). The
// scenario shapes the rows: feed-stale stops the first instrument's book
// and trades, sequence-gap skips sequence numbers, drawdown makes the
// executor's fills lose, kill-switch stops its orders and flattens it.
func (d *dataModel) step(prev, now time.Time, scenario string) {
	dt := now.Sub(prev).Seconds()
	if dt <= 0 {
		return
	}
	for i, m := range d.markets {
		// The mid walks with the instrument's volatility (per second of
		// the year: 365*24*3600 s).
		sigma := m.spec.vol * math.Sqrt(dt/31_536_000)
		drift := 0.0
		if scenario == scDrawdown && d.role == roleExecutor {
			drift = -0.00004 * dt // against the executor's long inventory
		}
		m.mid *= math.Exp(drift + sigma*d.rng.NormFloat64())
		if d.rng.Float64() < 0.05*dt*10 {
			m.spreadTicks = 1 + d.rng.IntN(4)
		}
		if d.role == roleCollector {
			stale := scenario == scFeedStale && i == 0
			if !stale {
				d.book(m, prev, now, dt, scenario == scSequenceGap)
				d.trades(m, prev, now, dt)
			}
			if now.Sub(m.lastFeature) >= time.Second {
				d.feature(m, now)
			}
		}
	}
	if d.role == roleExecutor {
		d.trade(now, scenario)
	}
}

func (d *dataModel) bidAsk(m *market) (bid, ask float64) {
	half := float64(m.spreadTicks) * m.spec.tick / 2
	bid = math.Floor((m.mid-half)/m.spec.tick) * m.spec.tick
	ask = bid + float64(m.spreadTicks)*m.spec.tick
	return bid, ask
}

func (d *dataModel) size(m *market, median float64) float64 {
	v := median * math.Exp(0.8*d.rng.NormFloat64())
	return math.Max(m.spec.lot, math.Round(v/m.spec.lot)*m.spec.lot)
}

// notionalSize is a size worth about usd at the current mid.
func (d *dataModel) notionalSize(m *market, usd float64) float64 {
	return d.size(m, usd/m.mid)
}

func (d *dataModel) book(m *market, prev, now time.Time, dt float64, gaps bool) {
	n := int(math.Round(bookUpdatesPerSec * dt))
	for k := 1; k <= n; k++ {
		ts := prev.Add(time.Duration(float64(now.Sub(prev)) * float64(k) / float64(n)))
		bid, ask := d.bidAsk(m)
		prevSeq := m.seq
		if gaps && d.rng.Float64() < 0.04 {
			// Updates lost: this one's prev_seq_id is the last lost update's
			// seq_id, no longer the last stored row's, as OKX shows a gap.
			prevSeq += 1 + int64(d.rng.IntN(5))
		}
		m.seq = prevSeq + 1
		d.out.Books = append(d.out.Books, bookRow{
			TS: ts, Inst: m.inst, Seq: m.seq, PrevSeq: prevSeq,
			BidPx: fmtStep(bid, m.spec.tick), BidSz: fmtStep(d.notionalSize(m, 20_000), m.spec.lot),
			AskPx: fmtStep(ask, m.spec.tick), AskSz: fmtStep(d.notionalSize(m, 20_000), m.spec.lot),
			BidDepth: fmtStep(d.notionalSize(m, 150_000), m.spec.lot), AskDepth: fmtStep(d.notionalSize(m, 150_000), m.spec.lot),
		})
	}
}

func (d *dataModel) trades(m *market, prev, now time.Time, dt float64) {
	m.tradeAcc += tradesPerSec * dt
	n := int(m.tradeAcc)
	m.tradeAcc -= float64(n)
	bid, ask := d.bidAsk(m)
	for k := 0; k < n; k++ {
		ts := prev.Add(time.Duration(d.rng.Float64() * float64(now.Sub(prev))))
		side, px := "buy", ask
		if d.rng.Float64() < 0.5 {
			side, px = "sell", bid
		}
		sz := d.notionalSize(m, 3_000)
		if side == "buy" {
			m.buyVol += sz
		} else {
			m.sellVol += sz
		}
		m.tradeSeq++
		d.out.Trades = append(d.out.Trades, tradeRow{TS: ts, Inst: m.inst, ID: strconv.FormatInt(m.tradeSeq, 10),
			Px: fmtStep(px, m.spec.tick), Sz: fmtStep(sz, m.spec.lot), Side: side})
	}
}

func (d *dataModel) feature(m *market, now time.Time) {
	bid, ask := d.bidAsk(m)
	ret := math.Log(m.mid / m.lastSecondMid)
	m.lastSecondMid = m.mid
	m.returns = append(m.returns, ret)
	if len(m.returns) > 60 {
		m.returns = m.returns[len(m.returns)-60:]
	}
	var ss float64
	for _, r := range m.returns {
		ss += r * r
	}
	vol := math.Sqrt(ss / float64(len(m.returns)))
	tradeImb := 0.0
	if t := m.buyVol + m.sellVol; t > 0 {
		tradeImb = (m.buyVol - m.sellVol) / t
	}
	m.buyVol, m.sellVol = 0, 0
	bookImb := math.Max(-1, math.Min(1, 0.3*d.rng.NormFloat64()))
	d.out.Features = append(d.out.Features, featureRow{TS: now, Inst: m.inst, Mid: fmtStep((bid+ask)/2, m.spec.tick/10),
		SpreadBps: (ask - bid) / ((bid + ask) / 2) * 1e4, BookImb: bookImb, TradeImb: tradeImb, Volatility: vol})
	m.lastFeature = now
}

// Reject codes of OKX's order API the executor meets (51008: balance,
// 51006: price limit, 51121: lot size).
var rejectCodes = []struct{ code, msg string }{
	{"51008", "Order failed. Insufficient USDT balance in account."},
	{"51006", "Order price is not within the price limit."},
	{"51121", "Order quantity must be a multiple of the lot size."},
}

// trade is the executor's market making: every few seconds per instrument
// a post-only order at the touch, on the side that brings the inventory
// back; most fill, some fill partly, some are cancelled, a few rejected.
func (d *dataModel) trade(now time.Time, scenario string) {
	kill := scenario == scKillSwitch
	for _, m := range d.markets {
		if kill {
			d.flatten(m, now)
			continue
		}
		if now.Before(d.nextOrd[m.inst]) {
			continue
		}
		d.nextOrd[m.inst] = now.Add(orderEvery + time.Duration(d.rng.IntN(1000))*time.Millisecond)
		bid, ask := d.bidAsk(m)
		p := d.pos[m.inst]
		side, px := "buy", bid
		if p.pos > 0 && d.rng.Float64() < 0.6 || p.pos <= 0 && d.rng.Float64() < 0.4 {
			side, px = "sell", ask
		}
		if scenario == scDrawdown {
			side, px = "buy", ask // buying into a falling market
		}
		sz := d.notionalSize(m, 2_000)
		d.ordSeq++
		o := &simOrder{id: strconv.FormatInt(7_000_000_000+d.ordSeq, 10), inst: m.inst, side: side, pxF: px, szF: sz,
			px: fmtStep(px, m.spec.tick), sz: fmtStep(sz, m.spec.lot)}
		d.out.Orders = append(d.out.Orders, orderRow{TS: now, OrdID: o.id, ClOrdID: "sim" + o.id, Inst: m.inst, Side: side, OrdType: "post_only", Px: o.px, Sz: o.sz})
		rejectP := 0.01
		if scenario == scRejectRate {
			rejectP = 0.25
		}
		if d.rng.Float64() < rejectP {
			r := rejectCodes[d.rng.IntN(len(rejectCodes))]
			d.out.Events = append(d.out.Events, orderEventRow{TS: now.Add(4 * time.Millisecond), OrdID: o.id, Inst: m.inst, State: "rejected", AccFillSz: dec{ok: true}, SCode: r.code, SMsg: r.msg})
			continue
		}
		d.out.Events = append(d.out.Events, orderEventRow{TS: now.Add(4 * time.Millisecond), OrdID: o.id, Inst: m.inst, State: "live", AccFillSz: dec{ok: true}, SCode: "0"})
		switch u := d.rng.Float64(); {
		case u < 0.65 || scenario == scDrawdown:
			o.outcome = "filled"
		case u < 0.8:
			o.outcome = "partially_filled"
		default:
			o.outcome = "canceled"
		}
		o.due = now.Add(time.Duration(200+d.rng.IntN(1800)) * time.Millisecond)
		d.open = append(d.open, o)
	}
	// Outcomes that are due.
	kept := d.open[:0]
	for _, o := range d.open {
		if now.Before(o.due) && !kill {
			kept = append(kept, o)
			continue
		}
		m := d.marketOf(o.inst)
		switch {
		case kill || o.outcome == "canceled":
			d.out.Events = append(d.out.Events, orderEventRow{TS: now, OrdID: o.id, Inst: o.inst, State: "canceled", AccFillSz: fmtStep(o.filled, m.spec.lot), AvgPx: avgPx(o), SCode: "0"})
		case o.outcome == "partially_filled":
			part := math.Max(m.spec.lot, math.Round(o.szF*0.4/m.spec.lot)*m.spec.lot)
			d.fill(o, m, part, now)
			d.out.Events = append(d.out.Events, orderEventRow{TS: now, OrdID: o.id, Inst: o.inst, State: "partially_filled", AccFillSz: fmtStep(o.filled, m.spec.lot), AvgPx: o.px, SCode: "0"})
			d.out.Events = append(d.out.Events, orderEventRow{TS: now.Add(500 * time.Millisecond), OrdID: o.id, Inst: o.inst, State: "canceled", AccFillSz: fmtStep(o.filled, m.spec.lot), AvgPx: o.px, SCode: "0"})
		default:
			d.fill(o, m, o.szF, now)
			d.out.Events = append(d.out.Events, orderEventRow{TS: now, OrdID: o.id, Inst: o.inst, State: "filled", AccFillSz: o.sz, AvgPx: o.px, SCode: "0"})
		}
	}
	d.open = kept
	if now.Sub(d.lastPos) >= positionEvery {
		d.lastPos = now
		for _, m := range d.markets {
			p := d.pos[m.inst]
			upl, avg := 0.0, dec{}
			if p.pos != 0 {
				upl = p.pos * (m.mid - p.avgPx)
				avg = fmtStep(p.avgPx, m.spec.tick/100)
			}
			d.out.Positions = append(d.out.Positions, positionRow{TS: now, Inst: m.inst, Pos: fmtStep(p.pos, m.spec.lot), AvgPx: avg,
				UPL: fmtStep(upl, 1e-6), RealizedPnL: fmtStep(p.realized, 1e-6)})
		}
	}
}

func avgPx(o *simOrder) dec {
	if o.filled == 0 {
		return dec{}
	}
	return o.px
}

func (d *dataModel) marketOf(inst string) *market {
	for _, m := range d.markets {
		if m.inst == inst {
			return m
		}
	}
	return d.markets[0]
}

// fill books sz of order o at its price: the fill row (a fee of 0.08% of
// the notional, OKX's regular maker rate, negative as OKX reports it), the
// position and the realised PnL of what it closed.
func (d *dataModel) fill(o *simOrder, m *market, sz float64, now time.Time) {
	o.filled += sz
	fee := -0.0008 * o.pxF * sz
	signed := sz
	if o.side == "sell" {
		signed = -sz
	}
	p := d.pos[o.inst]
	switch {
	case p.pos == 0 || (p.pos > 0) == (signed > 0): // opening or adding
		p.avgPx = (p.avgPx*math.Abs(p.pos) + o.pxF*sz) / (math.Abs(p.pos) + sz)
		p.pos += signed
	default: // closing, perhaps flipping
		closed := math.Min(math.Abs(p.pos), sz)
		dir := 1.0
		if p.pos < 0 {
			dir = -1
		}
		p.realized += dir * closed * (o.pxF - p.avgPx)
		p.pos += signed
		if math.Abs(p.pos) < m.spec.lot/2 {
			p.pos, p.avgPx = 0, 0
		} else if (p.pos > 0) != (dir > 0) {
			p.avgPx = o.pxF
		}
	}
	p.realized += fee
	d.out.Fills = append(d.out.Fills, fillRow{TS: now, Inst: o.inst, TradeID: "f" + o.id + "-" + strconv.Itoa(len(d.out.Fills)), OrdID: o.id, Side: o.side,
		Px: o.px, Sz: fmtStep(sz, m.spec.lot), Fee: fmtStep(fee, 1e-8), FeeCcy: "USDT", ExecType: "M",
		Mid: fmtStep(m.mid, m.spec.tick/10)})
}

// flatten closes the position with an IOC order at the touch (the kill
// switch), once per instrument while there is one.
func (d *dataModel) flatten(m *market, now time.Time) {
	p := d.pos[m.inst]
	if p.pos == 0 || now.Before(d.nextOrd[m.inst]) {
		return
	}
	d.nextOrd[m.inst] = now.Add(orderEvery)
	bid, ask := d.bidAsk(m)
	side, px := "sell", bid
	if p.pos < 0 {
		side, px = "buy", ask
	}
	d.ordSeq++
	o := &simOrder{id: strconv.FormatInt(7_000_000_000+d.ordSeq, 10), inst: m.inst, side: side, pxF: px, szF: math.Abs(p.pos), px: fmtStep(px, m.spec.tick), sz: fmtStep(math.Abs(p.pos), m.spec.lot)}
	d.out.Orders = append(d.out.Orders, orderRow{TS: now, OrdID: o.id, ClOrdID: "kill" + o.id, Inst: m.inst, Side: side, OrdType: "ioc", Px: o.px, Sz: o.sz})
	d.fill(o, m, o.szF, now)
	d.out.Events = append(d.out.Events, orderEventRow{TS: now.Add(3 * time.Millisecond), OrdID: o.id, Inst: m.inst, State: "filled", AccFillSz: o.sz, AvgPx: o.px, SCode: "0"})
}
