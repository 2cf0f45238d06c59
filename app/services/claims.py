"""Claim check: which indexed passages support a claim, and which contradict or qualify it.

A claim is retrieved like a question (hybrid retrieval, with the outlet/date filters),
the retrieved chunks are split into their sentences (the same citable sentences as the
answer chain: no headings, nothing that speaks to an AI), and each sentence is judged
in code against the claim (app/verify/claims.py). The verdict is ``supported``,
``contradicted``, ``mixed`` (sources disagree: both kinds found, typically articles of
different dates) or ``not_found``. Every passage quote is the exact article text at its
offsets (``article[start:end] == quote``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from app.config import Settings
from app.domain import Filters, Quote
from app.errors import BadQuestionError
from app.index.retrieval import HybridRetriever
from app.text.cleaning import typed_line
from app.text.dates import format_date
from app.text.nlp import shared_nlp
from app.text.textmatch import terms
from app.verify.claims import Relation, analyse, judge, same_predicate
from app.verify.context import ContextBuilder, SourceSentence

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

    def as_dict(self) -> dict:
        return {
            "relation": self.relation,
            "reason": self.reason,
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

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]

    def as_dict(self) -> dict:
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "label": self.label,
            "summary": self.summary,
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


def summarise(
    verdict: Verdict, supporting: list[ClaimPassage], contradicting: list[ClaimPassage], qualifying: list[ClaimPassage]
) -> str:
    """The one-line verdict."""

    def count(items: list[ClaimPassage], verb: str = "") -> str:
        one = len(items) == 1
        text = f"{len(items)} passage{'' if one else 's'}"
        return f"{text} {verb}{'s' if one else ''}" if verb else text

    def sources(items: list[ClaimPassage]) -> str:
        return "; ".join(dict.fromkeys(_where(p) for p in items))

    if verdict == "mixed":
        return (
            f"Sources disagree: {count(supporting, 'support')} it ({sources(supporting)}) and "
            f"{count(contradicting, 'contradict')} it ({sources(contradicting)})."
        )
    if verdict == "supported":
        return f"Supported: {count(supporting, 'say')} so ({sources(supporting)})."
    if verdict == "contradicted":
        first = contradicting[0]
        where = sources(contradicting)
        return f"Contradicted: {count(contradicting, 'say')} otherwise ({where}); the first {first.reason}."
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
        timings = dict(result.timings)
        timings["judge_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        return ClaimReport(
            claim=text,
            verdict=verdict,
            summary=summarise(verdict, supporting, contradicting, qualifying),
            supporting=supporting,
            contradicting=contradicting,
            qualifying=qualifying,
            timings=timings,
        )

    def _judge_all(self, text: str, sentences: list[SourceSentence], has_vectors: bool) -> dict:
        """Each sentence's relation to the claim. Word-level judgement first (numbers, names,
        coverage); then the parse: the claim's predicate said of its subject with the opposite
        polarity is a contradiction, whatever the words around it."""
        claim_statement = analyse(text)
        claim_doc = self.nlp.parse(text)
        claim_names = terms(" ".join(e.text for e in claim_doc.ents)).all
        docs = self.nlp.parse_many([s.text for s in sentences])
        found: dict[Relation, list[ClaimPassage]] = {"supports": [], "contradicts": [], "qualifies": []}
        for s, doc in zip(sentences, docs, strict=True):
            judged = judge(claim_statement, analyse(s.text), s.similarity if has_vectors else None)
            if judged is None or judged[0] == "qualifies":
                named = claim_names <= terms(f"{s.title} {self.retriever.article_text(s.doc_id)}").all
                if predicate := same_predicate(claim_doc, doc, named):
                    phrase, same = predicate
                    coverage = judged[2] if judged else 0.0
                    if not same:
                        judged = ("contradicts", f'says the opposite: "{phrase}"', coverage)
                    elif claim_statement.numbers <= analyse(s.text).numbers:
                        judged = ("supports", f'says so of them: "{phrase}"', coverage)
            if judged is None:
                continue
            relation, reason, coverage = judged
            found[relation].append(self._passage(s, relation, reason, coverage))
        return found

    @staticmethod
    def _passage(s: SourceSentence, relation: Relation, reason: str, coverage: float) -> ClaimPassage:
        return ClaimPassage(relation, reason, s.as_quote(), coverage, s.similarity, coverage + s.similarity)
