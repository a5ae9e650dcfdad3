"""Unit tests of the node's DAGs, in a real Airflow 3.3.2 from PyPI (the
virtualenv `make airflow-venv` builds from airflow/constraints.txt): every
DAG file imports, the DAGs are wired as documented, and the parts of the
pipelines that need no database or object store compute what they say.
The database and S3 parts run against the real ones in the stack test
(test/stack/e2e/airflow_test.go).

Run: make test-unit (or: $VENV/bin/python -m pytest airflow/tests)
"""

from __future__ import annotations

import datetime as dt
import decimal
import fnmatch
import os
import pathlib
import sys

import numpy as np
import pyarrow as pa
import pytest
import yaml

AIRFLOW_DIR = pathlib.Path(__file__).resolve().parents[1]
DAGS = AIRFLOW_DIR / "dags"
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "false")
sys.path.insert(0, str(DAGS))  # as the DAG processor puts the bundle on sys.path

from opsdata import common, export, maintenance, quality, schedule, train  # noqa: E402

UTC = dt.timezone.utc


@pytest.fixture(scope="session")
def dagbag(tmp_path_factory):
    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow-home"))
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder")


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert sorted(dagbag.dag_ids) == ["ops_airflow_maintenance", "ops_data_quality", "ops_export_daily", "ops_train_register"]


def test_dags_are_wired_as_documented(dagbag):
    export_dag = dagbag.dags["ops_export_daily"]
    assert [t.task_id for t in export_dag.topological_sort()] == ["export", "verify"]
    assert export_dag.timetable.__class__.__name__ == "CronDataIntervalTimetable"
    assert export_dag.timetable.expression == "0 0 * * *"
    assert export_dag.catchup is False and export_dag.max_active_runs == 1
    outlets = export_dag.get_task("verify").outlets
    assert [o.name for o in outlets] == ["okx_hft_exports"]

    train_dag = dagbag.dags["ops_train_register"]
    consumed = train_dag.timetable.asset_condition
    assert [a.name for a in consumed.objects] == ["okx_hft_exports"]
    assert train_dag.params["train_days"] == 7

    dq = dagbag.dags["ops_data_quality"]
    assert dq.timetable.expression == "0 1 * * *"
    assert dq.params["gap_threshold_seconds"] == 120
    for dag in dagbag.dags.values():
        assert "okx-hft" in dag.tags, dag.dag_id
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"


def test_run_day():
    end = dt.datetime(2026, 1, 7, 0, 0, tzinfo=UTC)
    assert schedule.run_day({}, end) == dt.date(2026, 1, 6)
    assert schedule.run_day({"day": None}, end) == dt.date(2026, 1, 6)
    assert schedule.run_day({"day": "2026-01-03"}, end) == dt.date(2026, 1, 3)
    # An interval end at 01:00 (the data-quality DAG) is still the day before.
    assert schedule.run_day({}, dt.datetime(2026, 1, 7, 1, 0, tzinfo=UTC)) == dt.date(2026, 1, 6)
    with pytest.raises(ValueError, match="param day '7 Jan' is not a date"):
        schedule.run_day({"day": "7 Jan"}, end)


def test_layout_is_hive_style():
    day = dt.date(2026, 1, 5)
    assert common.partition_path("trades", day, "BTC-USDT") == "datasets/exports/trades/date=2026-01-05/inst_id=BTC-USDT/part-0.parquet"
    assert common.manifest_path(day) == "datasets/exports/_manifests/date=2026-01-05.json"


def test_export_tables_follow_the_contract():
    """Every exported column is one of pkg/hftdata's, in its order."""
    sql = (AIRFLOW_DIR.parent / "pkg/hftdata/migrations/00001_contract.sql").read_text()
    for t in common.EXPORT_TABLES:
        body = sql.split(f"CREATE TABLE {t.qualified} (")[1].split(");")[0]
        declared = [line.split()[0] for line in body.splitlines() if line.strip() and not line.strip().startswith(("PRIMARY", "CHECK", "--"))]
        assert [n for n, _ in t.columns] == declared, t.name
        assert "inst_id" not in t.file_schema.names
        for n in t.nullable:
            assert "NOT NULL" not in next(line for line in body.splitlines() if line.split() and line.split()[0] == n), (t.name, n)


