"""Train and register: the direction of the next interval's mid price from
order-book imbalance, fitted on the exported book and registered in MLflow.

The latest exported day is held out; the days before it (up to train_days)
are the training set. Features per instrument and interval (the last book
row of each interval): the top-of-book imbalance (bid_sz - ask_sz) /
(bid_sz + ask_sz), the same over the first five levels, the spread in basis
points and the mid's return over the interval just ended. The label: the mid
rises over the next interval. A logistic regression on standardised
features; every run is logged and registered as a new version, and the
alias (champion) moves to it only when its accuracy on the held-out day is
above the current champion's on that same day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pyarrow import fs

from opsdata import common

MODEL_NAME = "okx-hft-mid-direction"
EXPERIMENT = "okx-hft-mid-direction"
ALIAS = "champion"
FEATURES = ["book_imbalance", "depth_imbalance", "spread_bps", "mid_return_bps"]


def exported_days(filesystem) -> list[dt.date]:
    """Days with a finished export (a manifest), oldest first."""
    return sorted(dt.date.fromisoformat(d) for d in common.manifest_days(filesystem))


BOOK_COLUMNS = ["ts", "bid_px", "bid_sz", "ask_px", "ask_sz", "bid_depth_sz", "ask_depth_sz"]
SCAN_BATCH_ROWS = 100_000


def last_per_interval(batches, interval_s: int) -> dict:
    """The last book row of each interval, from record batches of one
    instrument in time order: {"bucket": int64 array, column: float64 array}.
    Batch by batch, so a day of book rows is never in memory at once."""
    parts = {k: [] for k in ["bucket"] + BOOK_COLUMNS[1:]}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        ts = pc.cast(batch.column("ts"), pa.int64()).to_numpy()  # microseconds
        b = ts // (interval_s * 1_000_000)
        last = np.r_[b[1:] != b[:-1], True]
        parts["bucket"].append(b[last])
        for name in BOOK_COLUMNS[1:]:
            parts[name].append(pc.cast(batch.column(name), pa.float64()).to_numpy()[last])
    if not parts["bucket"]:
        return {k: np.empty(0) for k in parts}
    out = {k: np.concatenate(v) for k, v in parts.items()}
    # A bucket split between two batches: keep its last row only.
    keep = np.r_[out["bucket"][1:] != out["bucket"][:-1], True]
    return {k: v[keep] for k, v in out.items()}


def load_intervals(filesystem, days: list[dt.date], interval_s: int) -> dict:
    """{inst_id: last_per_interval} over the exported book of days."""
    per_inst: dict[str, list[dict]] = {}
    for day in days:
        part = common.partition_dir("book_top", day)
        if filesystem.get_file_info(part).type == fs.FileType.NotFound:
            continue
        dataset = ds.dataset(part, filesystem=filesystem, format="parquet", partitioning="hive")
        for frag in dataset.get_fragments():
            inst = ds.get_partition_keys(frag.partition_expression)["inst_id"]
            rows = last_per_interval(frag.to_batches(columns=BOOK_COLUMNS, batch_size=SCAN_BATCH_ROWS), interval_s)
            per_inst.setdefault(inst, []).append(rows)
    merged = {}
    for inst, parts in per_inst.items():
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.argsort(cat["bucket"], kind="stable")
        merged[inst] = {k: v[order] for k, v in cat.items()}
    return merged


def features(intervals: dict) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) from {inst_id: last_per_interval}: one sample per instrument
    and interval whose neighbours on both sides are in the data."""
    xs, ys = [np.empty((0, len(FEATURES)))], [np.empty(0, dtype=int)]
    for inst in sorted(intervals):
        r = intervals[inst]
        lb = r["bucket"]
        if len(lb) < 3:
            continue
        m = (r["bid_px"] + r["ask_px"]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            imb = (r["bid_sz"] - r["ask_sz"]) / (r["bid_sz"] + r["ask_sz"])
            dimb = (r["bid_depth_sz"] - r["ask_depth_sz"]) / (r["bid_depth_sz"] + r["ask_depth_sz"])
            spread = (r["ask_px"] - r["bid_px"]) / m * 1e4
            ret = np.r_[np.nan, (m[1:] / m[:-1] - 1) * 1e4]
        # A sample needs the interval before (its return) and the one after
        # (its label), both adjacent.
        ok = np.r_[False, lb[1:] == lb[:-1] + 1] & np.r_[lb[1:] == lb[:-1] + 1, False]
        label = np.r_[m[1:] > m[:-1], False]
        x = np.column_stack([imb, dimb, spread, ret])
        ok &= np.isfinite(x).all(axis=1)
        xs.append(x[ok])
        ys.append(label[ok].astype(int))
    return np.vstack(xs), np.concatenate(ys)


def fit(x: np.ndarray, y: np.ndarray, c: float, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=seed))
    return model.fit(x, y)


