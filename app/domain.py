"""The value types every layer shares: filters, spans of articles (quotes) and indexed articles.

They hold data only (no I/O), so the adapters, the services and the components can all
speak them without importing each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from app.errors import BadQuestionError
from app.text.cleaning import quotation
from app.text.dates import date_int, format_date, parse_iso_date


@dataclass(frozen=True)
class Filters:
    """Restrict answers, claim checks and listings to some outlets and/or a publication
    date range (inclusive). The one place the filter rules live."""

    outlets: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __bool__(self) -> bool:
        return bool(self.outlets or self.date_from or self.date_to)

    @classmethod
    def parse(cls, outlets: object = (), date_from: object = None, date_to: object = None) -> Filters:
        """Filters from what a user typed (ISO date text or dates, outlet names), or
        BadQuestionError saying what is wrong."""
        if isinstance(outlets, str):
            outlets = [outlets]
        start = _typed_date(date_from, "'from'")
        end = _typed_date(date_to, "'to'")
        if start and end and start > end:
            raise BadQuestionError(f"The 'from' date ({start}) is after the 'to' date ({end}).")
        return cls(outlets=tuple(o for o in (outlets or ()) if o), date_from=start, date_to=end)

    def admits(self, outlet: str, published: str) -> bool:
        """Whether an article of this outlet, published on this ISO date ("" if undated), passes."""
        if self.outlets and outlet not in self.outlets:
            return False
        if not (self.date_from or self.date_to):
            return True
        if not published:
            return False
        day = dt.date.fromisoformat(published)
        return not ((self.date_from and day < self.date_from) or (self.date_to and day > self.date_to))

    def chroma_where(self) -> dict | None:
        """The same rules as a Chroma ``where`` clause (dates as YYYYMMDD integers)."""
        clauses: list[dict] = []
        if self.outlets:
            clauses.append({"outlet": {"$in": list(self.outlets)}})
        if self.date_from:
            clauses.append({"published_int": {"$gte": date_int(self.date_from)}})
        if self.date_to:
            clauses.append({"published_int": {"$lte": date_int(self.date_to)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def describe(self) -> str:
        """ "outlets: A, B; published 1 April 2025 to today" ("" when unfiltered)."""
        parts = []
        if self.outlets:
            parts.append("outlets: " + ", ".join(self.outlets))
        if self.date_from or self.date_to:
            start = format_date(self.date_from.isoformat()) if self.date_from else "the start"
            end = format_date(self.date_to.isoformat()) if self.date_to else "today"
            parts.append(f"published {start} to {end}")
        return "; ".join(parts)


def _typed_date(value: object, label: str) -> dt.date | None:
    if isinstance(value, str):
        value = value.strip()
    try:
        return parse_iso_date(value)
    except ValueError as exc:
        raise BadQuestionError(f"The {label} date {value!r} is not a date: use YYYY-MM-DD, e.g. 2025-04-22.") from exc


@dataclass(kw_only=True)
class ArticleSpan:
    """A span of a cleaned article with its place: which article (``doc_id``, ``title``,
    ``outlet``, ``published``) and where in it (``start``, ``end``); ``text ==
    article[start:end]``. A retrieved passage, a sentence shown to the model and a quote
    are each such a span, declared once here."""

    doc_id: str
    start: int
    end: int
    text: str
    title: str
    outlet: str
    published: str  # ISO date or ""

    def place(self) -> dict:
        """The span's own fields (what any other kind of span is built from)."""
        return {f.name: getattr(self, f.name) for f in fields(ArticleSpan)}


@dataclass(kw_only=True, unsafe_hash=True)
class Quote(ArticleSpan):
    """An exact span of a cleaned article as a citation, a claim-check passage and a source
    card show it: the span with the article's URL and byline when the corpus has them."""

    url: str | None = None
    author: str | None = None  # the article's byline, when the corpus records one

    def one_line(self) -> str:
        """The quote with title, outlet and date, as a journalist would paste it:
        ``“He said ‘no’ today” (Title, Outlet, 22 April 2025)``."""
        return f"{quotation(self.text)} ({self.title}, {self.outlet}, {format_date(self.published)})"

    def as_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "quote": self.text,
            "start": self.start,
            "end": self.end,
            "url": self.url,
            "author": self.author,
        }


@dataclass(frozen=True)
class Article:
    """One article: as read from the corpus (``source``, ``warnings``) or as indexed
    (``n_chunks``). ``text`` is the cleaned text every quote points into."""

    doc_id: str
    title: str
    outlet: str
    published: str  # ISO date or ""
    text: str
    source: str = ""
    url: str | None = None
    author: str | None = None
    n_chunks: int = 0
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict:
        """What a listing shows of it."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "n_chunks": self.n_chunks,
            "url": self.url,
            "author": self.author,
        }


@dataclass(frozen=True)
class IndexVersion:
    """Which index an answer was given from: its collection, its version (a new one with
    every ingest that changes it), when that ingest ran (UTC, ISO 8601) and how many articles
    it holds. An export records it beside the model's name."""

    collection: str = ""
    version: str = ""
    updated: str = ""
    articles: int | None = None  # None: not known

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(IndexVersion)}
