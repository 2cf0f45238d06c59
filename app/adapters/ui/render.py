"""HTML of the chat UI, built on the server: every piece of text from an article, the
model or the user is HTML-escaped here before it is put into the page; the markup
around it is built by this module only. Links inside article text are shown as inert
text, never as ``<a>`` or ``<img>``; the one link made is to an article's own original
URL from the corpus metadata, and only when it is http(s) (new tab, noopener noreferrer)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.answer.reply import UNVERIFIED_LEAD, Answer
from app.claims.checker import ClaimPassage, ClaimReport
from app.domain import Article, Filters, Quote
from app.text.dates import format_date

CONTEXT_CHARS = 320  # characters of the paragraph shown either side of a quote (long paragraphs)
ArticleLookup = Callable[[str], Article | None]

WAITING_HTML = (
    '<div class="nr-pending"><span class="nr-spinner"></span> Queued. The local model writes one answer at a '
    "time; yours starts as soon as the ones before it are done.</div>"
)
STAGE_TEXT = {
    "queued": "Queued: position {position}, about {wait_s} s. The model writes one answer at a time.",
    "rewriting": "Reading the conversation to understand the follow-up…",
    "retrieving": "Searching the articles…",
    "generating": "Reading {sources} article(s); the answer is checked against them before it is shown…",
}
CHECKING_TEXT = "Checking the sentence that seems to answer against the question…"
STOPPED_TEXT = "Stopped. No answer was written; the question is kept in the box to ask again."
EMPTY_SOURCES = (
    '<div class="nr-empty">The sources of each answer appear here: every numbered marker points to an exact '
    "quote, highlighted in its paragraph, with the article's title, outlet and date.</div>"
)


def esc(text: object) -> str:
    """HTML-escape any text (quotes included) for element content and attribute values."""
    return html.escape(str(text), quote=True)


# --- rendering: quotes -------------------------------------------------------------------


def quote_in_context(text: str, start: int, end: int) -> str:
    """The paragraph around ``text[start:end]`` as HTML, the quote marked (all escaped)."""
    if not (0 <= start < end <= len(text)):
        return ""
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end == -1 else para_end
    lead, tail = "", ""
    if start - para_start > CONTEXT_CHARS:
        cut = text.find(" ", start - CONTEXT_CHARS, start)
        para_start, lead = (cut + 1 if cut != -1 else start - CONTEXT_CHARS), "… "
    if para_end - end > CONTEXT_CHARS:
        cut = text.rfind(" ", end, end + CONTEXT_CHARS)
        para_end, tail = (cut if cut != -1 else end + CONTEXT_CHARS), " …"
    return (
        f'{lead}{esc(text[para_start:start])}<mark class="nr-quote">{esc(text[start:end])}</mark>'
        f"{esc(text[end:para_end])}{tail}"
    )


def safe_url(url: object) -> str:
    """The URL when it is an absolute http(s) URL with a host, else "" (never a javascript: or data: link)."""
    if not isinstance(url, str) or not url.strip():
        return ""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def source_link(url: object, text: str = "original article") -> str:
    """A link to an article's original page, opened in a new tab; inert text for any other scheme."""
    href = safe_url(url)
    if not href:
        return f'<span class="nr-url">{esc(url)}</span>' if url else ""
    return f'<a class="nr-link" href="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>'


def provenance(outlet: str, published: str, author: str | None, url: str | None) -> str:
    """Outlet · date · byline · link, each escaped; the parts that are known."""
    parts = [
        f'<span class="nr-outlet">{esc(outlet)}</span>',
        f'<span class="nr-date">{esc(format_date(published))}</span>',
    ]
    if author:
        parts.append(f'<span class="nr-byline">by {esc(author)}</span>')
    link = source_link(url)
    if link:
        parts.append(link)
    return " · ".join(parts)


