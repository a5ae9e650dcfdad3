package hftmetrics_test

import (
	"fmt"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
	"github.com/prometheus/client_golang/prometheus"
)

// The collector resolves its handles when it subscribes, then records on
// every message without allocating.
func ExampleNewCollectorMetrics() {
	reg := prometheus.NewRegistry()
	m, err := hftmetrics.NewCollectorMetrics(reg, []string{"BTC-USDT", "BTC-USDT-SWAP"})
	if err != nil {
		panic(err)
	}
	conn := m.Conn(hftmetrics.EndpointPublic)
	conn.Connected()
	feed := m.Feed(hftmetrics.ChannelBooksL2TBT, "BTC-USDT")
	book := m.Book(hftmetrics.ChannelBooksL2TBT, "BTC-USDT")
	writer := m.DBWriter(hftmetrics.ChannelBooksL2TBT)

	// On every message: ts from the payload, local receive time.
	exchTS := time.UnixMilli(1772452800123)
	feed.Message(exchTS, exchTS.Add(4*time.Millisecond))
	var prevSeqID, lastSeqID int64 = 41, 42
	if prevSeqID != lastSeqID {
		book.SequenceGap()
	}
	// On every batch write to TimescaleDB.
	writer.Written(250, 3*time.Millisecond)

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == hftmetrics.MetricBookSequenceGaps {
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output: hft_book_sequence_gaps_total 1
}

// The executor records each order's request, response time and outcome.
func ExampleNewExecutorMetrics() {
	reg := prometheus.NewRegistry()
	ex, err := hftmetrics.NewExecutorMetrics(reg, []string{"BTC-USDT-SWAP"})
	if err != nil {
		panic(err)
	}
	orders := ex.Orders("BTC-USDT-SWAP", hftmetrics.SideBuy, hftmetrics.OrdTypePostOnly)

	sent := time.Now()
	orders.Sent()
	// ... the response arrives, sCode "50011":
	ex.OrderAck(time.Since(sent))
	ex.Reject("50011") // counted as a reject and as a rate-limit response

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil && c.GetValue() > 0 {
				fmt.Println(mf.GetName(), m.GetLabel()[0].GetValue(), c.GetValue())
			}
		}
	}
	// Output:
	// hft_order_rejects_total 50011 1
	// hft_orders_sent_total BTC-USDT-SWAP 1
	// hft_rate_limit_responses_total 50011 1
}

// The ops node checks that every metric a rule or dashboard queries is in
// the contract (here with names already extracted from the PromQL).
func ExampleLookup() {
	for _, name := range []string{"hft_order_ack_latency_seconds_bucket", "pg_up", "hft_orders_total"} {
		if s, ok := hftmetrics.Lookup(name); ok {
			fmt.Printf("%s: %s %s from %v\n", name, s.Name, s.Type, s.Sources)
		} else {
			fmt.Printf("%s: not in the contract\n", name)
		}
	}
	// Output:
	// hft_order_ack_latency_seconds_bucket: hft_order_ack_latency_seconds histogram from [executor]
	// pg_up: pg_up gauge from [postgres-exporter]
	// hft_orders_total: not in the contract
}
