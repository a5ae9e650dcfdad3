-- Version 2 of the data contract on plain PostgreSQL: the per-minute bars
-- and PnL that dashboards read, as plain views computed at query time
-- (on TimescaleDB they are continuous aggregates: 00002_timescaledb.sql).
-- Same names and columns in both.
CREATE VIEW hft.bars_1m AS
SELECT date_trunc('minute', ts)            AS bucket,
       inst_id,
       (array_agg(px ORDER BY ts ASC))[1]  AS open,
       max(px)                             AS high,
       min(px)                             AS low,
       (array_agg(px ORDER BY ts DESC))[1] AS close,
       sum(sz)                             AS volume,
       sum(px * sz)                        AS notional,
       count(*)                            AS trades
FROM hft.trades
GROUP BY 1, 2;

CREATE VIEW hft.pnl_1m AS
SELECT date_trunc('minute', ts)                      AS bucket,
       inst_id,
       (array_agg(realized_pnl ORDER BY ts DESC))[1] AS realized_pnl,
       (array_agg(upl ORDER BY ts DESC))[1]          AS unrealized_pnl,
       (array_agg(pos ORDER BY ts DESC))[1]          AS pos
FROM hft.positions
GROUP BY 1, 2;
