package hftmetrics

import (
	"slices"
	"strings"
)

// Metric names of the contract.
const (
	// Market-data feed (collector).
	MetricFeedMessages              = "hft_feed_messages_total"
	MetricFeedLastMessageTimestamp  = "hft_feed_last_message_timestamp_seconds"
	MetricFeedLastExchangeTimestamp = "hft_feed_last_exchange_timestamp_seconds"

	// Websocket connections (collector and executor).
	MetricWSReconnects = "hft_ws_reconnects_total"
	MetricWSConnected  = "hft_ws_connected"

	// Order-book integrity (collector).
	MetricBookSequenceGaps       = "hft_book_sequence_gaps_total"
	MetricBookChecksumMismatches = "hft_book_checksum_mismatches_total"

	// Clock (collector and executor).
	MetricClockOffset       = "hft_clock_offset_seconds"
	MetricClockSynchronized = "hft_clock_synchronized"

	// Rate limits (collector and executor).
	MetricRateLimitResponses = "hft_rate_limit_responses_total"

	// Orders (executor).
	MetricOrderAckLatency = "hft_order_ack_latency_seconds"
	MetricOrdersSent      = "hft_orders_sent_total"
	MetricOrderRejects    = "hft_order_rejects_total"

	// Risk (executor).
	MetricPosition          = "hft_position_usd"
	MetricPnLRealized       = "hft_pnl_realized_usd"
	MetricPnLUnrealized     = "hft_pnl_unrealized_usd"
	MetricDrawdown          = "hft_drawdown_usd"
	MetricKillSwitchEngaged = "hft_kill_switch_engaged"

	// Ingest into TimescaleDB (collector).
	MetricIngestQueueDepth    = "hft_ingest_queue_depth"
	MetricIngestQueueCapacity = "hft_ingest_queue_capacity"
	MetricDBWriteDuration     = "hft_db_write_duration_seconds"
	MetricDBWriteErrors       = "hft_db_write_errors_total"
	MetricDBRowsWritten       = "hft_db_rows_written_total"

	// Not exported by the services; listed so that rules can be checked.
	MetricUp   = "up"    // Prometheus, every target
	MetricPgUp = "pg_up" // postgres-exporter, job timescaledb
)

// Label names. No other label name may appear on an hft_* metric.
const (
	LabelChannel  = "channel"
	LabelInstID   = "inst_id"
	LabelSide     = "side"
	LabelOrdType  = "ord_type"
	LabelCode     = "code"
	LabelEndpoint = "endpoint"
)

// MaxInstruments bounds the inst_id label: a process configured with more
// instruments is refused by NewCollectorMetrics and NewExecutorMetrics.
const MaxInstruments = 50

// OKX websocket channels (values of the channel label).
const (
	ChannelBooks        = "books"
	ChannelBooks5       = "books5"
	ChannelBBOTBT       = "bbo-tbt"
	ChannelBooksL2TBT   = "books-l2-tbt"
	ChannelBooks50L2TBT = "books50-l2-tbt"
	ChannelTrades       = "trades"
	ChannelTradesAll    = "trades-all"
	ChannelTickers      = "tickers"
	ChannelFundingRate  = "funding-rate"
	ChannelMarkPrice    = "mark-price"
	ChannelIndexTickers = "index-tickers"
	ChannelOpenInterest = "open-interest"
)

// Order sides (values of the side label).
const (
	SideBuy  = "buy"
	SideSell = "sell"
)

// OKX order types (values of the ord_type label).
const (
	OrdTypeMarket          = "market"
	OrdTypeLimit           = "limit"
	OrdTypePostOnly        = "post_only"
	OrdTypeFOK             = "fok"
	OrdTypeIOC             = "ioc"
	OrdTypeOptimalLimitIOC = "optimal_limit_ioc"
	OrdTypeMMP             = "mmp"
	OrdTypeMMPAndPostOnly  = "mmp_and_post_only"
)

// OKX websocket endpoints (values of the endpoint label).
const (
	EndpointPublic   = "public"   // wss://ws.okx.com:8443/ws/v5/public
	EndpointBusiness = "business" // wss://ws.okx.com:8443/ws/v5/business
	EndpointPrivate  = "private"  // wss://ws.okx.com:8443/ws/v5/private
)

// CodeOther is the code label value of every sCode outside [Codes].
const CodeOther = "other"

