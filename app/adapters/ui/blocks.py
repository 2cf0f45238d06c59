"""The chat UI (Gradio): chat with verified citations, a sources panel, claim check and
the corpus view.

``build_ui(services)`` returns a ``gr.Blocks``; nothing happens at import time. The
server mounts it on the FastAPI app with the CSS and script of assets.py.

Concurrency: answering runs in the ``llm`` concurrency group (one generation at a time;
Gradio's queue shows a waiting user their position); the light events (echoing the
question, filters, the corpus list, reading an article) run in their own group so they
are never stuck behind a generation; claim checks (retrieval only) in a third.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from app.adapters.ui.adding import AddHandler, AddPanel, add_panel, wire_add_panel
from app.adapters.ui.render import (
    CORPUS_HEADERS,
    EMPTY_SOURCES,
    STAGE_TEXT,
    STOPPED_TEXT,
    WAITING_HTML,
    Progress,
    chat_messages,
    corpus_rows,
    esc,
    export_buttons,
    render_answer,
    render_article,
    render_claim,
    render_draft,
    render_error,
    render_index_status,
    render_refusal,
)
from app.adapters.ui.sources import render_sources
from app.domain import Filters
from app.errors import BackendError, BadQuestionError, NewsragError
from app.services.admission import AdmissionRefused
from app.services.answer import Final, Stage, Token
from app.services.export import asked_now, export_dict, export_markdown
from app.wiring import Services

log = logging.getLogger(__name__)

LLM_GROUP = "llm"
LIGHT_GROUP = "light"
CLAIM_GROUP = "claims"
LIGHT_LIMIT = 8
CLAIM_LIMIT = 2
QUEUE_MAX_SIZE = 64


class Handlers:
    """What the UI's events call; each takes and returns the components' values."""

    def __init__(self, services: Services):
        self.services = services
        self.articles = services.articles
        # every admitted question waits in the answer gate (which reports its position and
        # runs one generation at a time), not in Gradio's queue; one more for a refusal
        self.answer_slots = services.settings.answer_queue_max + 2
        self._stops: dict[str, threading.Event] = {}  # per session: Stop pressed during its answer

    def show_waiting(self, question: str, turns: list[dict]):
        """The question shown as waiting; the input locked and Stop offered while it is answered."""
        locked = gr.update(interactive=False)
        return chat_messages(turns or [], (question or "", WAITING_HTML)), locked, gr.update(visible=False), \
            gr.update(visible=True)  # fmt: skip

    def unlock(self):
        return gr.update(interactive=True), gr.update(visible=True), gr.update(visible=False)

    def stop(self, request: gr.Request = None) -> None:
        """Stop pressed: the session's answer stops at the model's next step (its stream is
        closed, which ends the generation) and its place in the gate is released at once."""
        session = getattr(request, "session_hash", None) or ""
        self._stops.setdefault(session, threading.Event()).set()
        if session:
            self.services.serving.gate.abandon(session)

    def respond(self, question: str, turns: list[dict], outlets, date_from: str, date_to: str,
                request: gr.Request = None) -> Iterator[tuple]:  # fmt: skip
        turns = list(turns or [])
        question = question or ""
        turn_no = len(turns) + 1
        sources_html = render_sources(turns, self.articles.get)
        stop = None

        def view(pending: str | None = None) -> list[dict]:
            return chat_messages(turns, (question, pending) if pending is not None else None)

        try:
            filters = Filters.parse(outlets, date_from, date_to)
            history = [(t["question"], t["answer"]) for t in turns if t.get("answered")]
            answer = None
            session = getattr(request, "session_hash", None) or ""
            stop = self._stops[session] = threading.Event()  # this answer's own flag (an earlier, stopped
            # answer of the session may still be closing with its own)
            progress = self._progress(question, history, filters, session)
            for event, draft, note in progress:
                if stop.is_set():  # Stop pressed: closing the stream ends the model's generation
                    progress.close()
                    yield view(render_refusal(STOPPED_TEXT)), sources_html, turns, question
                    return
                if event is not None:
                    answer = event.answer
                else:
                    yield view(render_draft(draft, note)), sources_html, turns, gr.skip()
            if answer is None:
                raise NewsragError("The answer service ended without an answer.")
            turns.append(self._turn(turn_no, question, answer, filters))
            yield view(), render_sources(turns, self.articles.get), turns, ""
        except AdmissionRefused as exc:
            yield view(render_refusal(str(exc))), sources_html, turns, question  # not a turn: ask it again
        except Exception as exc:
            turns.append(_error_turn(turn_no, question, exc))
            yield view(), sources_html, turns, question  # keep the text so it can be fixed
        finally:
            session = getattr(request, "session_hash", None) or ""
            if stop is not None and self._stops.get(session) is stop:  # a question asked after Stop has its own
                del self._stops[session]

    def _turn(self, turn_no: int, question: str, answer, filters: Filters) -> dict:
        """The conversation state of one answered question (what the chat and Sources panel show)."""
        asked, updated = asked_now(), self.articles.updated()
        export_md = export_markdown(answer, asked, updated)
        export_json = json.dumps(export_dict(answer, asked, updated), indent=2, ensure_ascii=False)
        export = export_buttons(turn_no, export_md, export_json)  # under the answer too: phones hide the panel
        return {
            "turn": turn_no,
            "question": question,
            "answer": answer.answer,
            "answered": not answer.abstained,
            "outcome": answer.outcome,
            "html": render_answer(answer, turn_no, filters, self.articles.get, export),
            "citations": list(answer.citations),
            "closest": list(answer.closest),
            "export_md": export_md,
            "export_json": export_json,
        }

    def _progress(self, question: str, history, filters: Filters, session: str):
        """(None, draft, note) while the answer is written; (Final, draft, "") at the end. The
        note names the stage and carries its start time (the page counts the seconds)."""
        started = time.time()
        draft, note = "", Progress(STAGE_TEXT["retrieving"], started)
        yield None, draft, note
        events = self.services.serving.stream(question, history, filters, client=f"ui:{session}", session=session)
        for event in events:
            if isinstance(event, Stage):
                text = STAGE_TEXT.get(event.name, event.name).format(**{"sources": "", **event.detail})
                note = Progress(text, started)
                yield None, draft, note
            elif isinstance(event, Token):
                draft += event.text
                yield None, draft, Progress("Draft: every sentence is being checked against the sources…", started)
            elif isinstance(event, Final):
                yield event, draft, None

    def clear(self):
        return [], EMPTY_SOURCES, [], ""

    def corpus_view(self, outlets, date_from: str, date_to: str):
        everything = self.articles.list()
        try:
            filters = Filters.parse(outlets, date_from, date_to)
            note = ""
        except BadQuestionError as exc:
            filters, note = Filters(), f" · <span class='nr-error'>{esc(exc)}</span>"
        shown = [a for a in everything if filters.admits(a.outlet, a.published)]
        chunks = sum(a.n_chunks for a in everything)
        summary = f"<div class='nr-meta'><b>{len(everything)}</b> articles, <b>{chunks}</b> chunks in the index"
        if filters:
            summary += f" · showing {len(shown)} with {esc(filters.describe())}"
        summary += note + "</div>"
        return summary, corpus_rows(shown)

    def load_page(self, outlets, date_from: str, date_to: str):
        summary, rows = self.corpus_view(outlets, date_from, date_to)
        choices = self.articles.outlets()
        kept = [o for o in (outlets or []) if o in choices]
        return summary, rows, gr.update(choices=choices, value=kept), self.index_status()

    def index_status(self) -> str:
        """ "Index updated <time> · N articles" for the page header."""
        articles, _chunks = self.articles.counts()
        return render_index_status(self.articles.updated(), articles)

    def open_article(self, rows, evt: gr.SelectData):
        doc_id = None
        row_value = getattr(evt, "row_value", None)
        if isinstance(row_value, list) and len(row_value) == len(CORPUS_HEADERS):
            doc_id = row_value[-1]
        elif isinstance(evt.index, (list, tuple)) and rows is not None:
            values = rows.values.tolist() if hasattr(rows, "values") else rows
            if 0 <= evt.index[0] < len(values):
                doc_id = values[evt.index[0]][-1]
        return render_article(self.articles.get(str(doc_id)) if doc_id else None)

    def check_claim(self, claim: str, outlets, date_from: str, date_to: str) -> str:
        try:
            report = self.services.claims.check(claim, Filters.parse(outlets, date_from, date_to))
        except BadQuestionError as exc:
            return render_error(str(exc), "bad")
        except NewsragError as exc:
            return render_error(str(exc), "error")
        except Exception:
            log.exception("the claim check failed")
            return render_error("The claim could not be checked because of an internal error (logged).", "error")
        return render_claim(report, self.articles.get)


def _error_turn(turn: int, question: str, exc: Exception) -> dict:
    """A chat turn that says why the question got no answer."""
    if isinstance(exc, BadQuestionError):
        message, kind = str(exc), "bad"
    elif isinstance(exc, BackendError):
        log.warning("backend failure: %s", exc)
        message, kind = f"{exc} Please try again in a moment.", "backend"
    elif isinstance(exc, NewsragError):
        message, kind = str(exc), "error"
    else:
        log.error("the answer failed", exc_info=exc)
        message = (
            "The answer could not be produced because of an internal error (it has been logged). Please try again."
        )
        kind = "error"
    return {"turn": turn, "question": question, "answer": message, "answered": False,
            "html": render_error(message, kind), "citations": []}  # fmt: skip


@dataclass
class Page:
    """The components the events connect."""

    turns: gr.State
    index_status: gr.HTML
    outlets: gr.Dropdown
    date_from: gr.Textbox
    date_to: gr.Textbox
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    stop: gr.Button
    example_buttons: list[gr.Button]
    clear: gr.Button
    sources: gr.HTML
    claim: gr.Textbox
    check: gr.Button
    claim_buttons: list[gr.Button]
    claim_out: gr.HTML
    corpus_tab: gr.Tab
    corpus_summary: gr.HTML
    corpus_table: gr.Dataframe
    reader: gr.HTML
    add_panel: AddPanel


def build_ui(
    services: Services,
    *,
    examples: list[str] | None = None,
    claim_examples: list[str] | None = None,
    title: str = "newsrag: cited answers from news articles",
) -> gr.Blocks:
    """The whole UI, wired to the given services. Nothing is run until a user acts.
    Example questions and claims come from the corpus (``ArticleService.examples``)."""
    handlers = Handlers(services)
    found = services.articles.examples()
    examples = found.questions if examples is None else examples
    claim_examples = found.claims if claim_examples is None else claim_examples
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        page = _layout(services.articles.outlets(), examples, claim_examples)
        _wire_chat(page, handlers, examples)
        _wire_claims(page, handlers, claim_examples)
        _wire_corpus(page, handlers, demo)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_MAX_SIZE)
    return demo


def _layout(outlet_choices: list[str], examples: list[str], claim_examples: list[str]) -> Page:
    turns = gr.State([])
    with gr.Row(elem_id="nr-header"):
        gr.Markdown(
            "## newsrag\nAsk about the indexed news articles. Every answer is checked against the articles and "
            "cited with an exact quote.",
            elem_id="nr-intro",
        )
        index_status = gr.HTML(elem_id="nr-index-status", js_on_load=None)
    filters_title = "Filters: outlet and publication date (used by the chat, claim check and corpus)"
    with gr.Accordion(filters_title, open=False), gr.Row():
        outlets = gr.Dropdown(choices=outlet_choices, value=[], multiselect=True, label="Outlets (none selected: all)",
                              elem_id="nr-outlets", scale=2)  # fmt: skip
        date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="nr-from", scale=1)
        date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", elem_id="nr-to", scale=1)
    with gr.Tabs():
        with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
            chat = _chat_column(examples)
            with gr.Column(scale=2, elem_id="nr-sources-col"):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, label="sources", elem_id="nr-sources", js_on_load=None)
        with gr.Tab("Claim check", id="claims"):
            claim_parts = _claim_tab(claim_examples)
        with gr.Tab("Corpus", id="corpus") as corpus_tab:
            corpus_summary = gr.HTML(label="summary", elem_id="nr-corpus-summary", js_on_load=None)
            adding = add_panel()
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    corpus_table = gr.Dataframe(
                        headers=CORPUS_HEADERS,
                        datatype="str",
                        column_widths=["12%", "14%", "12%", "38%", "8%", "16%"],
                        interactive=False,
                        wrap=True,
                        elem_id="nr-corpus",
                        max_height=520,
                        label="Articles (click one to read it)",
                    )
                with gr.Column(scale=2):
                    reader = gr.HTML(render_article(None), elem_id="nr-reader", js_on_load=None)
    return Page(turns, index_status, outlets, date_from, date_to, *chat, sources, *claim_parts, corpus_tab,
                corpus_summary, corpus_table, reader, adding)  # fmt: skip


def _chat_column(examples: list[str]):
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
            question = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…", scale=5,
                                  elem_id="nr-question", max_lines=4, autofocus=True)  # fmt: skip
            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-ask")
            stop = gr.Button("Stop", variant="stop", scale=1, elem_id="nr-stop", visible=False)
        with gr.Row():
            example_buttons = [gr.Button(q, size="sm", elem_classes=["nr-example"]) for q in examples]
        clear = gr.Button("New conversation", size="sm", variant="secondary")
    return chatbot, question, ask, stop, example_buttons, clear


def _claim_tab(claim_examples: list[str]):
    gr.Markdown(
        "Paste a claim to see which passages of the indexed articles support it and which "
        "contradict or qualify it, each with its exact quote and date."
    )
    with gr.Row():
        claim = gr.Textbox(show_label=False, placeholder="e.g. The company's profits rose by 10% last year.",
                           scale=5, lines=2, elem_id="nr-claim")  # fmt: skip
        check = gr.Button("Check claim", variant="primary", scale=1, elem_id="nr-check")
    with gr.Row():
        claim_buttons = [gr.Button(c, size="sm", elem_classes=["nr-example"]) for c in claim_examples]
    claim_out = gr.HTML(label="claim check", elem_id="nr-claim-result", js_on_load=None)
    return claim, check, claim_buttons, claim_out


LIGHT = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": LIGHT_LIMIT}
PRIVATE = {"api_visibility": "private"}


def _wire_chat(page: Page, handlers: Handlers, examples: list[str]) -> None:
    filter_inputs = [page.outlets, page.date_from, page.date_to]
    answer_kwargs = {
        "fn": handlers.respond,
        "inputs": [page.question, page.turns, *filter_inputs],
        "outputs": [page.chatbot, page.sources, page.turns, page.question],
        "concurrency_id": LLM_GROUP,
        "concurrency_limit": handlers.answer_slots,
        "show_progress": "minimal",
    }
    lock = [page.chatbot, page.question, page.ask, page.stop]
    waiting = (handlers.show_waiting, [page.question, page.turns], lock)
    unlock = (handlers.unlock, None, [page.question, page.ask, page.stop])
    answering = [
        page.ask.click(*waiting, **PRIVATE, **LIGHT).then(api_name="chat", **answer_kwargs),
        page.question.submit(*waiting, **PRIVATE, **LIGHT).then(**PRIVATE, **answer_kwargs),
    ]
    for button, text in zip(page.example_buttons, examples, strict=True):
        answering.append(
            button.click(lambda t=text: t, None, [page.question], **PRIVATE, **LIGHT)
            .then(*waiting, **PRIVATE, **LIGHT)
            .then(**PRIVATE, **answer_kwargs)
        )
    for event in answering:
        event.then(*unlock, **PRIVATE, **LIGHT)
    # Stop is handled by the answer itself (not Gradio's cancels, which left the session's next
    # event unrun): respond sees the flag at its next event, closes the stream and says so
    page.stop.click(handlers.stop, None, None, **PRIVATE, **LIGHT)
    cleared = [page.chatbot, page.sources, page.turns, page.question]
    page.clear.click(handlers.clear, None, cleared, **PRIVATE, **LIGHT)
    page.chatbot.clear(handlers.clear, None, cleared, **PRIVATE, **LIGHT)


def _wire_claims(page: Page, handlers: Handlers, claim_examples: list[str]) -> None:
    claim_kwargs = {
        "fn": handlers.check_claim,
        "inputs": [page.claim, page.outlets, page.date_from, page.date_to],
        "outputs": [page.claim_out],
        "concurrency_id": CLAIM_GROUP,
        "concurrency_limit": CLAIM_LIMIT,
    }
    page.check.click(api_name="check_claim", **claim_kwargs)
    page.claim.submit(**PRIVATE, **claim_kwargs)
    for button, text in zip(page.claim_buttons, claim_examples, strict=True):
        button.click(lambda t=text: t, None, [page.claim], **PRIVATE, **LIGHT).then(**PRIVATE, **claim_kwargs)


def _wire_corpus(page: Page, handlers: Handlers, demo: gr.Blocks) -> None:
    filter_inputs = [page.outlets, page.date_from, page.date_to]
    corpus_outputs = [page.corpus_summary, page.corpus_table]
    page_outputs = [*corpus_outputs, page.outlets, page.index_status]
    demo.load(handlers.load_page, filter_inputs, page_outputs, **PRIVATE, **LIGHT)
    page.corpus_tab.select(handlers.corpus_view, filter_inputs, corpus_outputs, api_name="corpus", **LIGHT)
    page.outlets.change(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
    for box in (page.date_from, page.date_to):
        box.submit(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
        box.blur(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
    page.corpus_table.select(handlers.open_article, [page.corpus_table], [page.reader], **PRIVATE, **LIGHT)
    refresh = (handlers.load_page, filter_inputs, page_outputs)
    wire_add_panel(page.add_panel, AddHandler(handlers.services), refresh)
