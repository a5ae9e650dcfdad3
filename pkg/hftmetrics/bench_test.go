package hftmetrics

import (
	"testing"
	"time"
)

func BenchmarkFeedMessage(b *testing.B) {
	m, _ := newCollector(b)
	feed := m.Feed(ChannelBooksL2TBT, "BTC-USDT")
	local := time.Now()
	exch := local.Add(-2 * time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		feed.Message(exch, local)
	}
}

func BenchmarkOrderAck(b *testing.B) {
	m, _ := newExecutor(b)
	// A spread of realistic latencies, so native buckets are looked up
	// across the range rather than one hot bucket.
	lat := make([]time.Duration, 1024)
	for i := range lat {
		lat[i] = time.Duration(200+i*37%20000) * time.Microsecond
	}
	for _, d := range lat { // populate the native buckets once
		m.OrderAck(d)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.OrderAck(lat[i&1023])
		i++
	}
}

func BenchmarkReject(b *testing.B) {
	m, _ := newExecutor(b)
	codes := []string{"51008", "51006", "50011", "12345"} // known, known, rate limit, other
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Reject(codes[i&3])
		i++
	}
}

func BenchmarkDBWrite(b *testing.B) {
	m, _ := newCollector(b)
	w := m.DBWriter(ChannelBooksL2TBT)
	b.ReportAllocs()
	for b.Loop() {
		w.Written(250, 3*time.Millisecond)
	}
}
