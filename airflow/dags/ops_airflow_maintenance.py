"""Keeps what grows bounded, daily: Airflow's task logs (the log files of
the airflow_logs volume older than log_retention_days; Airflow deletes none
itself, the node's disk budget counts this volume at 256 MiB) and the
Parquet exports (the days older than export_retention_days, from the bucket
whose volumes SEAWEEDFS_MAX_VOLUMES caps). A day older than that can be
exported again from the trading database while the database still has it.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task


@dag(
    dag_id="ops_airflow_maintenance",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "log_retention_days": Param(30, type="integer", minimum=1, description="age in days after which a task log file is deleted"),
        "export_retention_days": Param(14, type="integer", minimum=2, description="exported days kept in the bucket, counted back from the run's day"),
    },
    tags=["okx-hft", "maintenance"],
    doc_md=__doc__,
)
def ops_airflow_maintenance():
    @task
    def delete_old_logs() -> dict:
        from airflow.sdk import conf

        from opsdata.maintenance import delete_older_than

        days = int(get_current_context()["params"]["log_retention_days"])
        result = delete_older_than(conf.get("logging", "base_log_folder"), dt.timedelta(days=days))
        print(f"deleted {result['files']} log files ({result['bytes']} bytes) older than {days} days")
        return result

    @task
    def delete_old_exports() -> dict:
        from opsdata import common
        from opsdata.maintenance import delete_exports_before

        ctx = get_current_context()
        days = int(ctx["params"]["export_retention_days"])
        cutoff = ctx["data_interval_end"].date() - dt.timedelta(days=days)
        result = delete_exports_before(common.s3_filesystem(), cutoff)
        print(f"deleted the exports of {len(result['days'])} day(s) before {cutoff}: {result['files']} files, {result['bytes']} bytes")
        return result

    delete_old_logs()
    delete_old_exports()


ops_airflow_maintenance()
