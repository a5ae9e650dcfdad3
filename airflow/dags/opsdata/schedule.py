"""The UTC day a run covers."""

from __future__ import annotations

import datetime as dt

from opsdata import common


def run_day(params: dict, data_interval_end) -> dt.date:
    """params["day"] (YYYY-MM-DD) when a run was started with one, else the
    day before the run's data interval ends: a daily run at 00:00 or 01:00
    on the 2nd covers the 1st."""
    day = (params or {}).get("day")
    if day:
        try:
            return dt.date.fromisoformat(str(day))
        except ValueError:
            raise ValueError(f"param day {day!r} is not a date like 2026-01-31") from None
    return data_interval_end.astimezone(common.UTC).date() - dt.timedelta(days=1)
