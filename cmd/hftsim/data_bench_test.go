package main

import (
	"testing"
	"time"
)

// BenchmarkDataModelHour: one simulated hour of the collector's and the
// executor's rows (3 instruments), without a database.
func BenchmarkDataModelHour(b *testing.B) {
	insts := []string{"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"}
	for b.Loop() {
		start := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
		col := newDataModel(roleCollector, 42, insts, start)
		exe := newDataModel(roleExecutor, 43, insts, start)
		n := 0
		for now := start.Add(100 * time.Millisecond); !now.After(start.Add(time.Hour)); now = now.Add(100 * time.Millisecond) {
			col.step(now.Add(-100*time.Millisecond), now, "")
			exe.step(now.Add(-100*time.Millisecond), now, "")
			r1, r2 := col.take(), exe.take()
			n += r1.len() + r2.len()
		}
		b.ReportMetric(float64(n), "rows/op")
	}
}
