"""What the ops node's DAGs share: the connections provisioned from .env, the
object store, the export layout in it and the data contract's tables.

The connections are environment-variable connections (AIRFLOW_CONN_*, set by
airflow/compose.yaml from .env), never created in the UI:

  timescaledb  the trading database (okx-hft-timescaledb), read only
  ops_s3       the node's S3 API (SeaweedFS), conn_type aws, extra.endpoint_url
  mlflow       MLflow's tracking server, inside the node (no proxy login)
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa

TIMESCALEDB_CONN = "timescaledb"
S3_CONN = "ops_s3"
MLFLOW_CONN = "mlflow"

# The bucket the exports go to (one of S3_BUCKETS, created by s3-init) and
# the prefix under it.
EXPORT_BUCKET = os.environ.get("OPS_EXPORT_BUCKET", "datasets")
EXPORT_PREFIX = "exports"

UTC = dt.timezone.utc

# OKX sends prices and sizes as decimal strings and the contract keeps them
# as numeric; Parquet keeps them as decimals too. 38 digits with 18 after
# the point hold every price and size OKX lists; a value that would lose a
# digit makes pyarrow raise instead of rounding.
DECIMAL = pa.decimal128(38, 18)
TIMESTAMP = pa.timestamp("us", tz="UTC")


class Table:
    """A table of the data contract (pkg/hftdata) as the DAGs read it."""

    def __init__(self, name, time_column, columns, key, nullable=()):
        self.name = name
        self.qualified = "hft." + name
        self.time_column = time_column
        self.columns = columns  # [(name, arrow type)] in the contract's order
        self.key = key  # the columns that identify a row regardless of its time
        self.nullable = frozenset(nullable)  # the columns the contract lets be null

    @property
    def file_schema(self) -> pa.Schema:
        """The schema of the Parquet files: every column but inst_id, which
        is the partition (hive-style path inst_id=...)."""
        return pa.schema([pa.field(n, t, nullable=n in self.nullable) for n, t in self.columns if n != "inst_id"])


S = pa.string()
I64 = pa.int64()

# The tables the daily export writes, with their columns as in
# pkg/hftdata/migrations/00001_contract.sql.
EXPORT_TABLES = [
    Table("trades", "ts", [("ts", TIMESTAMP), ("inst_id", S), ("trade_id", S), ("px", DECIMAL), ("sz", DECIMAL), ("side", S)], ["inst_id", "trade_id"]),
    Table(
        "book_top",
        "ts",
        [("ts", TIMESTAMP), ("inst_id", S), ("seq_id", I64), ("prev_seq_id", I64), ("bid_px", DECIMAL), ("bid_sz", DECIMAL),
         ("ask_px", DECIMAL), ("ask_sz", DECIMAL), ("bid_depth_sz", DECIMAL), ("ask_depth_sz", DECIMAL)],
        ["inst_id", "seq_id"],
    ),
    Table(
        "orders",
        "created_ts",
        [("created_ts", TIMESTAMP), ("ord_id", S), ("cl_ord_id", S), ("inst_id", S), ("side", S), ("ord_type", S), ("px", DECIMAL), ("sz", DECIMAL)],
        ["ord_id"],
        nullable=("px",),
    ),
    Table(
        "fills",
        "ts",
        [("ts", TIMESTAMP), ("inst_id", S), ("trade_id", S), ("ord_id", S), ("side", S), ("fill_px", DECIMAL), ("fill_sz", DECIMAL),
         ("fee", DECIMAL), ("fee_ccy", S), ("exec_type", S), ("mid_px", DECIMAL)],
        ["inst_id", "trade_id"],
        nullable=("mid_px",),
    ),
]
TABLES = {t.name: t for t in EXPORT_TABLES}


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def partition_dir(table: str, day: dt.date) -> str:
    return f"{EXPORT_BUCKET}/{EXPORT_PREFIX}/{table}/date={day.isoformat()}"


def partition_path(table: str, day: dt.date, inst_id: str) -> str:
    return f"{partition_dir(table, day)}/inst_id={inst_id}/part-0.parquet"


MANIFESTS = f"{EXPORT_BUCKET}/{EXPORT_PREFIX}/_manifests"


def manifest_path(day: dt.date) -> str:
    return f"{MANIFESTS}/date={day.isoformat()}.json"


def manifest_days(filesystem) -> list[str]:
    """The days (as written, YYYY-MM-DD) that have a manifest: a finished
    export."""
    from pyarrow import fs

    days = []
    for f in filesystem.get_file_info(fs.FileSelector(MANIFESTS, allow_not_found=True)):
        name = f.base_name
        if name.startswith("date=") and name.endswith(".json"):
            days.append(name[len("date="):-len(".json")])
    return days


def day_counts(cur, table: Table, day: dt.date) -> dict:
    """{inst_id: rows} of table in the UTC day, from the trading database."""
    start, end = day_bounds(day)
    tc = table.time_column
    cur.execute(f"SELECT inst_id, count(*) FROM {table.qualified} WHERE {tc} >= %s AND {tc} < %s GROUP BY inst_id ORDER BY inst_id", (start, end))
    return {inst: int(n) for inst, n in cur.fetchall()}


def s3_filesystem():
    """pyarrow's S3 file system on the node's S3 API, from the ops_s3 connection."""
    from airflow.sdk import BaseHook
    from pyarrow import fs

    conn = BaseHook.get_connection(S3_CONN)
    endpoint = conn.extra_dejson.get("endpoint_url", "")
    scheme, sep, host = endpoint.partition("://")
    if not sep or not host:
        raise ValueError(f"connection {S3_CONN}: extra.endpoint_url {endpoint!r} is not a URL like http://minio:9000 (AIRFLOW_CONN_OPS_S3 in airflow/compose.yaml)")
    return fs.S3FileSystem(
        access_key=conn.login,
        secret_key=conn.password,
        endpoint_override=host,
        scheme=scheme,
        region=conn.extra_dejson.get("region_name", "us-east-1"),
        allow_bucket_creation=False,
        allow_bucket_deletion=False,
        # One part of an upload in flight at a time: the node's S3 gateway
        # holds the parts in flight in memory (128M limit in compose).
        background_writes=False,
    )


def db_connection():
    """A DB-API connection to the trading database (timescaledb connection)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=TIMESCALEDB_CONN).get_conn()


def read_json(filesystem, path: str):
    """The JSON object at path, or None when there is none."""
    from pyarrow import fs

    if filesystem.get_file_info(path).type == fs.FileType.NotFound:
        return None
    with filesystem.open_input_stream(path) as f:
        return json.loads(f.read())


def write_json(filesystem, path: str, obj) -> None:
    data = json.dumps(obj, indent=2, sort_keys=True, default=str).encode()
    with filesystem.open_output_stream(path) as f:
        f.write(data)


def mlflow_tracking_uri() -> str:
    """MLflow's URL from the mlflow connection (http://mlflow:5000/mlflow)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(MLFLOW_CONN)
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}"
