"""Dates as the product writes and reads them: ISO in data, "22 April 2025" for people,
and dates written in text ("5 June 2024", "June 2025") read with dateparser."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache


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


@dataclass(frozen=True)
class DateMention:
    """A date as written in text, read by dateparser: its first day, how precise it is
    ("day", "month" or "year") and whether the text gave the year."""

    first_day: dt.date
    period: str
    has_year: bool


_YEAR = re.compile(r"\b(1[89]|20)\d{2}\b")
_MONTH_WORD = re.compile(
    r"\b("
    + "|".join(m.lower() for m in calendar.month_name[1:])
    + "|"
    + "|".join(m.lower() for m in calendar.month_abbr[1:])
    + r")\b\.?",
    re.I,
)


@lru_cache(maxsize=8)
def _parser():
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={"PREFER_DATES_FROM": "past"})


@lru_cache(maxsize=4096)
def read_date(text: str) -> DateMention | None:
    """ "5 June 2024", "June 5", "June 2025", "in 2004" as a ``DateMention``; None for
    anything that names neither a month nor a year ("two-hour", "30", "the 1990s": forms
    dateparser would turn into a wrong day)."""
    has_year, has_month = bool(_YEAR.search(text)), bool(_MONTH_WORD.search(text))
    if not (has_year or has_month) or re.search(r"\d0s\b", text):
        return None
    data = _parser().get_date_data(text)
    if data is None or data.date_obj is None or data.period not in ("day", "month", "year"):
        return None
    day = data.date_obj.date()
    first = {"day": day, "month": day.replace(day=1), "year": day.replace(month=1, day=1)}[data.period]
    return DateMention(first, data.period, has_year)
