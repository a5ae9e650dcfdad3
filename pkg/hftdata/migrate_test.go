package hftdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata/pgtest"
)

func postgres(t *testing.T) *sql.DB { return pgtest.Start(t).DB }

func TestMigrateOnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	db := postgres(t)
	res, err := Migrate(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if res.TimescaleDB {
		t.Fatal("this PostgreSQL has timescaledb: the test is of the plain PostgreSQL path")
	}
	if fmt.Sprint(res.Applied) != "[1 2 3]" || res.Version != 3 {
		t.Fatalf("applied %v, version %d; want [1 2 3], 3", res.Applied, res.Version)
	}
	// Every table and view of the contract exists with exactly its columns.
	for table, want := range Tables {
		schema, name, _ := strings.Cut(table, ".")
		rows, err := db.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", schema, name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			got = append(got, c)
		}
		rows.Close()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s has columns %v, the contract says %v", table, got, want)
		}
	}
	// Idempotent: a second run applies nothing.
	again, err := Migrate(ctx, db)
	if err != nil || len(again.Applied) != 0 || again.Version != 3 {
		t.Fatalf("second Migrate: applied %v, version %d, %v; want nothing, 3", again.Applied, again.Version, err)
	}
}

// The views compute what dashboards read, and numeric keeps OKX's decimal
// strings whole.
func TestViewsOnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	db := postgres(t)
	if _, err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// OKX ts in milliseconds → timestamptz, exactly.
	for i, tr := range []struct {
		ms     int64
		px, sz string
		side   string
	}{{1764590400000, "91234.5", "0.00012345", "buy"}, {1764590401250, "91240.1", "0.5", "sell"}, {1764590459999, "91230.0", "1.25", "buy"}, {1764590460000, "91300.0", "2", "sell"}} {
		exec("INSERT INTO hft.trades (ts, inst_id, trade_id, px, sz, side) VALUES (to_timestamp($1 / 1000.0), 'BTC-USDT', $2, $3, $4, $5)", tr.ms, fmt.Sprint(i), tr.px, tr.sz, tr.side)
	}
	var open, high, low, closePx, volume string
	var trades int
	if err := db.QueryRowContext(ctx, "SELECT open::text, high::text, low::text, close::text, volume::text, trades FROM hft.bars_1m WHERE inst_id = 'BTC-USDT' ORDER BY bucket LIMIT 1").Scan(&open, &high, &low, &closePx, &volume, &trades); err != nil {
		t.Fatal(err)
	}
	if open != "91234.5" || high != "91240.1" || low != "91230.0" || closePx != "91230.0" || volume != "1.75012345" || trades != 3 {
		t.Errorf("first minute's bar: open %s high %s low %s close %s volume %s trades %d", open, high, low, closePx, volume, trades)
	}
	var ms int64
	db.QueryRowContext(ctx, "SELECT (extract(epoch FROM ts) * 1000)::bigint FROM hft.trades WHERE trade_id = '1'").Scan(&ms)
	if ms != 1764590401250 {
		t.Errorf("ts read back as %d ms, want 1764590401250", ms)
	}
	// PnL per day with the drawdown from the day's peak.
	for _, p := range []struct {
		min           int
		realized, upl string
	}{{0, "0", "10"}, {1, "5", "20"}, {2, "5", "-15"}, {3, "12", "0"}} {
		exec("INSERT INTO hft.positions (ts, inst_id, pos, upl, realized_pnl) VALUES (timestamptz '2026-12-01 10:00:00+00' + make_interval(mins => $1), 'BTC-USDT', 1, $2, $3)", p.min, p.upl, p.realized)
	}
	var pnl, dd string
	if err := db.QueryRowContext(ctx, "SELECT pnl::text, max_drawdown::text FROM hft.pnl_daily WHERE inst_id = 'BTC-USDT'").Scan(&pnl, &dd); err != nil {
		t.Fatal(err)
	}
	if pnl != "12" || dd != "-35" { // peak 25 at 10:01, -10 at 10:02
		t.Errorf("pnl_daily: pnl %s, max_drawdown %s; want 12, -35", pnl, dd)
	}
	// The contract's checks refuse what OKX never sends.
	if _, err := db.ExecContext(ctx, "INSERT INTO hft.trades (ts, inst_id, trade_id, px, sz, side) VALUES (now(), 'BTC-USDT', 'x', 1, 1, 'long')"); err == nil {
		t.Error("a trade with side 'long' was accepted")
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO hft.book_top VALUES (now(), 'BTC-USDT', 2, 1, 100, 1, 99, 1, 5, 5)"); err == nil {
		t.Error("a crossed book (ask below bid) was accepted")
	}
}

// A migration that fails halfway leaves the database as it was: the table
// it created before failing is gone and the version is unchanged.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := postgres(t)
	broken := goose.NewGoMigration(4, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE hft.half_done (x int)"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO hft.no_such_table VALUES (1)")
		return err
	}}, nil)
	p, err := Provider(db, false, broken)
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(ctx, p, false)
	if err == nil {
		t.Fatal("the broken migration did not fail")
	}
	if res.Version != 3 || fmt.Sprint(res.Applied) != "[1 2 3]" {
		t.Errorf("after the failure: applied %v, version %d; want [1 2 3], 3", res.Applied, res.Version)
	}
	var exists bool
	db.QueryRowContext(ctx, "SELECT to_regclass('hft.half_done') IS NOT NULL").Scan(&exists)
	if exists {
		t.Error("the failed migration left its table behind")
	}
	var pe *goose.PartialError
	if !errors.As(err, &pe) {
		t.Errorf("error %T %v, want goose's PartialError naming the failed version", err, err)
	}
}
