"""Train and register (opsdata/train.py): the next interval's mid-price
direction from order-book imbalance, fitted on the exported book, logged to
MLflow and registered as a new version of okx-hft-mid-direction; the alias
champion moves to it only when it beats the current champion on the
held-out (latest exported) day. Runs after every export.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, get_current_context, task

from opsdata.assets import EXPORTS


@dag(
    dag_id="ops_train_register",
    schedule=[EXPORTS],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "train_days": Param(7, type="integer", minimum=1, maximum=60, description="exported days before the held-out one to train on"),
        "interval_seconds": Param(10, type="integer", minimum=1, maximum=3600, description="length of the interval whose direction is predicted"),
        "C": Param(1.0, type="number", exclusiveMinimum=0, description="inverse regularisation strength"),
        "seed": Param(42, type="integer"),
    },
    tags=["okx-hft", "mlflow"],
    doc_md=__doc__,
)
def ops_train_register():
    @task
    def train() -> dict:
        from opsdata import train as tr

        ctx = get_current_context()
        p = ctx["params"]
        result = tr.train_and_register(int(p["train_days"]), int(p["interval_seconds"]), float(p["C"]), int(p["seed"]), ctx["run_id"])
        if "skipped" in result:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(result["skipped"])
        print(result)
        return result

    train()


ops_train_register()
