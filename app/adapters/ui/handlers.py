"""What the chat UI does when a user acts: ask (streamed, queued, stopped), read the corpus,
open an article, check a claim. ``blocks.py`` lays the page out and wires these in."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import gradio as gr

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
from app.answer.reply import Final, Stage, Token
from app.domain import Filters
from app.errors import BackendError, BadQuestionError, NewsragError
from app.services.admission import AdmissionRefused
from app.services.export import asked_now, export_dict, export_markdown
from app.wiring import Services

log = logging.getLogger(__name__)


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
        return (
            chat_messages(turns or [], (question or "", WAITING_HTML)),
            locked,
            gr.update(visible=False),
            gr.update(visible=True),
        )

    def unlock(self):
        return gr.update(interactive=True), gr.update(visible=True), gr.update(visible=False)

    def stop(self, request: gr.Request = None) -> None:
        """Stop pressed: the session's answer stops at the model's next step (its stream is
        closed, which ends the generation) and its place in the gate is released at once."""
        session = getattr(request, "session_hash", None) or ""
        self._stops.setdefault(session, threading.Event()).set()
        if session:
            self.services.serving.gate.abandon(session)

    def respond(
        self, question: str, turns: list[dict], outlets, date_from: str, date_to: str, request: gr.Request = None
    ) -> Iterator[tuple]:
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
    return {
        "turn": turn,
        "question": question,
        "answer": message,
        "answered": False,
        "html": render_error(message, kind),
        "citations": [],
    }
