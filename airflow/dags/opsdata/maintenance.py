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