var (
	channels     = []string{ChannelBooks, ChannelBooks5, ChannelBBOTBT, ChannelBooksL2TBT, ChannelBooks50L2TBT, ChannelTrades, ChannelTradesAll, ChannelTickers, ChannelFundingRate, ChannelMarkPrice, ChannelIndexTickers, ChannelOpenInterest}
	bookChannels = []string{ChannelBooks, ChannelBooksL2TBT, ChannelBooks50L2TBT}
	sides        = []string{SideBuy, SideSell}
	ordTypes     = []string{OrdTypeMarket, OrdTypeLimit, OrdTypePostOnly, OrdTypeFOK, OrdTypeIOC, OrdTypeOptimalLimitIOC, OrdTypeMMP, OrdTypeMMPAndPostOnly}
	endpoints    = []string{EndpointPublic, EndpointBusiness, EndpointPrivate}
)

// Channels returns the values the channel label may take.
func Channels() []string { return slices.Clone(channels) }

// BookChannels returns the incremental book channels: those that carry
// seqId/prevSeqId and a checksum, and so the only channels of the
// hft_book_* metrics. books5 and bbo-tbt push full snapshots: a lost
// snapshot is healed by the next one.
func BookChannels() []string { return slices.Clone(bookChannels) }

// Sides returns the values of the side label.
func Sides() []string { return slices.Clone(sides) }

// OrdTypes returns the values of the ord_type label.
func OrdTypes() []string { return slices.Clone(ordTypes) }

// Endpoints returns the values of the endpoint label.
func Endpoints() []string { return slices.Clone(endpoints) }

// CodeSpec is one OKX sCode that has its own value of the code label.
type CodeSpec struct {
	Code    string
	Meaning string
	// RateLimit marks a rate-limit response: an order rejected with it is
	// counted in hft_rate_limit_responses_total as well.
	RateLimit bool
}

// codes is the fixed table of the code label: the sCodes an HFT executor
// meets in practice and that call for different reactions. Everything else
// is "other" (the executor logs the full code and message).
var codes = []CodeSpec{
	{Code: "50001", Meaning: "service temporarily unavailable"},
	{Code: "50004", Meaning: "endpoint request timeout (outcome unknown: reconcile)"},
	{Code: "50011", Meaning: "rate limit reached: requests too frequent", RateLimit: true},
	{Code: "50013", Meaning: "system is busy"},
	{Code: "50026", Meaning: "system error"},
	{Code: "50037", Meaning: "order expired: expTime passed (latency or clock)"},
	{Code: "50061", Meaning: "sub-account order rate limit exceeded", RateLimit: true},
	{Code: "50102", Meaning: "request timestamp expired (local clock)"},
	{Code: "51000", Meaning: "parameter error"},
	{Code: "51001", Meaning: "instrument ID does not exist"},
	{Code: "51006", Meaning: "order price not within the price limit"},
	{Code: "51008", Meaning: "insufficient balance or margin"},
	{Code: "51016", Meaning: "duplicated client order ID"},
	{Code: "51020", Meaning: "order amount below the minimum"},
	{Code: "51024", Meaning: "trading account is blocked"},
	{Code: "51121", Meaning: "order size not a multiple of the lot size"},
	{Code: "51131", Meaning: "insufficient balance"},
	{Code: "51149", Meaning: "order timed out"},
	{Code: "51174", Meaning: "too many pending orders on the instrument"},
	{Code: "60014", Meaning: "websocket requests too frequent", RateLimit: true},
}

// Codes returns the fixed table of OKX sCodes that label
// hft_order_rejects_total; any other code is counted as [CodeOther].
func Codes() []CodeSpec { return slices.Clone(codes) }

// RateLimitCodes returns the values of the code label of
// hft_rate_limit_responses_total: the rate-limit sCodes and [CodeOther].
func RateLimitCodes() []string {
	var out []string
	for _, c := range codes {
		if c.RateLimit {
			out = append(out, c.Code)
		}
	}
	return append(out, CodeOther)
}

// RejectCodes returns the values of the code label of
// hft_order_rejects_total: every code of [Codes] and [CodeOther].
func RejectCodes() []string {
	out := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		out = append(out, c.Code)
	}
	return append(out, CodeOther)
}

// LabelValues returns the values a label may take. For inst_id it returns
// nil: the values are the instruments a service is configured with (at most
// [MaxInstruments]). For code it returns the union of the reject and
// rate-limit codes (they are the same table).
func LabelValues(label string) []string {
	switch label {
	case LabelChannel:
		return Channels()
	case LabelSide:
		return Sides()
	case LabelOrdType:
		return OrdTypes()
	case LabelEndpoint:
		return Endpoints()
	case LabelCode:
		return RejectCodes()
	}
	return nil
}

