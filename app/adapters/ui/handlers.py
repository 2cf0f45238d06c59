"""What the chat UI does when a user acts: ask (streamed, queued, stopped), read the corpus,
open an article, check a claim. ``blocks.py`` lays the page out and wires these in."""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator

import gradio as gr

from app.adapters.ui.card import corpus_list, render_index_status
from app.adapters.ui.render import (
    CHECKING_TEXT,
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
    render_checking,
    render_claim,
    render_error,
    render_refusal,
)
from app.adapters.ui.sources import render_sources
from app.answer.reply import Final, Stage, Token
from app.domain import Filters
from app.errors import BackendError, BadQuestionError, NewsragError, without_paths
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
        """The question shown as waiting; the input locked and Stop offered while it is answered.
        A blank question changes nothing (it is not sent)."""
        if not (question or "").strip():
            return chat_messages(turns or []), gr.skip(), gr.skip(), gr.skip()
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
        """Stop pressed: the session's answer says so at once (its events are read in a worker,
        ``_pumped``); the model stops at once (``ServingService.stop``) and the worker
        closes the stream, which frees the gate."""
        session = getattr(request, "session_hash", None) or ""
        self._stops.setdefault(session, threading.Event()).set()
        if session:
            self.services.serving.stop(session)

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

        if not question.strip():  # nothing asked: nothing sent, nothing added to the conversation
            yield view(), sources_html, turns, gr.skip()
            return
        session = getattr(request, "session_hash", None) or ""
        try:
            filters = Filters.parse(outlets, date_from, date_to)
            history = [(t["question"], t["answer"]) for t in turns if t.get("answered")]
            answer = None
            stop = self._stops[session] = threading.Event()  # this answer's own flag (an earlier, stopped
            # answer of the session may still be closing with its own)
            for event, shown in _pumped(self._progress(question, history, filters, session), stop):
                if event is not None:
                    answer = event.answer
                elif shown is not None:
                    yield view(shown), sources_html, turns, gr.skip()
            if stop.is_set():  # Stop pressed: said at once; the worker ends the generation
                yield view(render_refusal(STOPPED_TEXT)), sources_html, turns, question
                return
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
            if stop is not None and self._stops.get(session) is stop:  # a question asked after Stop has its own
                del self._stops[session]

    def _turn(self, turn_no: int, question: str, answer, filters: Filters) -> dict:
        """The conversation state of one answered question (what the chat and Sources panel show)."""
        asked, index = asked_now(), self.articles.index_version()
        export_md = export_markdown(answer, asked, index=index)
        export_json = json.dumps(export_dict(answer, asked, index=index), indent=2, ensure_ascii=False)
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
        """(None, html) while the answer is written: its stage with the seconds since the question
        and, once the model reads, the article sentence being checked; (Final, None) at the end.
        The model's words are never shown unchecked: a token only tells which sentence it reads."""
        started = time.time()
        note, reading, considered, draft = Progress(STAGE_TEXT["retrieving"], started), [], None, ""
        yield None, render_checking(note, None)
        events = self.services.serving.stream(question, history, filters, client=f"ui:{session}", session=session)
        for event in events:
            if isinstance(event, Stage):
                text = STAGE_TEXT.get(event.name, event.name).format(**{"sources": "", **event.detail})
                note = Progress(text, started)
                reading = list(event.detail.get("sentences") or reading)
                considered = reading[0] if reading else considered
            elif isinstance(event, Token):
                draft += event.text
                found = _holding(reading, draft)
                if found is None or found is considered:
                    yield None, None  # nothing new to show (the reader looks at Stop meanwhile)
                    continue
                considered, note = found, Progress(CHECKING_TEXT, started)
            elif isinstance(event, Final):
                yield event, None
                continue
            yield None, render_checking(note, considered)

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
        summary += note + "</div>" + corpus_list(shown)
        return summary, corpus_rows(shown)

    def load_page(self, outlets, date_from: str, date_to: str):
        summary, rows = self.corpus_view(outlets, date_from, date_to)
        choices = self.articles.outlets()
        kept = [o for o in (outlets or []) if o in choices]
        return summary, rows, gr.update(choices=choices, value=kept), self.index_status()

    def index_status(self) -> str:
        """The corpus card at the top of the page (articles, outlets, dates, topics, index date)."""
        return render_index_status(self.articles.updated(), self.articles.overview())

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

    def open_by_id(self, doc_id: str) -> str:
        """The article a tap in the phone's list opened (its id, from the hidden box)."""
        return render_article(self.articles.get(doc_id.strip()) if doc_id and doc_id.strip() else None)

    def check_claim(self, claim: str, outlets, date_from: str, date_to: str) -> str:
        try:
            report = self.services.claims.check(claim, Filters.parse(outlets, date_from, date_to))
        except BadQuestionError as exc:
            return render_error(without_paths(str(exc)), "bad")
        except NewsragError as exc:
            return render_error(without_paths(str(exc)), "error")
        except Exception:
            log.exception("the claim check failed")
            return render_error("The claim could not be checked because of an internal error (logged).", "error")
        return render_claim(report, self.articles.get)


def _error_turn(turn: int, question: str, exc: Exception) -> dict:
    """A chat turn that says why the question got no answer."""
    if isinstance(exc, BadQuestionError):
        message, kind = without_paths(str(exc)), "bad"
    elif isinstance(exc, BackendError):
        log.warning("backend failure: %s", exc)
        message, kind = f"{without_paths(str(exc))} Please try again in a moment.", "backend"
    elif isinstance(exc, NewsragError):
        message, kind = without_paths(str(exc)), "error"
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


STOP_POLL_S = 0.2  # how often a waiting answer looks whether Stop was pressed


def _pumped(events: Iterator, stop: threading.Event) -> Iterator:
    """The items of ``events``, read in a worker thread so that Stop is seen within
    ``STOP_POLL_S`` even while the model is busy with a step (reading the prompt takes
    seconds). After Stop the worker closes ``events`` at its next item, which ends the
    generation and frees the model; this generator ends at once."""
    items: queue.Queue = queue.Queue()
    done = object()
    gone = threading.Event()  # the reader was closed (the page went away): stop as on Stop

    def work() -> None:
        try:
            for item in events:
                if stop.is_set() or gone.is_set():
                    break
                items.put(item)
        except BaseException as exc:  # handed to the reader, raised there
            items.put(_Raised(exc))
        finally:
            events.close()
            items.put(done)

    threading.Thread(target=work, name="nr-answer", daemon=True).start()
    try:
        while True:
            try:
                item = items.get(timeout=STOP_POLL_S)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is done or stop.is_set():
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        gone.set()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _holding(sentences: list[dict], draft: str) -> dict | None:
    """The sentence being read that holds the most of the model's latest words (the longest
    run that ends its draft): the one it is picking from."""
    words = _words(draft).split()
    texts = [f" {_words(s.get('text', ''))} " for s in sentences]
    for size in range(len(words), 0, -1):
        run = f" {' '.join(words[-size:])} "
        found = next((s for s, text in zip(sentences, texts, strict=True) if run in text), None)
        if found is not None:
            return found
    return None
