-- Version 2 of the data contract on TimescaleDB: hypertables, compression
-- and retention, and the per-minute bars and PnL as continuous aggregates
-- (on plain PostgreSQL they are views: 00002_postgres.sql). Same names and
-- columns in both. Run in one transaction: the continuous aggregates are
-- created WITH NO DATA (TimescaleDB refuses WITH DATA inside a transaction)
-- and filled by their refresh policies.
CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('hft.trades',       by_range('ts', INTERVAL '1 day'),  migrate_data => true);
SELECT create_hypertable('hft.book_top',     by_range('ts', INTERVAL '1 hour'), migrate_data => true);
SELECT create_hypertable('hft.orders',       by_range('created_ts', INTERVAL '7 days'), migrate_data => true);
SELECT create_hypertable('hft.order_events', by_range('ts', INTERVAL '7 days'), migrate_data => true);
SELECT create_hypertable('hft.fills',        by_range('ts', INTERVAL '7 days'), migrate_data => true);
SELECT create_hypertable('hft.positions',    by_range('ts', INTERVAL '7 days'), migrate_data => true);
SELECT create_hypertable('hft.features',     by_range('ts', INTERVAL '1 day'),  migrate_data => true);

-- Compressed after a week, segmented by instrument (every query filters on it).
ALTER TABLE hft.trades   SET (timescaledb.compress, timescaledb.compress_segmentby = 'inst_id', timescaledb.compress_orderby = 'ts DESC');
ALTER TABLE hft.book_top SET (timescaledb.compress, timescaledb.compress_segmentby = 'inst_id', timescaledb.compress_orderby = 'ts DESC');
ALTER TABLE hft.features SET (timescaledb.compress, timescaledb.compress_segmentby = 'inst_id', timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('hft.trades',   INTERVAL '7 days');
SELECT add_compression_policy('hft.book_top', INTERVAL '1 day');
SELECT add_compression_policy('hft.features', INTERVAL '7 days');

-- Market data is kept 90 days (the book 30); orders, fills and positions,
-- the account's own history, are kept.
SELECT add_retention_policy('hft.trades',   INTERVAL '90 days');
SELECT add_retention_policy('hft.book_top', INTERVAL '30 days');
SELECT add_retention_policy('hft.features', INTERVAL '90 days');

CREATE MATERIALIZED VIEW hft.bars_1m WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 minute', ts) AS bucket,
       inst_id,
       first(px, ts)                         AS open,
       max(px)                               AS high,
       min(px)                               AS low,
       last(px, ts)                          AS close,
       sum(sz)                               AS volume,
       sum(px * sz)                          AS notional,
       count(*)                              AS trades
FROM hft.trades
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW hft.pnl_1m WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 minute', ts) AS bucket,
       inst_id,
       last(realized_pnl, ts)                AS realized_pnl,
       last(upl, ts)                         AS unrealized_pnl,
       last(pos, ts)                         AS pos
FROM hft.positions
GROUP BY 1, 2
WITH NO DATA;

SELECT add_continuous_aggregate_policy('hft.bars_1m', start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('hft.pnl_1m',  start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
-- Real-time aggregation: the minutes not yet materialised are computed at
-- query time, so a dashboard sees the current minute as the view does.
ALTER MATERIALIZED VIEW hft.bars_1m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW hft.pnl_1m  SET (timescaledb.materialized_only = false);
