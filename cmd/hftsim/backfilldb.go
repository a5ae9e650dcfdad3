package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata"
)

// backfillDB writes a past period of the data contract's rows, as the
// collector and the executor would have written them, into the database
// of the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER,
// PGPASSWORD): the demo's history for Superset. It runs the data model in
// simulated time with the same failure schedule as `hftsim backfill`, and
// writes with COPY in batches, each batch one transaction.
//
// It refuses a period that already holds rows of these instruments (the
// keys would collide, and real data must not be overwritten by accident);
// --replace deletes the period's rows first, in the same transaction as
// the first batch.
func backfillDB(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hftsim backfill-db", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hours := fs.Float64("hours", 24, "length of the period, in hours (at most 24*31)")
	endFlag := fs.String("end", "", "end of the period, RFC 3339 (default: now, to the second)")
	seed := fs.Uint64("seed", 42, "random seed")
	instruments := fs.String("instruments", "BTC-USDT,ETH-USDT,BTC-USDT-SWAP", "comma-separated OKX instrument IDs")
	schedule := fs.String("schedule", "failures", "failures (every failure scenario once, healthy in between) or healthy")
	replace := fs.Bool("replace", false, "delete the period's rows of these instruments first")
	batch := fs.Int("batch", 250_000, "rows per COPY transaction")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: PGHOST=... PGUSER=... PGPASSWORD=... PGDATABASE=... hftsim backfill-db [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "hftsim backfill-db: "+format+"\n", a...)
		return code
	}
	switch {
	case fs.NArg() > 0:
		return fail(2, "unexpected argument %q", fs.Arg(0))
	case *hours <= 0 || *hours > 24*31:
		return fail(2, "--hours %v out of range (0 to 744)", *hours)
	case *schedule != "failures" && *schedule != "healthy":
		return fail(2, "--schedule %q unknown; valid: failures, healthy", *schedule)
	case *batch < 1000:
		return fail(2, "--batch %d too small (at least 1000)", *batch)
	}
	end := time.Now().Truncate(time.Second)
	if *endFlag != "" {
		t, err := time.Parse(time.RFC3339, *endFlag)
		if err != nil {
			return fail(2, "--end: %v", err)
		}
		end = t
	}
	start := end.Add(-time.Duration(*hours * float64(time.Hour)))
	insts := splitInstruments(*instruments)
	ctx := context.Background()

	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return fail(2, "reading PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD: %v", err)
	}
	db := stdlib.OpenDB(*cfg)
	res, err := hftdata.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return fail(1, "%v", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer conn.Close(ctx)
	if !*replace {
		var n int
		if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM (SELECT 1 FROM hft.trades WHERE inst_id = ANY($1) AND ts BETWEEN $2 AND $3 LIMIT 1) t) + (SELECT count(*) FROM (SELECT 1 FROM hft.orders WHERE inst_id = ANY($1) AND created_ts BETWEEN $2 AND $3 LIMIT 1) o)", insts, start, end).Scan(&n); err != nil {
			return fail(1, "%v", err)
		}
		if n > 0 {
			return fail(1, "%s to %s already holds rows of %v: pass --replace to delete and rewrite them", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), insts)
		}
	}

	began := time.Now()
	// The data model runs in its own goroutine and hands over batches, so
	// generating the next batch and COPYing this one overlap.
	batches := make(chan rows, 2)
	go func() {
		defer close(batches)
		col := newDataModel(roleCollector, *seed, insts, start)
		exe := newDataModel(roleExecutor, *seed+1, insts, start)
		plan := backfillPlan(*schedule, start, end)
		scenario, next := "", 0
		const step = 100 * time.Millisecond
		var pending rows
		for now := start.Add(step); !now.After(end); now = now.Add(step) {
			for ; next < len(plan) && !plan[next].at.After(now); next++ {
				scenario = plan[next].scenario
			}
			prev := now.Add(-step)
			for _, m := range []*dataModel{col, exe} {
				sc := ""
				if scenarioApplies(scenario, m.role) {
					sc = scenario
				}
				m.step(prev, now, sc)
				pending.append(m.take())
			}
			if pending.len() >= *batch {
				batches <- pending
				pending = rows{}
			}
		}
		batches <- pending
	}()
	written := map[string]int64{}
	var prelude func(pgx.Tx) error
	if *replace {
		// The period's rows go in the transaction of the first batch: a
		// failed rewrite leaves them as they were.
		prelude = func(tx pgx.Tx) error {
			for table, cols := range hftdata.Tables {
				if table == hftdata.Bars1m || table == hftdata.PnL1m || table == hftdata.PnLDaily {
					continue
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE inst_id = ANY($1) AND %s BETWEEN $2 AND $3", table, cols[0]), insts, start, end); err != nil {
					return fmt.Errorf("--replace: %s: %w", table, err)
				}
			}
			return nil
		}
	}
	for b := range batches {
		n, err := copyRows(ctx, conn, b, prelude)
		if err != nil {
			for range batches { // let the generator finish
			}
			return fail(1, "%v", err)
		}
		prelude = nil
		for k, v := range n {
			written[k] += v
		}
	}
	var total int64
	for _, v := range written {
		total += v
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "hftsim backfill-db: %s to %s, %d instruments, schedule %s: %d rows in %.1fs (%.0f rows/s), timescaledb %v\n",
		start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), len(insts), *schedule, total, took.Seconds(), float64(total)/took.Seconds(), res.TimescaleDB)
	for _, t := range []string{hftdata.Trades, hftdata.BookTop, hftdata.Features, hftdata.Orders, hftdata.OrderEvents, hftdata.Fills, hftdata.Positions} {
		fmt.Fprintf(stdout, "  %-17s %d\n", t, written[t])
	}
	return 0
}
