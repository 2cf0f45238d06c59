"""Claim check: which indexed passages support a claim, and which contradict or qualify it.

A claim is retrieved like a question (hybrid retrieval, with the outlet/date filters),
the retrieved chunks are split into their sentences (the same citable sentences as the
answer chain: no headings, nothing that speaks to an AI), and each sentence is judged
in code against the claim (app/claims/judge.py). The verdict is ``supported``,
``contradicted``, ``mixed`` (sources disagree: both kinds found, typically articles of
different dates) or ``not_found``. Every passage quote is the exact article text at its
offsets (``article[start:end] == quote``).

Each reason is a sentence a reader can check against the quote: the outlet and date, then
what the passage says ("Wire A, 22 April 2025, says the two sides have *not* held talks
since 2022.", "..., speaks of the talks but gives no date."). A verdict holds as of the
newest date among the passages that decide it (``as_of``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal

from app.answer.context import ContextBuilder, SourceSentence
from app.claims.judge import (
    Finding,
    Relation,
    analyse,
    counted,
    date_numbers,
    decide,
    differences,
    judge,
    number_conflict,
)
from app.claims.predicates import main_clause_negated, match_predicate
from app.config import Settings
from app.domain import Filters, Quote
from app.errors import BadQuestionError
from app.index.retrieval import HybridRetriever
from app.text.cleaning import typed_line
from app.text.dates import format_date
from app.text.nlp import shared_nlp
from app.text.textmatch import terms

Verdict = Literal["supported", "contradicted", "mixed", "not_found"]

MAX_PER_KIND = 5
MIN_RETRIEVED = 8

VERDICT_LABELS = {
    "supported": "Supported",
    "contradicted": "Contradicted",
    "mixed": "Sources disagree",
    "not_found": "Not found in the corpus",
}


@dataclass
class ClaimPassage:
    """One sentence of an article and how it bears on the claim."""

    relation: Relation
    reason: str
    quote: Quote
    coverage: float
    similarity: float
    score: float
    basis: str = "words"  # what decided it: words, number, negation, antonym, name, predicate, subject

    def as_dict(self) -> dict:
        return {
            "relation": self.relation,
            "reason": self.reason,
            "basis": self.basis,
            **self.quote.as_dict(),
            "coverage": round(self.coverage, 3),
            "similarity": round(self.similarity, 4),
            "score": round(self.score, 4),
        }

    def one_line(self) -> str:
        return self.quote.one_line()


@dataclass
class ClaimReport:
    claim: str
    verdict: Verdict
    summary: str
    supporting: list[ClaimPassage] = field(default_factory=list)
    contradicting: list[ClaimPassage] = field(default_factory=list)
    qualifying: list[ClaimPassage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    as_of: str | None = None  # ISO date of the newest passage that decides the verdict (None when not found)

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]

    def as_dict(self) -> dict:
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "label": self.label,
            "summary": self.summary,
            "as_of": self.as_of,
            "supporting": [p.as_dict() for p in self.supporting],
            "contradicting": [p.as_dict() for p in self.contradicting],
            "qualifying": [p.as_dict() for p in self.qualifying],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


# --- the service --------------------------------------------------------------------


def clean_claim(claim: object, max_chars: int) -> str:
    """The claim as one line of text, or BadQuestionError saying what is wrong with it."""
    if not isinstance(claim, str):
        raise BadQuestionError("The claim must be text.")
    text = typed_line(claim)
    if not text:
        raise BadQuestionError("The claim is empty. Paste a sentence to check against the articles.")
    if len(text) > max_chars:
        raise BadQuestionError(f"The claim is {len(text):,} characters long; the limit is {max_chars:,}.")
    if not terms(text).all:
        raise BadQuestionError("The claim has no words to check. Paste a sentence that states something.")
    return text


def _where(p: ClaimPassage) -> str:
    return f"{p.quote.outlet}, {format_date(p.quote.published)}"


def reason_sentence(outlet: str, published: str, says: str) -> str:
    """'Wire A, 22 April 2025, gives 500 prisoners, not 700.' (the outlet and date, then what it says)."""
    where = f"{outlet}, {format_date(published)}," if published else outlet
    return f"{where} {says}".rstrip(" .") + "."


def deciding_date(verdict: Verdict, supporting: list[ClaimPassage], contradicting: list[ClaimPassage]) -> str | None:
    """The newest date among the passages that decide the verdict (None when nothing does)."""
    deciding = {"supported": supporting, "contradicted": contradicting, "mixed": supporting + contradicting}
    dates = [p.quote.published for p in deciding.get(verdict, []) if p.quote.published]
    return max(dates, default=None)


def _newest(items: list[ClaimPassage]) -> ClaimPassage:
    return max(items, key=lambda p: p.quote.published or "")  # the first of the newest (items are ranked)


def summarise(
    verdict: Verdict,
    supporting: list[ClaimPassage],
    contradicting: list[ClaimPassage],
    qualifying: list[ClaimPassage],
    as_of: str | None = None,
) -> str:
    """The verdict in a few sentences: its label, the date it holds as of, and who says what."""

    def count(items: list[ClaimPassage], verb: str = "") -> str:
        one = len(items) == 1
        text = f"{len(items)} passage{'' if one else 's'}"
        return f"{text} {verb}{'s' if one else ''}" if verb else text

    def sources(items: list[ClaimPassage]) -> str:
        return "; ".join(dict.fromkeys(_where(p) for p in items))

    label = VERDICT_LABELS[verdict]
    if as_of and verdict != "not_found":
        label += f", as of {format_date(as_of)} (the newest passage that bears on it)"
    if verdict == "mixed":
        newest = _newest(supporting + contradicting)
        side = "supports" if newest in supporting else "contradicts"
        tie = {p.quote.published for p in supporting} & {p.quote.published for p in contradicting}
        latest = (
            "The newest passages are on both sides."
            if newest.quote.published in tie
            else f"The newest, {_where(newest)}, {side} it."
        )
        return (
            f"{label}: {count(supporting, 'support')} it ({sources(supporting)}) and "
            f"{count(contradicting, 'contradict')} it ({sources(contradicting)}). {latest}"
        )
    if verdict == "supported":
        return f"{label}: {count(supporting, 'say')} so ({sources(supporting)})."
    if verdict == "contradicted":
        first = _newest(contradicting)
        return f"{label}: {count(contradicting, 'say')} otherwise ({sources(contradicting)}). {first.reason}"
    one = len(qualifying) == 1
    extra = f" {len(qualifying)} related passage{'' if one else 's'} qualif{'ies' if one else 'y'} it."
    return "Not found in the corpus: no indexed passage states this." + (extra if qualifying else "")


class ClaimChecker:
    """Checks a pasted claim against the indexed articles (no LLM needed)."""

    def __init__(self, retriever: HybridRetriever, settings: Settings):
        self.retriever = retriever
        self.settings = settings
        self.nlp = shared_nlp(settings.nlp_model)
        self.builder = ContextBuilder(retriever, settings)

    def check(self, claim: str, filters: Filters | None = None) -> ClaimReport:
        started = time.perf_counter()
        text = clean_claim(claim, self.settings.max_question_chars)
        self.retriever.refresh()
        result = self.retriever.search(
            text,
            k=max(self.settings.retrieval_k, MIN_RETRIEVED),
            filters=filters,
            mode=self.settings.retrieval_mode,
            candidates=self.settings.retrieval_candidates,
            refresh=False,
        )
        t = time.perf_counter()
        sentences, _suppressed = self.builder.candidates(result.passages)
        has_vectors = result.query_vector is not None
        self.builder.embed(sentences, result.query_vector)
        found = self._judge_all(text, sentences, has_vectors)
        for items in found.values():
            items.sort(key=lambda p: (-p.score, p.quote.published, p.quote.doc_id, p.quote.start))
            del items[MAX_PER_KIND:]
        supporting, contradicting, qualifying = found["supports"], found["contradicts"], found["qualifies"]
        if supporting and contradicting:
            verdict: Verdict = "mixed"
        elif supporting:
            verdict = "supported"
        elif contradicting:
            verdict = "contradicted"
        else:
            verdict = "not_found"
        as_of = deciding_date(verdict, supporting, contradicting)
        timings = dict(result.timings)
        timings["judge_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        return ClaimReport(
            claim=text,
            verdict=verdict,
            summary=summarise(verdict, supporting, contradicting, qualifying, as_of),
            supporting=supporting,
            contradicting=contradicting,
            qualifying=qualifying,
            timings=timings,
            as_of=as_of,
        )

    def _judge_all(self, text: str, sentences: list[SourceSentence], has_vectors: bool) -> dict:
        """Each sentence's relation to the claim: the word-level judgement (numbers, names,
        coverage), corrected by the parse (the claim's predicate said of its subject negated or
        with an antonym contradicts it; said of someone else it only qualifies it)."""
        claim_doc = self.nlp.parse(text)
        claim = replace(analyse(text), negated=main_clause_negated(claim_doc))
        docs = self.nlp.parse_many([s.text for s in sentences])
        dates = date_numbers(claim_doc)
        found: dict[Relation, list[ClaimPassage]] = {"supports": [], "contradicts": [], "qualifies": []}
        for s, doc in zip(sentences, docs, strict=True):
            # a negation counts where it denies the statement, not inside a condition or a relative clause
            statement = replace(analyse(s.text), negated=main_clause_negated(doc))
            words = judge(claim, statement, s.similarity if has_vectors else None)
            match = match_predicate(claim_doc, doc, self._before(s))
            decided = decide(claim, statement, words, match, dates)
            if decided is None:
                continue
            if decided.relation == "qualifies" and decided.basis != "subject":
                decided = decided._replace(reason=differences(claim, statement, claim_doc, doc))
            elif decided.basis == "number" and (conflict := number_conflict(claim, statement)):
                decided = decided._replace(reason=f"gives {counted(conflict[1], doc)}, not {conflict[0].surface}")
            found[decided.relation].append(self._passage(s, decided))
        return found

    def _before(self, s: SourceSentence) -> str:
        """The text just before a sentence: its paragraph so far and the paragraph (or heading)
        before it, where "they" or "the two countries" find what they refer to."""
        lines = [line for line in self.retriever.article_text(s.doc_id)[: s.start].split("\n") if line.strip()]
        return " ".join(lines[-2:])

    @staticmethod
    def _passage(s: SourceSentence, decided: Finding) -> ClaimPassage:
        reason = reason_sentence(s.outlet, s.published, decided.reason)
        score = decided.coverage + s.similarity
        return ClaimPassage(
            decided.relation, reason, s.as_quote(), decided.coverage, s.similarity, score, decided.basis
        )