def test_rows_to_batch_keeps_every_digit_and_refuses_to_round():
    trades = common.TABLES["trades"]
    ts = dt.datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
    rows = [(ts, "1", decimal.Decimal("97123.4567890123456789012"), decimal.Decimal("0.000001"), "buy")]
    with pytest.raises(pa.ArrowInvalid):
        export._rows_to_batch(rows, trades)  # 19 digits after the point: would be rounded
    rows = [(ts, "1", decimal.Decimal("97123.123456789012345678"), decimal.Decimal("0.000001"), "buy")]
    batch = export._rows_to_batch(rows, trades)
    assert batch.schema == trades.file_schema
    assert batch.column("px")[0].as_py() == decimal.Decimal("97123.123456789012345678")
    assert batch.column("ts")[0].as_py() == ts


def book_batches(n: int, start_us: int, step_us: int, mid0: float, drift: float, batch_rows: int):
    """Synthetic book rows of one instrument: a mid moving by drift per row,
    bid size growing with the row, cut into record batches."""
    ts = start_us + np.arange(n, dtype=np.int64) * step_us
    mid = mid0 + drift * np.arange(n)
    cols = {
        "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
        "bid_px": pa.array(mid - 0.5), "bid_sz": pa.array(1.0 + np.arange(n) % 7),
        "ask_px": pa.array(mid + 0.5), "ask_sz": pa.array(np.full(n, 2.0)),
        "bid_depth_sz": pa.array(np.full(n, 10.0)), "ask_depth_sz": pa.array(np.full(n, 5.0)),
    }
    table = pa.table(cols)
    return table.to_batches(max_chunksize=batch_rows)


def test_last_per_interval_does_not_depend_on_the_batches():
    start = int(dt.datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1e6)
    whole = train.last_per_interval(book_batches(1000, start, 100_000, 100.0, 0.01, 1000), 10)
    split = train.last_per_interval(book_batches(1000, start, 100_000, 100.0, 0.01, 37), 10)
    assert len(whole["bucket"]) == 10  # 100 s of rows every 0.1 s, 10 s intervals
    for k in whole:
        np.testing.assert_array_equal(whole[k], split[k])
    # The last row of each interval: the 100th, 200th, ... row.
    np.testing.assert_allclose(whole["bid_px"], 100.0 + 0.01 * (np.arange(1, 11) * 100 - 1) - 0.5)


def test_features_label_the_next_interval_and_need_both_neighbours():
    start = int(dt.datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1e6)
    rising = train.last_per_interval(book_batches(1000, start, 100_000, 100.0, 0.01, 100), 10)
    x, y = train.features({"BTC-USDT": rising})
    # 10 intervals: the first has no return, the last no label.
    assert x.shape == (8, len(train.FEATURES))
    assert y.tolist() == [1] * 8
    # Depth imbalance (10 - 5) / 15 everywhere.
    np.testing.assert_allclose(x[:, 1], 1 / 3)
    # A hole of one interval removes the samples beside it.
    holed = {k: np.delete(v, 5) for k, v in rising.items()}
    x2, _ = train.features({"BTC-USDT": holed})
    assert len(x2) == 8 - 3


def test_alias_moves_only_for_a_better_model():
    assert train.beats({"accuracy": 0.55}, None)
    assert train.beats({"accuracy": 0.56}, {"accuracy": 0.55})
    assert not train.beats({"accuracy": 0.55}, {"accuracy": 0.55})
    assert not train.beats({"accuracy": 0.50}, {"accuracy": 0.55})


def test_a_model_fitted_on_a_signal_beats_chance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=2000) > 0).astype(int)
    model = train.fit(x[:1500], y[:1500], 1.0, 42)
    m = train.evaluate(model, x[1500:], y[1500:])
    assert m["accuracy"] > 0.85 and m["samples"] == 500


class Recorder:
    def __init__(self):
        self.gauges = {}

    def gauge(self, name, value):
        self.gauges[name] = value


def mapping_rules():
    return yaml.safe_load((AIRFLOW_DIR / "statsd-mapping.yml").read_text())["mappings"]


