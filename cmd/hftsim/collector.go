package main

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

// Simulated subscriptions per instrument and their message rates (per
// second), close to what OKX pushes for a liquid pair: bbo-tbt and
// books-l2-tbt every 10 ms, books every 100 ms, tickers at most every
// 100 ms, funding-rate every 30–90 s (swaps only).
var collectorChannels = []struct {
	channel string
	rate    float64
	swap    bool // only for -SWAP instruments
}{
	{hftmetrics.ChannelBBOTBT, 100, false},
	{hftmetrics.ChannelBooksL2TBT, 100, false},
	{hftmetrics.ChannelBooks, 10, false},
	{hftmetrics.ChannelTrades, 0, false}, // per instrument: 10–40/s
	{hftmetrics.ChannelTickers, 8, false},
	{hftmetrics.ChannelFundingRate, 1.0 / 45, true},
}

const (
	queueCapacity       = 200_000
	healthyRowsPerSec   = 50_000 // what TimescaleDB absorbs when healthy
	ingestLagThroughput = 0.55   // share of the inflow written during ingest-lag
)

type feedModel struct {
	channel, inst string
	rate          float64
	acc           float64
	h             hftmetrics.Feed
	book          *bookModel // incremental books only
	writer        *writerModel
	last          time.Time // last message
}

type bookModel struct {
	h   hftmetrics.Book
	seq int64
}

type writerModel struct {
	channel string
	h       hftmetrics.DBWriter
	pending int
}

type collectorModel struct {
	m       *hftmetrics.CollectorMetrics
	conn    *connModel
	feeds   []*feedModel
	writers []*writerModel
	stale   *feedModel
	inflow  float64 // nominal messages per second

	depth                                int // queue depth as last reported
	messages, rows, writeErrors, dropped int // since the last stats line
}

func newCollectorModel(s *sim, m *hftmetrics.CollectorMetrics, instruments []string, start time.Time) *collectorModel {
	c := &collectorModel{m: m, conn: newConnModel(hftmetrics.EndpointPublic, m.Conn(hftmetrics.EndpointPublic))}
	writers := map[string]*writerModel{}
	for _, ch := range collectorChannels {
		w := &writerModel{channel: ch.channel, h: m.DBWriter(ch.channel)}
		writers[ch.channel] = w
		c.writers = append(c.writers, w)
	}
	for _, inst := range instruments {
		for _, ch := range collectorChannels {
			if ch.swap && !strings.HasSuffix(inst, "-SWAP") {
				continue
			}
			f := &feedModel{channel: ch.channel, inst: inst, rate: ch.rate, h: m.Feed(ch.channel, inst), writer: writers[ch.channel], last: start}
			if f.rate == 0 {
				f.rate = s.uniform(10, 40)
			}
			if isIncrementalBook(ch.channel) {
				f.book = &bookModel{h: m.Book(ch.channel, inst), seq: int64(s.rng.IntN(1 << 30))}
			}
			c.inflow += f.rate
			c.feeds = append(c.feeds, f)
		}
	}
	m.SetQueueCapacity(queueCapacity)
	m.SetQueueDepth(0)
	return c
}

func isIncrementalBook(channel string) bool {
	for _, b := range hftmetrics.BookChannels() {
		if b == channel {
			return true
		}
	}
	return false
}

// switched reacts to a scenario switch: feed-stale picks the subscription
// that stops.
func (c *collectorModel) switched(s *sim, old, name string) {
	c.stale = nil
	if name != scFeedStale {
		return
	}
	var candidates []*feedModel
	for _, f := range c.feeds {
		if f.channel != hftmetrics.ChannelFundingRate { // slow by nature
			candidates = append(candidates, f)
		}
	}
	c.stale = candidates[s.rng.IntN(len(candidates))]
	s.detail = fmt.Sprintf("channel=%s inst_id=%s stops; websocket %s stays connected", c.stale.channel, c.stale.inst, c.conn.endpoint)
}

func (c *collectorModel) step(s *sim, prev, now time.Time, dt float64) {
	c.conn.step(s, now, dt)
	c.receive(s, prev, now, dt)
	c.write(s, now, dt)
}