def source_card(card_id: str, label: str, src: Quote, lookup: ArticleLookup, extra: str = "") -> str:
    """One cited passage: title, outlet, date, byline, original link, where it is, the quote
    marked inside its paragraph, and a "copy citation" button (the quote with title, outlet and date)."""
    article = lookup(src.doc_id)
    context = ""
    if article is not None and article.text[src.start : src.end] == src.text:
        context = quote_in_context(article.text, src.start, src.end)
    if not context:  # the article changed since: show the quote alone
        context = f'<mark class="nr-quote">{esc(src.text)}</mark>'
    author = src.author or (article.author if article is not None else None)
    url = src.url or (article.url if article is not None else None)
    return (
        f'<article class="nr-source" id="{esc(card_id)}">'
        f'<div class="nr-head"><span class="nr-n">{esc(label)}</span> <span class="nr-title">{esc(src.title)}</span>'
        f'</div><div class="nr-meta">{provenance(src.outlet, src.published, author, url)} · '
        f'<span class="nr-loc">{esc(src.doc_id)}, characters {src.start}–{src.end}</span></div>'
        f"{extra}"
        f'<blockquote class="nr-context">{context}</blockquote>'
        f'<div class="nr-actions"><button type="button" class="nr-copy">Copy citation</button>'
        f'<span class="nr-line" hidden>{esc(src.one_line())}</span></div>'
        "</article>"
    )


# --- rendering: chat ---------------------------------------------------------------------


def marker_id(turn: int, n: int) -> str:
    return f"nr-src-{turn}-{n}"


def render_closest(answer: Answer) -> str:
    """The passages nearest the question, quoted, dated and linked to their source."""
    items = "".join(
        f'<li>"{esc(q.text)}" <span class="nr-meta">({esc(q.title)}, {esc(q.outlet)}, '
        f"{esc(format_date(q.published))}{', ' + source_link(q.url) if safe_url(q.url) else ''})</span></li>"
        for q in answer.closest
    )
    return f'<ul class="nr-closest">{items}</ul>' if items else ""


def export_buttons(turn: int, markdown: str, as_json: str) -> str:
    """Export this answer as Markdown and JSON: the files' text rides along hidden, and the
    page script downloads it (no request to the server). Kind and turn are classes: the
    chat's sanitiser drops data-* attributes."""
    if not markdown:
        return ""
    return (
        f'<div class="nr-export nr-export-turn-{int(turn)}">Export this answer: '
        '<button type="button" class="nr-export-btn nr-kind-md">Markdown</button> '
        '<button type="button" class="nr-export-btn nr-kind-json">JSON</button>'
        f'<pre class="nr-export-data nr-kind-md" hidden>{esc(markdown)}</pre>'
        f'<pre class="nr-export-data nr-kind-json" hidden>{esc(as_json)}</pre></div>'
    )


def inline_sources(answer: Answer, turn: int, lookup: ArticleLookup | None, export: str = "") -> str:
    """The answer's sources and Export under it, collapsed (shown instead of the side panel on
    narrow screens)."""
    if lookup is None:
        return ""
    if answer.citations:
        cards = [source_card(marker_id(turn, c.n) + "-in", f"[{c.n}]", c.quote, lookup) for c in answer.citations]
        title = f"Sources ({len(cards)})"
    elif answer.closest:
        cards = [source_card(f"nr-close-{turn}-{i}-in", f"{i}.", q, lookup) for i, q in enumerate(answer.closest, 1)]
        title = f"Closest passages ({len(cards)})"
    elif export:
        cards, title = [], "Export"
    else:
        return ""
    return f'<details class="nr-inline-sources"><summary>{esc(title)}</summary>{export}{"".join(cards)}</details>'


