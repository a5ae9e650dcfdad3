package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata"
)

// dbWriter writes the data model's rows into the database of the data
// contract with COPY, one transaction a flush. The database comes from the
// libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD), so no
// password is ever an argument. While the database is away, rows wait in
// memory up to maxPending, then the oldest batch is dropped and counted.
type dbWriter struct {
	log        *slog.Logger
	conn       *pgx.Conn
	migrated   bool
	pending    []rows
	npending   int
	maxPending int
	written    map[string]int64
	dropped    int64
}

func newDBWriter(log *slog.Logger) *dbWriter {
	return &dbWriter{log: log, maxPending: 100_000, written: map[string]int64{}}
}

func (w *dbWriter) add(r rows) {
	if r.len() == 0 {
		return
	}
	w.pending = append(w.pending, r)
	w.npending += r.len()
	for w.npending > w.maxPending && len(w.pending) > 1 {
		w.dropped += int64(w.pending[0].len())
		w.npending -= w.pending[0].len()
		w.pending = w.pending[1:]
	}
}

// connect opens the connection and, once per process, brings the database
// to the contract's version (goose takes an advisory lock: the collector
// and the executor may both try at once).
func (w *dbWriter) connect(ctx context.Context) error {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return fmt.Errorf("reading PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD: %w", err)
	}
	if !w.migrated {
		db := stdlib.OpenDB(*cfg)
		res, err := hftdata.Migrate(ctx, db)
		db.Close()
		if err != nil {
			return err
		}
		w.migrated = true
		w.log.Info("data contract ready", "event", "db", "version", res.Version, "applied", res.Applied, "timescaledb", res.TimescaleDB)
	}
	w.conn, err = pgx.ConnectConfig(ctx, cfg)
	return err
}

// flush writes every pending row; on failure the rows stay pending and the
// connection is dropped, to be made again at the next flush.
func (w *dbWriter) flush(ctx context.Context) error {
	if w.npending == 0 {
		return nil
	}
	if w.conn == nil {
		if err := w.connect(ctx); err != nil {
			return err
		}
	}
	var all rows
	for _, r := range w.pending {
		all.append(r)
	}
	n, err := copyRows(ctx, w.conn, all, nil)
	if err != nil {
		w.conn.Close(ctx)
		w.conn = nil
		return err
	}
	for k, v := range n {
		w.written[k] += v
	}
	w.pending, w.npending = nil, 0
	return nil
}

func (w *dbWriter) close(ctx context.Context) {
	if w.conn != nil {
		w.conn.Close(ctx)
	}
}

// value is d as pgx sends it: a numeric, or NULL.
func (d dec) value() any {
	if !d.ok {
		return nil
	}
	return pgtype.Numeric{Int: big.NewInt(d.m), Exp: d.exp, Valid: true}
}

// copyRows writes all in one transaction, a COPY per table, after
// prelude (nil: nothing) in the same transaction, and returns the rows
// written per table.
func copyRows(ctx context.Context, conn *pgx.Conn, all rows, prelude func(pgx.Tx) error) (map[string]int64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if prelude != nil {
		if err := prelude(tx); err != nil {
			return nil, err
		}
	}
	n := map[string]int64{}
	type table struct {
		name string
		cols []string
		len  int
		row  func(i int) []any
	}
	for _, t := range []table{
		{hftdata.Trades, hftdata.Tables[hftdata.Trades], len(all.Trades), func(i int) []any {
			r := all.Trades[i]
			return []any{r.TS, r.Inst, r.ID, r.Px.value(), r.Sz.value(), r.Side}
		}},
		{hftdata.BookTop, hftdata.Tables[hftdata.BookTop], len(all.Books), func(i int) []any {
			r := all.Books[i]
			return []any{r.TS, r.Inst, r.Seq, r.PrevSeq, r.BidPx.value(), r.BidSz.value(), r.AskPx.value(), r.AskSz.value(), r.BidDepth.value(), r.AskDepth.value()}
		}},
		{hftdata.Features, hftdata.Tables[hftdata.Features], len(all.Features), func(i int) []any {
			r := all.Features[i]
			return []any{r.TS, r.Inst, r.Mid.value(), r.SpreadBps, r.BookImb, r.TradeImb, r.Volatility}
		}},
		{hftdata.Orders, hftdata.Tables[hftdata.Orders], len(all.Orders), func(i int) []any {
			r := all.Orders[i]
			return []any{r.TS, r.OrdID, r.ClOrdID, r.Inst, r.Side, r.OrdType, r.Px.value(), r.Sz.value()}
		}},
		{hftdata.OrderEvents, hftdata.Tables[hftdata.OrderEvents], len(all.Events), func(i int) []any {
			r := all.Events[i]
			return []any{r.TS, r.OrdID, r.Inst, r.State, r.AccFillSz.value(), r.AvgPx.value(), r.SCode, r.SMsg}
		}},
		{hftdata.Fills, hftdata.Tables[hftdata.Fills], len(all.Fills), func(i int) []any {
			r := all.Fills[i]
			return []any{r.TS, r.Inst, r.TradeID, r.OrdID, r.Side, r.Px.value(), r.Sz.value(), r.Fee.value(), r.FeeCcy, r.ExecType, r.Mid.value()}
		}},
		{hftdata.Positions, hftdata.Tables[hftdata.Positions], len(all.Positions), func(i int) []any {
			r := all.Positions[i]
			return []any{r.TS, r.Inst, r.Pos.value(), r.AvgPx.value(), r.UPL.value(), r.RealizedPnL.value()}
		}},
	} {
		if t.len == 0 {
			continue
		}
		c, err := tx.CopyFrom(ctx, pgx.Identifier{hftdata.Schema, t.name[len(hftdata.Schema)+1:]}, t.cols, pgx.CopyFromSlice(t.len, func(i int) ([]any, error) { return t.row(i), nil }))
		if err != nil {
			return nil, fmt.Errorf("COPY %s: %w", t.name, err)
		}
		n[t.name] = c
	}
	return n, tx.Commit(ctx)
}

// flushEvery is how often the live simulator writes.
const flushEvery = time.Second

// writeLoop moves the simulator's rows into the database every second
// until ctx ends, logging failures (at most one a minute) and what was
// written (every minute).
func writeLoop(ctx context.Context, s *sim, w *dbWriter, log *slog.Logger) {
	defer w.close(context.Background())
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var lastErr, lastStats time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.add(s.takeRows())
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := w.flush(fctx)
			cancel()
			if err != nil && now.Sub(lastErr) >= time.Minute {
				lastErr = now
				log.Warn("writing the data contract's rows failed; they wait in memory", "event", "db", "error", err.Error(), "pending", w.npending, "dropped", w.dropped)
			}
			if now.Sub(lastStats) >= time.Minute {
				lastStats = now
				log.Info("rows written", "event", "db", "written", w.written, "pending", w.npending, "dropped", w.dropped)
			}
		}
	}
}
