"""Daily export of the trading data to Parquet in the object store
(opsdata/export.py): yesterday's trades, book, orders and fills, partitioned
by date and instrument, checked against the source, with a manifest.

Rerun a day: trigger with {"day": "2026-01-31"}; the rerun replaces that
day's files. Done exports are the asset okx_hft_exports, which starts
ops_train_register.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from opsdata.assets import EXPORTS


@dag(
    dag_id="ops_export_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    params={"day": Param(None, type=["null", "string"], format="date", description="UTC day to export (default: the day before the run)")},
    tags=["okx-hft", "export"],
    doc_md=__doc__,
)
def ops_export_daily():
    @task
    def export() -> dict:
        from opsdata import export as ex
        from opsdata.schedule import run_day

        ctx = get_current_context()
        day = run_day(ctx["params"], ctx["data_interval_end"])
        manifest = ex.export_day(day, run_id=ctx["run_id"])
        print(f"exported {day}: {manifest['rows']} rows in {manifest['seconds']} s ({manifest['rows_per_second']} rows/s)")
        return {"day": day.isoformat(), "rows": manifest["rows"], "rows_per_second": manifest["rows_per_second"]}

    @task(outlets=[EXPORTS])
    def verify(summary: dict) -> dict:
        from opsdata import export as ex

        found = ex.verify_day(dt.date.fromisoformat(summary["day"]))
        print(f"read back {summary['day']}: {found}")
        return found

    verify(export())


ops_export_daily()
