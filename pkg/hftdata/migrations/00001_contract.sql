-- +goose Up
-- The data contract of the OKX HFT system, version 1: what okx-hft-collector
-- and okx-hft-executor write into TimescaleDB and the ops node reads
-- (Superset, Airflow). Portable SQL: it runs on TimescaleDB and on plain
-- PostgreSQL alike; 00002 adds what only TimescaleDB has.
--
-- Names follow OKX's API v5 fields (instId → inst_id, tradeId → trade_id,
-- px, sz, side, seqId/prevSeqId, ordId, clOrdId, fillPx, fillSz, ...).
-- Prices and sizes are numeric: OKX sends them as decimal strings, and
-- numeric keeps every digit (float8 would not). OKX's ts (milliseconds
-- since the epoch) is stored as timestamptz, which holds microseconds:
-- to_timestamp(ts / 1000.0) loses nothing, and hypertables, time_bucket
-- and Superset all want a time type.
CREATE SCHEMA IF NOT EXISTS hft;

-- Public trades (channel trades / trades-all).
CREATE TABLE hft.trades (
    ts        timestamptz NOT NULL,
    inst_id   text        NOT NULL,
    trade_id  text        NOT NULL,
    px        numeric     NOT NULL CHECK (px > 0),
    sz        numeric     NOT NULL CHECK (sz > 0),
    side      text        NOT NULL CHECK (side IN ('buy', 'sell')),
    PRIMARY KEY (inst_id, trade_id, ts)
);

-- Top of book and the size of the first levels, one row per book update
-- (channels bbo-tbt, books5, books-l2-tbt); seq_id/prev_seq_id as OKX sends
-- them, so a gap (prev_seq_id not the previous row's seq_id) is visible.
CREATE TABLE hft.book_top (
    ts           timestamptz NOT NULL,
    inst_id      text        NOT NULL,
    seq_id       bigint      NOT NULL,
    prev_seq_id  bigint      NOT NULL,
    bid_px       numeric     NOT NULL,
    bid_sz       numeric     NOT NULL,
    ask_px       numeric     NOT NULL,
    ask_sz       numeric     NOT NULL,
    bid_depth_sz numeric     NOT NULL, -- size of the first 5 bid levels
    ask_depth_sz numeric     NOT NULL, -- size of the first 5 ask levels
    PRIMARY KEY (inst_id, seq_id, ts),
    CHECK (ask_px >= bid_px)
);

-- Orders as placed (POST /api/v5/trade/order), one row per order.
CREATE TABLE hft.orders (
    created_ts timestamptz NOT NULL,
    ord_id     text        NOT NULL,
    cl_ord_id  text        NOT NULL DEFAULT '',
    inst_id    text        NOT NULL,
    side       text        NOT NULL CHECK (side IN ('buy', 'sell')),
    ord_type   text        NOT NULL, -- market, limit, post_only, fok, ioc, ...
    px         numeric,              -- null for market orders
    sz         numeric     NOT NULL CHECK (sz > 0),
    PRIMARY KEY (ord_id, created_ts)
);

-- Every state an order passed through (channel orders): live,
-- partially_filled, filled, canceled, mmp_canceled; rejected with OKX's
-- sCode/sMsg.
CREATE TABLE hft.order_events (
    ts          timestamptz NOT NULL,
    ord_id      text        NOT NULL,
    inst_id     text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('live', 'partially_filled', 'filled', 'canceled', 'mmp_canceled', 'rejected')),
    acc_fill_sz numeric     NOT NULL DEFAULT 0,
    avg_px      numeric,
    s_code      text        NOT NULL DEFAULT '0',
    s_msg       text        NOT NULL DEFAULT '',
    PRIMARY KEY (ord_id, state, ts)
);

-- Fills (channel orders with fillSz > 0, or GET /api/v5/trade/fills), with
-- the mid price the executor saw when it sent the order, for slippage.
CREATE TABLE hft.fills (
    ts        timestamptz NOT NULL,
    inst_id   text        NOT NULL,
    trade_id  text        NOT NULL,
    ord_id    text        NOT NULL,
    side      text        NOT NULL CHECK (side IN ('buy', 'sell')),
    fill_px   numeric     NOT NULL CHECK (fill_px > 0),
    fill_sz   numeric     NOT NULL CHECK (fill_sz > 0),
    fee       numeric     NOT NULL DEFAULT 0, -- negative: paid, as OKX reports it
    fee_ccy   text        NOT NULL DEFAULT '',
    exec_type text        NOT NULL DEFAULT '' CHECK (exec_type IN ('', 'T', 'M')), -- taker, maker
    mid_px    numeric,
    PRIMARY KEY (inst_id, trade_id, ts)
);

-- Position snapshots per instrument (channel positions / balance_and_position).
CREATE TABLE hft.positions (
    ts           timestamptz NOT NULL,
    inst_id      text        NOT NULL,
    pos          numeric     NOT NULL, -- signed: short below 0
    avg_px       numeric,
    upl          numeric     NOT NULL DEFAULT 0, -- unrealised PnL
    realized_pnl numeric     NOT NULL DEFAULT 0, -- since the start of the day (UTC)
    PRIMARY KEY (inst_id, ts)
);

-- Features a model reads, computed by the collector per instrument.
CREATE TABLE hft.features (
    ts             timestamptz NOT NULL,
    inst_id        text        NOT NULL,
    mid_px         numeric     NOT NULL,
    spread_bps     double precision NOT NULL,
    book_imbalance double precision NOT NULL CHECK (book_imbalance BETWEEN -1 AND 1),
    trade_imbalance double precision NOT NULL CHECK (trade_imbalance BETWEEN -1 AND 1),
    volatility_1m  double precision NOT NULL,
    PRIMARY KEY (inst_id, ts)
);

CREATE INDEX trades_ts_idx ON hft.trades (ts DESC);
CREATE INDEX book_top_ts_idx ON hft.book_top (ts DESC);
CREATE INDEX orders_inst_ts_idx ON hft.orders (inst_id, created_ts DESC);
CREATE INDEX order_events_ts_idx ON hft.order_events (ts DESC);
CREATE INDEX fills_ord_idx ON hft.fills (ord_id);
CREATE INDEX fills_ts_idx ON hft.fills (ts DESC);
CREATE INDEX positions_ts_idx ON hft.positions (ts DESC);
CREATE INDEX features_ts_idx ON hft.features (ts DESC);

-- +goose Down
DROP SCHEMA hft CASCADE;
