"""The answer service: the facade that runs one question's stages in call order.

    conversation  a follow-up that leans on the conversation is rewritten to stand alone
    question      the question is read once (``QuestionFrame``) and handed to every stage after
    retrieval     hybrid retrieval of the chunks
    context       the sentences the model is shown (one context per date when dates differ)
    reader        the model picks a sentence and words of it (prompts in ``prompts``, streamed)
    check         the pick's words located, its features computed, the fitted model decides
    reply         the answer rendered from the quote and cited, or the closest passages

``AnswerService.stream`` yields ``Token`` and ``Stage`` events while the model writes and
one ``Final`` event with the verified answer; ``ask`` returns just the final answer.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator

from langchain_core.language_models.chat_models import BaseChatModel

from app.answer import prompts
from app.answer.check.decide import DEFAULT_MODEL, load_decider
from app.answer.check.learned import DEFAULT_CHECKER, load_checker
from app.answer.cited import AnswerSentence, CitationIndex
from app.answer.context import ContextBuilder
from app.answer.conversation import History, needs_rewrite, rewritten
from app.answer.question import clean_question, read_question
from app.answer.reader import SpanReader
from app.answer.reply import (
    ABSENT,
    ABSTAIN_TEXT,
    NO_SOURCES_TEXT,
    Answer,
    Final,
    Prepared,
    Replier,
    Stage,
    Token,
    reading_detail,
)
from app.answer.retrieve import retrieve
from app.config import Settings
from app.domain import Filters
from app.index.retrieval import HybridRetriever
from app.llm.naming import display_name, model_identity
from app.text.nlp import shared_nlp

log = logging.getLogger(__name__)


class AnswerService:
    """Answers questions from one index with one LLM."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel):
        self._settings = settings
        self.retriever = retriever
        self._llm = llm
        self.nlp = shared_nlp(settings.nlp_model)
        decider = load_decider(str(settings.answer_model or DEFAULT_MODEL))
        learned = load_checker(str(settings.checker_model or DEFAULT_CHECKER))
        self.context_builder = ContextBuilder(retriever, settings, learned)
        self.reader = SpanReader(settings, retriever, llm, self.nlp, decider, learned)
        self.replier = Replier(settings, retriever, decider, self.nlp)

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Swap the settings (tests): every stage reads the new ones."""
        self._settings = settings
        self.context_builder.settings = settings
        self.reader.settings = settings
        self.reader.checker.settings = settings
        self.replier.settings = settings

    @property
    def llm(self) -> BaseChatModel:
        return self._llm

    @llm.setter
    def llm(self, llm: BaseChatModel) -> None:
        """Swap the model (tests, a reloaded backend); the reader uses the new one too."""
        self._llm = llm
        self.reader.llm = llm

    @property
    def decider(self):
        """The fitted answer model the checks and the reply's closest passages use."""
        return self.reader.checker.decider

    @decider.setter
    def decider(self, decider) -> None:
        self.reader.checker.decider = decider
        self.replier.decider = decider

    @property
    def fingerprint(self) -> str:
        """A hash of what writes an answer besides the settings: every prompt of the answer
        path and the fitted answer model (the answer cache's key carries it)."""
        learned = self.reader.checker.learned
        blob = f"{prompts.fingerprint()} {self.decider.fingerprint} {learned.fingerprint if learned else 'none'}"
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def warm_up(self, prompt: bool = True) -> None:
        """Load the embedding model, the language pipeline and the local LLM now, not at the
        first question; with ``prompt``, run the answer prompt once so llama.cpp caches its
        fixed prefix (instruction and worked examples) and the first user waits only for
        their own part."""
        started = time.perf_counter()
        embedder = self.retriever.embedder
        if hasattr(embedder, "load"):
            embedder.load()
        embedder.encode_query("warm up")
        self.nlp.load()
        if self.reader.checker.learned is not None:
            self.reader.checker.learned.load()
        if hasattr(self.llm, "load"):
            self.llm.load()
            if prompt:
                self.reader.warm_up()
        log.info("models loaded in %.1f s", time.perf_counter() - started)

    @property
    def model_name(self) -> str:
        """The model as answers, exports and /api/health name it: a local GGUF file's name
        without its folders (no server path reaches a user), else the configured model name."""
        return display_name(self.llm)

    @property
    def model_identity(self) -> str:
        """``model_name`` and, for a local file, its size and modification time: what the
        answer cache's fingerprint tells models apart by."""
        return model_identity(self.llm)

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def stream(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> Iterator[Token | Stage | Final]:
        """Stage and Token events while the answer is written, then one Final event."""
        yield from self.stream_cleaned(clean_question(question, self.settings.max_question_chars), history, filters)

    def stream_cleaned(
        self, question: str, history: History | None = None, filters: Filters | None = None
    ) -> Iterator[Token | Stage | Final]:
        """``stream`` of a question its caller has cleaned already (``clean_question``)."""
        started = time.perf_counter()
        turns = self.settings.history_turns
        history = list(history or [])[-turns:] if turns else []
        timings: dict[str, float] = {}
        leans = needs_rewrite(question, history, self.nlp)
        yield Stage("rewriting" if leans else "retrieving")
        prepared = self._prepare(question, history if leans else [], filters, timings)
        if not any(c.shown for c in prepared.contexts):
            timings["total_s"] = time.perf_counter() - started
            yield Final(self.replier.no_answer(prepared, NO_SOURCES_TEXT, timings))
            return
        if self.settings.absent_before_generation and not self.replier.covering(prepared):
            # nothing shown speaks of the subject: a failed answer would say "don't say"; say it now
            timings["total_s"] = time.perf_counter() - started
            yield Final(self.replier.no_answer(prepared, ABSTAIN_TEXT, timings, ABSENT))
            return
        yield Stage("generating", reading_detail(prepared.contexts))
        drafts: list[str] = []
        sentences: list[AnswerSentence] = []
        index = CitationIndex()
        t = time.perf_counter()
        for part, context in enumerate(prepared.contexts):
            lead = "\n\n" if part and any(d.strip() for d in drafts) else ""
            draft, checked = yield from self.reader.read(prepared.frame, context, index, lead, started, timings)
            drafts.append(draft)
            sentences += checked
        timings["generation_s"] = time.perf_counter() - t - timings.get("verify_s", 0.0)
        timings.setdefault("first_token_s", timings["generation_s"])
        timings["total_s"] = time.perf_counter() - started
        yield Final(self.replier.final(prepared, sentences, index, drafts, timings))

    def subject_coverage(self, question: str, filters: Filters | None = None) -> float:
        """The largest share of the question's subject any sentence shown to the model holds
        (retrieval and context only, no generation): what ``closest_min_coverage`` is fitted on."""
        prepared = self._prepare(clean_question(question, self.settings.max_question_chars), [], filters, {})
        return max((share for share, _ in self.replier.subject_shares(prepared)), default=0.0)

    def _prepare(self, question: str, history: History, filters: Filters | None, timings: dict) -> Prepared:
        """The stages before the model picks: the conversation (``history`` is given only when
        the question leans on it), the question read once, retrieval, the contexts."""
        t = time.perf_counter()
        standalone = question
        if history:
            cfg = self.settings
            standalone = rewritten(question, history, self.llm, cfg.rewrite_max_tokens, cfg.rewrite_timeout_s)
        timings["rewrite_s"] = time.perf_counter() - t

        frame = read_question(standalone, self.nlp)
        t = time.perf_counter()
        found = retrieve(self.retriever, frame, self.settings, filters)
        timings.update(found.result.timings)
        timings["retrieval_s"] = time.perf_counter() - t

        t = time.perf_counter()
        passages, vector = found.result.passages, found.result.query_vector
        contexts = self.context_builder.build_per_date(frame, passages, found.intent, vector)
        if frame.arithmetic and self.settings.arithmetic and len(contexts) > 1:
            contexts = [self.context_builder.merged(contexts)]
        timings["prompt_build_s"] = time.perf_counter() - t
        base = dict(
            question=question,
            standalone_question=standalone,
            retrieved=passages,
            model=str(self.model_name),
            time_intent=found.intent.describe(),
            context="\n\n---\n\n".join(c.text for c in contexts),
            suppressed_instructions=contexts[0].suppressed,
        )
        return Prepared(standalone, frame, contexts, base)
