"""Keeps Airflow's own task logs bounded: deletes the log files under the
log folder (the airflow_logs volume) older than the retention, daily. Airflow
deletes none itself; the node's disk budget counts this volume at 256 MiB.
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
    params={"log_retention_days": Param(30, type="integer", minimum=1, description="age in days after which a task log file is deleted")},
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

    delete_old_logs()


ops_airflow_maintenance()
