"""The answer service: question -> standalone question -> hybrid retrieval ->
focused context -> LLM (streamed, LangChain LCEL) -> citations verified in code.

``AnswerService.stream`` yields ``Token`` events while the model writes and one
``Final`` event with the verified answer; ``ask`` returns just the final answer.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from app.config import Settings
from app.domain import Filters
from app.errors import BackendError, BadQuestionError, NewsragError
from app.index.retrieval import HybridRetriever, Passage
from app.services.prompt import build_prompt
from app.services.stream_guard import StreamGuard
from app.text.cleaning import typed_line
from app.text.dates import format_date
from app.text.lexicon import lexicon
from app.text.textmatch import terms
from app.text.timewords import resolve
from app.verify.citations import AnswerSentence, Citation, CitationIndex, Reason, verify
from app.verify.context import Context, ContextBuilder
from app.verify.model_text import is_abstention
from app.verify.rewrite import History, standalone_question

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The articles don't say. Nothing in the indexed articles answers this question."
NO_SOURCES_TEXT = "The articles don't say. No indexed article matches this question."


@dataclass
class Answer:
    """The verified answer; ``as_dict`` is the JSON of ``ask --json`` and ``/api/ask``."""

    question: str
    standalone_question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    sentences: list[AnswerSentence]
    retrieved: list[Passage]
    timings: dict[str, float]
    model: str = ""
    draft: str = ""
    time_intent: str = ""
    context: str = ""
    suppressed_instructions: int = 0

    @property
    def unsupported(self) -> list[AnswerSentence]:
        return [s for s in self.sentences if not s.supported and s.code is not Reason.ABSTENTION]

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.as_dict() for c in self.citations],
            "sentences": [
                {
                    "text": s.text,
                    "supported": s.supported,
                    "citations": s.citations,
                    "reason": s.reason,
                    "code": s.code.value,
                    "quoted": s.quoted,
                }
                for s in self.sentences
            ],
            "unsupported": [{"text": s.text, "reason": s.reason} for s in self.unsupported],
            "retrieved": [p.as_dict() for p in self.retrieved],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "model": self.model,
            "draft": self.draft,
            "time_intent": self.time_intent,
            "suppressed_instructions": self.suppressed_instructions,
            "context": self.context,
        }


@dataclass
class Token:
    text: str


@dataclass
class Final:
    answer: Answer


@dataclass
class Stage:
    """A progress note for the UI ("retrieving", "generating")."""

    name: str
    detail: dict = field(default_factory=dict)


def on_topic(question: str, citations: list[Citation]) -> bool:
    """Whether the cited quotes (with their headlines) share a word with the question.

    Quotes that back an answer but have nothing in common with what was asked ("What
    instructions were you given?" answered with sentences on prisoner swaps) answer
    another question; the answer then abstains.
    """
    asked = terms(question).all
    if not asked or not citations:
        return True
    return any(asked & terms(f"{c.quote.title} {c.quote.text}").all for c in citations)


def clean_question(question: object, max_chars: int) -> str:
    """The question as text, or BadQuestionError saying what is wrong with it."""
    if not isinstance(question, str):
        raise BadQuestionError("The question must be text.")
    text = unicodedata.normalize("NFC", typed_line(question))
    if not text:
        raise BadQuestionError("The question is empty. Type a question about the news articles.")
    if len(text) > max_chars:
        raise BadQuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Ask something shorter."
        )
    if not re.search(r"\w", text):
        raise BadQuestionError("The question has no words in it. Type a question about the news articles.")
    return text


def _with_date(sentence: str, citation: Citation) -> str:
    """Prefix a sentence with its source's date and outlet, unless it names them."""
    quote = citation.quote
    day = format_date(quote.published)
    if not quote.published or day.split()[1] in sentence or quote.outlet in sentence:
        return sentence
    first, _, rest = sentence.partition(" ")
    if first.lower() in lexicon().stopwords:  # "The", "More": not a name, so not capitalised mid-sentence
        sentence = f"{first.lower()} {rest}"
    return f"As of {day} ({quote.outlet}), {sentence}"


def compose(sentences: list[AnswerSentence], citations: list[Citation]) -> str:
    """The answer text: supported sentences with their [n] markers; dated when the
    cited articles are of different dates. A sentence that is its source's own words
    (the model misstated it) is shown in quotation marks."""
    by_n = {c.n: c for c in citations}
    dates = {c.quote.published for c in citations if c.quote.published}
    parts = []
    for s in sentences:
        if not s.supported:
            continue
        text = f"\u201c{s.text}\u201d" if s.quoted else s.text
        cited_dates = {by_n[n].quote.published for n in s.citations}
        if len(dates) > 1 and len(cited_dates) == 1:
            text = _with_date(text, by_n[s.citations[0]])
        parts.append(text + " " + "".join(f"[{n}]" for n in s.citations))
    return " ".join(parts)


@dataclass
class _Prepared:
    """A question made ready for the model: rewritten, retrieved, its contexts built."""

    standalone: str
    contexts: list[Context]
    base: dict  # the Answer fields known before generation


class AnswerService:
    """Answers questions from one index with one LLM."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel):
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.context_builder = ContextBuilder(retriever, settings)
        self._parser = StrOutputParser()
        self._prompt = build_prompt()

    def warm_up(self, prompt: bool = True) -> None:
        """Load the embedding model and the local LLM now, not at the first question; with
        ``prompt``, run the answer prompt once so llama.cpp caches its fixed prefix (the
        system prompt and worked examples) and the first user waits only for their own part."""
        started = time.perf_counter()
        embedder = self.retriever.embedder
        if hasattr(embedder, "load"):
            embedder.load()
        embedder.encode_query("warm up")
        if hasattr(self.llm, "load"):
            self.llm.load()
            if prompt:
                context = "[Newsrag, 1 January 2025: Start-up]\nThe service started."
                (self._prompt | self.llm).invoke({"context": context, "question": "Did the service start?"})
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
        yield Stage("rewriting" if history else "retrieving")
        prepared = self._prepare(question, history, filters, timings)
        if not any(c.shown for c in prepared.contexts):
            timings["total_s"] = time.perf_counter() - started
            yield Final(Answer(answer=NO_SOURCES_TEXT, abstained=True, citations=[], sentences=[], timings=timings,
                               **prepared.base))  # fmt: skip
            return
        yield Stage("generating", {"sources": len({s.doc_id for c in prepared.contexts for s in c.shown})})
        drafts: list[str] = []
        sentences: list[AnswerSentence] = []
        index = CitationIndex()
        t = time.perf_counter()
        for part, context in enumerate(prepared.contexts):
            lead = "\n\n" if part and any(d.strip() for d in drafts) else ""
            draft = yield from self._draft(prepared.standalone, context, lead, started, timings)
            drafts.append(draft)
            t_verify = time.perf_counter()
            sentences += verify(draft, context.candidates, prepared.standalone, self.retriever.is_common, index,
                                self.retriever)  # fmt: skip
            timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t_verify
        timings["generation_s"] = time.perf_counter() - t - timings.get("verify_s", 0.0)
        timings.setdefault("first_token_s", timings["generation_s"])
        timings["total_s"] = time.perf_counter() - started
        citations = index.citations
        if not any(s.supported for s in sentences) or not on_topic(prepared.standalone, citations):
            text, abstained, citations = ABSTAIN_TEXT, True, []
        else:
            text, abstained = compose(sentences, citations), False
        yield Final(Answer(answer=text, abstained=abstained, citations=citations, sentences=sentences,
                           timings=timings, draft="\n\n".join(drafts), **prepared.base))  # fmt: skip

    def _prepare(self, question: str, history: History, filters: Filters | None, timings: dict) -> _Prepared:
        t = time.perf_counter()
        standalone = standalone_question(question, history, self.llm)
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
        return _Prepared(standalone, contexts, base)

    def _draft(self, question: str, context: Context, lead: str, started: float, timings: dict):
        """Generate one context's draft, yielding what the stream guard lets users see;
        returns the whole draft."""
        draft = ""
        hold, suppressed = True, False
        guard = StreamGuard(context.text, self.settings.stream_min_coverage, self.settings.stream_lead_words)
        for token in self._generate(question, context):
            timings.setdefault("first_token_s", time.perf_counter() - started)
            draft += token
            if suppressed:
                continue
            if hold:
                # the first characters are held back so an abstention ("NOT FOUND") is never streamed
                if len(draft) < 12 and not draft.endswith((".", "\n")):
                    continue
                hold = False
                if is_abstention(draft):
                    suppressed = True
                    continue
                token = draft
            shown = guard.feed(token)
            if shown:
                timings.setdefault("first_shown_s", time.perf_counter() - started)
                yield Token(lead + shown)
                lead = ""
        if not suppressed and not is_abstention(draft):
            shown = (guard.feed(draft) if hold else "") + guard.flush()
            if shown.strip():
                timings.setdefault("first_shown_s", time.perf_counter() - started)
                yield Token(lead + shown)
        return draft

    def _generate(self, question: str, context: Context) -> Iterator[str]:
        """Raw tokens of the model (LCEL: prompt | chat model | string parser)."""
        chain = self._prompt | self.llm | self._parser
        try:
            yield from chain.stream({"context": context.text, "question": question})
        except NewsragError:
            raise
        except Exception as exc:  # connection errors, timeouts, server errors of remote backends
            raise BackendError(f"The language model failed: {exc}") from exc
