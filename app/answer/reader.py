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
from dataclasses import dataclass, replace
from functools import cache

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from app.answer.check.align import locate
from app.answer.check.arithmetic import compute, parse_items
from app.answer.check.decide import Decider
from app.answer.check.learned import LearnedChecker
from app.answer.check.shapes import (
    SentenceVerdict,
    adjacent,
    continues,
    follows,
    judge_sentences,
    names_asked_kind,
    polarity,
    stating,
    window,
)
from app.answer.check.verdicts import Checker, answer_sentence, computed_sentence
from app.answer.cited import AnswerSentence, CitationIndex, Reason
from app.answer.context import ANAPHOR, Context, SourceSentence
from app.answer.prompts import arithmetic_messages, display_order, items_schema, reader_messages, reply_schema
from app.answer.question import SENTENCE_SHAPES, QuestionFrame
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


def located(pick: Pick, shown: list) -> Pick:
    """The pick with its number set by its words: a small model miscounts the numbered
    sentences more often than it miscopies one, so when the words it copied (verbatim, as
    ``align.locate`` finds them) are not in the sentence it numbered but are in exactly one
    other shown sentence, that one is its pick."""

    def holds(sentence) -> bool:
        span = locate(pick.answer, sentence.text)
        return span is not None and span.exact

    if not pick.sentence or len(pick.answer.split()) < 2 or holds(shown[pick.sentence - 1]):
        return pick
    holding = [i for i, s in enumerate(shown, start=1) if holds(s)]
    return replace(pick, sentence=holding[0]) if len(holding) == 1 else pick


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


MAX_SENTENCES = 3  # most sentences quoted for a statement, reason, list or yes/no


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


def _quoted_sentence(verdict: SentenceVerdict, index: CitationIndex) -> AnswerSentence:
    """The answer sentence of a checked whole sentence: quoted and cited, or why not."""
    s, features = verdict.sentence, {"subject_share": verdict.share}
    if not verdict.accepted:
        quote = s.as_quote()
        return AnswerSentence(
            s.text, False, [], verdict.share, verdict.reason, code=verdict.code, features=features, source=quote
        )
    return AnswerSentence(
        s.text,
        True,
        [index.number(s)],
        verdict.share,
        quoted=True,
        code=Reason.QUOTED,
        features=features,
        shown=s.text,
        source=s.as_quote(),
        lead=verdict.lead,
    )


def passages(verdicts: list[SentenceVerdict], checker: Checker) -> list[SentenceVerdict]:
    """Accepted sentences next to each other in one article joined into one quote (its exact
    text, one citation), in the article's order; the others as they are."""
    accepted = sorted((v for v in verdicts if v.accepted), key=lambda v: (v.sentence.doc_id, v.sentence.start))
    groups: list[list[SentenceVerdict]] = []
    for v in accepted:
        last = groups[-1][-1].sentence if groups else None
        if last is not None and follows(last, v.sentence):
            groups[-1].append(v)
        else:
            groups.append([v])
    order = {id(v): i for i, v in enumerate(verdicts)}
    # the passage holding most of the question's subject first, then the model's order
    groups.sort(key=lambda g: (-max(v.share for v in g), min(order[id(v)] for v in g)))
    out = []
    for group in groups:
        head, tail = group[0].sentence, group[-1].sentence
        if len(group) == 1:
            out.append(group[0])
            continue
        text = checker.article_text(head.doc_id)[head.start : tail.end]
        joined = replace(head, end=tail.end, text=text, score=max(v.sentence.score for v in group))
        lead = next((v.lead for v in group if v.lead), "")
        out.append(SentenceVerdict(joined, True, max(v.share for v in group), lead=lead))
    return out + [v for v in verdicts if not v.accepted]


