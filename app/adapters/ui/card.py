"""The corpus at first sight: the card at the top of the chat page (how many articles, from
which outlets, over which dates, what they are about: ``ArticleService.overview``; when the
index changed) and the article list of the Corpus tab as a phone shows it."""

from __future__ import annotations

import datetime as dt

from app.adapters.ui.render import esc
from app.domain import Article
from app.services.overview import CorpusOverview
from app.text.dates import format_date


def render_index_status(updated: str, overview: CorpusOverview) -> str:
    """The corpus card at the top of the page: how many articles, from which outlets, over which
    dates, what they are about, and when an ingest last changed the index."""
    when = ""
    if updated:
        try:
            stamp = dt.datetime.fromisoformat(updated)
            when = f"Index updated {format_date(stamp.date().isoformat())}, {stamp:%H:%M} UTC · "
        except ValueError:
            when = f"Index updated {esc(updated)} · "
    api = '<a class="nr-link" href="/docs" target="_blank" rel="noopener noreferrer">HTTP API</a>'
    articles = overview.articles
    noun = "article" if articles == 1 else "articles"
    head = [f"<b>{articles:,}</b> {noun}"]
    if overview.outlets:
        head.append(f"from {esc(_outlets_phrase(overview.outlets))}")
    span = _date_span(overview.first, overview.last)
    line = " ".join(head) + (f" · {esc(span)}" if span else "")
    about = ""
    if overview.topics:
        about = f'<div class="nr-card-about">About: {esc(", ".join(overview.topics))}</div>'
    return (
        f'<div class="nr-card nr-index-status"><div class="nr-card-line">{line}</div>{about}'
        f'<div class="nr-meta">{when}{api}</div></div>'
    )


def _outlets_phrase(outlets: list[tuple[str, int]], named: int = 3) -> str:
    """ "A", "A and B", "A, B, C and 4 other outlets"."""
    names = [name for name, _ in outlets]
    if len(names) <= named:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    rest = len(names) - named
    return ", ".join(names[:named]) + f" and {rest} other outlet{'s' if rest > 1 else ''}"


def _date_span(first: str, last: str) -> str:
    if not first:
        return ""
    if first == last:
        return format_date(first)
    return f"{format_date(first)} to {format_date(last)}"


PHONE_LIST_MAX = 200  # articles listed as cards on a narrow screen (the table holds them all)


def corpus_list(articles: list[Article], limit: int = PHONE_LIST_MAX) -> str:
    """The articles as a list of cards, newest first (narrow screens show it instead of the
    table): date, outlet and title; a tap opens the article (the page script hands its id to
    the hidden ``nr-open-doc`` box)."""
    items = "".join(
        f'<li><button type="button" class="nr-open" data-doc="{esc(a.doc_id)}">'
        f'<span class="nr-meta">{esc(format_date(a.published) if a.published else "undated")} · '
        f'{esc(a.outlet)}</span><span class="nr-doc-title">{esc(a.title)}</span></button></li>'
        for a in articles[:limit]
    )
    more = ""
    if len(articles) > limit:
        more = f'<div class="nr-note">The newest {limit:,} of {len(articles):,}; the filters narrow the list.</div>'
    return f'<ol class="nr-doc-list">{items}</ol>{more}' if items else ""