def test_quality_gauges_reach_prometheus_with_their_labels():
    """Every gauge report() sends matches a rule of statsd-mapping.yml that
    names it as the alert and the runbook expect."""
    results = [
        {"check": "gap", "table": "trades", "inst_id": "BTC-USDT-SWAP", "value": 2, "max_gap_seconds": 1800.5},
        {"check": "sequence_break", "table": "book_top", "inst_id": "ETH-USDT", "value": 0},
    ]
    rec = Recorder()
    assert quality.report(results, dt.date(2026, 1, 5), client=rec) == 2
    rules = mapping_rules()
    seen = {}
    for name, value in rec.gauges.items():
        full = "ops.dq." + name
        rule = next((r for r in rules if fnmatch.fnmatchcase(full, r["match"]) and full.count(".") == r["match"].count(".")), None)
        assert rule is not None, f"{full} matches no rule of statsd-mapping.yml"
        parts = full.split(".")
        stars = [p for p, m in zip(parts, rule["match"].split(".")) if m == "*"]
        labels = {k: stars[int(v[1:]) - 1] for k, v in rule.get("labels", {}).items()}
        seen[(rule["name"], tuple(sorted(labels.items())))] = value
    assert seen[("ops_dq_violations", (("check", "gap"), ("inst_id", "BTC-USDT-SWAP"), ("table", "trades")))] == 2
    assert seen[("ops_dq_violations", (("check", "sequence_break"), ("inst_id", "ETH-USDT"), ("table", "book_top")))] == 0
    assert seen[("ops_dq_max_gap_seconds", (("inst_id", "BTC-USDT-SWAP"), ("table", "trades")))] == 1800.5
    assert seen[("ops_dq_checked_day_timestamp_seconds", ())] == dt.datetime(2026, 1, 5, tzinfo=UTC).timestamp()


def test_alert_rules_name_the_mapped_metrics():
    rules = (AIRFLOW_DIR.parent / "prometheus/rules/airflow.yml").read_text()
    for r in mapping_rules():
        if r["name"] in ("airflow_dagrun_duration_seconds",):
            assert r["name"] + "_count" in rules
        elif r["name"] in ("ops_dq_violations", "airflow_scheduler_heartbeats_total", "airflow_dag_processing_import_errors"):
            assert r["name"] in rules, r["name"]


def test_maintenance_deletes_old_logs_only(tmp_path):
    old = tmp_path / "dag_id=x" / "run_id=1" / "task_id=t"
    old.mkdir(parents=True)
    (old / "attempt=1.log").write_text("old")
    new = tmp_path / "dag_id=x" / "run_id=2"
    new.mkdir(parents=True)
    (new / "attempt=1.log").write_text("new")
    now = dt.datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    os.utime(old / "attempt=1.log", (now - 40 * 86400, now - 40 * 86400))
    os.utime(new / "attempt=1.log", (now - 86400, now - 86400))
    got = maintenance.delete_older_than(str(tmp_path), dt.timedelta(days=30), now=now)
    assert got == {"files": 1, "bytes": 3}
    assert not (tmp_path / "dag_id=x" / "run_id=1").exists()
    assert (new / "attempt=1.log").exists()
    with pytest.raises(ValueError, match="refusing"):
        maintenance.delete_older_than("/", dt.timedelta(days=1))


def test_old_exports_are_deleted_whole_and_newer_ones_kept(tmp_path):
    from pyarrow import fs

    local = fs.SubTreeFileSystem(str(tmp_path), fs.LocalFileSystem())
    days = [dt.date(2026, 1, d) for d in (1, 2, 3)]
    local.create_dir("datasets/exports/_manifests")
    for day in days:
        for t in ("trades", "book_top"):
            path = common.partition_path(t, day, "BTC-USDT")
            local.create_dir(path.rsplit("/", 1)[0])
            with local.open_output_stream(path) as f:
                f.write(b"x" * 10)
        common.write_json(local, common.manifest_path(day), {"day": day.isoformat()})
    # Something under exports/ that is not a day of the layout stays.
    with local.open_output_stream("datasets/exports/trades/README") as f:
        f.write(b"kept")
    got = maintenance.delete_exports_before(local, dt.date(2026, 1, 3))
    assert got["days"] == ["2026-01-01", "2026-01-02"]
    assert got["files"] == 6 and got["bytes"] == 40
    assert train.exported_days(local) == [dt.date(2026, 1, 3)]
    left = sorted(i.path for i in local.get_file_info(fs.FileSelector("datasets", recursive=True)) if i.type == fs.FileType.File)
    assert left == [
        "datasets/exports/_manifests/date=2026-01-03.json",
        "datasets/exports/book_top/date=2026-01-03/inst_id=BTC-USDT/part-0.parquet",
        "datasets/exports/trades/README",
        "datasets/exports/trades/date=2026-01-03/inst_id=BTC-USDT/part-0.parquet",
    ]
