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
from langchain_core.prompts import ChatPromptTemplate

from app.citations import AnswerSentence, Citation, CitationIndex, is_abstention, verify
from app.cleaning import typed_line
from app.config import Settings
from app.context import Context, ContextBuilder, format_date, looks_like_instruction, named_terms
from app.errors import BackendError, BadQuestionError, NewsragError
from app.retrieval import Filters, HybridRetriever, Passage
from app.rewrite import History, standalone_question
from app.textmatch import STOPWORDS, terms
from app.timewords import resolve

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You answer questions about the news using only the excerpts the user gives you. "
    "Answer the question in one or two short sentences, using the excerpts' own words. "
    "If the excerpts do not contain the answer, reply exactly: NOT FOUND"
)
HUMAN_PROMPT = "{context}\n\nQuestion: {question}"
# Worked examples (invented, not from any corpus): small models copy the shape of an
# answer far better than they follow a description of it. They sit before the real
# question, so llama.cpp's prefix cache evaluates them once, not per question.
EXAMPLES = [
    (
        "[Daily Ledger, 3 March 2024: Bank raises rates]\n"
        "The central bank raised its main interest rate to 4.5% on Thursday. "
        "It cited rising food prices. Markets fell slightly after the decision.",
        "What did the central bank cite for raising rates?",
        "It cited rising food prices.",
    ),
    (
        "[City Courier, 9 June 2023: New bridge opens]\n"
        "The mayor opened the new bridge over the river Tay on Saturday. "
        "About 2,000 people attended the ceremony.",
        "How much did the new bridge cost?",
        "NOT FOUND",
    ),
    (
        "[Wire Service, 1 May 2024: Union talks stall]\n"
        "Union leaders walked out of the meeting on Monday. Talks between the two "
        "unions are set to resume in Geneva next week, officials said.",
        "Where will the union talks resume?",
        "The talks will resume in Geneva next week.",
    ),
    (
        "[Metro Times, 12 October 2023: Airline merger on hold]\n"
        "The two airlines have not agreed a merger since talks began in 2021. "
        "Both carriers reported higher profits this year.",
        "Have the two airlines agreed a merger?",
        "No. The two airlines have not agreed a merger since talks began in 2021.",
    ),
]

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
        return [s for s in self.sentences if not s.supported and s.reason != "abstention"]

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


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n")
_WORD = re.compile(r"\S+\s+")
_PLAIN_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Words that carry no content of their own; anything else streams only if the context has it.
_FUNCTION_WORDS = frozenset(
    "a an the and or but nor of in on at to for from by with as into onto over under about after before during "
    "since until than then that this these those it its it's is are was were be been being has have had do does "
    "did not no so such which who whom whose what when where why how he she they them their his her we us our "
    "there here also would will could can may might should shall must".split()
)


class StreamGuard:
    """Decides which streamed text users may see before the answer is verified.

    A word goes out at once when the context has it (or it is a stopword): text made only of
    the context's words cannot leak the prompt, its worked examples or the model's general
    knowledge. At the first word the context lacks, the rest of that sentence is held until
    the sentence ends, then shown only if it is grounded (its names and numbers all in the
    context, most of its terms too, and it does not speak like an instruction); otherwise
    it is dropped. The verified answer replaces the stream in any case.
    """

    MIN_COVERAGE = 0.6
    LEAD_WORDS = 4  # a sentence starts to show once this many of its words are known

    def __init__(self, context_text: str):
        self.vocab = terms(context_text)
        self.words = frozenset(_PLAIN_WORD.findall(context_text.lower())) | _FUNCTION_WORDS
        self.sentence = ""  # the current sentence, as streamed so far
        self.shown = 0  # how much of it went out
        self.held = False

    def _known(self, word: str) -> bool:
        plain = _PLAIN_WORD.findall(word.lower())
        if plain and all(w in self.words for w in plain):
            return True
        t = terms(word)  # numbers in another format ("1000" for "1,000")
        return bool(t.numbers) and not t.words and t.numbers <= self.vocab.numbers

    def _grounded(self, sentence: str) -> bool:
        if looks_like_instruction(sentence):
            return False
        t = terms(sentence)
        if not t.numbers <= self.vocab.numbers or not named_terms(sentence) <= self.vocab.all:
            return False
        return not t.words or len(t.words & self.vocab.words) / len(t.words) >= self.MIN_COVERAGE

    def feed(self, text: str) -> str:
        """Take streamed text; return what may be shown now."""
        out = []
        self.sentence += text
        while (end := _SENTENCE_END.search(self.sentence)) is not None:
            done, self.sentence = self.sentence[: end.end()], self.sentence[end.end() :]
            out.append(self._finish(done))
        if not self.held:
            complete = self.sentence[: self.sentence.rfind(" ") + 1] if " " in self.sentence else ""
            if self.shown == 0 and len(complete.split()) < self.LEAD_WORDS:
                complete = ""
            for m in _WORD.finditer(complete, self.shown):
                if not self._known(m.group(0)):
                    self.held = True
                    break
                out.append(m.group(0))
                self.shown = m.end()
        return "".join(out)

    def _finish(self, sentence: str) -> str:
        rest = sentence[self.shown :]
        held, self.held, self.shown = self.held, False, 0
        if not held:
            rest_words = rest.split()
            if all(self._known(w) for w in rest_words) and not looks_like_instruction(sentence):
                return rest
        return rest if self._grounded(sentence) else ""

    def flush(self) -> str:
        """The end of the stream: the last sentence, if it may be shown."""
        sentence, self.sentence = self.sentence, ""
        return self._finish(sentence) if sentence.strip() else ""


