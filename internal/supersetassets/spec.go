package supersetassets

import "github.com/okx-hft/okx-hft-ops/pkg/hftdata"

// TimeRange is every chart's time range: the last 24 hours up to now, in
// Superset's advanced range syntax (superset/utils/date_parser.py). Not
// "Last day", which Superset reads as yesterday from midnight to midnight
// (DEFAULT_RELATIVE_START_TIME "today") and which would hide today's rows.
const TimeRange = `DATEADD(DATETIME("now"), -1, day) : now`

// lastThreeHours is the range of the charts over raw order-book rows
// (about 2.6 million a day): on plain PostgreSQL here a day of them takes
// 2 s to aggregate, six hours 0.7 s (p95 1.06 s in the stack test), three
// hours half that. Spread and mid price come from hft.features, which the
// collector samples a few times a second.
const lastThreeHours = `DATEADD(DATETIME("now"), -3, hour) : now`

// datasets are the contract's tables and views that the charts read, with
// the metrics defined once on each (a chart names a metric, never repeats
// its SQL). Columns come from hftdata.Tables; their types from columnType.
var datasets = []dataset{
	{Table: hftdata.Trades, Dttm: "ts", About: "Public trades (OKX trades channel).", Metrics: []metric{
		{"trades", "Trades", "COUNT(*)", ",d"},
		{"traded_sz", "Traded size", "SUM(sz)", ",.4f"},
		// From the trades themselves, not hft.bars_1m: on plain PostgreSQL
		// the view aggregates every minute first (a day: 0.7 s against
		// 0.3 s here).
		{"notional", "Notional (quote currency)", "SUM(px * sz)", ",.0f"},
	}},
	{Table: hftdata.BookTop, Dttm: "ts", About: "Top of book and the size of the first five levels per update.", Metrics: []metric{
		{"bid_depth", "Bid depth (5 levels)", "AVG(bid_depth_sz)", ",.4f"},
		{"ask_depth", "Ask depth (5 levels)", "AVG(ask_depth_sz)", ",.4f"},
	}},
	{Table: hftdata.Features, Dttm: "ts", About: "Model features per instrument, computed by the collector.", Metrics: []metric{
		{"spread_bps", "Spread (bps)", "AVG(spread_bps)", ",.2f"},
		{"mid_px", "Mid price", "AVG(mid_px)", ",.2f"},
		{"book_imbalance", "Book imbalance", "AVG(book_imbalance)", ".3f"},
		{"trade_imbalance", "Trade imbalance", "AVG(trade_imbalance)", ".3f"},
	}},
	{Table: hftdata.Bars1m, Dttm: "bucket", About: "Per-minute OHLCV from the trades.", Metrics: []metric{
		{"notional", "Notional (quote currency)", "SUM(notional)", ",.0f"},
	}},
	{Table: hftdata.Orders, Dttm: "created_ts", About: "Orders as placed.", Metrics: []metric{
		{"orders", "Orders", "COUNT(*)", ",d"},
	}},
	{Table: hftdata.OrderEvents, Dttm: "ts", About: "Every state an order passed through; rejects carry OKX's sCode and sMsg.", Metrics: []metric{
		{"fill_ratio", "Fill ratio", "COUNT(DISTINCT ord_id) FILTER (WHERE state IN ('filled', 'partially_filled'))::float / NULLIF(COUNT(DISTINCT ord_id) FILTER (WHERE state IN ('live', 'filled', 'rejected')), 0)", ".1%"},
		{"rejects", "Rejects", "COUNT(*) FILTER (WHERE state = 'rejected')", ",d"},
		{"events", "Events", "COUNT(*)", ",d"},
	}},
	{Table: hftdata.Fills, Dttm: "ts", About: "Fills with fee and the mid price when the order was sent.", Metrics: []metric{
		{"fills", "Fills", "COUNT(*)", ",d"},
		{"slippage_bps", "Slippage vs mid (bps)", "AVG(CASE side WHEN 'buy' THEN fill_px - mid_px ELSE mid_px - fill_px END / mid_px * 10000)", ",.2f"},
		{"fees", "Fees", "SUM(fee)", ",.4f"},
	}},
	{Table: hftdata.Positions, Dttm: "ts", About: "Position snapshots per instrument.", Metrics: []metric{
		{"position", "Position", "(ARRAY_AGG(pos ORDER BY ts DESC))[1]", ",.4f"},
	}},
	{Table: hftdata.PnL1m, Dttm: "bucket", About: "Per-minute realised and unrealised PnL.", Metrics: []metric{
		// realized_pnl counts from the start of the UTC day, so the day's
		// realised PnL is its last value; unrealised is the last mark.
		{"realized_pnl", "Realised PnL", "(ARRAY_AGG(realized_pnl ORDER BY bucket DESC))[1]", ",.2f"},
		{"unrealized_pnl", "Unrealised PnL", "(ARRAY_AGG(unrealized_pnl ORDER BY bucket DESC))[1]", ",.2f"},
		{"total_pnl", "Total PnL", "(ARRAY_AGG(realized_pnl + unrealized_pnl ORDER BY bucket DESC))[1]", ",.2f"},
	}},
	{Table: hftdata.PnLDaily, Dttm: "day", About: "PnL and drawdown per instrument and UTC day.", Metrics: []metric{
		{"pnl", "PnL", "SUM(pnl)", ",.2f"},
		{"max_drawdown", "Max drawdown", "MIN(max_drawdown)", ",.2f"},
	}},
}

