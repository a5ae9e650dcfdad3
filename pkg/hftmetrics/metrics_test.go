package hftmetrics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var testInstruments = []string{"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func newCollector(t testing.TB) (*CollectorMetrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := NewCollectorMetrics(reg, testInstruments)
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return t0 }
	return m, reg
}

func newExecutor(t testing.TB) (*ExecutorMetrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := NewExecutorMetrics(reg, testInstruments)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// exerciseCollector resolves one handle of each kind, so every labelled
// metric has a series.
func exerciseCollector(m *CollectorMetrics) {
	m.Feed(ChannelBooksL2TBT, "BTC-USDT").Message(t0, t0)
	m.Book(ChannelBooksL2TBT, "BTC-USDT").SequenceGap()
	m.Conn(EndpointPublic).Connected()
	m.Clock().SetOffset(time.Millisecond)
	m.DBWriter(ChannelTrades).Written(10, time.Millisecond)
	m.SetQueueDepth(1)
}

func exerciseExecutor(m *ExecutorMetrics) {
	m.Orders("BTC-USDT", SideBuy, OrdTypePostOnly).Sent()
	m.OrderAck(3 * time.Millisecond)
	m.Position("BTC-USDT").Set(100)
	m.Conn(EndpointPrivate).Connected()
}

// TestRegisteredMetricsMatchContract gathers what each constructor registers
// and compares it with the contract: the same names, types, help and label
// names, nothing more. promlint must find nothing.
func TestRegisteredMetricsMatchContract(t *testing.T) {
	for _, tc := range []struct {
		src Source
		reg func(t *testing.T) *prometheus.Registry
	}{
		{SourceCollector, func(t *testing.T) *prometheus.Registry {
			m, reg := newCollector(t)
			exerciseCollector(m)
			return reg
		}},
		{SourceExecutor, func(t *testing.T) *prometheus.Registry {
			m, reg := newExecutor(t)
			exerciseExecutor(m)
			return reg
		}},
	} {
		t.Run(string(tc.src), func(t *testing.T) {
			reg := tc.reg(t)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, mf := range mfs {
				got[mf.GetName()] = true
				s, ok := Lookup(mf.GetName())
				if !ok || s.Name != mf.GetName() {
					t.Errorf("%s is registered but not in the contract", mf.GetName())
					continue
				}
				if !s.ExportedBy(tc.src) {
					t.Errorf("%s is registered by the %s but the contract says %v", s.Name, tc.src, s.Sources)
				}
				if mf.GetHelp() != s.Help {
					t.Errorf("%s: help %q, contract %q", s.Name, mf.GetHelp(), s.Help)
				}
				if want := strings.ToUpper(string(s.Type)); mf.GetType().String() != want {
					t.Errorf("%s: type %s, contract %s", s.Name, mf.GetType(), want)
				}
				for _, metric := range mf.GetMetric() {
					var names []string
					for _, lp := range metric.GetLabel() {
						names = append(names, lp.GetName())
					}
					want := slices.Clone(s.Labels)
					slices.Sort(want)
					if !slices.Equal(names, want) { // the registry sorts label pairs by name
						t.Errorf("%s: labels %v, contract %v", s.Name, names, s.Labels)
					}
				}
			}
			for _, s := range Contract() {
				if s.ExportedBy(tc.src) && !got[s.Name] {
					t.Errorf("%s is in the contract of the %s but not registered", s.Name, tc.src)
				}
			}
			problems, err := testutil.GatherAndLint(reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("promlint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

func TestRegisteringTwiceFailsClearly(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewCollectorMetrics(reg, testInstruments); err != nil {
		t.Fatal(err)
	}
	before := familyCount(t, reg)

	_, err := NewCollectorMetrics(reg, testInstruments)
	if err == nil {
		t.Fatal("second NewCollectorMetrics on the same registry succeeded")
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error does not wrap prometheus.AlreadyRegisteredError: %v", err)
	}
	if !strings.Contains(err.Error(), "already registered") || !strings.Contains(err.Error(), MetricFeedMessages) {
		t.Errorf("error does not say what is registered twice: %v", err)
	}

	// The executor shares the websocket, clock and rate-limit metrics: on the
	// collector's registry it fails, and must leave the registry as it was.
	_, err = NewExecutorMetrics(reg, testInstruments)
	if err == nil || !strings.Contains(err.Error(), "collector and executor metrics on one registry") {
		t.Errorf("executor on the collector's registry: %v", err)
	}
	if after := familyCount(t, reg); after != before {
		t.Errorf("failed constructors changed the registry: %d families before, %d after", before, after)
	}
	// Unregistering on failure means a fresh registry still works.
	if _, err := NewExecutorMetrics(prometheus.NewRegistry(), testInstruments); err != nil {
		t.Fatal(err)
	}
}

func familyCount(t *testing.T, g prometheus.Gatherer) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return len(mfs)
}

func TestConstructorsValidateInstruments(t *testing.T) {
	many := make([]string, MaxInstruments+1)
	for i := range many {
		many[i] = fmt.Sprintf("COIN%d-USDT", i)
	}
	for name, tc := range map[string]struct {
		reg   prometheus.Registerer
		insts []string
		want  string
	}{
		"nil registerer": {nil, testInstruments, "nil Registerer"},
		"none":           {prometheus.NewRegistry(), nil, "no instruments"},
		"too many":       {prometheus.NewRegistry(), many, "at most 50"},
		"duplicate":      {prometheus.NewRegistry(), []string{"BTC-USDT", "BTC-USDT"}, "listed twice"},
		"lower case":     {prometheus.NewRegistry(), []string{"btc-usdt"}, "not an OKX instrument ID"},
		"free form":      {prometheus.NewRegistry(), []string{"BTC USDT"}, "not an OKX instrument ID"},
		"empty":          {prometheus.NewRegistry(), []string{""}, "not an OKX instrument ID"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewCollectorMetrics(tc.reg, tc.insts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("collector: err %v, want %q", err, tc.want)
			}
			if _, err := NewExecutorMetrics(tc.reg, tc.insts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("executor: err %v, want %q", err, tc.want)
			}
		})
	}
	ok := []string{"BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250328", "BTC-USD-250328-100000-C", "1INCH-USDT"}
	if _, err := NewCollectorMetrics(prometheus.NewRegistry(), ok); err != nil {
		t.Errorf("valid instrument IDs refused: %v", err)
	}
	m, _ := NewCollectorMetrics(prometheus.NewRegistry(), []string{"ETH-USDT", "BTC-USDT"})
	if got := m.Instruments(); !slices.Equal(got, []string{"BTC-USDT", "ETH-USDT"}) {
		t.Errorf("Instruments() = %v", got)
	}
}

func TestFeedRecordsIntoItsSeries(t *testing.T) {
	m, reg := newCollector(t)
	btc := m.Feed(ChannelBooksL2TBT, "BTC-USDT")
	eth := m.Feed(ChannelTrades, "ETH-USDT")
	m.Feed(ChannelFundingRate, "BTC-USDT-SWAP") // subscribed, silent

	local := t0.Add(1500 * time.Millisecond)
	exch := local.Add(-3 * time.Millisecond)
	btc.Message(exch, local)
	btc.Message(exch, local)
	eth.Message(time.Time{}, local) // no exchange timestamp

	const want = `
# HELP hft_feed_messages_total Market-data messages received from the OKX websocket, per channel and instrument.
# TYPE hft_feed_messages_total counter
hft_feed_messages_total{channel="books-l2-tbt",inst_id="BTC-USDT"} 2
hft_feed_messages_total{channel="funding-rate",inst_id="BTC-USDT-SWAP"} 0
hft_feed_messages_total{channel="trades",inst_id="ETH-USDT"} 1
# HELP hft_feed_last_message_timestamp_seconds Local Unix time at which the last message of the channel and instrument was received (the subscription time until the first one). Staleness is time() minus this.
# TYPE hft_feed_last_message_timestamp_seconds gauge
hft_feed_last_message_timestamp_seconds{channel="books-l2-tbt",inst_id="BTC-USDT"} 1.7724528015e+09
hft_feed_last_message_timestamp_seconds{channel="funding-rate",inst_id="BTC-USDT-SWAP"} 1.7724528e+09
hft_feed_last_message_timestamp_seconds{channel="trades",inst_id="ETH-USDT"} 1.7724528015e+09
# HELP hft_feed_last_exchange_timestamp_seconds Exchange timestamp (ts) of the last message of the channel and instrument, Unix seconds. The local receive time minus this is the feed delay.
# TYPE hft_feed_last_exchange_timestamp_seconds gauge
hft_feed_last_exchange_timestamp_seconds{channel="books-l2-tbt",inst_id="BTC-USDT"} 1.772452801497e+09
hft_feed_last_exchange_timestamp_seconds{channel="funding-rate",inst_id="BTC-USDT-SWAP"} 0
hft_feed_last_exchange_timestamp_seconds{channel="trades",inst_id="ETH-USDT"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		MetricFeedMessages, MetricFeedLastMessageTimestamp, MetricFeedLastExchangeTimestamp); err != nil {
		t.Fatal(err)
	}
}

func TestBookConnClockQueueAndWrites(t *testing.T) {
	m, reg := newCollector(t)
	book := m.Book(ChannelBooks, "ETH-USDT")
	book.SequenceGap()
	book.SequenceGap()
	book.ChecksumMismatch()
	if got := testutil.ToFloat64(m.seqGaps.WithLabelValues(ChannelBooks, "ETH-USDT")); got != 2 {
		t.Errorf("sequence gaps = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.checksumErrs.WithLabelValues(ChannelBooks, "ETH-USDT")); got != 1 {
		t.Errorf("checksum mismatches = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.seqGaps); n != 1 {
		t.Errorf("%d sequence-gap series, want 1", n)
	}

	conn := m.Conn(EndpointPublic)
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues(EndpointPublic)); got != 0 {
		t.Errorf("reconnects start at %v", got)
	}
	conn.Connected()
	conn.Disconnected()
	conn.ReconnectAttempt()
	conn.ReconnectAttempt()
	if got := testutil.ToFloat64(m.connected.WithLabelValues(EndpointPublic)); got != 0 {
		t.Errorf("connected = %v after Disconnected", got)
	}
	conn.Connected()
	if got := testutil.ToFloat64(m.connected.WithLabelValues(EndpointPublic)); got != 1 {
		t.Errorf("connected = %v after Connected", got)
	}
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues(EndpointPublic)); got != 2 {
		t.Errorf("reconnects = %v, want 2", got)
	}

	clock := m.Clock()
	clock.SetOffset(-1500 * time.Microsecond)
	clock.SetSynchronized(true)
	if got := testutil.ToFloat64(m.clockOffset); got != -0.0015 {
		t.Errorf("clock offset = %v, want -0.0015", got)
	}
	if got := testutil.ToFloat64(m.clockSynced); got != 1 {
		t.Errorf("clock synchronized = %v", got)
	}

	m.SetQueueCapacity(100000)
	m.SetQueueDepth(1234)
	m.RateLimited("50011")
	m.RateLimited("99999")
	w := m.DBWriter(ChannelTrades)
	w.Written(500, 2*time.Millisecond)
	w.Written(0, time.Millisecond)
	w.Failed(5 * time.Second)
	const want = `
# HELP hft_ingest_queue_depth Rows waiting in the collector's queue to be written to TimescaleDB.
# TYPE hft_ingest_queue_depth gauge
hft_ingest_queue_depth 1234
# HELP hft_ingest_queue_capacity Capacity of the collector's ingest queue, in rows; rows beyond it are dropped.
# TYPE hft_ingest_queue_capacity gauge
hft_ingest_queue_capacity 100000
# HELP hft_db_rows_written_total Rows written to TimescaleDB, by the channel they came from.
# TYPE hft_db_rows_written_total counter
hft_db_rows_written_total{channel="trades"} 500
# HELP hft_db_write_errors_total Batch writes to TimescaleDB that failed, by the channel whose rows they carried.
# TYPE hft_db_write_errors_total counter
hft_db_write_errors_total{channel="trades"} 1
# HELP hft_db_write_duration_seconds Duration of a batch write (INSERT or COPY) to TimescaleDB, successful or failed, in seconds.
# TYPE hft_db_write_duration_seconds histogram
hft_db_write_duration_seconds_bucket{le="5e-05"} 0
hft_db_write_duration_seconds_bucket{le="0.0001"} 0
hft_db_write_duration_seconds_bucket{le="0.00025"} 0
hft_db_write_duration_seconds_bucket{le="0.0005"} 0
hft_db_write_duration_seconds_bucket{le="0.001"} 1
hft_db_write_duration_seconds_bucket{le="0.0025"} 2
hft_db_write_duration_seconds_bucket{le="0.005"} 2
hft_db_write_duration_seconds_bucket{le="0.01"} 2
hft_db_write_duration_seconds_bucket{le="0.025"} 2
hft_db_write_duration_seconds_bucket{le="0.05"} 2
hft_db_write_duration_seconds_bucket{le="0.1"} 2
hft_db_write_duration_seconds_bucket{le="0.25"} 2
hft_db_write_duration_seconds_bucket{le="0.5"} 2
hft_db_write_duration_seconds_bucket{le="1"} 2
hft_db_write_duration_seconds_bucket{le="2.5"} 2
hft_db_write_duration_seconds_bucket{le="5"} 3
hft_db_write_duration_seconds_bucket{le="+Inf"} 3
hft_db_write_duration_seconds_sum 5.003
hft_db_write_duration_seconds_count 3
# HELP hft_rate_limit_responses_total Responses of OKX refusing a request for a rate limit (sCode 50011, 50061, 60014, or other), order rejects included.
# TYPE hft_rate_limit_responses_total counter
hft_rate_limit_responses_total{code="50011"} 1
hft_rate_limit_responses_total{code="50061"} 0
hft_rate_limit_responses_total{code="60014"} 0
hft_rate_limit_responses_total{code="other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		MetricIngestQueueDepth, MetricIngestQueueCapacity, MetricDBRowsWritten, MetricDBWriteErrors,
		MetricDBWriteDuration, MetricRateLimitResponses); err != nil {
		t.Fatal(err)
	}
}

func TestExecutorRecordsIntoItsSeries(t *testing.T) {
	m, reg := newExecutor(t)

	// Every code of the table exists at zero before the first reject.
	if n := testutil.CollectAndCount(m.rejectsVec); n != len(RejectCodes()) {
		t.Errorf("%d reject series at start, want %d", n, len(RejectCodes()))
	}
	m.Reject("51008")
	m.Reject("51008")
	m.Reject("50011") // rate limit: counted in both
	m.Reject("59999") // unknown: other
	m.Reject("")
	m.RateLimited("50061")
	for code, want := range map[string]float64{"51008": 2, "50011": 1, "other": 2, "51006": 0, "50061": 0} {
		if got := testutil.ToFloat64(m.rejectsVec.WithLabelValues(code)); got != want {
			t.Errorf("rejects{code=%q} = %v, want %v", code, got, want)
		}
	}
	for code, want := range map[string]float64{"50011": 1, "50061": 1, "60014": 0, "other": 0} {
		if got := testutil.ToFloat64(m.rateLimited.WithLabelValues(code)); got != want {
			t.Errorf("rate limits{code=%q} = %v, want %v", code, got, want)
		}
	}

	o := m.Orders("ETH-USDT", SideSell, OrdTypeIOC)
	o.Sent()
	o.Sent()
	m.Orders("ETH-USDT", SideBuy, OrdTypeIOC).Sent()
	if got := testutil.ToFloat64(m.ordersSent.WithLabelValues("ETH-USDT", SideSell, OrdTypeIOC)); got != 2 {
		t.Errorf("orders sent (sell) = %v, want 2", got)
	}

	m.Position("BTC-USDT-SWAP").Set(-25000.5)
	m.SetPnL(1200, -300)
	m.SetDrawdown(450)
	m.SetKillSwitch(true)
	const want = `
# HELP hft_position_usd Net position of the instrument, notional in US dollars (signed: long positive, short negative).
# TYPE hft_position_usd gauge
hft_position_usd{inst_id="BTC-USDT-SWAP"} -25000.5
# HELP hft_pnl_realized_usd Realised profit and loss since the start of the UTC day, in US dollars, net of fees.
# TYPE hft_pnl_realized_usd gauge
hft_pnl_realized_usd 1200
# HELP hft_pnl_unrealized_usd Unrealised profit and loss of the open positions at mark price, in US dollars.
# TYPE hft_pnl_unrealized_usd gauge
hft_pnl_unrealized_usd -300
# HELP hft_drawdown_usd Peak of total PnL (realised plus unrealised) since the start of the UTC day minus its current value, in US dollars (>= 0).
# TYPE hft_drawdown_usd gauge
hft_drawdown_usd 450
# HELP hft_kill_switch_engaged 1 while the kill switch is engaged (no new orders; positions being flattened), else 0.
# TYPE hft_kill_switch_engaged gauge
hft_kill_switch_engaged 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		MetricPosition, MetricPnLRealized, MetricPnLUnrealized, MetricDrawdown, MetricKillSwitchEngaged); err != nil {
		t.Fatal(err)
	}
	m.SetKillSwitch(false)
	if got := testutil.ToFloat64(m.killSwitch); got != 0 {
		t.Errorf("kill switch = %v after disengaging", got)
	}
}

// TestLatencyHistogramsAreNativeAndClassic checks what a protobuf scrape
// carries: schema 3 native buckets and the 16 classic buckets.
func TestLatencyHistogramsAreNativeAndClassic(t *testing.T) {
	m, reg := newExecutor(t)
	for _, d := range []time.Duration{80 * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond, 180 * time.Millisecond, -time.Millisecond} {
		m.OrderAck(d)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != MetricOrderAckLatency {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 5 {
			t.Errorf("sample count %d, want 5", h.GetSampleCount())
		}
		if h.GetSchema() != 3 {
			t.Errorf("native schema %d, want 3 (bucket factor 1.1)", h.GetSchema())
		}
		if len(h.GetPositiveSpan()) == 0 {
			t.Error("no native buckets")
		}
		if h.GetZeroCount() != 1 {
			t.Errorf("zero bucket %d, want 1 (the negative duration)", h.GetZeroCount())
		}
		var bounds []float64
		for _, b := range h.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if !slices.Equal(bounds, LatencyBuckets()) {
			t.Errorf("classic buckets %v, want %v", bounds, LatencyBuckets())
		}
		return
	}
	t.Fatal("no ack latency histogram gathered")
}

func TestHandlesRefuseValuesOutsideTheContract(t *testing.T) {
	c, _ := newCollector(t)
	e, _ := newExecutor(t)
	for name, f := range map[string]func(){
		"feed: unknown channel":      func() { c.Feed("books400", "BTC-USDT") },
		"feed: unknown instrument":   func() { c.Feed(ChannelTrades, "DOGE-USDT") },
		"book: snapshot channel":     func() { c.Book(ChannelBooks5, "BTC-USDT") },
		"book: unknown instrument":   func() { c.Book(ChannelBooks, "DOGE-USDT") },
		"conn: unknown endpoint":     func() { c.Conn("wss://ws.okx.com") },
		"db writer: unknown channel": func() { c.DBWriter("orders") },
		"orders: bad side":           func() { e.Orders("BTC-USDT", "BUY", OrdTypeLimit) },
		"orders: bad ord type":       func() { e.Orders("BTC-USDT", SideBuy, "stop") },
		"orders: unknown instrument": func() { e.Orders("DOGE-USDT", SideBuy, OrdTypeLimit) },
		"position: unknown":          func() { e.Position("DOGE-USDT") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "hftmetrics: ") {
					t.Errorf("panic %q does not say where it comes from", msg)
				}
			}()
			f()
		})
	}
}

// TestHotPathDoesNotAllocate guards what the benchmarks measure.
func TestHotPathDoesNotAllocate(t *testing.T) {
	c, _ := newCollector(t)
	e, _ := newExecutor(t)
	feed := c.Feed(ChannelBBOTBT, "BTC-USDT")
	book := c.Book(ChannelBooksL2TBT, "BTC-USDT")
	w := c.DBWriter(ChannelBBOTBT)
	orders := e.Orders("BTC-USDT", SideBuy, OrdTypePostOnly)
	pos := e.Position("BTC-USDT")
	now := time.Now()
	for name, f := range map[string]func(){
		"Feed.Message":     func() { feed.Message(now, now) },
		"Book.SequenceGap": func() { book.SequenceGap() },
		"DBWriter.Written": func() { w.Written(100, time.Millisecond) },
		"OrderAck":         func() { e.OrderAck(1500 * time.Microsecond) },
		"Reject(known)":    func() { e.Reject("51008") },
		"Reject(other)":    func() { e.Reject("12345") },
		"Reject(50011)":    func() { e.Reject("50011") },
		"Orders.Sent":      func() { orders.Sent() },
		"Position.Set":     func() { pos.Set(1) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocs per call", name, a)
		}
	}
}
