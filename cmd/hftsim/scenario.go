package main

import (
	"slices"
	"strings"
)

// Roles.
const (
	roleCollector = "collector"
	roleExecutor  = "executor"
)

// Scenario names.
const (
	scHealthy          = "healthy"
	scFeedStale        = "feed-stale"
	scReconnectStorm   = "reconnect-storm"
	scSequenceGap      = "sequence-gap"
	scChecksumMismatch = "checksum-mismatch"
	scClockDrift       = "clock-drift"
	scAckLatency       = "ack-latency"
	scRejectRate       = "reject-rate"
	scRateLimit        = "rate-limit"
	scDrawdown         = "drawdown"
	scKillSwitch       = "kill-switch"
	scIngestLag        = "ingest-lag"
	scDBDown           = "db-down"
)

// scenarioInfo documents one scenario: the roles that act on it and the
// metrics it moves. A role not listed keeps behaving as in healthy.
type scenarioInfo struct {
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Moves       string   `json:"moves"`
	Description string   `json:"description"`
}

var (
	bothRoles     = []string{roleCollector, roleExecutor}
	collectorOnly = []string{roleCollector}
	executorOnly  = []string{roleExecutor}
)

var scenarios = []scenarioInfo{
	{scHealthy, bothRoles, "nothing abnormal",
		"every feed flowing (~245 msg/s per instrument), acks ~4 ms (p99 ~11 ms), 0.4% rejects, no gaps, no errors, clock offset ~0.3 ms"},
	{scFeedStale, collectorOnly, "hft_feed_last_message_timestamp_seconds of one (channel, inst_id) stops advancing; hft_feed_messages_total of it flat; hft_ws_connected stays 1",
		"one subscription (chosen with the seed, shown in detail) stops delivering while the websocket stays connected"},
	{scReconnectStorm, bothRoles, "hft_ws_reconnects_total rises (several attempts per drop); hft_ws_connected flaps 0/1; feeds and orders pause while down",
		"the connection (public for the collector, private for the executor) drops every ~4 s and needs several attempts to come back"},
	{scSequenceGap, collectorOnly, "hft_book_sequence_gaps_total rises (~0.4/s per incremental book)",
		"incremental books (books, books-l2-tbt) lose updates: prevSeqId does not match the last seqId"},
	{scChecksumMismatch, collectorOnly, "hft_book_checksum_mismatches_total rises (~0.25/s per incremental book)",
		"the local books diverge from OKX's checksum"},
	{scClockDrift, bothRoles, "hft_clock_offset_seconds grows by 4 ms/s; hft_clock_synchronized 0",
		"NTP synchronisation lost: the local clock runs slow, so the exchange appears further ahead every second"},
	{scAckLatency, executorOnly, "hft_order_ack_latency_seconds p50 ~100 ms, p99 ~285 ms (healthy: 4 ms / 11 ms)",
		"OKX acknowledges orders slowly"},
	{scRejectRate, executorOnly, "hft_order_rejects_total{code=51008|51006|51121|51131|51020} ~25% of hft_orders_sent_total",
		"a quarter of the orders are rejected (balance, price limit, lot size)"},
	{scRateLimit, executorOnly, "hft_rate_limit_responses_total{code=50011|50061} rises; hft_order_rejects_total{code=50011|50061} ~35% of orders",
		"the executor exceeds OKX's order rate limits"},
	{scDrawdown, executorOnly, "hft_drawdown_usd grows ~45 USD/s; hft_pnl_realized_usd falls",
		"the strategy loses money steadily (the kill switch is left to the operator)"},
	{scKillSwitch, executorOnly, "hft_kill_switch_engaged 1; hft_orders_sent_total flat; hft_position_usd decays to 0",
		"the kill switch is engaged: no new orders, positions flattened within ~15 s"},
	{scIngestLag, collectorOnly, "hft_ingest_queue_depth grows ~330 rows/s; hft_db_write_duration_seconds p50 ~350 ms; hft_db_write_errors_total ~4% of writes",
		"TimescaleDB is slow: writes keep up with only 55% of the inflow and some time out"},
	{scDBDown, collectorOnly, "hft_db_write_errors_total ~60/s; hft_db_rows_written_total flat; hft_ingest_queue_depth fills to capacity",
		"TimescaleDB refuses connections: every write fails"},
}

func scenarioNames() []string {
	out := make([]string, len(scenarios))
	for i, s := range scenarios {
		out[i] = s.Name
	}
	return out
}

func lookupScenario(name string) (scenarioInfo, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenarioInfo{}, false
}

// scenarioApplies reports whether role acts on the scenario.
func scenarioApplies(name, role string) bool {
	s, ok := lookupScenario(name)
	return ok && slices.Contains(s.Roles, role)
}

func validScenarioList() string { return strings.Join(scenarioNames(), ", ") }