def render_answer(
    answer: Answer,
    turn: int,
    filters: Filters | None = None,
    lookup: ArticleLookup | None = None,
    export: str = "",
) -> str:
    """The answer as HTML by its outcome: a verified answer (escaped text, [n] markers linked
    to its sources), the closest quote hedged ("The articles may not answer this exactly; the
    closest they come: ...") with the other closest passages, or "the articles don't say"."""
    if answer.abstained:
        head, _, rest = answer.answer.partition(". ")
        if answer.answer.startswith(UNVERIFIED_LEAD + ";"):
            head, rest = UNVERIFIED_LEAD, answer.answer[len(UNVERIFIED_LEAD) + 1 :].lstrip()
        note = ""
        if filters:
            note = f'<div class="nr-note">Searched only articles with {esc(filters.describe())}.</div>'
        return (
            f'<div class="nr-abstain nr-outcome-{esc(answer.outcome)}" data-outcome="{esc(answer.outcome)}">'
            f"<strong>{esc(head)}{';' if head == UNVERIFIED_LEAD else '.'}</strong> {esc(rest)}"
            f"{render_closest(answer)}{note}"
            f"{inline_sources(answer, turn, lookup, export)}</div>"
        )
    by_n = {c.n: c for c in answer.citations}

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        c = by_n.get(n)
        if c is None:
            return match.group(0)
        tip = f"{c.quote.outlet}, {format_date(c.quote.published)}: {c.quote.title}"
        return f'<a class="nr-cite" href="#{marker_id(turn, n)}" title="{esc(tip)}">[{n}]</a>'

    out = f'<div class="nr-answer" data-outcome="{esc(answer.outcome)}">{answer_body(answer.answer, link)}'
    removed = answer.unsupported
    if removed:
        items = "".join(f"<li>{esc(s.text)} <em>({esc(s.reason)})</em></li>" for s in removed)
        plural = "s" if len(removed) > 1 else ""
        out += (
            f'<details class="nr-removed"><summary>{len(removed)} sentence{plural} of the draft removed: '
            f"not supported by the sources</summary><ul>{items}</ul></details>"
        )
    return out + inline_sources(answer, turn, lookup, export) + "</div>"