// LabelNames returns every label name an hft_* metric may carry.
func LabelNames() []string {
	return []string{LabelChannel, LabelInstID, LabelSide, LabelOrdType, LabelCode, LabelEndpoint}
}

// MetricType is the Prometheus type of a metric.
type MetricType string

const (
	Counter   MetricType = "counter"
	Gauge     MetricType = "gauge"
	Histogram MetricType = "histogram"
)

// Source is who exports a metric. For the services it is also the value of
// Prometheus' job label (jobs collector and executor of prometheus.yml).
type Source string

const (
	SourceCollector        Source = "collector"
	SourceExecutor         Source = "executor"
	SourcePrometheus       Source = "prometheus"        // synthesised by Prometheus for every target
	SourcePostgresExporter Source = "postgres-exporter" // job timescaledb
)

// MetricSpec describes one metric of the contract.
type MetricSpec struct {
	Name string
	Type MetricType
	Help string
	// Labels are the label names set by the exporter, in order; Prometheus
	// adds job and instance.
	Labels []string
	// Unit is the unit of the value: "seconds", "usd", "bytes", or "" for
	// counts and 0/1 states. It is also the name's suffix (before _total).
	Unit string
	// Sources are the processes that export it.
	Sources []Source
	// Native is true for histograms exposed as native histograms too.
	Native bool
}

// Series returns the names under which the metric's samples are stored by
// Prometheus: the name itself, plus _bucket, _sum and _count for a
// histogram (whose native form is stored under the name itself).
func (s MetricSpec) Series() []string {
	if s.Type != Histogram {
		return []string{s.Name}
	}
	return []string{s.Name, s.Name + "_bucket", s.Name + "_sum", s.Name + "_count"}
}

// ExportedBy reports whether src exports the metric.
func (s MetricSpec) ExportedBy(src Source) bool { return slices.Contains(s.Sources, src) }

func (s MetricSpec) clone() MetricSpec {
	s.Labels = slices.Clone(s.Labels)
	s.Sources = slices.Clone(s.Sources)
	return s
}

var (
	both      = []Source{SourceCollector, SourceExecutor}
	collector = []Source{SourceCollector}
	executor  = []Source{SourceExecutor}
)

