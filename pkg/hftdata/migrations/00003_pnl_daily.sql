-- +goose Up
-- PnL per instrument and day (UTC) with the day's drawdown, on both
-- databases: a view over hft.pnl_1m.
CREATE VIEW hft.pnl_daily AS
WITH m AS (
    SELECT bucket, inst_id, realized_pnl + unrealized_pnl AS total
    FROM hft.pnl_1m
), d AS (
    SELECT date_trunc('day', bucket) AS day, inst_id, bucket, total,
           max(total) OVER (PARTITION BY inst_id, date_trunc('day', bucket) ORDER BY bucket) AS peak
    FROM m
)
SELECT day,
       inst_id,
       (array_agg(total ORDER BY bucket DESC))[1] AS pnl,
       min(total - peak)                          AS max_drawdown
FROM d
GROUP BY day, inst_id;

-- +goose Down
DROP VIEW hft.pnl_daily;