class SpanReader:
    """Asks the model for a pick (streamed: the answer words show as they come), has it
    checked, and returns the answer sentences: the picked words, cited, or why not."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        llm: BaseChatModel,
        nlp: Nlp,
        decider: Decider,
        learned: LearnedChecker | None = None,
    ):
        self.settings = settings
        self.llm = llm
        self.nlp = nlp
        self.checker = Checker(settings, nlp, retriever.article_text, retriever.idf, decider, learned)

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
        if frame.shape in SENTENCE_SHAPES:
            return self._read_sentences(frame, shown, index, started, timings)
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
        second = self._second_reading(frame, shown, timings)
        results = self.checker.judge(frame, shown, list(context.candidates), chosen, pick.answer, numbers, second)
        timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t
        return reply, self._sentences(results, frame, pick, index)

    def _second_reading(self, frame: QuestionFrame, shown: list[SourceSentence], timings: dict):
        """The words the model picks when the same sentences are shown in reverse order (another
        numbering, the last article first), asked once, when a check first needs them."""

        @cache
        def read_again() -> str:
            t = time.perf_counter()
            again = list(reversed(shown))
            reply = "".join(token for token, _ in self._generate(reader_messages(frame.text, again), len(again)))
            timings["second_reading_s"] = round(time.perf_counter() - t, 4)
            return parse_pick(reply, len(again)).answer

        return read_again

    def _read_sentences(
        self, frame: QuestionFrame, shown: list[SourceSentence], index: CitationIndex, started: float, timings: dict
    ) -> tuple[str, list[AnswerSentence]]:
        """A statement, reason, list or yes/no: the model picks as for a span (the same prompt,
        so llama.cpp's cached prefix serves both), nothing streams (its words are a fragment,
        not the answer), and the sentence it picked is quoted whole, with the others it gave
        ``sentence_also_probability`` (a list's other items), each checked."""
        reply, chunks = "", []
        for token, meta in self._generate(reader_messages(frame.text, shown), len(shown)):
            timings.setdefault("first_token_s", time.perf_counter() - started)
            reply += token
            chunks.append((token, meta))
        t = time.perf_counter()
        written = parse_pick(reply, len(shown))
        pick = located(written, shown)  # a miscounted number is not another item of a list either
        distribution = number_distribution(chunks)
        also = self.settings.sentence_also_probability
        likely = sorted(distribution.items(), key=lambda kv: -kv[1])
        skip = (0, pick.sentence, written.sentence)
        numbers = [pick.sentence] + [n for n, p in likely if n not in skip and p >= also]
        chosen = [shown[n - 1] for n in numbers[:MAX_SENTENCES] if 0 < n <= len(shown)] if pick.sentence else []
        if frame.shape == "yesno":  # a sentence that states the asked predicate, negated or not, says yes or no
            stated = stating(frame, shown, self.nlp)
            if stated is not None and not any(polarity(frame, self.nlp.parse(c.text)) for c in chosen[:1]):
                chosen = [stated] + [c for c in chosen if c is not stated]
        if not chosen:
            none = AnswerSentence("(no sentence chosen)", False, reason="no sentence answers", code=Reason.NO_PICK)
            return reply, [none]
        verdicts, sure, learned = self._judge_shaped(frame, shown, chosen, pick, distribution)
        timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t
        # what the fit of the thresholds reads besides the share (eval.fit_shapes)
        probability = {id(s): distribution.get(i, 0.0) for i, s in enumerate(shown, 1)}
        out = []
        for v in verdicts:
            answer = _quoted_sentence(v, index)
            answer.features.update(
                similarity=v.sentence.similarity,
                p_pick=probability.get(id(v.sentence), 0.0),
                answer_model=sure,
                checker=learned,
            )
            out.append(answer)
        return reply, out

    def _judge_shaped(
        self, frame: QuestionFrame, shown: list[SourceSentence], chosen: list[SourceSentence], pick: Pick, numbers
    ) -> tuple[list[SentenceVerdict], float, float]:
        """The checks of the chosen sentences (check/shapes.py), the fitted answer model's
        probability for the model's pick as a span, and the learned checker's for the first
        chosen sentence: when the first is at least ``sentence_sure_probability`` or the second
        at least ``sentence_checker_probability``, the pick's sentences need not hold
        ``sentence_min_subject`` of the question's subject (only some of it)."""
        sure = 0.0
        if pick.sentence:
            sure = self.checker.judge(frame, shown, [], shown[pick.sentence - 1], pick.answer, numbers)[0].probability
        learned = self.checker.learned_score(frame.text, chosen[0].text)
        least = self.settings.sentence_min_subject
        trusted = (
            sure >= self.settings.sentence_sure_probability or learned >= self.settings.sentence_checker_probability
        )
        first = 0.0 if trusted else least  # only the pick is trusted
        idf = self.checker.idf
        text = self.checker.article_text
        verdicts = judge_sentences(frame, chosen, shown, self.nlp, idf, least, first, text)
        if not any(v.accepted for v in verdicts):  # the right passage, the wrong sentence: its neighbours
            near = [n for n in (adjacent(chosen[0], shown, 1), adjacent(chosen[0], shown, -1)) if n is not None]
            rescued = [v for v in judge_sentences(frame, near, shown, self.nlp, idf, least, None, text) if v.accepted]
            verdicts = rescued[:1] + verdicts
        if frame.shape != "yesno":
            verdicts = passages(window(frame, verdicts, shown, self.nlp, idf, least), self.checker)
        if frame.shape == "list":  # "which cities": a sentence that names none ("four cities") is no list
            verdicts = names_asked_kind(frame, verdicts, self.nlp)
        if not any(v.accepted for v in verdicts):  # the closest quote, hedged, reads on to what it leads to
            verdicts = [self._run_on(v, shown) if v.sentence is chosen[0] else v for v in verdicts]
        return verdicts, sure, learned

    def _run_on(self, verdict: SentenceVerdict, shown: list[SourceSentence]) -> SentenceVerdict:
        """A turned-down pick joined with the shown sentence after it when that one points back
        to it ("Those efforts collapsed ..."), so the closest quote says what it leads to."""
        s = verdict.sentence
        after = adjacent(s, shown, 1)
        if after is None or not (ANAPHOR.match(after.text) or continues(self.nlp.parse(after.text))):
            return verdict
        text = self.checker.article_text(s.doc_id)[s.start : after.end]
        return replace(verdict, sentence=replace(s, end=after.end, text=text))

    @staticmethod
    def _sentences(results: list, frame: QuestionFrame, pick: Pick, index: CitationIndex) -> list[AnswerSentence]:
        """The answer sentence of each verdict; the model's words go with the first (its pick)."""
        return [answer_sentence(r, frame, pick.answer if i == 0 else None, index) for i, r in enumerate(results)]

    def _compute(self, frame: QuestionFrame, shown: list[SourceSentence]):
        """The numbers of a sum, difference or span, named by the model and computed in code."""
        kwargs = json_reply_kwargs(self.llm, items_schema(len(shown)))
        raw = "".join(str(c.content) for c in self.llm.stream(arithmetic_messages(frame.text, shown), **kwargs))
        return compute(frame.arithmetic, parse_items(raw), shown, frame.head, self.nlp)

    def _generate(
        self, messages: list[BaseMessage], n_sentences: int, schema: dict | None = None
    ) -> Iterator[tuple[str, dict]]:
        try:
            kwargs = json_reply_kwargs(self.llm, schema or reply_schema(n_sentences))
            for chunk in self.llm.stream(messages, **kwargs):
                yield str(chunk.content), dict(getattr(chunk, "response_metadata", {}) or {})
        except NewsragError:
            raise
        except Exception as exc:  # connection errors, timeouts, server errors of remote backends
            raise BackendError(f"The language model failed: {exc}") from exc
