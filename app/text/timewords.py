"""Resolve a question's own time words against the corpus's dates.

"latest", "now", "currently" ask for the most recent article that bears on the
question. "last week", "this month" are read relative to the newest article in the
index (the corpus's "today": news corpora are read after the fact) and only favour
articles of that window, since such words often belong to what was said ("hoped
both sides would agree this week"). A named month or year ("in April 2025", "the
July article") selects the articles published then, when there are any.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_RECENT = re.compile(
    r"\b(latest|most recent|newest|now|currently|current|still|as of today|today|these days|nowadays|at present|"
    r"recent(ly)?|up to date|so far)\b",
    re.I,
)
# month names and abbreviations, lowercased -> month number
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH_RE = re.compile(
    r"\b(?:in|during|of|from|since|by)\s+(?:early\s+|mid-?\s*|late\s+)?("
    + "|".join(sorted((m for m in MONTHS if len(m) > 3), key=len, reverse=True))
    + r")(?:\s+(\d{4}))?\b",
    re.I,
)
_ARTICLE_MONTH_RE = re.compile(
    r"\b(?:the|an?)\s+("
    + "|".join(sorted((m for m in MONTHS if len(m) > 3), key=len, reverse=True))
    + r")(?:\s+(\d{4}))?\s+(?:article|report|story|piece)\b",
    re.I,
)
_YEAR_RE = re.compile(r"\bin\s+(\d{4})\b", re.I)
_RELATIVE = re.compile(r"\b(last|this|past|previous)\s+(week|month|year)\b", re.I)


@dataclass(frozen=True)
class TimeIntent:
    """What the question's time words ask for."""

    prefer_recent: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    phrase: str = ""
    # A named month or year ("in April 2025", "the July article") selects those articles;
    # relative words ("this week") only weigh in favour: they often belong to what was said.
    strict: bool = False

    @property
    def window(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def contains(self, published: str) -> bool:
        if not published or not self.window:
            return False
        day = dt.date.fromisoformat(published)
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)

    def describe(self) -> str:
        if self.window:
            return f"{self.phrase!r} read as {self.date_from} to {self.date_to}"
        return f"{self.phrase!r} read as: the most recent articles" if self.prefer_recent else ""


def article_month(text: str) -> re.Match | None:
    """The last "the <month> [year] article/report/story" phrase of a text."""
    return _last(_ARTICLE_MONTH_RE, text)


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def resolve(question: str, reference: dt.date | None) -> TimeIntent:
    """Time intent of a question; ``reference`` is the newest article date in the index."""
    if match := _RELATIVE.search(question):
        if reference is None:
            return TimeIntent(prefer_recent=True, phrase=match.group(0))
        unit = match.group(2).lower()
        which = match.group(1).lower()
        days = {"week": 7, "month": 31, "year": 366}[unit]
        if which == "this":
            start = {
                "week": reference - dt.timedelta(days=reference.weekday()),
                "month": reference.replace(day=1),
                "year": reference.replace(month=1, day=1),
            }[unit]
            return TimeIntent(True, start, reference, match.group(0))
        return TimeIntent(True, reference - dt.timedelta(days=days), reference, match.group(0))
    # the last time phrase wins: in "<earlier question> And according to the July article?"
    # (a follow-up the rewrite could not make standalone) it is the follow-up's
    if match := (_last(_ARTICLE_MONTH_RE, question) or _last(_MONTH_RE, question)):
        month = MONTHS[match.group(1).lower()]
        year = int(match.group(2)) if match.group(2) else (reference.year if reference else None)
        if year is not None:
            last = calendar.monthrange(year, month)[1]
            return TimeIntent(False, dt.date(year, month, 1), dt.date(year, month, last), match.group(0).strip(), True)
    if match := _YEAR_RE.search(question):
        year = int(match.group(1))
        if 1900 < year < 2200:
            return TimeIntent(False, dt.date(year, 1, 1), dt.date(year, 12, 31), match.group(0), True)
    if match := _RECENT.search(question):
        return TimeIntent(prefer_recent=True, phrase=match.group(0))
    return TimeIntent()
