"""Housekeeping of Airflow's own files."""

from __future__ import annotations

import datetime as dt
import os
import time


def delete_older_than(root: str, age: dt.timedelta, now: float | None = None) -> dict:
    """Deletes the files under root last modified more than age ago, then the
    directories left empty; returns {"files", "bytes"} deleted."""
    if not os.path.isabs(root) or root.rstrip("/") in ("", "/"):
        raise ValueError(f"refusing to clean {root!r}: not an absolute log folder")
    cutoff = (now if now is not None else time.time()) - age.total_seconds()
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if st.st_mtime < cutoff:
                    os.remove(path)
                    files += 1
                    size += st.st_size
            except FileNotFoundError:
                continue
        if dirpath != root:
            try:
                os.rmdir(dirpath)  # only when empty
            except OSError:
                pass
    return {"files": files, "bytes": size}


def delete_exports_before(filesystem, cutoff: dt.date) -> dict:
    """Deletes every exported day before cutoff: its partitions of every
    table and its manifest (the manifest first, so a day is never listed as
    exported while its files go). Returns {"days": [...], "files", "bytes"}."""
    from pyarrow import fs

    from opsdata import common

    root = f"{common.EXPORT_BUCKET}/{common.EXPORT_PREFIX}"
    days = set(common.manifest_days(filesystem))
    for t in common.EXPORT_TABLES:
        for info in filesystem.get_file_info(fs.FileSelector(f"{root}/{t.name}", allow_not_found=True)):
            if info.type == fs.FileType.Directory and info.base_name.startswith("date="):
                days.add(info.base_name[len("date="):])
    old = []
    for d in sorted(days):
        try:
            if dt.date.fromisoformat(d) < cutoff:
                old.append(d)
        except ValueError:
            continue  # not a partition of this layout: left alone
    files = size = 0
    for d in old:
        day = dt.date.fromisoformat(d)
        m = common.manifest_path(day)
        if filesystem.get_file_info(m).type == fs.FileType.File:
            filesystem.delete_file(m)
            files += 1
        for t in common.EXPORT_TABLES:
            sel = fs.FileSelector(common.partition_dir(t.name, day), recursive=True, allow_not_found=True)
            for f in filesystem.get_file_info(sel):
                if f.type == fs.FileType.File:
                    filesystem.delete_file(f.path)
                    files += 1
                    size += f.size
    return {"days": old, "files": files, "bytes": size}
