"""Data quality of yesterday's trading data (opsdata/quality.py): gaps in
the market data, sequence breaks, duplicate keys, rows late for or missing
from the export. Reported as ops_dq_violations{check, table, inst_id} to
Prometheus through the statsd exporter; the TradingDataQuality alert fires
on any above 0 (runbooks/README.md). Violations do not fail the run: the
alert reports them, a failed run means the checks could not run.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task


@dag(
    dag_id="ops_data_quality",
    # An hour after the export, so that late_rows compares with its manifest.
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    params={
        "day": Param(None, type=["null", "string"], format="date", description="UTC day to check (default: the day before the run)"),
        "gap_threshold_seconds": Param(120, type="number", minimum=1, description="longest time without a trade or book row that is not a gap"),
    },
    tags=["okx-hft", "quality"],
    doc_md=__doc__,
)
def ops_data_quality():
    @task
    def check() -> dict:
        from opsdata import quality
        from opsdata.schedule import run_day

        ctx = get_current_context()
        day = run_day(ctx["params"], ctx["data_interval_end"])
        results = quality.check_day(day, float(ctx["params"]["gap_threshold_seconds"]))
        violations = quality.report(results, day)
        for r in results:
            if r["value"]:
                print(f"VIOLATION {day} {r['check']} {r['table']} {r['inst_id']}: {r['value']}")
        print(f"{day}: {len(results)} checks, {violations} violations")
        return {"day": day.isoformat(), "checks": len(results), "violations": violations}

    check()


ops_data_quality()
