package hftmetrics

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the classic buckets of both latency histograms, in
// seconds: 50µs to 5s in 1–2.5–5 steps (see the package documentation).
func LatencyBuckets() []float64 {
	return []float64{
		0.00005, 0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005,
		0.01, 0.025, 0.05,
		0.1, 0.25, 0.5,
		1, 2.5, 5,
	}
}

// Native histogram parameters of both latency histograms (see the package
// documentation for the reasoning).
const (
	NativeHistogramBucketFactor     = 1.1
	NativeHistogramMaxBucketNumber  = 160
	NativeHistogramMinResetDuration = time.Hour
)

// instIDPattern accepts OKX instrument IDs: BTC-USDT, BTC-USDT-SWAP,
// BTC-USD-250328, BTC-USD-250328-100000-C.
var instIDPattern = regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9.]+){1,4}$`)

// validateInstruments checks the configured instrument list that bounds the
// inst_id label and returns it as a set.
func validateInstruments(instruments []string) (map[string]struct{}, error) {
	if len(instruments) == 0 {
		return nil, errors.New("hftmetrics: no instruments: the inst_id label is bounded by the configured instrument list")
	}
	if len(instruments) > MaxInstruments {
		return nil, fmt.Errorf("hftmetrics: %d instruments configured, at most %d (MaxInstruments) keep the inst_id cardinality bounded", len(instruments), MaxInstruments)
	}
	set := make(map[string]struct{}, len(instruments))
	for _, id := range instruments {
		if len(id) > 48 || !instIDPattern.MatchString(id) {
			return nil, fmt.Errorf("hftmetrics: %q is not an OKX instrument ID (e.g. BTC-USDT, BTC-USDT-SWAP)", id)
		}
		if _, dup := set[id]; dup {
			return nil, fmt.Errorf("hftmetrics: instrument %q listed twice", id)
		}
		set[id] = struct{}{}
	}
	return set, nil
}

func counterVec(name string) *prometheus.CounterVec {
	s := spec(name)
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: s.Name, Help: s.Help}, s.Labels)
}

func gaugeVec(name string) *prometheus.GaugeVec {
	s := spec(name)
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: s.Name, Help: s.Help}, s.Labels)
}

func gauge(name string) prometheus.Gauge {
	s := spec(name)
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: s.Name, Help: s.Help})
}

func latencyHistogram(name string) prometheus.Histogram {
	s := spec(name)
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                            s.Name,
		Help:                            s.Help,
		Buckets:                         LatencyBuckets(),
		NativeHistogramBucketFactor:     NativeHistogramBucketFactor,
		NativeHistogramMaxBucketNumber:  NativeHistogramMaxBucketNumber,
		NativeHistogramMinResetDuration: NativeHistogramMinResetDuration,
	})
}

// registrar registers collectors one by one and, on the first failure,
// unregisters those it had registered, so a failed constructor leaves the
// Registerer as it found it.
type registrar struct {
	reg  prometheus.Registerer
	role string
	done []prometheus.Collector
	err  error
}

func (r *registrar) add(name string, c prometheus.Collector) {
	if r.err != nil {
		return
	}
	if err := r.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			r.err = fmt.Errorf("hftmetrics: %s metrics: %s is already registered on this Registerer "+
				"(metrics constructed twice, or collector and executor metrics on one registry): %w", r.role, name, err)
		} else {
			r.err = fmt.Errorf("hftmetrics: %s metrics: registering %s: %w", r.role, name, err)
		}
		return
	}
	r.done = append(r.done, c)
}

func (r *registrar) finish() error {
	if r.err != nil {
		for _, c := range r.done {
			r.reg.Unregister(c)
		}
	}
	return r.err
}

// shared are the metrics both services export: websocket connections, the
// clock and rate-limit responses.
type shared struct {
	reconnects  *prometheus.CounterVec
	connected   *prometheus.GaugeVec
	clockOffset prometheus.Gauge
	clockSynced prometheus.Gauge
	rateLimited *prometheus.CounterVec
	rateLimit   codeTable
}

func newShared() shared {
	s := shared{
		reconnects:  counterVec(MetricWSReconnects),
		connected:   gaugeVec(MetricWSConnected),
		clockOffset: gauge(MetricClockOffset),
		clockSynced: gauge(MetricClockSynchronized),
		rateLimited: counterVec(MetricRateLimitResponses),
	}
	s.rateLimit = newCodeTable(s.rateLimited, RateLimitCodes())
	return s
}

func (s *shared) register(r *registrar) {
	r.add(MetricWSReconnects, s.reconnects)
	r.add(MetricWSConnected, s.connected)
	r.add(MetricClockOffset, s.clockOffset)
	r.add(MetricClockSynchronized, s.clockSynced)
	r.add(MetricRateLimitResponses, s.rateLimited)
}

func (s *shared) conn(endpoint string) Conn {
	mustBeOneOf("Conn", "endpoint", endpoint, endpoints)
	return Conn{
		reconnects: s.reconnects.WithLabelValues(endpoint),
		connected:  s.connected.WithLabelValues(endpoint),
	}
}

func (s *shared) clock() Clock {
	return Clock{offset: s.clockOffset, synced: s.clockSynced}
}

// Conn records the state of one websocket connection (one endpoint).
type Conn struct {
	reconnects prometheus.Counter
	connected  prometheus.Gauge
}

// Connected records that the connection is established (and logged in, for
// the private endpoint).
func (c Conn) Connected() { c.connected.Set(1) }

// Disconnected records that the connection was lost or closed.
func (c Conn) Disconnected() { c.connected.Set(0) }

// ReconnectAttempt counts one dial after the first one, before its outcome
// is known.
func (c Conn) ReconnectAttempt() { c.reconnects.Inc() }

// Clock records the measured clock offset and the synchronisation state.
type Clock struct {
	offset prometheus.Gauge
	synced prometheus.Gauge
}

// SetOffset records exchange time minus local time (positive: the exchange
// is ahead).
func (c Clock) SetOffset(d time.Duration) { c.offset.Set(d.Seconds()) }

// SetSynchronized records whether the local clock is synchronised.
func (c Clock) SetSynchronized(ok bool) { c.synced.Set(boolFloat(ok)) }

// codeTable maps a code string to its pre-resolved counter; any other code
// goes to "other". Lookups do not allocate.
type codeTable struct {
	byCode map[string]prometheus.Counter
	other  prometheus.Counter
}

func newCodeTable(vec *prometheus.CounterVec, values []string) codeTable {
	t := codeTable{byCode: make(map[string]prometheus.Counter, len(values))}
	for _, v := range values {
		c := vec.WithLabelValues(v) // created at zero
		if v == CodeOther {
			t.other = c
		} else {
			t.byCode[v] = c
		}
	}
	return t
}

func (t codeTable) inc(code string) {
	if c, ok := t.byCode[code]; ok {
		c.Inc()
		return
	}
	t.other.Inc()
}

func mustBeOneOf(handle, label, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		panic(fmt.Sprintf("hftmetrics: %s: %s %q is not one of %s", handle, label, value, strings.Join(allowed, ", ")))
	}
}

func mustBeInstrument(handle, instID string, set map[string]struct{}) {
	if _, ok := set[instID]; !ok {
		panic(fmt.Sprintf("hftmetrics: %s: instrument %q is not in the configured instrument list", handle, instID))
	}
}

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds converts t to float Unix seconds (microsecond precision at
// today's dates).
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
