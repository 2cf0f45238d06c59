"""The answer service: question -> standalone question -> hybrid retrieval ->
focused context -> the span reader (the model picks the sentence and words, streamed)
-> the pick checked and the answer rendered and cited in code.

``AnswerService.stream`` yields ``Token`` events while the model writes and one
``Final`` event with the verified answer; ``ask`` returns just the final answer.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from langchain_core.language_models.chat_models import BaseChatModel

from app.config import Settings
from app.domain import Filters, Quote
from app.index.retrieval import HybridRetriever
from app.services.answer_types import (
    ABSENT,
    ABSTAIN_TEXT,
    ANSWERED,
    NO_SOURCES_TEXT,
    UNVERIFIED,
    UNVERIFIED_TEXT,
    Answer,
    Final,
    Stage,
    Token,
    clean_question,
    compose,
    on_topic,
)
from app.services.reader import SpanReader
from app.text.nlp import shared_nlp
from app.text.textmatch import terms
from app.text.timewords import resolve
from app.verify.cited import AnswerSentence, CitationIndex
from app.verify.context import Context, ContextBuilder
from app.verify.decide import DEFAULT_MODEL, load_decider
from app.verify.question import QuestionFrame, analyse_question
from app.verify.rewrite import History, needs_rewrite, standalone_question

log = logging.getLogger(__name__)


@dataclass
class _Prepared:
    """A question made ready for the model: rewritten, retrieved, its contexts built."""

    standalone: str
    frame: QuestionFrame
    contexts: list[Context]
    base: dict  # the Answer fields known before generation


class AnswerService:
    """Answers questions from one index with one LLM."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel):
        self.settings = settings
        self.retriever = retriever
        self._llm = llm
        self.context_builder = ContextBuilder(retriever, settings)
        self.nlp = shared_nlp(settings.nlp_model)
        decider = load_decider(str(settings.answer_model or DEFAULT_MODEL))
        self.reader = SpanReader(settings, retriever, llm, self.nlp, decider, self.idf)

    @property
    def llm(self) -> BaseChatModel:
        return self._llm

    @llm.setter
    def llm(self, llm: BaseChatModel) -> None:
        """Swap the model (tests, a reloaded backend); the reader uses the new one too."""
        self._llm = llm
        self.reader.llm = llm

    def idf(self, term: str) -> float:
        df, n = self.retriever.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

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
        if hasattr(self.llm, "load"):
            self.llm.load()
            if prompt:
                self.reader.warm_up()
        log.info("models loaded in %.1f s", time.perf_counter() - started)

    @property
    def model_name(self) -> str:
        return getattr(self.llm, "model_path", None) or getattr(self.llm, "model_name", None) or self.llm._llm_type

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
        started = time.perf_counter()
        turns = self.settings.history_turns
        history = list(history or [])[-turns:] if turns else []
        question = clean_question(question, self.settings.max_question_chars)
        timings: dict[str, float] = {}
        yield Stage("rewriting" if needs_rewrite(question, history, self.nlp) else "retrieving")
        prepared = self._prepare(question, history, filters, timings)
        if not any(c.shown for c in prepared.contexts):
            timings["total_s"] = time.perf_counter() - started
            yield Final(Answer(answer=NO_SOURCES_TEXT, abstained=True, citations=[], sentences=[], timings=timings,
                               **prepared.base))  # fmt: skip
            return
        if self.settings.absent_before_generation and not self._covering(prepared):
            # nothing shown speaks of the subject: a failed answer would say "don't say"; say it now
            timings["total_s"] = time.perf_counter() - started
            yield Final(Answer(answer=ABSTAIN_TEXT, abstained=True, citations=[], sentences=[], timings=timings,
                               outcome=ABSENT, **prepared.base))  # fmt: skip
            return
        yield Stage("generating", {"sources": len({s.doc_id for c in prepared.contexts for s in c.shown})})
        drafts: list[str] = []
        sentences: list[AnswerSentence] = []
        index = CitationIndex()
        t = time.perf_counter()
        for part, context in enumerate(prepared.contexts):
            lead = "\n\n" if part and any(d.strip() for d in drafts) else ""
            reader = self.reader.read(prepared.standalone, prepared.frame, context, index, lead, started, timings)
            draft, checked = yield from reader
            drafts.append(draft)
            sentences += checked
        timings["generation_s"] = time.perf_counter() - t - timings.get("verify_s", 0.0)
        timings.setdefault("first_token_s", timings["generation_s"])
        timings["total_s"] = time.perf_counter() - started
        yield Final(self._final(prepared, sentences, index, drafts, timings))

    def _final(self, prepared: _Prepared, sentences: list[AnswerSentence], index: CitationIndex, drafts, timings):
        citations = index.citations
        closest: list[Quote] = []
        if any(s.supported for s in sentences) and on_topic(prepared.standalone, citations):
            text, outcome = compose(sentences, citations), ANSWERED
        else:
            citations = []
            on_subject = self._closest(prepared, sentences)
            # "the articles don't say" only when nothing retrieved speaks of the question's subject
            text, outcome = (UNVERIFIED_TEXT, UNVERIFIED) if on_subject else (ABSTAIN_TEXT, ABSENT)
            closest = on_subject[: self.settings.closest_passages]
        citations = [replace(c, quote=self._linked(c.quote)) for c in citations]
        closest = [self._linked(q) for q in closest]
        return Answer(answer=text, abstained=outcome != ANSWERED, citations=citations, sentences=sentences,
                      timings=timings, draft="\n\n".join(drafts), closest=closest, outcome=outcome,
                      **prepared.base)  # fmt: skip

    def _linked(self, quote: Quote) -> Quote:
        """The quote with its article's original URL and byline, when the corpus recorded them."""
        article = self.retriever.article(quote.doc_id)
        if article is None:
            return quote
        return replace(quote, url=article.url or quote.url, author=article.author or quote.author)

    def _closest(self, prepared: _Prepared, sentences: list[AnswerSentence]) -> list[Quote]:
        """What the user is shown when no answer is verified but the articles do speak of the
        question: the sentences of the candidates the answer model turned down narrowly
        (likeliest first), then the shown sentences that hold most of the question's terms (IDF-weighted)."""
        floor = self.settings.closest_min_probability * self.reader.decider.threshold
        turned_down = sorted((s for s in sentences if s.source is not None and s.code in ("rejected", "outranked")
                              and s.coverage >= floor), key=lambda s: -s.coverage)  # fmt: skip
        out: dict[tuple[str, int], Quote] = {}
        for s in turned_down:
            out.setdefault((s.source.doc_id, s.source.start), s.source)
        for quote in self._covering(prepared):
            out.setdefault((quote.doc_id, quote.start), quote)
        return list(out.values())

    def _covering(self, prepared: _Prepared) -> list[Quote]:
        """The shown sentences holding ``closest_min_coverage`` of the terms of the question's
        subject (its nouns, names and numbers; IDF-weighted), most first."""
        scored = [
            (share, s) for share, s in self._subject_shares(prepared) if share >= self.settings.closest_min_coverage
        ]
        scored.sort(key=lambda pair: -pair[0])
        return [s.as_quote() for _, s in scored]

    def _subject_shares(self, prepared: _Prepared) -> list[tuple[float, object]]:
        """Each shown sentence with the IDF-weighted share of the question's subject words it holds."""
        # words only: a year or an amount is a detail asked about, not what the question is about
        asked = terms(prepared.frame.subject).words or terms(prepared.frame.subject).all
        # a question that names someone or something is about them: a sentence without any of
        # its names (most of a name's weight: "world" is not "World Cup") is not on its subject
        names = [n for n in (terms(name).words for name in prepared.frame.proper_names) if n]
        total = sum(self.idf(t) for t in asked) or 1.0
        out = []
        for context in prepared.contexts:
            for s in context.shown:
                held = terms(f"{s.title} {s.text}").all & asked
                named = not names or any(self._weight(n & held) >= self._weight(n) / 2 for n in names)
                out.append((sum(self.idf(t) for t in held) / total if named else 0.0, s))
        return out

    def _weight(self, words) -> float:
        return sum(self.idf(t) for t in words)

    def subject_coverage(self, question: str, filters: Filters | None = None) -> float:
        """The largest share of the question's subject any sentence shown to the model holds
        (retrieval and context only, no generation): what ``closest_min_coverage`` is fitted on."""
        prepared = self._prepare(clean_question(question, self.settings.max_question_chars), [], filters, {})
        return max((share for share, _ in self._subject_shares(prepared)), default=0.0)

    def _prepare(self, question: str, history: History, filters: Filters | None, timings: dict) -> _Prepared:
        t = time.perf_counter()
        standalone = standalone_question(question, history, self.llm, nlp=self.nlp,
                                         max_tokens=self.settings.rewrite_max_tokens,
                                         timeout_s=self.settings.rewrite_timeout_s)  # fmt: skip
        timings["rewrite_s"] = time.perf_counter() - t

        t = time.perf_counter()
        self.retriever.refresh()
        intent = resolve(standalone, self.retriever.newest_date())
        result = self.retriever.search(
            standalone,
            k=self.settings.retrieval_k,
            filters=filters,
            mode=self.settings.retrieval_mode,
            candidates=self.settings.retrieval_candidates,
        )
        timings.update(result.timings)
        timings["retrieval_s"] = time.perf_counter() - t

        t = time.perf_counter()
        contexts = self.context_builder.build_per_date(standalone, result.passages, intent, result.query_vector)
        frame = analyse_question(self.nlp.parse(standalone))
        if frame.arithmetic and self.settings.arithmetic and len(contexts) > 1:
            contexts = [self.context_builder.merged(contexts)]
        timings["prompt_build_s"] = time.perf_counter() - t
        base = dict(
            question=question,
            standalone_question=standalone,
            retrieved=result.passages,
            model=str(self.model_name),
            time_intent=intent.describe(),
            context="\n\n---\n\n".join(c.text for c in contexts),
            suppressed_instructions=contexts[0].suppressed,
        )
        return _Prepared(standalone, frame, contexts, base)