def evaluate(model, x: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, log_loss

    proba = model.predict_proba(x)[:, 1]
    return {
        "accuracy": float(accuracy_score(y, proba >= 0.5)),
        "log_loss": float(log_loss(y, proba, labels=[0, 1])),
        "base_rate": float(y.mean()) if len(y) else 0.0,
        "samples": int(len(y)),
    }


def beats(new: dict, current: dict | None) -> bool:
    """The new model takes the alias only when it is strictly more accurate
    on the held-out day than the current one (a tie keeps the current)."""
    return current is None or new["accuracy"] > current["accuracy"]


def train_and_register(train_days: int, interval_s: int, c: float, seed: int, run_name: str) -> dict:
    import mlflow
    from mlflow.tracking import MlflowClient

    filesystem = common.s3_filesystem()
    days = exported_days(filesystem)
    if len(days) < 2:
        return {"skipped": f"{len(days)} exported day(s); training needs at least two (one is held out)"}
    held_out = days[-1]
    train = days[-1 - train_days:-1]
    x_train, y_train = features(load_intervals(filesystem, train, interval_s))
    x_test, y_test = features(load_intervals(filesystem, [held_out], interval_s))
    if len(y_train) < 100 or len(y_test) < 100 or len(set(y_train)) < 2:
        raise RuntimeError(f"too little data: {len(y_train)} training and {len(y_test)} held-out samples (at least 100 each, both classes)")

    mlflow.set_tracking_uri(common.mlflow_tracking_uri())
    mlflow.set_experiment(EXPERIMENT)
    client = MlflowClient()
    model = fit(x_train, y_train, c, seed)
    metrics = evaluate(model, x_test, y_test)

    current, current_version = None, None
    try:
        current_version = client.get_model_version_by_alias(MODEL_NAME, ALIAS)
    except mlflow.exceptions.MlflowException:
        current_version = None  # no model or no alias yet
    if current_version is not None:
        current = evaluate(mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{ALIAS}"), x_test, y_test)

    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({
            "train_days": ",".join(d.isoformat() for d in train), "held_out_day": held_out.isoformat(),
            "interval_s": interval_s, "C": c, "seed": seed, "features": ",".join(FEATURES),
        })
        mlflow.log_metrics({f"held_out_{k}": v for k, v in metrics.items()})
        mlflow.log_metric("train_samples", len(y_train))
        if current is not None:
            mlflow.log_metric("champion_held_out_accuracy", current["accuracy"])
        info = mlflow.sklearn.log_model(model, name="model", input_example=x_test[:5], registered_model_name=MODEL_NAME)
    version = info.registered_model_version
    promoted = beats(metrics, current)
    client.set_model_version_tag(MODEL_NAME, version, "held_out_day", held_out.isoformat())
    client.set_model_version_tag(MODEL_NAME, version, "held_out_accuracy", f"{metrics['accuracy']:.6f}")
    if promoted:
        client.set_registered_model_alias(MODEL_NAME, ALIAS, version)
    return {
        "run_id": run.info.run_id, "version": version, "promoted": promoted, "held_out_day": held_out.isoformat(),
        "metrics": metrics, "champion_before": None if current_version is None else current_version.version, "champion_metrics": current,
    }
