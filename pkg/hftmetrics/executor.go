package hftmetrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ExecutorMetrics are the metrics of okx-hft-executor. Construct them once
// per process with [NewExecutorMetrics]; their methods are safe for
// concurrent use.
type ExecutorMetrics struct {
	shared
	instruments map[string]struct{}

	ackLatency    prometheus.Histogram
	ordersSent    *prometheus.CounterVec
	rejectsVec    *prometheus.CounterVec
	rejects       codeTable
	rateLimitCode map[string]bool
	positions     *prometheus.GaugeVec
	pnlRealized   prometheus.Gauge
	pnlUnrealized prometheus.Gauge
	drawdown      prometheus.Gauge
	killSwitch    prometheus.Gauge
}

// NewExecutorMetrics creates the executor's metrics and registers them on
// reg. instruments is the configured instrument list, which bounds the
// inst_id label (1 to [MaxInstruments] OKX instrument IDs). It fails if reg
// already holds any of them (for instance when called twice with the same
// registry); it then leaves reg unchanged.
//
// The reject and rate-limit counters of every code of the fixed table are
// created at zero; the kill switch starts disengaged (0).
func NewExecutorMetrics(reg prometheus.Registerer, instruments []string) (*ExecutorMetrics, error) {
	if reg == nil {
		return nil, errors.New("hftmetrics: executor metrics: nil Registerer (pass prometheus.DefaultRegisterer or a prometheus.NewRegistry())")
	}
	set, err := validateInstruments(instruments)
	if err != nil {
		return nil, err
	}
	m := &ExecutorMetrics{
		shared:        newShared(),
		instruments:   set,
		ackLatency:    latencyHistogram(MetricOrderAckLatency),
		ordersSent:    counterVec(MetricOrdersSent),
		rejectsVec:    counterVec(MetricOrderRejects),
		rateLimitCode: map[string]bool{},
		positions:     gaugeVec(MetricPosition),
		pnlRealized:   gauge(MetricPnLRealized),
		pnlUnrealized: gauge(MetricPnLUnrealized),
		drawdown:      gauge(MetricDrawdown),
		killSwitch:    gauge(MetricKillSwitchEngaged),
	}
	m.rejects = newCodeTable(m.rejectsVec, RejectCodes())
	for _, c := range codes {
		if c.RateLimit {
			m.rateLimitCode[c.Code] = true
		}
	}
	r := &registrar{reg: reg, role: "executor"}
	m.shared.register(r)
	r.add(MetricOrderAckLatency, m.ackLatency)
	r.add(MetricOrdersSent, m.ordersSent)
	r.add(MetricOrderRejects, m.rejectsVec)
	r.add(MetricPosition, m.positions)
	r.add(MetricPnLRealized, m.pnlRealized)
	r.add(MetricPnLUnrealized, m.pnlUnrealized)
	r.add(MetricDrawdown, m.drawdown)
	r.add(MetricKillSwitchEngaged, m.killSwitch)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// Instruments returns the configured instrument list, sorted.
func (m *ExecutorMetrics) Instruments() []string { return sortedKeys(m.instruments) }

// Conn resolves the state of the websocket connection to an endpoint
// ([EndpointPrivate] for order entry) and creates its reconnect counter at
// zero. It panics on an unknown endpoint.
func (m *ExecutorMetrics) Conn(endpoint string) Conn { return m.shared.conn(endpoint) }

// Clock returns the clock handle.
func (m *ExecutorMetrics) Clock() Clock { return m.shared.clock() }

// Orders resolves the sent-orders counter of one (instrument, side, order
// type). It panics if instID was not configured or side or ordType is not
// one of [Sides] or [OrdTypes].
func (m *ExecutorMetrics) Orders(instID, side, ordType string) Orders {
	mustBeInstrument("Orders", instID, m.instruments)
	mustBeOneOf("Orders", "side", side, sides)
	mustBeOneOf("Orders", "ord_type", ordType, ordTypes)
	return Orders{sent: m.ordersSent.WithLabelValues(instID, side, ordType)}
}

// OrderAck records the time from writing a place-order request to
// receiving its response, whether OKX accepted the order or not. A negative
// duration (a clock step) is recorded as 0.
func (m *ExecutorMetrics) OrderAck(d time.Duration) { m.ackLatency.Observe(nonNegativeSeconds(d)) }

// Reject counts a place-order request rejected with sCode code (as received:
// "51008"). A code outside [Codes] counts as "other". A rate-limit code
// (50011, 50061, 60014) is counted in hft_rate_limit_responses_total as
// well, so do not call RateLimited for it too.
func (m *ExecutorMetrics) Reject(code string) {
	m.rejects.inc(code)
	if m.rateLimitCode[code] {
		m.rateLimit.inc(code)
	}
}

// RateLimited counts a rate-limit response to a request that is not a
// place-order request (cancel, amend, REST query, login). Codes outside
// [RateLimitCodes] count as "other".
func (m *ExecutorMetrics) RateLimited(code string) { m.rateLimit.inc(code) }

// Position resolves the position gauge of an instrument. It panics if instID
// was not configured.
func (m *ExecutorMetrics) Position(instID string) Position {
	mustBeInstrument("Position", instID, m.instruments)
	return Position{g: m.positions.WithLabelValues(instID)}
}

// SetPnL records realised (since the start of the UTC day) and unrealised
// profit and loss, in US dollars.
func (m *ExecutorMetrics) SetPnL(realizedUSD, unrealizedUSD float64) {
	m.pnlRealized.Set(realizedUSD)
	m.pnlUnrealized.Set(unrealizedUSD)
}

// SetDrawdown records the drawdown from the day's peak total PnL, in US
// dollars (a positive number).
func (m *ExecutorMetrics) SetDrawdown(usd float64) { m.drawdown.Set(usd) }

// SetKillSwitch records whether the kill switch is engaged.
func (m *ExecutorMetrics) SetKillSwitch(engaged bool) { m.killSwitch.Set(boolFloat(engaged)) }

// Orders counts the place-order requests of one (instrument, side, order
// type).
type Orders struct{ sent prometheus.Counter }

// Sent counts one place-order request written to the exchange (each order
// of a batch request counts once).
func (o Orders) Sent() { o.sent.Inc() }

// Position records the net position of one instrument.
type Position struct{ g prometheus.Gauge }

// Set records the signed notional in US dollars (long positive).
func (p Position) Set(usd float64) { p.g.Set(usd) }
