"""The span reader: the model picks which numbered sentence answers the question, and the
words of it that do; code renders and checks the answer.

A 1.5B model picks well and paraphrases badly, so it is not asked to write the answer:
its reply is grammar-constrained JSON, ``{"sentence": n, "answer": "..."}`` with ``n``
one of the numbers shown (0 when none answers), and every word shown to the user comes
from the chosen sentence. The reader streams the chosen words as they come (guarded: no word
the context lacks), then hands the pick to the checks (``check/``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from app.answer.check.arithmetic import compute, parse_items
from app.answer.check.decide import Decider
from app.answer.check.verdicts import Checker, answer_sentence, computed_sentence
from app.answer.cited import AnswerSentence, CitationIndex
from app.answer.context import Context, SourceSentence
from app.answer.prompts import arithmetic_messages, display_order, items_schema, reader_messages, reply_schema
from app.answer.question import QuestionFrame
from app.answer.reply import Token
from app.answer.stream_guard import StreamGuard
from app.config import Settings
from app.errors import BackendError, NewsragError
from app.index.retrieval import HybridRetriever
from app.llm.capabilities import json_reply_kwargs
from app.text.nlp import Nlp


@dataclass(frozen=True)
class Pick:
    """What the model chose: a sentence (1-based; 0 for none) and the words it copied."""

    sentence: int
    answer: str
    valid: bool = True  # the reply was JSON of the schema


_LOOSE = re.compile(r'"sentence"\s*:\s*(\d+)\s*,\s*"answer"\s*:\s*"((?:[^"\\]|\\.)*)', re.S)


def parse_pick(reply: str, n_sentences: int) -> Pick:
    """The model's choice from its reply; an unreadable reply is no choice."""
    try:
        data = json.loads(reply)
        sentence, answer = int(data["sentence"]), str(data.get("answer") or "")
    except (ValueError, TypeError, KeyError):
        match = _LOOSE.search(reply)
        if not match:
            return Pick(0, "", valid=False)
        sentence, answer = int(match.group(1)), match.group(2).replace('\\"', '"')
    if not 0 <= sentence <= n_sentences:
        return Pick(0, "", valid=False)
    return Pick(sentence, answer.strip())


def number_distribution(chunks: list[tuple[str, dict]], key: str = "sentence") -> dict[int, float]:
    """The model's probabilities for each sentence number, read from the log-probabilities of
    the token it wrote after ``"sentence":`` (its top alternatives included); {} when the
    backend gives none."""
    text = ""
    for content, meta in chunks:
        before = text
        text += content
        entries = ((meta or {}).get("logprobs") or {}).get("content") or []
        if not entries or not re.search(rf'"{key}"\s*:\s*$', before) or not content.strip().isdigit():
            continue
        out: dict[int, float] = {}
        for alt in entries[0].get("top_logprobs") or [entries[0]]:
            token = str(alt.get("token", "")).strip()
            if token.isdigit():
                out[int(token)] = out.get(int(token), 0.0) + math.exp(float(alt["logprob"]))
        return out
    return {}


class AnswerStream:
    """Picks the answer text out of a streamed JSON reply, as it arrives."""

    def __init__(self) -> None:
        self.raw = ""
        self.shown = 0

    def feed(self, token: str) -> str:
        """New characters of the "answer" value (unescaped) since the last call."""
        self.raw += token
        match = re.search(r'"answer"\s*:\s*"', self.raw)
        if not match:
            return ""
        body = self.raw[match.end() :]
        end = re.search(r'(?<!\\)"', body)
        value = body[: end.start()] if end else body.rstrip("\\")
        value = value.replace('\\"', '"').replace("\\n", " ")
        new, self.shown = value[self.shown :], len(value)
        return new


class SpanReader:
    """Asks the model for a pick (streamed: the answer words show as they come), has it
    checked, and returns the answer sentences: the picked words, cited, or why not."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel, nlp: Nlp, decider: Decider):
        self.settings = settings
        self.llm = llm
        self.nlp = nlp
        self.checker = Checker(settings, nlp, retriever.article_text, retriever.idf, decider)

    def warm_up(self) -> None:
        place = {"doc_id": "warm/up", "title": "Start-up", "outlet": "Newsrag", "published": "2025-01-01"}
        shown = [SourceSentence(**place, start=0, end=20, text="The service started.", passage_rank=0)]
        for _token in self._generate(reader_messages("Did the service start?", shown), 1):
            pass

    def read(
        self, frame: QuestionFrame, context: Context, index: CitationIndex, lead: str, started: float, timings: dict
    ) -> Iterator[Token]:
        """Yield the answer words as Tokens while the model writes; return (reply, sentences)."""
        shown = display_order(list(context.shown))
        guard = StreamGuard(context.text, self.settings.stream_min_coverage, self.settings.stream_lead_words)
        words = AnswerStream()
        reply = ""
        chunks: list[tuple[str, dict]] = []
        for token, meta in self._generate(reader_messages(frame.text, shown), len(shown)):
            timings.setdefault("first_token_s", time.perf_counter() - started)
            reply += token
            chunks.append((token, meta))
            visible = guard.feed(words.feed(token))
            if visible:
                timings.setdefault("first_shown_s", time.perf_counter() - started)
                yield Token(lead + visible)
                lead = ""
        tail = guard.flush()  # the reply is complete: its last grounded words go out before the check
        if tail:
            timings.setdefault("first_shown_s", time.perf_counter() - started)
            yield Token(lead + tail)
        if frame.arithmetic and self.settings.arithmetic:  # a computation asked for: one stated number is not it
            computed = self._compute(frame, shown)
            if computed is not None:
                return reply, [computed_sentence(computed, index)]
        t = time.perf_counter()
        pick = parse_pick(reply, len(shown))
        chosen = shown[pick.sentence - 1] if pick.sentence else None
        numbers = number_distribution(chunks)
        results = self.checker.judge(frame, shown, list(context.candidates), chosen, pick.answer, numbers)
        timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t
        return reply, self._sentences(results, frame, pick, index)

    @staticmethod
    def _sentences(results: list, frame: QuestionFrame, pick: Pick, index: CitationIndex) -> list[AnswerSentence]:
        """The answer sentence of each verdict; the model's words go with the first (its pick)."""
        return [answer_sentence(r, frame, pick.answer if i == 0 else None, index) for i, r in enumerate(results)]

    def _compute(self, frame: QuestionFrame, shown: list[SourceSentence]):
        """The numbers of a sum, difference or span, named by the model and computed in code."""
        kwargs = json_reply_kwargs(self.llm, items_schema(len(shown)))
        raw = "".join(str(c.content) for c in self.llm.stream(arithmetic_messages(frame.text, shown), **kwargs))
        return compute(frame.arithmetic, parse_items(raw), shown, frame.head, self.nlp)

    def _generate(self, messages: list[BaseMessage], n_sentences: int) -> Iterator[tuple[str, dict]]:
        try:
            kwargs = json_reply_kwargs(self.llm, reply_schema(n_sentences))
            for chunk in self.llm.stream(messages, **kwargs):
                yield str(chunk.content), dict(getattr(chunk, "response_metadata", {}) or {})
        except NewsragError:
            raise
        except Exception as exc:  # connection errors, timeouts, server errors of remote backends
            raise BackendError(f"The language model failed: {exc}") from exc