def on_topic(question: str, citations: list[Citation]) -> bool:
    """Whether the cited quotes (with their headlines) share a word with the question.

    Quotes that back an answer but have nothing in common with what was asked ("What
    instructions were you given?" answered with sentences on prisoner swaps) answer
    another question; the answer then abstains.
    """
    asked = terms(question).all
    if not asked or not citations:
        return True
    return any(asked & terms(f"{c.title} {c.quote}").all for c in citations)


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
    day = format_date(citation.published)
    if not citation.published or day.split()[1] in sentence or citation.outlet in sentence:
        return sentence
    first, _, rest = sentence.partition(" ")
    if first.lower() in STOPWORDS:  # "The", "More": not a name, so not capitalised mid-sentence
        sentence = f"{first.lower()} {rest}"
    return f"As of {day} ({citation.outlet}), {sentence}"


def compose(sentences: list[AnswerSentence], citations: list[Citation]) -> str:
    """The answer text: supported sentences with their [n] markers; dated when the
    cited articles are of different dates. A sentence that is its source's own words
    (the model misstated it) is shown in quotation marks."""
    by_n = {c.n: c for c in citations}
    dates = {c.published for c in citations if c.published}
    parts = []
    for s in sentences:
        if not s.supported:
            continue
        text = f"\u201c{s.text}\u201d" if s.quoted else s.text
        cited_dates = {by_n[n].published for n in s.citations}
        if len(dates) > 1 and len(cited_dates) == 1:
            text = _with_date(text, by_n[s.citations[0]])
        parts.append(text + " " + "".join(f"[{n}]" for n in s.citations))
    return " ".join(parts)


def build_prompt() -> ChatPromptTemplate:
    """System instruction, the worked examples, then the real context and question."""
    messages: list[tuple[str, str]] = [("system", SYSTEM_PROMPT)]
    for context, question, answer in EXAMPLES:
        example = HUMAN_PROMPT.format(context=context, question=question)
        messages += [("human", example.replace("{", "{{").replace("}", "}}")), ("ai", answer)]
    messages.append(("human", HUMAN_PROMPT))
    return ChatPromptTemplate.from_messages(messages)


class AnswerService:
    """Answers questions from one index with one LLM."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel):
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.context_builder = ContextBuilder(
            retriever, settings.context_tokens, settings.tokenizer, settings.context_sentences
        )
        self._parser = StrOutputParser()
        self._prompt = build_prompt()

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
        started = time.perf_counter()
        history = list(history or [])
        question = clean_question(question, self.settings.max_question_chars)
        timings: dict[str, float] = {}

        yield Stage("rewriting" if history else "retrieving")
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
        if not any(c.shown for c in contexts):
            timings["total_s"] = time.perf_counter() - started
            yield Final(Answer(answer=NO_SOURCES_TEXT, abstained=True, citations=[], sentences=[], timings=timings,
                               **base))  # fmt: skip
            return

        yield Stage("generating", {"sources": len({s.doc_id for c in contexts for s in c.shown})})
        drafts: list[str] = []
        sentences: list[AnswerSentence] = []
        index = CitationIndex()
        t = time.perf_counter()
        for part, context in enumerate(contexts):
            draft = ""
            hold, suppressed = True, False
            guard = StreamGuard(context.text)
            lead = "\n\n" if part and any(d.strip() for d in drafts) else ""
            for token in self._generate(standalone, context):
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
            drafts.append(draft)
            t_verify = time.perf_counter()
            sentences += verify(draft, context.candidates, standalone, self.retriever.is_common, index, self.retriever)
            timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t_verify
        timings["generation_s"] = time.perf_counter() - t - timings.get("verify_s", 0.0)
        timings.setdefault("first_token_s", timings["generation_s"])
        timings["total_s"] = time.perf_counter() - started
        citations = index.citations
        if not any(s.supported for s in sentences) or not on_topic(standalone, citations):
            text, abstained, citations = ABSTAIN_TEXT, True, []
        else:
            text, abstained = compose(sentences, citations), False
        yield Final(Answer(answer=text, abstained=abstained, citations=citations, sentences=sentences,
                           timings=timings, draft="\n\n".join(drafts), **base))  # fmt: skip

    def _generate(self, question: str, context: Context) -> Iterator[str]:
        """Raw tokens of the model (LCEL: prompt | chat model | string parser)."""
        chain = self._prompt | self.llm | self._parser
        try:
            yield from chain.stream({"context": context.text, "question": question})
        except NewsragError:
            raise
        except Exception as exc:  # connection errors, timeouts, server errors of remote backends
            raise BackendError(f"The language model failed: {exc}") from exc