def answer_body(text: str, link) -> str:
    """An answer's text as HTML: escaped, its [n] markers linked (``link``), its lead in bold
    ("**Yes.**") and a list of quotes ("- ...") as a list."""
    html = re.sub(r"\[(\d+)\]", link, esc(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    lines = html.split("\n")
    if len(lines) > 1 and all(li.startswith("- ") for li in lines):
        return "<ul>" + "".join(f"<li>{li[2:]}</li>" for li in lines) + "</ul>"
    return f"<p>{html}</p>"


@dataclass(frozen=True)
class Progress:
    """What the answer is doing now, and since when (epoch seconds) the question was asked."""

    text: str
    started: float


def render_checking(note: Progress, sentence: dict | None) -> str:
    """The answer being written: its stage with the seconds since the question, and the article
    sentence being checked, quoted and greyed under a "checking" mark. The model's own words
    are never shown before the check: they may not be the answer."""
    considered = ""
    if sentence and sentence.get("text"):
        where = ", ".join(p for p in (sentence.get("outlet"), format_date(sentence.get("published") or "")) if p)
        meta = f' <span class="nr-meta">({esc(where)})</span>' if where else ""
        considered = (
            '<blockquote class="nr-considered"><span class="nr-badge">checking</span> '
            f"\u201c{esc(sentence['text'])}\u201d{meta}</blockquote>"
        )
    return f'<div class="nr-draft nr-checking">{_progress_note(note)}{considered}</div>'


def _progress_note(note: Progress) -> str:
    seconds = max(0.0, time.time() - note.started)
    # the start in the class name: the chatbot's sanitiser keeps classes, not data- attributes
    elapsed = f' <span class="nr-elapsed nr-t0-{int(note.started * 1000)}">{seconds:.0f} s</span>'
    return f'<div class="nr-note"><span class="nr-spinner"></span> {esc(note.text)}{elapsed}</div>'


def render_refusal(message: str) -> str:
    """A question not queued (busy, rate limit): what to do, not an error."""
    return f'<div class="nr-refused">{esc(message)}</div>'


def render_error(message: str, kind: str) -> str:
    title = {"bad": "Cannot ask this", "backend": "The language model failed", "error": "Something went wrong"}[kind]
    return f'<div class="nr-error nr-error-{kind}"><strong>{esc(title)}.</strong> {esc(message)}</div>'


def chat_messages(turns: list[dict], pending: tuple[str, str] | None = None) -> list[dict]:
    """The chatbot's value (messages format) from the conversation state."""
    messages: list[dict] = []
    for t in turns:
        messages.append({"role": "user", "content": esc(t["question"])})
        messages.append({"role": "assistant", "content": t["html"]})
    if pending is not None:
        messages.append({"role": "user", "content": esc(pending[0])})
        messages.append({"role": "assistant", "content": pending[1]})
    return messages


# --- rendering: claim check ----------------------------------------------------------------

_RELATION_TITLES = {
    "supports": ("Supports the claim", "nr-supports"),
    "contradicts": ("Contradicts the claim", "nr-contradicts"),
    "qualifies": ("Related: qualifies the claim", "nr-qualifies"),
}


_CLAIM_EMPHASIS = re.compile(r"\*([^*\n]+)\*")


def _claim_text(text: str) -> str:
    """Escaped text of a claim report, its *emphasis* (a negation, an antonym) as <em>."""
    return _CLAIM_EMPHASIS.sub(r"<em>\1</em>", esc(text))


def render_claim(report: ClaimReport, lookup: ArticleLookup) -> str:
    label, _, rest = report.summary.partition(": ")
    out = [
        f'<div class="nr-verdict nr-verdict-{esc(report.verdict)}"><span class="nr-verdict-label">'
        f"{esc(label)}:</span> {_claim_text(rest)}</div>"
    ]
    groups: list[tuple[str, list[ClaimPassage]]] = [
        ("supports", report.supporting),
        ("contradicts", report.contradicting),
        ("qualifies", report.qualifying),
    ]
    for relation, passages in groups:
        if not passages:
            continue
        title, css = _RELATION_TITLES[relation]
        cards = "".join(
            source_card(
                f"nr-claim-{relation}-{i}",
                f"{i}.",
                p.quote,
                lookup,
                f'<div class="nr-reason">{_claim_text(p.reason)}</div>',
            )
            for i, p in enumerate(passages, start=1)
        )
        out.append(f'<section class="nr-claim-group {css}"><h4>{esc(title)} ({len(passages)})</h4>{cards}</section>')
    return "".join(out)


# --- rendering: corpus ----------------------------------------------------------------------

CORPUS_HEADERS = ["Published", "Outlet", "By", "Title", "Chunks", "Id"]


def corpus_rows(articles: list[Article]) -> list[list[Any]]:
    return [[a.published or "", a.outlet, a.author or "", a.title, a.n_chunks, a.doc_id] for a in articles]


def _is_heading(paragraph: str) -> bool:
    words = paragraph.split()
    return 0 < len(words) <= 16 and (paragraph.endswith("?") or paragraph[-1] not in ".!\"')]:;,”’")


def render_article(article: Article | None) -> str:
    if article is None:
        return '<div class="nr-empty">Click an article in the list to read it in full.</div>'
    paragraphs = []
    for para in re.split(r"\n\s*\n|\n", article.text):
        para = para.strip()
        if para:
            tag = "h4" if _is_heading(para) else "p"
            paragraphs.append(f"<{tag}>{esc(para)}</{tag}>")
    meta = provenance(article.outlet, article.published, article.author, article.url)
    return (
        f'<article class="nr-reader"><h3>{esc(article.title)}</h3>'
        f'<div class="nr-meta">{meta} · {esc(article.doc_id)} · {article.n_chunks} chunks</div>'
        f"{''.join(paragraphs)}</article>"
    )