// specs is the contract. The constructors build every metric from it, so the
// registered help and labels cannot drift from what Contract returns.
var specs = []MetricSpec{
	// 1. Market-data feed.
	{Name: MetricFeedMessages, Type: Counter, Labels: []string{LabelChannel, LabelInstID}, Sources: collector,
		Help: "Market-data messages received from the OKX websocket, per channel and instrument."},
	{Name: MetricFeedLastMessageTimestamp, Type: Gauge, Unit: "seconds", Labels: []string{LabelChannel, LabelInstID}, Sources: collector,
		Help: "Local Unix time at which the last message of the channel and instrument was received (the subscription time until the first one). Staleness is time() minus this."},
	{Name: MetricFeedLastExchangeTimestamp, Type: Gauge, Unit: "seconds", Labels: []string{LabelChannel, LabelInstID}, Sources: collector,
		Help: "Exchange timestamp (ts) of the last message of the channel and instrument, Unix seconds. The local receive time minus this is the feed delay."},
	// 2. Websocket connections.
	{Name: MetricWSReconnects, Type: Counter, Labels: []string{LabelEndpoint}, Sources: both,
		Help: "Websocket reconnection attempts (every dial after the first one of the endpoint), successful or not."},
	{Name: MetricWSConnected, Type: Gauge, Labels: []string{LabelEndpoint}, Sources: both,
		Help: "1 while the websocket connection to the OKX endpoint is established (and logged in, for private), else 0."},
	// 3. Book integrity.
	{Name: MetricBookSequenceGaps, Type: Counter, Labels: []string{LabelChannel, LabelInstID}, Sources: collector,
		Help: "Order-book messages whose prevSeqId is not the seqId of the previous message (a lost update; the book is resubscribed)."},
	{Name: MetricBookChecksumMismatches, Type: Counter, Labels: []string{LabelChannel, LabelInstID}, Sources: collector,
		Help: "Order-book messages whose checksum does not match the CRC32 of the local book's top 25 levels (the book is resubscribed)."},
	// 4. Clock.
	{Name: MetricClockOffset, Type: Gauge, Unit: "seconds", Sources: both,
		Help: "Exchange clock minus local clock, in seconds (signed; positive: the exchange is ahead), as last measured by the service."},
	{Name: MetricClockSynchronized, Type: Gauge, Sources: both,
		Help: "1 while the local clock is synchronised (NTP/PTP), else 0."},
	// 7. Rate limits.
	{Name: MetricRateLimitResponses, Type: Counter, Labels: []string{LabelCode}, Sources: both,
		Help: "Responses of OKX refusing a request for a rate limit (sCode 50011, 50061, 60014, or other), order rejects included."},
	// 5. and 6. Orders.
	{Name: MetricOrderAckLatency, Type: Histogram, Unit: "seconds", Sources: executor, Native: true,
		Help: "Time from writing a place-order request to receiving OKX's response to it (accepted or rejected), in seconds."},
	{Name: MetricOrdersSent, Type: Counter, Labels: []string{LabelInstID, LabelSide, LabelOrdType}, Sources: executor,
		Help: "Place-order requests sent to OKX."},
	{Name: MetricOrderRejects, Type: Counter, Labels: []string{LabelCode}, Sources: executor,
		Help: "Place-order requests rejected by OKX, by sCode (a fixed set of codes; any other is \"other\")."},
	// 8. Risk.
	{Name: MetricPosition, Type: Gauge, Unit: "usd", Labels: []string{LabelInstID}, Sources: executor,
		Help: "Net position of the instrument, notional in US dollars (signed: long positive, short negative)."},
	{Name: MetricPnLRealized, Type: Gauge, Unit: "usd", Sources: executor,
		Help: "Realised profit and loss since the start of the UTC day, in US dollars, net of fees."},
	{Name: MetricPnLUnrealized, Type: Gauge, Unit: "usd", Sources: executor,
		Help: "Unrealised profit and loss of the open positions at mark price, in US dollars."},
	{Name: MetricDrawdown, Type: Gauge, Unit: "usd", Sources: executor,
		Help: "Peak of total PnL (realised plus unrealised) since the start of the UTC day minus its current value, in US dollars (>= 0)."},
	{Name: MetricKillSwitchEngaged, Type: Gauge, Sources: executor,
		Help: "1 while the kill switch is engaged (no new orders; positions being flattened), else 0."},
	// 9. Ingest.
	{Name: MetricIngestQueueDepth, Type: Gauge, Sources: collector,
		Help: "Rows waiting in the collector's queue to be written to TimescaleDB."},
	{Name: MetricIngestQueueCapacity, Type: Gauge, Sources: collector,
		Help: "Capacity of the collector's ingest queue, in rows; rows beyond it are dropped."},
	{Name: MetricDBWriteDuration, Type: Histogram, Unit: "seconds", Sources: collector, Native: true,
		Help: "Duration of a batch write (INSERT or COPY) to TimescaleDB, successful or failed, in seconds."},
	{Name: MetricDBWriteErrors, Type: Counter, Labels: []string{LabelChannel}, Sources: collector,
		Help: "Batch writes to TimescaleDB that failed, by the channel whose rows they carried."},
	{Name: MetricDBRowsWritten, Type: Counter, Labels: []string{LabelChannel}, Sources: collector,
		Help: "Rows written to TimescaleDB, by the channel they came from."},
	// 10. Outside the services.
	{Name: MetricUp, Type: Gauge, Sources: []Source{SourcePrometheus},
		Help: "Written by Prometheus for every target: 1 if the last scrape succeeded, else 0."},
	{Name: MetricPgUp, Type: Gauge, Sources: []Source{SourcePostgresExporter},
		Help: "Exported by postgres-exporter (job timescaledb): 1 if it could connect to TimescaleDB, else 0."},
}

// Contract returns every metric of the contract: those the collector and
// the executor export, and the two the ops node's rules use from elsewhere
// (up, pg_up). The slice and its specs are copies.
func Contract() []MetricSpec {
	out := make([]MetricSpec, len(specs))
	for i, s := range specs {
		out[i] = s.clone()
	}
	return out
}

// Lookup finds the metric a stored series name belongs to: a name of the
// contract, or a histogram's _bucket, _sum or _count series.
func Lookup(series string) (MetricSpec, bool) {
	for _, s := range specs {
		if s.Name == series {
			return s.clone(), true
		}
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(series, suffix)
		if !ok {
			continue
		}
		for _, s := range specs {
			if s.Name == base && s.Type == Histogram {
				return s.clone(), true
			}
		}
	}
	return MetricSpec{}, false
}

// spec returns the contract entry of name; the name is a constant of this
// package, so a miss is a bug caught by any test.
func spec(name string) MetricSpec {
	for _, s := range specs {
		if s.Name == name {
			return s
		}
	}
	panic("hftmetrics: no spec for " + name)
}
