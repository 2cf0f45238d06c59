"""Dates as the product writes and reads them: ISO in data, "22 April 2025" for people."""

from __future__ import annotations

import datetime as dt
import re


def format_date(iso: str) -> str:
    """ "2025-04-22" -> "22 April 2025"; "" -> "undated"."""
    if not iso:
        return "undated"
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def parse_iso_date(value: object) -> dt.date | None:
    """An ISO date ("2025-04-22"), an ISO datetime, or a date object; None for empty.

    Raises ValueError for anything else: callers turn it into their own domain error
    (a corpus file's bad date, a bad filter typed by a user).
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.match(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])", text):
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
    raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")


def date_int(day: dt.date) -> int:
    """YYYYMMDD as an int (Chroma's range filters compare numbers only)."""
    return day.year * 10000 + day.month * 100 + day.day
