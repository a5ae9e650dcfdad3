package hftmetrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CollectorMetrics are the metrics of okx-hft-collector. Construct them
// once per process with [NewCollectorMetrics]; their methods are safe for
// concurrent use.
type CollectorMetrics struct {
	shared
	instruments map[string]struct{}

	feedMessages    *prometheus.CounterVec
	feedLastLocal   *prometheus.GaugeVec
	feedLastExch    *prometheus.GaugeVec
	seqGaps         *prometheus.CounterVec
	checksumErrs    *prometheus.CounterVec
	queueDepth      prometheus.Gauge
	queueCapacity   prometheus.Gauge
	dbWriteDuration prometheus.Histogram
	dbWriteErrors   *prometheus.CounterVec
	dbRowsWritten   *prometheus.CounterVec

	now func() time.Time
}

// NewCollectorMetrics creates the collector's metrics and registers them on
// reg. instruments is the configured instrument list, which bounds the
// inst_id label (1 to [MaxInstruments] OKX instrument IDs). It fails if reg
// already holds any of them (for instance when called twice with the same
// registry); it then leaves reg unchanged.
func NewCollectorMetrics(reg prometheus.Registerer, instruments []string) (*CollectorMetrics, error) {
	if reg == nil {
		return nil, errors.New("hftmetrics: collector metrics: nil Registerer (pass prometheus.DefaultRegisterer or a prometheus.NewRegistry())")
	}
	set, err := validateInstruments(instruments)
	if err != nil {
		return nil, err
	}
	m := &CollectorMetrics{
		shared:          newShared(),
		instruments:     set,
		feedMessages:    counterVec(MetricFeedMessages),
		feedLastLocal:   gaugeVec(MetricFeedLastMessageTimestamp),
		feedLastExch:    gaugeVec(MetricFeedLastExchangeTimestamp),
		seqGaps:         counterVec(MetricBookSequenceGaps),
		checksumErrs:    counterVec(MetricBookChecksumMismatches),
		queueDepth:      gauge(MetricIngestQueueDepth),
		queueCapacity:   gauge(MetricIngestQueueCapacity),
		dbWriteDuration: latencyHistogram(MetricDBWriteDuration),
		dbWriteErrors:   counterVec(MetricDBWriteErrors),
		dbRowsWritten:   counterVec(MetricDBRowsWritten),
		now:             time.Now,
	}
	r := &registrar{reg: reg, role: "collector"}
	r.add(MetricFeedMessages, m.feedMessages)
	r.add(MetricFeedLastMessageTimestamp, m.feedLastLocal)
	r.add(MetricFeedLastExchangeTimestamp, m.feedLastExch)
	m.shared.register(r)
	r.add(MetricBookSequenceGaps, m.seqGaps)
	r.add(MetricBookChecksumMismatches, m.checksumErrs)
	r.add(MetricIngestQueueDepth, m.queueDepth)
	r.add(MetricIngestQueueCapacity, m.queueCapacity)
	r.add(MetricDBWriteDuration, m.dbWriteDuration)
	r.add(MetricDBWriteErrors, m.dbWriteErrors)
	r.add(MetricDBRowsWritten, m.dbRowsWritten)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// Instruments returns the configured instrument list, sorted.
func (m *CollectorMetrics) Instruments() []string { return sortedKeys(m.instruments) }

// Feed resolves the handle of one subscription (channel, instrument) and
// sets its last-message time to now, so that a subscription that never
// delivers goes stale. Call it once per subscription, at subscribe time. It
// panics if channel is not one of [Channels] or instID was not configured.
func (m *CollectorMetrics) Feed(channel, instID string) Feed {
	mustBeOneOf("Feed", "channel", channel, channels)
	mustBeInstrument("Feed", instID, m.instruments)
	f := Feed{
		messages:  m.feedMessages.WithLabelValues(channel, instID),
		lastLocal: m.feedLastLocal.WithLabelValues(channel, instID),
		lastExch:  m.feedLastExch.WithLabelValues(channel, instID),
	}
	f.lastLocal.Set(unixSeconds(m.now()))
	return f
}

// Book resolves the integrity counters of one incremental order book. It
// panics if channel is not one of [BookChannels] or instID was not
// configured.
func (m *CollectorMetrics) Book(channel, instID string) Book {
	mustBeOneOf("Book", "channel", channel, bookChannels)
	mustBeInstrument("Book", instID, m.instruments)
	return Book{
		seqGaps:      m.seqGaps.WithLabelValues(channel, instID),
		checksumErrs: m.checksumErrs.WithLabelValues(channel, instID),
	}
}

// Conn resolves the state of the websocket connection to an endpoint
// ([EndpointPublic] or [EndpointBusiness] for the collector) and creates its
// reconnect counter at zero. It panics on an unknown endpoint.
func (m *CollectorMetrics) Conn(endpoint string) Conn { return m.shared.conn(endpoint) }

// Clock returns the clock handle.
func (m *CollectorMetrics) Clock() Clock { return m.shared.clock() }

// RateLimited counts one rate-limit response (a REST snapshot request or a
// websocket subscribe refused with sCode 50011, 60014, ...). Codes outside
// [RateLimitCodes] count as "other".
func (m *CollectorMetrics) RateLimited(code string) { m.rateLimit.inc(code) }

// DBWriter resolves the write counters of the rows of one channel (one
// hypertable). It panics if channel is not one of [Channels].
func (m *CollectorMetrics) DBWriter(channel string) DBWriter {
	mustBeOneOf("DBWriter", "channel", channel, channels)
	return DBWriter{
		duration: m.dbWriteDuration,
		errors:   m.dbWriteErrors.WithLabelValues(channel),
		rows:     m.dbRowsWritten.WithLabelValues(channel),
	}
}

// SetQueueDepth records the number of rows waiting to be written.
func (m *CollectorMetrics) SetQueueDepth(rows int) { m.queueDepth.Set(float64(rows)) }

// SetQueueCapacity records the capacity of the ingest queue, in rows.
func (m *CollectorMetrics) SetQueueCapacity(rows int) { m.queueCapacity.Set(float64(rows)) }

// Feed records the messages of one subscription.
type Feed struct {
	messages  prometheus.Counter
	lastLocal prometheus.Gauge
	lastExch  prometheus.Gauge
}

// Message records one message: exchTS is its ts field (the zero time if it
// has none), localTS the time it was received.
func (f Feed) Message(exchTS, localTS time.Time) {
	f.messages.Inc()
	f.lastLocal.Set(unixSeconds(localTS))
	if !exchTS.IsZero() {
		f.lastExch.Set(unixSeconds(exchTS))
	}
}

// Book records the integrity failures of one order book.
type Book struct {
	seqGaps      prometheus.Counter
	checksumErrs prometheus.Counter
}

// SequenceGap counts a message whose prevSeqId is not the previous seqId.
func (b Book) SequenceGap() { b.seqGaps.Inc() }

// ChecksumMismatch counts a message whose checksum does not match the local
// book (a pushed checksum of 0 means "not provided" and is no mismatch).
func (b Book) ChecksumMismatch() { b.checksumErrs.Inc() }

// DBWriter records the batch writes of one channel's rows.
type DBWriter struct {
	duration prometheus.Histogram
	errors   prometheus.Counter
	rows     prometheus.Counter
}

// Written records a successful batch write of rows rows that took d.
func (w DBWriter) Written(rows int, d time.Duration) {
	w.duration.Observe(nonNegativeSeconds(d))
	if rows > 0 {
		w.rows.Add(float64(rows))
	}
}

// Failed records a failed batch write that took d (until the error).
func (w DBWriter) Failed(d time.Duration) {
	w.duration.Observe(nonNegativeSeconds(d))
	w.errors.Inc()
}

func nonNegativeSeconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}
