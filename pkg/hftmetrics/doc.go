// Package hftmetrics is the metrics contract between the trading services of
// the OKX HFT system (okx-hft-collector, okx-hft-executor) and the operations
// node (this repository: Prometheus rules, Alertmanager routes, Grafana
// dashboards).
//
// The services import this package and never declare hft_* metrics of their
// own; the ops node tests its rules and dashboards against [Contract], so a
// query that names a metric the services do not export fails in CI instead of
// staying silent in production.
//
// # Usage
//
// Resolve every handle once, at startup, and keep it next to the code that
// records into it. Handles are small values, safe for concurrent use, and
// their methods do not allocate:
//
//	m, err := hftmetrics.NewCollectorMetrics(reg, cfg.Instruments)
//	...
//	feed := m.Feed(hftmetrics.ChannelBooksL2TBT, "BTC-USDT") // at subscribe time
//	book := m.Book(hftmetrics.ChannelBooksL2TBT, "BTC-USDT")
//	...
//	feed.Message(exchTS, time.Now())                          // on every message
//	if msg.PrevSeqID != last.SeqID { book.SequenceGap() }
//
//	ex, err := hftmetrics.NewExecutorMetrics(reg, cfg.Instruments)
//	orders := ex.Orders("BTC-USDT-SWAP", hftmetrics.SideBuy, hftmetrics.OrdTypePostOnly)
//	orders.Sent()                 // request written to the socket
//	ex.OrderAck(time.Since(sent)) // response received, accepted or not
//	if resp.SCode != "0" { ex.Reject(resp.SCode) }
//
// Resolving a handle with a value outside the documented sets (an unknown
// channel, an instrument that was not configured, an unknown side or order
// type) panics: it is a programming or configuration error, found on the
// first start, never on the hot path. [ExecutorMetrics.Reject] and
// [ExecutorMetrics.RateLimited] are the exception: they take the code
// straight from the exchange's response and map anything unknown to "other".
//
// # Getting the package
//
// The package is a Go module of its own,
// github.com/okx-hft/okx-hft-ops/pkg/hftmetrics, whose go.mod requires
// client_golang and what that needs, and nothing of what the ops tooling of
// the root module pulls in (Prometheus' server and promtool, the cloud SDKs,
// Kubernetes). A service repository gets it with
//
//	go get github.com/okx-hft/okx-hft-ops/pkg/hftmetrics@v0.1.0
//
// Its versions are tags of this repository prefixed with the module's
// directory, as Go requires for a module in a subdirectory: v0.1.0 is the
// tag pkg/hftmetrics/v0.1.0 (a plain v0.1.0 tag would version the root
// module instead). A change to the contract is released by pushing a new
// tag of that form, e.g.
//
//	git tag pkg/hftmetrics/v0.2.0 && git push origin pkg/hftmetrics/v0.2.0
//
// Inside this repository the root go.mod replaces the module with the
// directory (replace ... => ./pkg/hftmetrics), so the dashboards, hftsim and
// the tests always build against the contract of the same commit, from one
// clone. `go test ./...` at the root does not descend into a nested module:
// the package's own tests run with `cd pkg/hftmetrics && go test ./...`.
//
// # Naming
//
// Every metric starts with hft_. Counters end in _total, durations are in
// seconds (_seconds), timestamps are Unix seconds (_timestamp_seconds),
// money is in US dollars (_usd), sizes in bytes would end in _bytes. States
// are 0/1 gauges without a unit (hft_ws_connected, hft_clock_synchronized,
// hft_kill_switch_engaged). [Contract] lists every name; the tests of this
// package run promlint over what the constructors register.
//
// # Labels and cardinality
//
// The service is not a label: Prometheus' job label ("collector",
// "executor") says which process exported a series, and instance says which
// replica. The services must not add job, instance, service, host or any
// free-form label. The only label names are:
//
//   - channel: an OKX websocket channel, one of [Channels] (books, books5,
//     bbo-tbt, books-l2-tbt, books50-l2-tbt, trades, trades-all, tickers,
//     funding-rate, mark-price, index-tickers, open-interest). Book-integrity
//     metrics take only the incremental book channels (see [BookChannels]).
//   - inst_id: an OKX instrument ID from the instrument list the service was
//     configured with (NewCollectorMetrics/NewExecutorMetrics validate it);
//     at most [MaxInstruments] (50) instruments per process.
//   - side: buy or sell.
//   - ord_type: an OKX ordType, one of [OrdTypes].
//   - code: an OKX sCode from the fixed table of [Codes], or "other".
//   - endpoint: the OKX websocket endpoint of a connection: public, business
//     or private.
//
// With 50 instruments the worst case per process is: collector 50 × 12
// channels × 3 feed series + 50 × 3 book channels × 2 + 12 channels × 2
// write counters + one histogram (19 classic series, 1 native) + ~14 others
// ≈ 2,160 series; executor 50 × 2 sides × 8 order types (only the
// combinations resolved are created) + 50 positions + 21 reject codes + one
// histogram + ~16 others ≈ 910 series. A realistic deployment (5–10
// instruments, 4–6 channels) stays under 500 series per process.
//
// Feed, book, order and position series are created when their handle is
// resolved, so a channel that is not subscribed for an instrument (e.g.
// funding-rate on a spot pair) has no series and raises no staleness alert.
// Counters with a fixed label set (rejects and rate-limit responses, every
// code of the table) are created at zero by the constructors, and every
// counter of a handle (reconnects, gaps, sent orders, ...) when the handle
// is resolved, so rate() and increase() see the first increment.
//
// # Feed staleness
//
// hft_feed_last_message_timestamp_seconds is the local receive time of the
// last message of a (channel, inst_id); it starts at the time the handle was
// resolved, so a feed that never delivers anything goes stale too. A
// staleness rule is time() - hft_feed_last_message_timestamp_seconds > X,
// with X per channel: bbo-tbt, books-l2-tbt and books push every 10–100 ms,
// tickers at most every 100 ms, trades only when there are trades (seconds
// on quiet pairs), funding-rate every 30–90 s. The websocket state is in
// hft_ws_connected{endpoint}: a stale feed on a connected socket means a
// lost subscription, not a network problem.
// hft_feed_last_exchange_timestamp_seconds is the exchange's ts of the same
// message; local minus exchange is the feed delay (network plus clock
// offset).
//
// # Book integrity
//
// OKX incremental book channels carry seqId and prevSeqId: a message whose
// prevSeqId is not the seqId of the previous message on that (channel,
// inst_id) is a sequence gap (seqId == prevSeqId is a heartbeat without
// changes, seqId < prevSeqId a sequence reset after maintenance, neither is a
// gap). A checksum mismatch is a CRC32 over the top 25 levels that differs
// from the pushed checksum; OKX has been pushing checksum 0 on some
// channels, which the collector must treat as "not provided", not as a
// mismatch. Both must lead to a resubscription.
//
// # Clock
//
// hft_clock_offset_seconds is exchange time minus local time (positive: the
// exchange clock is ahead), as measured by the service (e.g. the midpoint of
// a GET /api/v5/public/time round trip); hft_clock_synchronized is the
// local NTP/PTP synchronisation state (1: synchronised). Order requests
// carry expTime and REST requests a timestamp, so a drifting clock shows up
// as 50102/50037 rejects too.
//
// # Histograms
//
// hft_order_ack_latency_seconds and hft_db_write_duration_seconds are
// exposed in both forms at once:
//
//   - as native histograms, schema 3 (NativeHistogramBucketFactor 1.1, i.e.
//     buckets 2^(1/8) ≈ 9% wide, so any quantile is known within ±4.5%
//     whatever its value). Covering 50 µs to 5 s takes log(1e5)/log(1.0905)
//     ≈ 133 buckets; NativeHistogramMaxBucketNumber is 160 so the whole range
//     of interest never triggers a resolution reduction, and only populated
//     buckets cost memory and bytes (typically 20–40). If an outage spreads
//     observations wider, the histogram is reset at most once an hour
//     (NativeHistogramMinResetDuration), otherwise its resolution is halved.
//     A native histogram is one series per label set, so the histograms
//     carry no instrument label at all and cardinality stays flat.
//   - as classic buckets 50µs, 100µs, 250µs, 500µs, 1ms, 2.5ms, 5ms, 10ms,
//     25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s (+Inf): a 1–2.5–5
//     progression across the five decades an acknowledgement or a database
//     write can take, colocated (sub-millisecond) to a stalled matching
//     engine or a locked table (seconds). Alert thresholds should sit on a
//     boundary (1ms, 10ms, 50ms, 100ms, 250ms), so that "fraction of acks
//     slower than 100ms" is exact and histogram_quantile interpolates only
//     inside one bucket.
//
// The classic buckets keep every rule and dashboard working on a Prometheus
// that does not scrape native histograms (the default: Prometheus 3 only asks
// for the protobuf format, and so only receives native histograms, for jobs
// with scrape_native_histograms: true). The ops node's prometheus.yml ingests
// both, with these settings on the collector and executor jobs:
//
//	scrape_native_histograms: true
//	always_scrape_classic_histograms: true
//
// Without always_scrape_classic_histograms Prometheus drops the classic
// buckets of a histogram that also has native ones, which breaks
// histogram_quantile over _bucket series. The services need nothing else:
// promhttp negotiates the protobuf format when Prometheus asks for it.
//
// # Metrics that are not the services'
//
// [Contract] also lists two series the services do not export but rules
// rely on, so that a test of the rules can resolve every name:
//
//   - up{job="collector"|"executor"|...}: written by Prometheus for every
//     target, 1 when the scrape succeeded. Process liveness is up, not a
//     metric of the service.
//   - pg_up{job="timescaledb"}: exported by postgres-exporter, 1 when it
//     can connect to TimescaleDB. Database reachability is pg_up; the
//     collector's view of it is hft_db_write_errors_total.
//
// Go runtime and process metrics (go_*, process_*) are outside the contract:
// a service may export them, no rule of the ops node may depend on them.
package hftmetrics