// receive simulates the messages of every subscription for the tick.
func (c *collectorModel) receive(s *sim, prev, now time.Time, dt float64) {
	span := now.Sub(prev)
	offset := s.clock.measured()
	gapRate, checksumRate := 0.0, 0.0
	if s.active(scSequenceGap) {
		gapRate = 0.4
	}
	if s.active(scChecksumMismatch) {
		checksumRate = 0.25
	}
	for _, f := range c.feeds {
		n := s.count(f.rate, dt, &f.acc)
		if !c.conn.up || f == c.stale {
			n = 0
		}
		if n == 0 {
			if f == c.stale {
				if age := now.Sub(f.last); age >= 5*time.Second {
					s.eventEvery("stale/"+f.channel+"/"+f.inst, 10*time.Second, slog.LevelWarn, "feed_stale", "no message on subscription",
						slog.String("inst_id", f.inst), slog.String("channel", f.channel),
						slog.Float64("age_seconds", math.Round(age.Seconds())), slog.Bool("ws_connected", c.conn.up))
				}
			}
			continue
		}
		latency := s.lognormal(0.003, 0.3) // exchange to local
		for i := 1; i <= n; i++ {
			local := prev.Add(span * time.Duration(i) / time.Duration(n))
			f.h.Message(local.Add(seconds(offset-latency)), local)
		}
		f.last = now
		f.writer.pending += n
		c.messages += n
		if f.book == nil {
			continue
		}
		prevSeq := f.book.seq
		f.book.seq += int64(n) * int64(1+s.rng.IntN(20))
		if gapRate > 0 && s.bern(gapRate*dt) {
			f.book.h.SequenceGap()
			s.eventEvery("gap/"+f.channel+"/"+f.inst, time.Second, slog.LevelWarn, "seq_gap", "order book sequence gap; resubscribing",
				slog.String("inst_id", f.inst), slog.String("channel", f.channel),
				slog.Int64("expected_prev_seq_id", prevSeq), slog.Int64("prev_seq_id", prevSeq+int64(1+s.rng.IntN(50))))
		}
		if checksumRate > 0 && s.bern(checksumRate*dt) {
			f.book.h.ChecksumMismatch()
			s.eventEvery("checksum/"+f.channel+"/"+f.inst, time.Second, slog.LevelWarn, "checksum_mismatch", "order book checksum mismatch; resubscribing",
				slog.String("inst_id", f.inst), slog.String("channel", f.channel),
				slog.Int64("checksum", int64(int32(s.rng.Uint32()))), slog.Int64("local_checksum", int64(int32(s.rng.Uint32()))))
		}
	}
}

// write simulates the batch writes of the tick: one per channel with rows
// pending, sharing what TimescaleDB can absorb in the tick.
func (c *collectorModel) write(s *sim, now time.Time, dt float64) {
	total := 0
	for _, w := range c.writers {
		total += w.pending
	}
	// The depth is read before the writes, as a scrape would see it while
	// the batches are in flight.
	c.m.SetQueueDepth(total)
	c.depth = total
	if total == 0 {
		return
	}
	down := s.active(scDBDown)
	lag := s.active(scIngestLag)
	budget := healthyRowsPerSec * dt
	if lag {
		budget = ingestLagThroughput * c.inflow * dt
	}
	for _, w := range c.writers {
		if w.pending == 0 {
			continue
		}
		switch {
		case down:
			c.writeFailed(s, w, seconds(s.lognormal(0.0015, 0.3)), "dial tcp timescaledb:5432: connect: connection refused")
			continue
		case lag && s.bern(0.04):
			c.writeFailed(s, w, seconds(s.lognormal(1.5, 0.2)), "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)")
			continue
		}
		rows := w.pending
		if share := int(budget * float64(w.pending) / float64(total)); share < rows {
			rows = max(share, 1)
		}
		latency := s.lognormal(0.0015+float64(rows)*2e-6, 0.35)
		if lag {
			latency = s.lognormal(0.35, 0.5)
		}
		w.h.Written(rows, seconds(latency))
		w.pending -= rows
		c.rows += rows
		if latency > 0.25 {
			s.eventEvery("dbslow/"+w.channel, 5*time.Second, slog.LevelWarn, "db_write_slow", "slow batch write to TimescaleDB",
				slog.String("channel", w.channel), slog.Int("rows", rows), slog.Float64("duration_seconds", round6(latency)))
		}
	}
	c.dropOverflow(s)
}

// dropOverflow drops what exceeds the queue capacity, from the largest
// backlogs first.
// writeFailed records a failed batch write of w that took took.
func (c *collectorModel) writeFailed(s *sim, w *writerModel, took time.Duration, dbErr string) {
	w.h.Failed(took)
	c.writeErrors++
	s.eventEvery("dberr/"+w.channel, time.Second, slog.LevelError, "db_write_error", "batch write to TimescaleDB failed",
		slog.String("channel", w.channel), slog.Int("rows", w.pending), slog.String("error", dbErr))
}

func (c *collectorModel) dropOverflow(s *sim) {
	total := 0
	for _, w := range c.writers {
		total += w.pending
	}
	for total > queueCapacity {
		big := c.writers[0]
		for _, w := range c.writers {
			if w.pending > big.pending {
				big = w
			}
		}
		drop := min(total-queueCapacity, big.pending)
		big.pending -= drop
		total -= drop
		c.dropped += drop
		s.eventEvery("queue-full", 5*time.Second, slog.LevelError, "queue_full", "ingest queue full: dropping rows",
			slog.String("channel", big.channel), slog.Int("dropped", drop), slog.Int("capacity", queueCapacity))
	}
}

func (c *collectorModel) logStats(s *sim) {
	s.event(slog.LevelInfo, "stats", "collector stats (last 10 s)",
		slog.String("scenario", s.scenario), slog.Int("messages", c.messages), slog.Int("rows_written", c.rows),
		slog.Int("write_errors", c.writeErrors), slog.Int("rows_dropped", c.dropped), slog.Int("queue_depth", c.depth),
		slog.Bool("ws_connected", c.conn.up))
	c.messages, c.rows, c.writeErrors, c.dropped = 0, 0, 0, 0
}
