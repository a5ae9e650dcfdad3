// Package hftdata is the data contract of the OKX HFT system: the tables
// and views okx-hft-collector and okx-hft-executor write into TimescaleDB
// and the ops node reads (Superset's datasets, Airflow's exports), as
// versioned SQL migrations and the names to use for them. It is to the
// data what pkg/hftmetrics is to the metrics.
//
// Migrate applies the migrations with goose (github.com/pressly/goose),
// each in its own transaction: one that fails leaves the database as it
// was. On TimescaleDB the tables become hypertables with compression and
// retention, and the per-minute aggregates are continuous aggregates; on
// plain PostgreSQL the tables stay tables and the aggregates are views
// with the same names and columns (see Difference).
package hftdata

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// Schema holds every table and view of the contract.
const Schema = "hft"

// The tables, written by the trading services.
const (
	Trades      = "hft.trades"       // public trades: ts, inst_id, trade_id, px, sz, side
	BookTop     = "hft.book_top"     // top of book per update: seq_id, prev_seq_id, bid/ask px and sz, depth
	Orders      = "hft.orders"       // orders as placed: ord_id, cl_ord_id, side, ord_type, px, sz
	OrderEvents = "hft.order_events" // each state of an order, rejects with s_code and s_msg
	Fills       = "hft.fills"        // fills with fee and the mid price at the order, for slippage
	Positions   = "hft.positions"    // position snapshots: pos, avg_px, upl, realized_pnl
	Features    = "hft.features"     // model features per instrument
)

// The views, read by dashboards: continuous aggregates on TimescaleDB,
// plain views on PostgreSQL.
const (
	Bars1m   = "hft.bars_1m"   // per-minute OHLCV from trades
	PnL1m    = "hft.pnl_1m"    // per-minute realised and unrealised PnL
	PnLDaily = "hft.pnl_daily" // PnL and drawdown per instrument and day
)

// Tables lists the contract's tables and views with their columns, for
// checks of what reads them (a Superset dataset naming a column that does
// not exist, say).
var Tables = map[string][]string{
	Trades:      {"ts", "inst_id", "trade_id", "px", "sz", "side"},
	BookTop:     {"ts", "inst_id", "seq_id", "prev_seq_id", "bid_px", "bid_sz", "ask_px", "ask_sz", "bid_depth_sz", "ask_depth_sz"},
	Orders:      {"created_ts", "ord_id", "cl_ord_id", "inst_id", "side", "ord_type", "px", "sz"},
	OrderEvents: {"ts", "ord_id", "inst_id", "state", "acc_fill_sz", "avg_px", "s_code", "s_msg"},
	Fills:       {"ts", "inst_id", "trade_id", "ord_id", "side", "fill_px", "fill_sz", "fee", "fee_ccy", "exec_type", "mid_px"},
	Positions:   {"ts", "inst_id", "pos", "avg_px", "upl", "realized_pnl"},
	Features:    {"ts", "inst_id", "mid_px", "spread_bps", "book_imbalance", "trade_imbalance", "volatility_1m"},
	Bars1m:      {"bucket", "inst_id", "open", "high", "low", "close", "volume", "notional", "trades"},
	PnL1m:       {"bucket", "inst_id", "realized_pnl", "unrealized_pnl", "pos"},
	PnLDaily:    {"day", "inst_id", "pnl", "max_drawdown"},
}

// Difference is what plain PostgreSQL lacks against TimescaleDB, stated
// once (the README quotes it; the tests prove the PostgreSQL side).
const Difference = "on plain PostgreSQL the tables are not hypertables (no chunks, compression or retention: old rows stay until deleted) and hft.bars_1m and hft.pnl_1m are views computed at every query instead of continuous aggregates refreshed every minute"

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed variants/*.sql
var variants embed.FS

// Result says what Migrate did.
type Result struct {
	Applied     []int64 // versions applied by this call, in order
	Version     int64   // the database's version afterwards
	TimescaleDB bool    // the timescaledb extension is available
}

// Provider returns the goose provider of the contract on db, with extra
// migrations (tests add a failing one).
func Provider(db *sql.DB, timescale bool, extra ...*goose.Migration) (*goose.Provider, error) {
	sqlFS, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	variant := "variants/00002_postgres.sql"
	if timescale {
		variant = "variants/00002_timescaledb.sql"
	}
	up, err := variants.ReadFile(variant)
	if err != nil {
		return nil, err
	}
	// Version 2 is a Go migration only to pick the SQL of the database at
	// hand; the SQL runs in the migration's transaction like the others.
	v2 := goose.NewGoMigration(2,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, string(up))
			return err
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			drop := "DROP VIEW IF EXISTS hft.pnl_1m; DROP VIEW IF EXISTS hft.bars_1m;"
			if timescale {
				drop = "DROP MATERIALIZED VIEW IF EXISTS hft.pnl_1m; DROP MATERIALIZED VIEW IF EXISTS hft.bars_1m;"
			}
			_, err := tx.ExecContext(ctx, drop)
			return err
		}},
	)
	return goose.NewProvider(goose.DialectPostgres, db, sqlFS, goose.WithGoMigrations(append([]*goose.Migration{v2}, extra...)...))
}

// HasTimescaleDB reports whether the timescaledb extension can be used.
func HasTimescaleDB(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").Scan(&n)
	return n > 0, err
}

// Migrate brings db to the contract's latest version. It is idempotent: a
// database already there is left alone.
func Migrate(ctx context.Context, db *sql.DB) (Result, error) {
	ts, err := HasTimescaleDB(ctx, db)
	if err != nil {
		return Result{}, fmt.Errorf("hftdata: reading pg_available_extensions: %w", err)
	}
	p, err := Provider(db, ts)
	if err != nil {
		return Result{}, err
	}
	return run(ctx, p, ts)
}

func run(ctx context.Context, p *goose.Provider, ts bool) (Result, error) {
	res := Result{TimescaleDB: ts}
	applied, err := p.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		applied = partial.Applied // those before the one that failed
	}
	for _, a := range applied {
		if a.Error == nil {
			res.Applied = append(res.Applied, a.Source.Version)
		}
	}
	if v, verr := p.GetDBVersion(ctx); verr == nil {
		res.Version = v
	}
	if err != nil {
		return res, fmt.Errorf("hftdata: migrating: %w", err)
	}
	return res, nil
}
