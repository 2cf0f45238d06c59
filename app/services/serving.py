"""Serving the public: the answer cache in front of the admission gate in front of the
answer service. The UI and the HTTP APIs ask here; the CLI and the eval call the answer
service directly (no cache, no queue).

A question already answered (same question, conversation, filters, index version and
settings) is served from the cache at once, without queueing. Any other question takes a
place in the gate's queue (or is refused with a message and the expected wait), reports
its position while it waits, and is answered when it reaches the model; a question that
another user got answered while it waited is served from the cache then.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator

from app.answer.conversation import History
from app.answer.question import clean_question
from app.answer.reply import Answer, Final, Stage, Token
from app.answer.service import AnswerService
from app.config import Settings
from app.domain import Filters
from app.llm.capabilities import writes_one_at_a_time
from app.services.admission import AnswerGate
from app.services.answer_cache import AnswerCache, cache_key, settings_fingerprint

log = logging.getLogger(__name__)

CACHE_FILE = "answer-cache.jsonl"


class ServingService:
    """``stream`` and ``ask`` as the answer service has them, plus who is asking."""

    def __init__(self, answers: AnswerService, gate: AnswerGate | None = None, cache: AnswerCache | None = None):
        settings = answers.settings
        self.answers = answers
        self.settings = settings
        self.gate = gate or AnswerGate(settings, slots=generation_slots(settings, answers.llm))
        path = settings.index_dir / CACHE_FILE if settings.answer_cache_persist else None
        self.cache = cache or AnswerCache(settings.answer_cache_entries, path)
        self._fingerprint = settings_fingerprint(settings, answers.model_identity, answers.fingerprint)

    def stop(self, session: str) -> None:
        """The session's asker pressed Stop: its questions no longer count as theirs, and when
        one is being answered by a model that writes one answer at a time (the in-process
        llama.cpp), that model stops at once (``ChatLlamaCpp.cancel``), so the next question need not wait."""
        answering = self.gate.answering(session)
        self.gate.abandon(session)
        cancel = getattr(self.answers.llm, "cancel", None)
        if answering and callable(cancel) and writes_one_at_a_time(self.answers.llm):
            cancel()

    def clean(self, question: object) -> str:
        """The question cleaned and checked once (BadQuestionError saying what is wrong); the
        stages after this one take it as it is."""
        return clean_question(question, self.settings.max_question_chars)

    def key(self, question: str, history: History, filters: Filters | None) -> str:
        retriever = self.answers.retriever
        retriever.refresh()  # an ingest since the last question changes the version, so the key
        turns = self.settings.history_turns
        recent = list(history or [])[-turns:] if turns else []
        return cache_key(question, recent, filters, retriever.version, self._fingerprint)

    def cached(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer | None:
        """The verified answer already given to this question, if any (no queueing)."""
        started = time.perf_counter()
        question = self.clean(question)
        found = self.cache.get(self.key(question, history or [], filters))
        return _as_repeat(found, question, started) if found is not None else None

    def ask(
        self,
        question: str,
        history: History | None = None,
        filters: Filters | None = None,
        *,
        client: str = "",
        session: str = "",
    ) -> Answer:
        final = None
        for event in self.stream(question, history, filters, client=client, session=session):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: History | None = None,
        filters: Filters | None = None,
        *,
        client: str = "",
        session: str = "",
    ) -> Iterator[Stage | Token | Final]:
        """Final at once from the cache; else Stage("queued") while waiting, then the answer's
        events. Raises AdmissionRefused when the question cannot be queued."""
        started = time.perf_counter()
        question = self.clean(question)
        history = list(history or [])
        key = self.key(question, history, filters)
        found = self.cache.get(key)
        if found is not None:
            yield Final(_as_repeat(found, question, started))
            return
        ticket = self.gate.enter(client, session)
        try:
            for position, wait_s in self.gate.wait(ticket):
                found = self.cache.get(key)  # answered for someone else meanwhile
                if found is not None:
                    yield Final(_as_repeat(found, question, started))
                    return
                yield Stage("queued", {"position": position, "wait_s": round(wait_s)})
            found = self.cache.get(key)
            if found is not None:
                yield Final(_as_repeat(found, question, started))
                return
            for event in self.answers.stream_cleaned(question, history, filters):
                if isinstance(event, Final):
                    self.cache.put(key, event.answer)
                yield event
        finally:
            self.gate.leave(ticket)


def generation_slots(settings: Settings, llm: object) -> int:
    """Answers the model writes at once: one for a model that holds one sequence (the in-process
    llama.cpp context), ``answer_slots`` for a server (llama-server --parallel N batches N)."""
    return 1 if writes_one_at_a_time(llm) else settings.answer_slots


def _as_repeat(answer: Answer, question: str, started: float) -> Answer:
    """A cached answer as given to this asker: their wording, the time it took now."""
    took = time.perf_counter() - started
    return dataclasses.replace(answer, question=question, timings={"cache_hit": 1.0, "total_s": took})
