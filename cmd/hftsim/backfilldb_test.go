package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata/pgtest"
)

func setEnv(t *testing.T, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// An hour of history into a real PostgreSQL: every table filled at the
// demo's rates, the same rows again for the same seed, a refusal to write
// over existing rows without --replace, and the failure schedule visible
// in the data (the feed-stale gap, the kill switch's flattening orders).
func TestBackfillDB(t *testing.T) {
	srv := pgtest.Start(t)
	setEnv(t, srv.Env)
	ctx := context.Background()
	args := []string{"--hours", "1", "--end", "2026-11-30T12:00:00Z", "--seed", "7"}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"backfill-db"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("backfill-db exit %d: %s", code, errOut.String())
	}
	t.Log(out.String())
	counts := map[string]int{}
	for _, table := range []string{"hft.trades", "hft.book_top", "hft.features", "hft.orders", "hft.order_events", "hft.fills", "hft.positions", "hft.bars_1m", "hft.pnl_1m", "hft.pnl_daily"} {
		var n int
		if err := srv.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
		if n == 0 {
			t.Errorf("%s is empty after an hour of backfill", table)
		}
	}
	// 3 instruments: ~10 book updates and ~6 trades a second each, less
	// the feed-stale minutes of the first one.
	if b := counts["hft.book_top"]; b < 3*3600*10*9/10 || b > 3*3600*10 {
		t.Errorf("%d book rows for 3 instruments over an hour, want about 108000", b)
	}
	if b := counts["hft.bars_1m"]; b < 3*55 || b > 3*61 {
		t.Errorf("%d one-minute bars for 3 instruments over an hour", b)
	}
	checksum := func() string {
		var s string
		if err := srv.DB.QueryRowContext(ctx, "SELECT sum(px * sz)::text || '/' || (SELECT sum(fill_px * fill_sz)::text FROM hft.fills) FROM hft.trades").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := checksum()

	out.Reset()
	errOut.Reset()
	if code := run(append([]string{"backfill-db"}, args...), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "already holds rows") || !strings.Contains(errOut.String(), "--replace") {
		t.Errorf("a second backfill over the same period: exit %d, %q; want 1 naming --replace", code, errOut.String())
	}
	if code := run(append([]string{"backfill-db", "--replace"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("backfill-db --replace exit %d: %s", code, errOut.String())
	}
	if again := checksum(); again != first {
		t.Errorf("the same seed and period wrote other rows: %s, then %s", first, again)
	}

	// The feed-stale window: the first instrument's trades stop for minutes.
	var gap float64
	if err := srv.DB.QueryRowContext(ctx, `SELECT max(extract(epoch FROM d)) FROM (SELECT ts - lag(ts) OVER (ORDER BY ts) AS d FROM hft.trades WHERE inst_id = 'BTC-USDT') x`).Scan(&gap); err != nil {
		t.Fatal(err)
	}
	if gap < 120 {
		t.Errorf("longest gap between BTC-USDT trades %.0f s, want the feed-stale scenario's minutes", gap)
	}
	var iocs int
	srv.DB.QueryRowContext(ctx, "SELECT count(*) FROM hft.orders WHERE ord_type = 'ioc'").Scan(&iocs)
	if iocs == 0 {
		t.Error("no flattening (ioc) order: the kill switch left no trace")
	}
	var rejects int
	srv.DB.QueryRowContext(ctx, "SELECT count(*) FROM hft.order_events WHERE state = 'rejected' AND s_code <> '0'").Scan(&rejects)
	if rejects == 0 {
		t.Error("no rejected order with OKX's sCode")
	}
	// The sequence-gap scenario's lost updates, visible as OKX shows them:
	// a row whose prev_seq_id is not the seq_id of the row before it.
	var breaks int
	if err := srv.DB.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT prev_seq_id, lag(seq_id) OVER (PARTITION BY inst_id ORDER BY ts, seq_id) AS prev FROM hft.book_top) b WHERE prev IS NOT NULL AND prev_seq_id <> prev`).Scan(&breaks); err != nil {
		t.Fatal(err)
	}
	if breaks == 0 {
		t.Error("no row's prev_seq_id differs from the seq_id before it: the sequence-gap scenario left no trace in hft.book_top")
	}
}

// The live writer's COPY of what the simulator produced, read back exact.
func TestDBWriter(t *testing.T) {
	srv := pgtest.Start(t)
	setEnv(t, srv.Env)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := newDataModel(roleExecutor, 3, []string{"BTC-USDT"}, start)
	for now := start.Add(100 * time.Millisecond); now.Before(start.Add(30 * time.Second)); now = now.Add(100 * time.Millisecond) {
		d.step(now.Add(-100*time.Millisecond), now, "")
	}
	r := d.take()
	if len(r.Orders) == 0 || len(r.Fills) == 0 || len(r.Positions) == 0 {
		t.Fatalf("30 s of the executor: %d orders, %d fills, %d positions", len(r.Orders), len(r.Fills), len(r.Positions))
	}
	w := newDBWriter(quietLog())
	defer w.close(ctx)
	w.add(r)
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w.npending != 0 || w.written["hft.orders"] != int64(len(r.Orders)) {
		t.Errorf("after the flush: %d pending, %d orders written of %d", w.npending, w.written["hft.orders"], len(r.Orders))
	}
	var px string
	if err := srv.DB.QueryRowContext(ctx, "SELECT px::text FROM hft.orders WHERE ord_id = $1", r.Orders[0].OrdID).Scan(&px); err != nil {
		t.Fatal(err)
	}
	if px != r.Orders[0].Px.String() {
		t.Errorf("order price read back %s, written %s", px, r.Orders[0].Px)
	}
}

func TestDec(t *testing.T) {
	for _, c := range []struct {
		v, step float64
		want    string
	}{{91234.56, 0.1, "91234.6"}, {0.000123456, 0.00000001, "0.00012346"}, {-12.3456789, 1e-6, "-12.345679"}, {3100.005, 0.01, "3100.01"}, {7, 1, "7"}, {1.3, 0.25, "1.25"}} {
		if got := fmtStep(c.v, c.step).String(); got != c.want {
			t.Errorf("fmtStep(%v, %v) = %s, want %s", c.v, c.step, got, c.want)
		}
	}
	if (dec{}).String() != "" || (dec{}).value() != nil {
		t.Error("the zero dec is not NULL")
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
