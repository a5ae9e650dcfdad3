"""Reads the node's Parquet export back with pyarrow, as a consumer of the
bucket would (pyarrow.dataset with hive partitioning), and prints JSON:
{"counts": {table: {"YYYY-MM-DD/inst": rows}}, "schemas": {table: [[name, type]]}}.
Run inside the Airflow scheduler's container (its S3 connection)."""

import json
import sys

sys.path.insert(0, "/opt/airflow/dags")

import pyarrow.dataset as ds  # noqa: E402

from opsdata import common  # noqa: E402

fs = common.s3_filesystem()
out = {"counts": {}, "schemas": {}}
for t in common.EXPORT_TABLES:
    base = f"{common.EXPORT_BUCKET}/{common.EXPORT_PREFIX}/{t.name}"
    dataset = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    out["schemas"][t.name] = [[f.name, str(f.type)] for f in dataset.schema]
    counts = out["counts"].setdefault(t.name, {})
    for frag in dataset.get_fragments():
        keys = ds.get_partition_keys(frag.partition_expression)
        part = f"{keys['date']}/{keys['inst_id']}"
        counts[part] = counts.get(part, 0) + frag.count_rows()
print(json.dumps(out))
