"""The span reader: the model picks which numbered sentence answers the question, and the
words of it that do; code renders and checks the answer.

A 1.5B model picks well and paraphrases badly, so it is not asked to write the answer:
its reply is grammar-constrained JSON, ``{"sentence": n, "answer": "..."}`` with ``n``
one of the numbers shown (0 when none answers), and every word shown to the user comes
from the chosen sentence.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from app.llm.backends import json_reply_kwargs
from app.text.dates import format_date
from app.text.injection import looks_like_instruction, without_instructions
from app.verify.context import SourceSentence

READER_SYSTEM = (
    "You answer questions about the news from numbered sentences of news articles. "
    'Reply with JSON: {"sentence": N, "answer": "..."}. N is the number of the sentence that answers the '
    "question, even when it uses other words than the question; answer is the part of that sentence that "
    'answers it, copied word for word. If no sentence answers the question, reply {"sentence": 0, "answer": ""}.'
)
# Worked examples (invented, not from any corpus); they sit before the real question, so
# llama.cpp's prefix cache evaluates them once.
READER_EXAMPLES = [
    (
        'Daily Ledger, 3 March 2024: "Bank raises rates"\n'
        "[1] The central bank raised its main interest rate to 4.5% on Thursday.\n"
        "[2] It cited rising food prices.\n[3] Markets fell slightly after the decision.",
        "What did the central bank cite for raising rates?",
        {"sentence": 2, "answer": "rising food prices"},
    ),
    (
        'City Courier, 9 June 2023: "New bridge opens"\n'
        "[1] The mayor opened the new bridge over the river Tay on Saturday.\n"
        "[2] About 2,000 people attended the ceremony.",
        "How much did the new bridge cost?",
        {"sentence": 0, "answer": ""},
    ),
    (
        'Wire Service, 1 May 2024: "Union talks stall"\n'
        "[1] Union leaders walked out of the meeting on Monday.\n"
        "[2] Talks between the two unions are set to resume in Geneva next week, officials said.",
        "Where will the union talks resume?",
        {"sentence": 2, "answer": "Geneva"},
    ),
    (
        'Metro Times, 12 October 2023: "Club names new coach"\n'
        "[1] Rovers named Ana Ruiz as head coach on Friday.\n"
        "[2] Captain Tom Hale said the squad welcomed the decision.",
        "Who did Rovers appoint as captain?",
        {"sentence": 0, "answer": ""},
    ),
]


def reply_schema(n_sentences: int) -> dict:
    """The JSON schema the reply must follow (llama.cpp turns it into a grammar)."""
    return {
        "type": "object",
        "properties": {
            "sentence": {"type": "integer", "enum": list(range(n_sentences + 1))},
            "answer": {"type": "string"},
        },
        "required": ["sentence", "answer"],
    }


def display_order(sentences: list[SourceSentence]) -> list[SourceSentence]:
    """The order the model reads them in: by article (oldest first), then by position. The
    numbers it is shown run 1, 2, 3 ... in this order (a small model counts, it does not
    look numbers up)."""
    return sorted(sentences, key=lambda s: (s.published or "9999", s.doc_id, s.start))


def numbered_context(sentences: list[SourceSentence]) -> str:
    """The sentences (in ``display_order``) grouped by article, each article under its
    outlet, date and headline, each sentence under its number (1-based)."""
    blocks: OrderedDict[str, list[str]] = OrderedDict()
    for i, s in enumerate(sentences, start=1):
        head = f'{s.outlet}, {format_date(s.published)}: "{without_instructions(s.title)}"'
        blocks.setdefault(f"{s.doc_id}\0{head}", []).append(f"[{i}] {s.text}")
    return "\n\n".join(key.split("\0", 1)[1] + "\n" + "\n".join(lines) for key, lines in blocks.items())


def reader_messages(question: str, sentences: list[SourceSentence]) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage(READER_SYSTEM)]
    for context, asked, reply in READER_EXAMPLES:
        messages += [HumanMessage(f"{context}\n\nQuestion: {asked}"), AIMessage(json.dumps(reply))]
    messages.append(HumanMessage(f"{numbered_context(sentences)}\n\nQuestion: {question}"))
    return messages


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
    """Asks the model for a pick (streamed: the answer words show as they come), checks it,
    and returns the answer sentence: the picked words of the sentence, cited, or why not."""

    def __init__(self, settings, retriever, llm, nlp, decider, idf):
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.nlp = nlp
        self.decider = decider
        self.idf = idf

    def warm_up(self) -> None:
        from app.verify.context import SourceSentence as S

        shown = [S("warm/up", 0, 20, "The service started.", "Start-up", "Newsrag", "2025-01-01", 0)]
        for _token in self._generate(reader_messages("Did the service start?", shown), 1):
            pass

    def read(self, question: str, frame, context, index, lead: str, started: float, timings: dict):
        """Yield the answer words as Tokens while the model writes; return (reply, sentences)."""
        from app.services.answer_types import Token
        from app.services.stream_guard import StreamGuard

        shown = display_order(list(context.shown))
        guard = StreamGuard(context.text, self.settings.stream_min_coverage, self.settings.stream_lead_words)
        words = AnswerStream()
        reply = ""
        chunks: list[tuple[str, dict]] = []
        for token, meta in self._generate(reader_messages(question, shown), len(shown)):
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
            computed = self._compute(question, frame, shown)
            if computed is not None:
                return reply, [computed_sentence(computed, index)]
        t = time.perf_counter()
        pick = parse_pick(reply, len(shown))
        results = self._check(frame, shown, list(context.candidates), pick, number_distribution(chunks))
        timings["verify_s"] = timings.get("verify_s", 0.0) + time.perf_counter() - t
        return reply, [answer_sentence(r, frame, pick if i == 0 else None, index) for i, r in enumerate(results)]

    def _check(self, frame, shown, candidates, pick: Pick, numbers: dict[int, float]) -> list:
        """The model's pick and the typed spans of the best sentences, each judged; only the
        likeliest accepted one stays accepted (one answer per context)."""
        from app.verify.answer_check import Checked, Context, check_pick, judge_candidate, typed_candidates

        chosen = shown[pick.sentence - 1] if pick.sentence else None
        # no log-probabilities from the backend: the model is taken to be sure of its pick
        probs = {(s.doc_id, s.start): numbers.get(i, 0.0) for i, s in enumerate(shown, 1)}
        if not numbers and chosen is not None:
            probs = {(chosen.doc_id, chosen.start): 1.0}
        p_none = numbers.get(0, 0.0) if numbers else float(chosen is None)
        pool = None
        if self.settings.typed_candidates_from == "retrieved":
            pool = [s for s in candidates if not looks_like_instruction(s.text)]
        ctx = Context(frame, self.nlp, shown, self.retriever.article_text, self.idf, self.decider, chosen is None,
                      chosen, probs, p_none, pool)  # fmt: skip
        first = check_pick(ctx, chosen, pick.answer)
        results = [first]
        if self.settings.typed_candidates:
            for candidate, doc in typed_candidates(ctx, self.settings.typed_candidates, first.candidate):
                results.append(judge_candidate(ctx, candidate, doc, by_model=False))
        accepted = [r for r in results if r.accepted]
        if len(accepted) > 1:
            best = max(accepted, key=lambda r: r.probability)
            results = [r if r is best or not r.accepted else Checked(r.candidate, False, r.probability, r.values,
                       "a likelier answer was chosen", "outranked") for r in results]  # fmt: skip
        return results

    def _compute(self, question: str, frame, shown):
        """The numbers of a sum, difference or span, named by the model and computed in code."""
        from app.verify.arithmetic import ARITHMETIC_EXAMPLE, ARITHMETIC_SYSTEM, compute, items_schema, parse_items

        context, asked, reply = ARITHMETIC_EXAMPLE
        messages = [SystemMessage(ARITHMETIC_SYSTEM), HumanMessage(f"{context}\n\nQuestion: {asked}"),
                    AIMessage(json.dumps(reply)),
                    HumanMessage(f"{numbered_context(shown)}\n\nQuestion: {question}")]  # fmt: skip
        kwargs = json_reply_kwargs(self.llm, items_schema(len(shown)), self.settings.openai_json_mode)
        raw = "".join(str(c.content) for c in self.llm.stream(messages, **kwargs))
        return compute(frame.arithmetic, parse_items(raw), shown, frame.head, self.nlp)

    def _generate(self, messages, n_sentences: int):
        from app.errors import BackendError, NewsragError

        try:
            kwargs = json_reply_kwargs(self.llm, reply_schema(n_sentences), self.settings.openai_json_mode)
            for chunk in self.llm.stream(messages, **kwargs):
                yield str(chunk.content), dict(getattr(chunk, "response_metadata", {}) or {})
        except NewsragError:
            raise
        except Exception as exc:  # connection errors, timeouts, server errors of remote backends
            raise BackendError(f"The language model failed: {exc}") from exc


def answer_sentence(checked, frame, pick: Pick | None, index):
    """The answer sentence of a checked pick: its words (or its whole sentence, quoted, for a
    why/how/yes-no question or a span of most of it), cited; or the reason it is not shown."""
    from app.verify.cited import AnswerSentence, Reason

    candidate = checked.candidate
    shown, quoted = "", False
    if candidate is not None:
        whole = (candidate.end - candidate.start) >= 0.6 * len(candidate.sentence.text)
        quoted = frame.open or whole
        shown = candidate.sentence.text if quoted else candidate.text
    if not checked.accepted:
        code = {"no_pick": Reason.NO_PICK, "not_in_sentence": Reason.NOT_IN_SENTENCE, "vacuous": Reason.VACUOUS,
                "instruction": Reason.INSTRUCTION, "outranked": Reason.OUTRANKED,
                "off_type": Reason.OFF_TYPE}.get(checked.code, Reason.REJECTED)  # fmt: skip
        text = (pick.answer if pick else "") or (candidate.text if candidate else "(no sentence chosen)")
        source = candidate.sentence.as_quote() if candidate is not None else None
        return AnswerSentence(text, False, coverage=checked.probability, reason=checked.reason, code=code,
                              features=checked.values, shown=shown, source=source)  # fmt: skip
    code = Reason.QUOTED if quoted else Reason.SUPPORTED
    return AnswerSentence(shown, True, [index.number(candidate.sentence)], checked.probability, quoted=quoted,
                          code=code, features=checked.values, shown=shown)  # fmt: skip


def computed_sentence(computed, index):
    """The answer sentence of a computation: the calculation, citing every number's sentence."""
    from app.verify.cited import AnswerSentence, Reason

    numbers = list(dict.fromkeys(index.number(o.sentence) for o in computed.operands))
    return AnswerSentence(computed.text(), True, numbers, 1.0, code=Reason.COMPUTED, shown=computed.text())
