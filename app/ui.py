"""The chat UI (Gradio): chat with verified citations, a sources panel, claim check and
the corpus view.

``build_ui(service, checker)`` returns a ``gr.Blocks``; nothing happens at import time.
The server mounts it on the FastAPI app with ``UI_CSS`` and ``UI_HEAD`` (app/server.py).

Safe rendering: every piece of text that comes from an article, from the model or from
the user is HTML-escaped here, on the server, before it is put into the page; the
markup around it is built by this module only. The chatbot renders that HTML without
Markdown (so ``![x](http://...)`` stays text) and with Gradio's sanitizer on as a
second layer. Links from articles are shown as inert text, never as ``<a>`` or ``<img>``.

Concurrency: answering runs in the ``llm`` concurrency group (one generation at a time;
Gradio's queue shows a waiting user their position); the light events (echoing the
question, filters, the corpus list, reading an article) run in their own group so they
are never stuck behind a generation; claim checks (retrieval only) in a third.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Iterator
from typing import Any, Protocol

import gradio as gr

from app.api import article_matches
from app.chain import Answer, AnswerService, Final, Stage, Token
from app.claims import ClaimChecker, ClaimPassage, ClaimReport
from app.context import format_date
from app.errors import BackendError, BadQuestionError, NewsragError
from app.retrieval import Article, Filters, HybridRetriever

log = logging.getLogger(__name__)

LLM_GROUP = "llm"
LIGHT_GROUP = "light"
CLAIM_GROUP = "claims"
LIGHT_LIMIT = 8
CLAIM_LIMIT = 2
QUEUE_MAX_SIZE = 64
MAX_HISTORY_TURNS = 4
CONTEXT_CHARS = 320  # characters of the paragraph shown either side of a quote (long paragraphs)

SEED_EXAMPLES = [
    "Where are talks involving Ukrainian, U.S. and European officials set to continue?",
    "How many prisoners have been exchanged?",
    "Who heads the Kremlin delegation, according to Al Jazeera?",
    "When is the third round of negotiations in Istanbul scheduled?",
]
CLAIM_EXAMPLES = [
    "More than 500 prisoners were returned.",
    "1,000 prisoners were exchanged.",
    "The talks were held in Paris.",
]

WAITING_HTML = (
    '<div class="nr-pending"><span class="nr-spinner"></span> Queued. The local model writes one answer at a '
    "time; yours starts as soon as the ones before it are done.</div>"
)
STAGE_TEXT = {
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


# --- filters ----------------------------------------------------------------------------


def parse_date(value: str | None, label: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadQuestionError(f"The {label} date {value!r} is not a date: use YYYY-MM-DD, e.g. 2025-04-22.") from exc


def parse_filters(outlets: list[str] | str | None, date_from: str | None, date_to: str | None) -> Filters:
    """The chat's filters from the UI's values, or BadQuestionError saying what is wrong."""
    if isinstance(outlets, str):
        outlets = [outlets] if outlets else []
    start, end = parse_date(date_from, "'from'"), parse_date(date_to, "'to'")
    if start and end and start > end:
        raise BadQuestionError(f"The 'from' date ({start}) is after the 'to' date ({end}).")
    return Filters(outlets=tuple(o for o in (outlets or []) if o), date_from=start, date_to=end)


def describe_filters(filters: Filters) -> str:
    parts = []
    if filters.outlets:
        parts.append("outlets: " + ", ".join(filters.outlets))
    if filters.date_from or filters.date_to:
        start = format_date(filters.date_from.isoformat()) if filters.date_from else "the start"
        end = format_date(filters.date_to.isoformat()) if filters.date_to else "today"
        parts.append(f"published {start} to {end}")
    return "; ".join(parts)


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


class Quoted(Protocol):
    """What a source card shows: a Citation of an answer or a ClaimPassage of a claim check."""

    doc_id: str
    title: str
    outlet: str
    published: str
    quote: str
    start: int
    end: int

    def one_line(self) -> str: ...


def source_card(card_id: str, label: str, src: Quoted, retriever: HybridRetriever, extra: str = "") -> str:
    """One cited passage: title, outlet, date, where it is, the quote marked inside its
    paragraph, and a "copy citation" button (the quote with title, outlet and date)."""
    article = retriever.article(src.doc_id)
    context = ""
    if article is not None and article.text[src.start : src.end] == src.quote:
        context = quote_in_context(article.text, src.start, src.end)
    if not context:  # the article changed since: show the quote alone
        context = f'<mark class="nr-quote">{esc(src.quote)}</mark>'
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
            note = f'<div class="nr-note">Searched only articles with {esc(describe_filters(filters))}.</div>'
        return f'<div class="nr-abstain"><strong>{esc(head)}.</strong> {esc(rest)}{note}</div>'
    by_n = {c.n: c for c in answer.citations}

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        c = by_n.get(n)
        if c is None:
            return match.group(0)
        tip = f"{c.outlet}, {format_date(c.published)}: {c.title}"
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


def render_sources(turns: list[dict], retriever: HybridRetriever) -> str:
    """The sources panel: the cited quotes of every answer, newest answer first."""
    blocks = []
    for t in reversed(turns):
        if not t.get("citations"):
            continue
        cards = "".join(source_card(marker_id(t["turn"], c.n), f"[{c.n}]", c, retriever) for c in t["citations"])
        question = t["question"] if len(t["question"]) <= 90 else t["question"][:87] + "…"
        blocks.append(
            f'<section class="nr-turn"><h4>Sources of answer {t["turn"]} <span class="nr-q">“{esc(question)}”</span>'
            f"</h4>{cards}</section>"
        )
    return "".join(blocks) or EMPTY_SOURCES


# --- rendering: claim check ----------------------------------------------------------------

_RELATION_TITLES = {
    "supports": ("Supports the claim", "nr-supports"),
    "contradicts": ("Contradicts the claim", "nr-contradicts"),
    "qualifies": ("Related: qualifies the claim", "nr-qualifies"),
}


def render_claim(report: ClaimReport, retriever: HybridRetriever) -> str:
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
                f"nr-claim-{relation}-{i}", f"{i}.", p, retriever, f'<div class="nr-reason">{esc(p.reason)}</div>'
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


# --- page assets (passed to gr.mount_gradio_app by the server) --------------------------------

UI_CSS = """
.nr-answer p, .nr-draft p { margin: 0 0 .4em 0; }
a.nr-cite { font-weight: 600; text-decoration: none; padding: 0 .1em; border-radius: 3px;
  color: var(--link-text-color, #2563eb); cursor: pointer; }
a.nr-cite:hover { background: rgba(37, 99, 235, .12); }
.nr-draft-text { opacity: .75; font-style: italic; }
.nr-note { font-size: .85em; opacity: .8; margin-top: .3em; }
.nr-abstain { border-left: 4px solid #d97706; padding-left: .6em; }
.nr-error { border-left: 4px solid #dc2626; padding-left: .6em; }
.nr-pending { opacity: .85; }
.nr-spinner { display: inline-block; width: .8em; height: .8em; border: 2px solid currentColor;
  border-right-color: transparent; border-radius: 50%; animation: nr-spin .8s linear infinite; vertical-align: -1px; }
@keyframes nr-spin { to { transform: rotate(360deg); } }
.nr-removed { font-size: .85em; margin-top: .4em; opacity: .85; }
#nr-sources { max-height: 640px; overflow-y: auto; }
.nr-turn h4 { margin: .2em 0 .4em 0; font-size: .95em; }
.nr-q { font-weight: normal; opacity: .75; }
.nr-source { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; padding: .6em .75em;
  margin-bottom: .6em; transition: box-shadow .3s, border-color .3s; }
.nr-source.nr-active { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, .35); }
.nr-head { font-weight: 600; }
.nr-n { color: var(--link-text-color, #2563eb); }
.nr-meta { font-size: .82em; opacity: .8; margin: .15em 0 .35em 0; }
.nr-loc { font-family: var(--font-mono, monospace); font-size: .95em; }
blockquote.nr-context { margin: .3em 0; padding: .3em .6em; border-left: 3px solid var(--border-color-primary, #ccc);
  font-size: .92em; line-height: 1.45; }
mark.nr-quote { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.nr-source.nr-active mark.nr-quote { background: #fbbf24; }
.nr-actions { display: flex; gap: .5em; align-items: center; }
button.nr-copy { font-size: .8em; padding: .15em .6em; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary, #ccc); background: var(--button-secondary-background-fill, #f3f4f6); }
.nr-verdict { font-size: 1.05em; padding: .6em .8em; border-radius: 8px; margin-bottom: .8em; color: #111827; }
.nr-verdict-label { font-weight: 700; margin-right: .4em; }
.nr-verdict-supported { background: #dcfce7; }
.nr-verdict-contradicted { background: #fee2e2; }
.nr-verdict-mixed { background: #fef3c7; }
.nr-verdict-not_found { background: #e5e7eb; }
.nr-claim-group h4 { margin: .6em 0 .4em 0; }
.nr-supports .nr-source { border-left: 4px solid #16a34a; }
.nr-contradicts .nr-source { border-left: 4px solid #dc2626; }
.nr-qualifies .nr-source { border-left: 4px solid #d97706; }
.nr-reason { font-size: .85em; font-style: italic; }
#nr-corpus td, #nr-corpus th, #nr-corpus span { font-family: var(--font, sans-serif); font-size: .92em; }
.nr-reader h3 { margin-top: 0; }
.nr-reader p { line-height: 1.5; }
.nr-empty { opacity: .7; font-size: .9em; }
"""

# Document-level handlers (the chat's markers live in the chatbot, the quotes in the sources panel).
UI_HEAD = """
<script>
(() => {
  function showSource(id) {
    const card = document.getElementById(id);
    if (!card) return false;
    document.querySelectorAll('.nr-source.nr-active').forEach((el) => el.classList.remove('nr-active'));
    card.classList.add('nr-active');
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    return true;
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement('textarea');
    area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area); area.select();
    try { document.execCommand('copy'); } finally { area.remove(); }
    return Promise.resolve();
  }
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const marker = target.closest('a.nr-cite');
    if (marker) {
      const id = (marker.getAttribute('href') || '').replace(/^#/, '');
      if (showSource(id)) { event.preventDefault(); event.stopPropagation(); }
      return;
    }
    const button = target.closest('button.nr-copy');
    if (button) {
      const line = button.parentElement && button.parentElement.querySelector('.nr-line');
      if (!line) return;
      copyText(line.textContent).then(() => {
        button.textContent = 'Copied';
        setTimeout(() => { button.textContent = 'Copy citation'; }, 1500);
      }, () => { button.textContent = 'Copy failed'; });
    }
  }, true);
})();
</script>
"""


# --- the Blocks ----------------------------------------------------------------------------------


def default_examples(retriever: HybridRetriever) -> list[str]:
    """The seed questions when the seed articles are indexed; else none."""
    return SEED_EXAMPLES if any(a.doc_id.startswith("seed/") for a in retriever.articles()) else []


def build_ui(
    service: AnswerService,
    checker: ClaimChecker | None = None,
    *,
    examples: list[str] | None = None,
    claim_examples: list[str] | None = None,
    title: str = "newsrag: cited answers from news articles",
) -> gr.Blocks:
    """The whole UI, wired to the given services. Nothing is run until a user acts."""
    retriever = service.retriever
    checker = checker or ClaimChecker(retriever, service.settings)
    examples = default_examples(retriever) if examples is None else examples
    claim_examples = CLAIM_EXAMPLES if claim_examples is None else claim_examples

    # --- handlers ------------------------------------------------------------------------

    def show_waiting(question: str, turns: list[dict]):
        return chat_messages(turns or [], (question or "", WAITING_HTML))

    def respond(question: str, turns: list[dict], outlets, date_from: str, date_to: str) -> Iterator[tuple]:
        turns = list(turns or [])
        question = question or ""
        turn_no = len(turns) + 1
        sources_html = render_sources(turns, retriever)

        def view(pending: str | None = None) -> list[dict]:
            return chat_messages(turns, (question, pending) if pending is not None else None)

        filters = Filters()
        try:
            filters = parse_filters(outlets, date_from, date_to)
            history = [(t["question"], t["answer"]) for t in turns if t.get("answered")][-MAX_HISTORY_TURNS:]
            draft, note = "", STAGE_TEXT["retrieving"]
            yield view(render_draft("", note)), sources_html, turns, ""
            answer = None
            for event in service.stream(question, history, filters):
                if isinstance(event, Stage):
                    note = STAGE_TEXT.get(event.name, event.name).format(**{"sources": "", **event.detail})
                    yield view(render_draft(draft, note)), sources_html, turns, ""
                elif isinstance(event, Token):
                    draft += event.text
                    note = "Draft: every sentence is being checked against the sources…"
                    yield view(render_draft(draft, note)), sources_html, turns, ""
                elif isinstance(event, Final):
                    answer = event.answer
            if answer is None:
                raise NewsragError("The answer service ended without an answer.")
            turns.append(
                {
                    "turn": turn_no,
                    "question": question,
                    "answer": answer.answer,
                    "answered": not answer.abstained,
                    "html": render_answer(answer, turn_no, filters),
                    "citations": list(answer.citations),
                }
            )
            yield view(), render_sources(turns, retriever), turns, ""
        except BadQuestionError as exc:
            turns.append(_error_turn(turn_no, question, str(exc), "bad"))
            yield view(), sources_html, turns, question  # keep the text so it can be fixed
        except BackendError as exc:
            log.warning("backend failure: %s", exc)
            turns.append(_error_turn(turn_no, question, f"{exc} Please try again in a moment.", "backend"))
            yield view(), sources_html, turns, question
        except NewsragError as exc:
            turns.append(_error_turn(turn_no, question, str(exc), "error"))
            yield view(), sources_html, turns, question
        except Exception:
            log.exception("the answer failed")
            message = "The answer could not be produced because of an internal error (it has been logged)."
            turns.append(_error_turn(turn_no, question, message + " Please try again.", "error"))
            yield view(), sources_html, turns, question

    def clear():
        return [], EMPTY_SOURCES, [], ""

    def corpus_view(outlets, date_from: str, date_to: str):
        retriever.refresh()
        articles = retriever.articles()
        try:
            filters = parse_filters(outlets, date_from, date_to)
            note = ""
        except BadQuestionError as exc:
            filters, note = Filters(), f" · <span class='nr-error'>{esc(exc)}</span>"
        shown = [a for a in articles if article_matches(a, filters)]
        chunks = sum(a.n_chunks for a in articles)
        summary = f"<div class='nr-meta'><b>{len(articles)}</b> articles, <b>{chunks}</b> chunks in the index"
        if filters:
            summary += f" · showing {len(shown)} with {esc(describe_filters(filters))}"
        summary += note + "</div>"
        return summary, corpus_rows(shown)

    def load_page(outlets, date_from: str, date_to: str):
        summary, rows = corpus_view(outlets, date_from, date_to)
        choices = retriever.outlets()
        return summary, rows, gr.update(choices=choices, value=[o for o in (outlets or []) if o in choices])

    def open_article(rows, evt: gr.SelectData):
        doc_id = None
        row_value = getattr(evt, "row_value", None)
        if isinstance(row_value, list) and len(row_value) == len(CORPUS_HEADERS):
            doc_id = row_value[-1]
        elif isinstance(evt.index, (list, tuple)) and rows is not None:
            values = rows.values.tolist() if hasattr(rows, "values") else rows
            if 0 <= evt.index[0] < len(values):
                doc_id = values[evt.index[0]][-1]
        return render_article(retriever.article(str(doc_id)) if doc_id else None)

    def check_claim(claim: str, outlets, date_from: str, date_to: str) -> str:
        try:
            report = checker.check(claim, parse_filters(outlets, date_from, date_to))
        except BadQuestionError as exc:
            return render_error(str(exc), "bad")
        except NewsragError as exc:
            return render_error(str(exc), "error")
        except Exception:
            log.exception("the claim check failed")
            return render_error("The claim could not be checked because of an internal error (logged).", "error")
        return render_claim(report, retriever)

    # --- layout --------------------------------------------------------------------------

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        turns_state = gr.State([])
        gr.Markdown(
            "## newsrag\nAsk about the indexed news articles. Every sentence of an answer is checked against the "
            "articles and cited with an exact quote; what the articles don't say is not answered."
        )
        filters_title = "Filters: outlet and publication date (used by the chat, claim check and corpus)"
        with gr.Accordion(filters_title, open=False), gr.Row():
            outlets = gr.Dropdown(
                choices=retriever.outlets(),
                value=[],
                multiselect=True,
                label="Outlets (none selected: all)",
                elem_id="nr-outlets",
                scale=2,
            )
            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="nr-from", scale=1)
            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", elem_id="nr-to", scale=1)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="nr-chat",
                        height=520,
                        render_markdown=False,  # our own escaped HTML; markdown would turn ![](..) into <img>
                        sanitize_html=True,
                        latex_delimiters=[],
                        allow_tags=False,
                        buttons=[],
                        feedback_options=None,
                        placeholder="Ask a question about the news articles, or pick an example below.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Ask a question about the articles…",
                            scale=5,
                            elem_id="nr-question",
                            max_lines=4,
                            autofocus=True,
                        )
                        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-ask")
                    with gr.Row():
                        example_buttons = [gr.Button(q, size="sm", elem_classes=["nr-example"]) for q in examples]
                    clear_btn = gr.Button("New conversation", size="sm", variant="secondary")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(EMPTY_SOURCES, label="sources", elem_id="nr-sources", js_on_load=None)
            with gr.Tab("Claim check", id="claims"):
                gr.Markdown(
                    "Paste a claim to see which passages of the indexed articles support it and which "
                    "contradict or qualify it, each with its exact quote and date."
                )
                with gr.Row():
                    claim = gr.Textbox(
                        show_label=False,
                        placeholder="e.g. More than 500 prisoners were returned.",
                        scale=5,
                        lines=2,
                        elem_id="nr-claim",
                    )
                    check = gr.Button("Check claim", variant="primary", scale=1, elem_id="nr-check")
                with gr.Row():
                    claim_buttons = [gr.Button(c, size="sm", elem_classes=["nr-example"]) for c in claim_examples]
                claim_out = gr.HTML(label="claim check", elem_id="nr-claim-result", js_on_load=None)
            with gr.Tab("Corpus", id="corpus") as corpus_tab:
                corpus_summary = gr.HTML(label="summary", elem_id="nr-corpus-summary", js_on_load=None)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        corpus_table = gr.Dataframe(
                            headers=CORPUS_HEADERS,
                            datatype="str",
                            column_widths=["13%", "17%", "43%", "10%", "17%"],
                            interactive=False,
                            wrap=True,
                            elem_id="nr-corpus",
                            max_height=520,
                            label="Articles (click one to read it)",
                        )
                    with gr.Column(scale=2):
                        reader = gr.HTML(render_article(None), elem_id="nr-reader", js_on_load=None)

        # --- events ----------------------------------------------------------------------
        filter_inputs = [outlets, date_from, date_to]
        light = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": LIGHT_LIMIT}
        answer_kwargs = {
            "fn": respond,
            "inputs": [question, turns_state, *filter_inputs],
            "outputs": [chatbot, sources, turns_state, question],
            "concurrency_id": LLM_GROUP,
            "concurrency_limit": 1,
            "show_progress": "minimal",
        }
        ask.click(show_waiting, [question, turns_state], [chatbot], api_visibility="private", **light).then(
            api_name="chat", **answer_kwargs
        )
        question.submit(show_waiting, [question, turns_state], [chatbot], api_visibility="private", **light).then(
            api_visibility="private", **answer_kwargs
        )
        for button, text in zip(example_buttons, examples, strict=True):
            button.click(lambda t=text: t, None, [question], api_visibility="private", **light).then(
                show_waiting, [question, turns_state], [chatbot], api_visibility="private", **light
            ).then(api_visibility="private", **answer_kwargs)
        clear_btn.click(clear, None, [chatbot, sources, turns_state, question], api_visibility="private", **light)
        chatbot.clear(clear, None, [chatbot, sources, turns_state, question], api_visibility="private", **light)

        claim_kwargs = {
            "fn": check_claim,
            "inputs": [claim, *filter_inputs],
            "outputs": [claim_out],
            "concurrency_id": CLAIM_GROUP,
            "concurrency_limit": CLAIM_LIMIT,
        }
        check.click(api_name="check_claim", **claim_kwargs)
        claim.submit(api_visibility="private", **claim_kwargs)
        for button, text in zip(claim_buttons, claim_examples, strict=True):
            button.click(lambda t=text: t, None, [claim], api_visibility="private", **light).then(
                api_visibility="private", **claim_kwargs
            )

        corpus_outputs = [corpus_summary, corpus_table]
        demo.load(load_page, filter_inputs, [*corpus_outputs, outlets], api_visibility="private", **light)
        corpus_tab.select(corpus_view, filter_inputs, corpus_outputs, api_name="corpus", **light)
        outlets.change(corpus_view, filter_inputs, corpus_outputs, api_visibility="private", **light)
        for box in (date_from, date_to):
            box.submit(corpus_view, filter_inputs, corpus_outputs, api_visibility="private", **light)
            box.blur(corpus_view, filter_inputs, corpus_outputs, api_visibility="private", **light)
        corpus_table.select(open_article, [corpus_table], [reader], api_visibility="private", **light)

    demo.queue(default_concurrency_limit=1, max_size=QUEUE_MAX_SIZE)
    return demo


def _error_turn(turn: int, question: str, message: str, kind: str) -> dict:
    return {
        "turn": turn,
        "question": question,
        "answer": message,
        "answered": False,
        "html": render_error(message, kind),
        "citations": [],
    }
