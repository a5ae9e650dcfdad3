"""Data quality of one UTC day of the trading data, reported as metrics.

Checks, per table and instrument:

  gap             market data (trades, book_top) with no row for longer than
                  the threshold, counting from the day's start and up to its
                  end (or now), for every instrument seen that day or the day
                  before: a feed that stopped at noon is a gap until midnight
  sequence_break  book_top rows whose prev_seq_id is not the seq_id of the
                  instrument's row before (OKX's own gap signal)
  duplicate_key   one trade_id / seq_id / ord_id stored more than once (the
                  primary keys include the time, so the database allows it)
  late_rows       rows of the day that arrived after its export (the source
                  now holds more than the export's manifest recorded)
  missing_rows    rows the export holds that the source no longer has

Each is sent as a StatsD gauge to the node's statsd exporter, which
Prometheus scrapes as ops_dq_violations{check, table, inst_id} (mapping in
airflow/statsd-mapping.yml); the TradingDataQuality alert fires on any
above 0. The longest gap is ops_dq_max_gap_seconds{table, inst_id}.
"""

from __future__ import annotations

import datetime as dt
import os

from opsdata import common

MARKET_DATA = ("trades", "book_top")


def gaps(cur, table: str, day: dt.date, threshold_s: float, now: dt.datetime) -> dict:
    """{inst: (gaps longer than threshold_s, longest gap in seconds)}."""
    start, end = common.day_bounds(day)
    end = min(end, now)
    t = common.TABLES[table]
    tc = t.time_column
    cur.execute(
        f"""
        WITH insts AS (
            SELECT DISTINCT inst_id FROM {t.qualified} WHERE {tc} >= %(prev)s AND {tc} < %(end)s
        ), points AS (
            SELECT inst_id, {tc} AS ts FROM {t.qualified} WHERE {tc} >= %(start)s AND {tc} < %(end)s
            UNION ALL SELECT inst_id, %(start)s FROM insts
            UNION ALL SELECT inst_id, %(end)s FROM insts
        ), steps AS (
            SELECT inst_id, extract(epoch FROM ts - lag(ts) OVER (PARTITION BY inst_id ORDER BY ts)) AS gap FROM points
        )
        SELECT inst_id, count(*) FILTER (WHERE gap > %(thr)s), coalesce(max(gap), 0) FROM steps GROUP BY inst_id ORDER BY inst_id
        """,
        {"prev": start - dt.timedelta(days=1), "start": start, "end": end, "thr": threshold_s},
    )
    return {inst: (int(n), float(longest)) for inst, n, longest in cur.fetchall()}


def sequence_breaks(cur, day: dt.date) -> dict:
    start, end = common.day_bounds(day)
    cur.execute(
        """
        SELECT inst_id, count(*) FILTER (WHERE prev IS NOT NULL AND prev_seq_id <> prev) FROM (
            SELECT inst_id, prev_seq_id, lag(seq_id) OVER (PARTITION BY inst_id ORDER BY ts, seq_id) AS prev
            FROM hft.book_top WHERE ts >= %s AND ts < %s
        ) s GROUP BY inst_id ORDER BY inst_id
        """,
        (start, end),
    )
    return {inst: int(n) for inst, n in cur.fetchall()}


def duplicate_keys(cur, table: common.Table, day: dt.date) -> dict:
    start, end = common.day_bounds(day)
    key = ", ".join(table.key)
    inst = "inst_id" if "inst_id" in table.key else "min(inst_id)"
    cur.execute(
        f"""
        SELECT inst_id, count(*) FROM (
            SELECT {inst} AS inst_id FROM {table.qualified}
            WHERE {table.time_column} >= %s AND {table.time_column} < %s
            GROUP BY {key} HAVING count(*) > 1
        ) d GROUP BY inst_id ORDER BY inst_id
        """,
        (start, end),
    )
    return {i: int(n) for i, n in cur.fetchall()}


def check_day(day: dt.date, threshold_s: float, now: dt.datetime | None = None) -> list[dict]:
    """Runs every check on day; returns one row per check, table and
    instrument: {"check", "table", "inst_id", "value"} (and "max_gap_seconds"
    for gaps)."""
    now = now or dt.datetime.now(common.UTC)
    results = []
    conn = common.db_connection()
    try:
        cur = conn.cursor()
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table in MARKET_DATA:
            for inst, (n, longest) in gaps(cur, table, day, threshold_s, now).items():
                results.append({"check": "gap", "table": table, "inst_id": inst, "value": n, "max_gap_seconds": longest})
        for inst, n in sequence_breaks(cur, day).items():
            results.append({"check": "sequence_break", "table": "book_top", "inst_id": inst, "value": n})
        counts = {}
        for t in common.EXPORT_TABLES:
            counts[t.name] = common.day_counts(cur, t, day)
            dups = duplicate_keys(cur, t, day)
            for inst in sorted(set(counts[t.name]) | set(dups)):
                results.append({"check": "duplicate_key", "table": t.name, "inst_id": inst, "value": dups.get(inst, 0)})
        conn.rollback()
    finally:
        conn.close()

    manifest = common.read_json(common.s3_filesystem(), common.manifest_path(day))
    if manifest is not None:
        for name, exported in manifest["tables"].items():
            now_counts = counts.get(name, {})
            then = {inst: v["rows"] for inst, v in exported["instruments"].items()}
            for inst in sorted(set(now_counts) | set(then)):
                diff = now_counts.get(inst, 0) - then.get(inst, 0)
                results.append({"check": "late_rows", "table": name, "inst_id": inst, "value": max(diff, 0)})
                results.append({"check": "missing_rows", "table": name, "inst_id": inst, "value": max(-diff, 0)})
    return results


def statsd_client():
    """A StatsD client to the node's statsd exporter: the host and port
    Airflow sends its own metrics to ([metrics] statsd_host, statsd_port)."""
    import statsd

    host = os.environ.get("AIRFLOW__METRICS__STATSD_HOST", "localhost")
    port = int(os.environ.get("AIRFLOW__METRICS__STATSD_PORT", "8125"))
    return statsd.StatsClient(host, port, prefix="ops.dq")


def report(results: list[dict], day: dt.date, client=None) -> int:
    """Sends results as gauges; returns the number of violations."""
    client = client or statsd_client()
    total = 0
    for r in results:
        name = f"violations.{r['check']}.{r['table']}.{r['inst_id']}"
        client.gauge(name, r["value"])
        total += r["value"]
        if "max_gap_seconds" in r:
            client.gauge(f"max_gap_seconds.{r['table']}.{r['inst_id']}", r["max_gap_seconds"])
    start, _ = common.day_bounds(day)
    client.gauge("checked_day_timestamp_seconds", start.timestamp())
    client.gauge("last_run_timestamp_seconds", dt.datetime.now(common.UTC).timestamp())
    return total
