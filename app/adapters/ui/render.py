"""HTML of the chat UI, built on the server: every piece of text from an article, the
model or the user is HTML-escaped here before it is put into the page; the markup
around it is built by this module only. Links from articles are shown as inert text,
never as ``<a>`` or ``<img>``."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from app.domain import Article, Filters, Quote
from app.services.answer import Answer
from app.services.claims import ClaimPassage, ClaimReport
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
    "generating": "Writing the answer from {sources} source article(s)…",
}
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


def source_card(card_id: str, label: str, src: Quote, lookup: ArticleLookup, extra: str = "") -> str:
    """One cited passage: title, outlet, date, where it is, the quote marked inside its
    paragraph, and a "copy citation" button (the quote with title, outlet and date)."""
    article = lookup(src.doc_id)
    context = ""
    if article is not None and article.text[src.start : src.end] == src.text:
        context = quote_in_context(article.text, src.start, src.end)
    if not context:  # the article changed since: show the quote alone
        context = f'<mark class="nr-quote">{esc(src.text)}</mark>'
    return (
        f'<article class="nr-source" id="{esc(card_id)}">'
        f'<div class="nr-head"><span class="nr-n">{esc(label)}</span> <span class="nr-title">{esc(src.title)}</span>'
        f'</div><div class="nr-meta"><span class="nr-outlet">{esc(src.outlet)}</span> · '
        f'<span class="nr-date">{esc(format_date(src.published))}</span> · '
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


def render_answer(answer: Answer, turn: int, filters: Filters | None = None) -> str:
    """The verified answer as HTML: escaped text, [n] markers linked to the sources panel."""
    if answer.abstained:
        head, _, rest = answer.answer.partition(". ")
        note = ""
        if filters:
            note = f'<div class="nr-note">Searched only articles with {esc(filters.describe())}.</div>'
        closest = "".join(
            f'<li>"{esc(q.text)}" <span class="nr-meta">({esc(q.title)}, {esc(q.outlet)}, '
            f"{esc(format_date(q.published))})</span></li>"
            for q in answer.closest
        )
        if closest:
            closest = f'<ul class="nr-closest">{closest}</ul>'
        return f'<div class="nr-abstain"><strong>{esc(head)}.</strong> {esc(rest)}{closest}{note}</div>'
    by_n = {c.n: c for c in answer.citations}

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        c = by_n.get(n)
        if c is None:
            return match.group(0)
        tip = f"{c.quote.outlet}, {format_date(c.quote.published)}: {c.quote.title}"
        return f'<a class="nr-cite" href="#{marker_id(turn, n)}" title="{esc(tip)}">[{n}]</a>'

    body = re.sub(r"\[(\d+)\]", link, esc(answer.answer))
    out = f'<div class="nr-answer"><p>{body}</p>'
    removed = answer.unsupported
    if removed:
        items = "".join(f"<li>{esc(s.text)} <em>({esc(s.reason)})</em></li>" for s in removed)
        plural = "s" if len(removed) > 1 else ""
        out += (
            f'<details class="nr-removed"><summary>{len(removed)} sentence{plural} of the draft removed: '
            f"not supported by the sources</summary><ul>{items}</ul></details>"
        )
    return out + "</div>"


def render_draft(draft: str, note: str) -> str:
    text = f'<p class="nr-draft-text">{esc(draft)}</p>' if draft else ""
    return f'<div class="nr-draft">{text}<div class="nr-note"><span class="nr-spinner"></span> {esc(note)}</div></div>'


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


def render_sources(turns: list[dict], lookup: ArticleLookup) -> str:
    """The sources panel: the cited quotes of every answer, newest answer first."""
    blocks = []
    for t in reversed(turns):
        question = t["question"] if len(t["question"]) <= 90 else t["question"][:87] + "…"
        if t.get("citations"):
            cards = "".join(source_card(marker_id(t["turn"], c.n), f"[{c.n}]", c.quote, lookup) for c in t["citations"])
            title = f"Sources of answer {t['turn']}"
        elif t.get("closest"):
            cards = "".join(
                source_card(f"nr-close-{t['turn']}-{i}", f"{i}.", q, lookup) for i, q in enumerate(t["closest"], 1)
            )
            title = f"Closest passages to question {t['turn']} (no verified answer)"
        else:
            continue
        heading = f'<h4>{esc(title)} <span class="nr-q">“{esc(question)}”</span></h4>'
        blocks.append(f'<section class="nr-turn">{heading}{cards}</section>')
    return "".join(blocks) or EMPTY_SOURCES


# --- rendering: claim check ----------------------------------------------------------------

_RELATION_TITLES = {
    "supports": ("Supports the claim", "nr-supports"),
    "contradicts": ("Contradicts the claim", "nr-contradicts"),
    "qualifies": ("Related: qualifies the claim", "nr-qualifies"),
}


def render_claim(report: ClaimReport, lookup: ArticleLookup) -> str:
    label, _, rest = report.summary.partition(": ")
    out = [
        f'<div class="nr-verdict nr-verdict-{esc(report.verdict)}"><span class="nr-verdict-label">'
        f"{esc(label)}:</span> {esc(rest)}</div>"
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
                f"nr-claim-{relation}-{i}", f"{i}.", p.quote, lookup, f'<div class="nr-reason">{esc(p.reason)}</div>'
            )
            for i, p in enumerate(passages, start=1)
        )
        out.append(f'<section class="nr-claim-group {css}"><h4>{esc(title)} ({len(passages)})</h4>{cards}</section>')
    return "".join(out)


# --- rendering: corpus ----------------------------------------------------------------------

CORPUS_HEADERS = ["Published", "Outlet", "Title", "Chunks", "Id"]


def corpus_rows(articles: list[Article]) -> list[list[Any]]:
    return [[a.published or "", a.outlet, a.title, a.n_chunks, a.doc_id] for a in articles]


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
    url = f' · <span class="nr-url">{esc(article.url)}</span>' if article.url else ""
    return (
        f'<article class="nr-reader"><h3>{esc(article.title)}</h3>'
        f'<div class="nr-meta">{esc(article.outlet)} · {esc(format_date(article.published))} · '
        f"{esc(article.doc_id)} · {article.n_chunks} chunks{url}</div>{''.join(paragraphs)}</article>"
    )