// dashboards are the three dashboards the owner names: market data,
// execution, PnL. Each row's widths add up to 12 (Superset's grid).
var dashboards = []dashboard{
	{Slug: "hft-market-data", Title: "Market data", About: "Trades, spread, book depth and volume by instrument over the last 24 hours.", Rows: [][]chart{
		{
			{Key: "market.trades", Name: "Trades per minute", Viz: vizBar, Table: hftdata.Trades, Metrics: []string{"trades"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 8},
			{Key: "market.notional", Name: "Notional by instrument", Viz: vizPie, Table: hftdata.Trades, Metrics: []string{"notional"}, GroupBy: []string{"inst_id"}, Width: 4},
		},
		{
			{Key: "market.spread", Name: "Spread (bps)", Viz: vizLine, Table: hftdata.Features, Metrics: []string{"spread_bps"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 6},
			{Key: "market.depth", Name: "Book depth, first five levels (3 h)", Viz: vizLine, Table: hftdata.BookTop, Metrics: []string{"bid_depth", "ask_depth"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Range: lastThreeHours, Width: 6},
		},
		{
			{Key: "market.mid", Name: "Mid price", Viz: vizLine, Table: hftdata.Features, Metrics: []string{"mid_px"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 8},
			{Key: "market.imbalance", Name: "Book and trade imbalance", Viz: vizLine, Table: hftdata.Features, Metrics: []string{"book_imbalance", "trade_imbalance"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 4},
		},
	}},
	{Slug: "hft-execution", Title: "Execution", About: "Orders, fills, fill ratio, slippage versus mid and rejects by OKX code over the last 24 hours.", Rows: [][]chart{
		{
			{Key: "execution.fill_ratio", Name: "Fill ratio", Viz: vizBigNumber, Table: hftdata.OrderEvents, Metrics: []string{"fill_ratio"}, Width: 3},
			{Key: "execution.orders", Name: "Orders per minute by side", Viz: vizBar, Table: hftdata.Orders, Metrics: []string{"orders"}, GroupBy: []string{"side"}, Grain: "PT1M", Width: 9},
		},
		{
			{Key: "execution.fills", Name: "Fills per minute", Viz: vizBar, Table: hftdata.Fills, Metrics: []string{"fills"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 6},
			{Key: "execution.slippage", Name: "Slippage versus mid (bps)", Viz: vizLine, Table: hftdata.Fills, Metrics: []string{"slippage_bps"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 6},
		},
		{
			{Key: "execution.rejects", Name: "Rejects by code", Viz: vizTable, Table: hftdata.OrderEvents, Metrics: []string{"rejects"}, GroupBy: []string{"s_code", "s_msg"}, Where: "state = 'rejected'", Width: 6},
			{Key: "execution.fees", Name: "Fees by instrument", Viz: vizTable, Table: hftdata.Fills, Metrics: []string{"fills", "fees"}, GroupBy: []string{"inst_id", "exec_type"}, Width: 6},
		},
	}},
	{Slug: "hft-pnl", Title: "PnL", About: "Realised and unrealised PnL by instrument and day, and drawdown.", Rows: [][]chart{
		{
			{Key: "pnl.total", Name: "Total PnL", Viz: vizLine, Table: hftdata.PnL1m, Metrics: []string{"total_pnl"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 8},
			{Key: "pnl.position", Name: "Position", Viz: vizLine, Table: hftdata.Positions, Metrics: []string{"position"}, GroupBy: []string{"inst_id"}, Grain: "PT1M", Width: 4},
		},
		{
			{Key: "pnl.by_day", Name: "Realised and unrealised PnL by instrument and day", Viz: vizBar, Table: hftdata.PnL1m, Metrics: []string{"realized_pnl", "unrealized_pnl", "total_pnl"}, GroupBy: []string{"inst_id"}, Grain: "P1D", Width: 7},
			{Key: "pnl.drawdown", Name: "Max drawdown by instrument and day", Viz: vizBar, Table: hftdata.PnLDaily, Metrics: []string{"max_drawdown"}, GroupBy: []string{"inst_id"}, Grain: "P1D", Width: 5},
		},
	}},
}

// columnType is each contract column's type as Superset shows it (the
// PostgreSQL type name, as Superset's column sync writes it); a column
// not named here is NUMERIC. TestColumnTypes compares them with the
// migrated database.
var columnType = map[string]string{
	"ts": "TIMESTAMP WITH TIME ZONE", "created_ts": "TIMESTAMP WITH TIME ZONE",
	"bucket": "TIMESTAMP WITH TIME ZONE", "day": "TIMESTAMP WITH TIME ZONE",
	"inst_id": "TEXT", "trade_id": "TEXT", "side": "TEXT", "ord_id": "TEXT", "cl_ord_id": "TEXT",
	"ord_type": "TEXT", "state": "TEXT", "s_code": "TEXT", "s_msg": "TEXT", "fee_ccy": "TEXT", "exec_type": "TEXT",
	"seq_id": "BIGINT", "prev_seq_id": "BIGINT", "trades": "BIGINT",
	"spread_bps": "DOUBLE PRECISION", "book_imbalance": "DOUBLE PRECISION",
	"trade_imbalance": "DOUBLE PRECISION", "volatility_1m": "DOUBLE PRECISION",
}
