"""The daily export: one UTC day of the contract's trades, book, orders and
fills, from the trading database to Parquet in the object store.

Layout (hive-style, readable with pyarrow.dataset(..., partitioning="hive")):

  <bucket>/exports/<table>/date=YYYY-MM-DD/inst_id=<inst>/part-0.parquet
  <bucket>/exports/_manifests/date=YYYY-MM-DD.json

Every table of a day is read in one REPEATABLE READ transaction, so the
counts and the rows are of one snapshot. A file is written whole (an S3
object appears only when its upload completes) and then read back: its row
count must be the source's. A rerun overwrites each instrument's file and
deletes the files of instruments the day no longer has, so it replaces and
never duplicates. The manifest, written last, records every count.
"""

from __future__ import annotations

import datetime as dt
import time

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from opsdata import common

BATCH_ROWS = 50_000


def _rows_to_batch(rows, table: common.Table) -> pa.RecordBatch:
    names = [n for n, _ in table.columns if n != "inst_id"]
    schema = table.file_schema
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.RecordBatch.from_arrays([pa.array(c, type=schema.field(n).type) for n, c in zip(names, cols)], schema=schema)


def export_table(conn, filesystem, table: common.Table, day: dt.date) -> dict:
    """Writes one table's day; returns {"source_rows", "instruments": {inst: {...}}}."""
    start, end = common.day_bounds(day)
    tc = table.time_column
    source = common.day_counts(conn.cursor(), table, day)
    cols = ", ".join(n for n, _ in table.columns if n != "inst_id")
    order = ", ".join([tc] + [k for k in table.key if k != "inst_id"])
    written = {}
    for inst, expected in source.items():
        path = common.partition_path(table.name, day, inst)
        rows = 0
        # A server-side (named) cursor: the rows stream in batches instead of
        # being held in memory all at once.
        rows_cur = conn.cursor(name=f"export_{table.name}")
        with filesystem.open_output_stream(path) as out, pq.ParquetWriter(out, table.file_schema, compression="zstd") as writer:
            rows_cur.execute(
                f"SELECT {cols} FROM {table.qualified} WHERE inst_id = %s AND {tc} >= %s AND {tc} < %s ORDER BY {order}",
                (inst, start, end),
            )
            while True:
                batch = rows_cur.fetchmany(BATCH_ROWS)
                if not batch:
                    break
                writer.write_batch(_rows_to_batch(batch, table))
                rows += len(batch)
        rows_cur.close()
        if rows != expected:
            raise RuntimeError(f"{table.qualified} {inst} {day}: read {rows} rows, the count in the same snapshot was {expected}")
        info = filesystem.get_file_info(path)
        with filesystem.open_input_file(path) as f:
            in_file = pq.ParquetFile(f).metadata.num_rows
        if in_file != expected:
            raise RuntimeError(f"{path}: {in_file} rows read back, {expected} in the source")
        written[inst] = {"rows": rows, "path": path, "bytes": info.size}

    # Files of instruments this day no longer has (a rerun after a delete in
    # the source): remove them, so the partition holds exactly the source.
    keep = {w["path"] for w in written.values()}
    for f in filesystem.get_file_info(fs.FileSelector(common.partition_dir(table.name, day), recursive=True, allow_not_found=True)):
        if f.type == fs.FileType.File and f.path not in keep:
            filesystem.delete_file(f.path)
    return {"source_rows": sum(source.values()), "instruments": written}


def export_day(day: dt.date, run_id: str = "") -> dict:
    """Exports every table of EXPORT_TABLES for day and writes its manifest;
    returns the manifest."""
    filesystem = common.s3_filesystem()
    bucket = common.EXPORT_BUCKET
    if filesystem.get_file_info(bucket).type == fs.FileType.NotFound:
        raise RuntimeError(f"bucket {bucket!r} does not exist: add it to S3_BUCKETS in .env (s3-init creates it at the next `opsctl up`)")
    began = time.monotonic()
    conn = common.db_connection()
    try:
        conn.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tables = {t.name: export_table(conn, filesystem, t, day) for t in common.EXPORT_TABLES}
        conn.rollback()
    finally:
        conn.close()
    took = time.monotonic() - began
    total = sum(t["source_rows"] for t in tables.values())
    manifest = {
        "day": day.isoformat(),
        "exported_at": dt.datetime.now(common.UTC).isoformat(),
        "run_id": run_id,
        "tables": tables,
        "rows": total,
        "seconds": round(took, 3),
        "rows_per_second": round(total / took) if took > 0 else None,
    }
    common.write_json(filesystem, common.manifest_path(day), manifest)
    return manifest


def verify_day(day: dt.date) -> dict:
    """Reads the day's export back through pyarrow.dataset and compares it
    with its manifest: every table's rows per instrument, and nothing else
    under the day's partitions."""
    import pyarrow.dataset as ds

    filesystem = common.s3_filesystem()
    manifest = common.read_json(filesystem, common.manifest_path(day))
    if manifest is None:
        raise RuntimeError(f"no manifest {common.manifest_path(day)}: the export of {day} did not finish")
    found = {}
    for name, t in manifest["tables"].items():
        part = common.partition_dir(name, day)
        if filesystem.get_file_info(part).type == fs.FileType.NotFound:
            counts = {}
        else:
            dataset = ds.dataset(part, filesystem=filesystem, format="parquet", partitioning="hive")
            counts = {}
            for frag in dataset.get_fragments():
                inst = ds.get_partition_keys(frag.partition_expression)["inst_id"]
                counts[inst] = counts.get(inst, 0) + frag.count_rows()
        want = {inst: v["rows"] for inst, v in t["instruments"].items()}
        if counts != want:
            raise RuntimeError(f"{part}: rows per instrument {counts}, the manifest says {want}")
        found[name] = sum(counts.values())
    return found
