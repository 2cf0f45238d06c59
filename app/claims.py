"""Claim check: which indexed passages support a claim, and which contradict or qualify it.

A claim is retrieved like a question (hybrid retrieval, with the outlet/date filters),
the retrieved chunks are split into their sentences (the same citable sentences as the
answer chain: no headings, nothing that speaks to an AI), and each sentence is judged
in code against the claim:

* **supports**: the claim's content words (80 %, all of them for a short claim), every
  name and every number of the claim are in the sentence, its negation matches, and it
  puts no other number on what the claim counts;
* **contradicts**: the sentence is about the same thing (75 % of the claim's words, or
  half of them and a close embedding) and puts a different number on the same noun
  ("500 prisoners" against "700 prisoners"), or says it with the opposite negation,
  or names someone or somewhere else in the same place ("in London" against "in Paris");
* **qualifies**: related (two or more of the claim's terms, half its words or a close
  embedding) but saying only part of it.

The verdict is ``supported``, ``contradicted``, ``mixed`` (sources disagree: both kinds
found, typically articles of different dates) or ``not_found``. Every passage quote is
the exact article text at its offsets (``article[start:end] == quote``).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Literal

from app.cleaning import typed_line
from app.config import Settings
from app.context import ContextBuilder, SourceSentence, format_date
from app.errors import BadQuestionError
from app.retrieval import Filters, HybridRetriever
from app.textmatch import NUMBER_WORDS, STOPWORDS, terms

Relation = Literal["supports", "contradicts", "qualifies"]
Verdict = Literal["supported", "contradicted", "mixed", "not_found"]

SUPPORT_COVERAGE = 0.8  # share of the claim's words a supporting sentence must hold
SAME_TOPIC_COVERAGE = 0.75  # ... a sentence must hold to be "about the same thing"
SAME_TOPIC_SIMILARITY = 0.6  # or half the words and at least this embedding similarity
RELATED_COVERAGE = 0.5
RELATED_SIMILARITY = 0.5
MAX_PER_KIND = 5
MIN_RETRIEVED = 8

VERDICT_LABELS = {
    "supported": "Supported",
    "contradicted": "Contradicted",
    "mixed": "Sources disagree",
    "not_found": "Not found in the corpus",
}

_NEGATION = re.compile(r"\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b", re.I)
_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[A-Za-z][\w'’-]*")


@dataclass
class ClaimPassage:
    """One sentence of an article and how it bears on the claim."""

    relation: Relation
    reason: str
    doc_id: str
    title: str
    outlet: str
    published: str
    quote: str
    start: int
    end: int
    coverage: float
    similarity: float
    score: float

    def as_dict(self) -> dict:
        out = asdict(self)
        out["coverage"] = round(self.coverage, 3)
        out["similarity"] = round(self.similarity, 4)
        out["score"] = round(self.score, 4)
        return out

    def one_line(self) -> str:
        """The quote with title, outlet and date, as a journalist would paste it."""
        return f'"{self.quote}" ({self.title}, {self.outlet}, {format_date(self.published)})'


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


# --- analysis of one statement ---------------------------------------------------------


_SAME_STEM = {"peopl": "person", "persons": "person"}  # "five people" and "one person" count the same thing


def _stem(word: str) -> str:
    found = terms(word)
    stem = next(iter(found.words), "") or next(iter(found.numbers), "")
    return _SAME_STEM.get(stem, stem)


def _number_of(token: str) -> str | None:
    """The normalised number a token states ("1,000" -> "1000", "four" -> "4"), or None."""
    if token[0].isdigit():
        return next(iter(terms(token).numbers), None)
    low = token.lower()
    return NUMBER_WORDS.get(low) if low in NUMBER_WORDS and low not in {"first", "second"} else None


@dataclass(frozen=True)
class Count:
    """A number in a statement and the words around it (what it counts)."""

    number: str  # normalised: "1000"
    surface: str  # as written: "1,000"
    stems: frozenset[str]
    noun: str  # the first word after it, as written ("prisoners")


@dataclass
class Statement:
    """What the heuristics compare: stems, numbers, names, counted nouns, negation."""

    text: str
    words: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]  # stems of capitalised words (the first word of the text included)
    initial: str  # stem of the first word when it is capitalised ("Talks", "Putin")
    counts: list[Count]
    slots: list[tuple[str, frozenset[str], str]]  # (word before a name, the name's stems, the name as written)
    negated: bool
    surface: dict[str, str]  # stem -> the word as written

    @property
    def all(self) -> frozenset[str]:
        return self.words | self.numbers

    def spell(self, stems) -> list[str]:
        return [self.surface.get(s, s) for s in sorted(stems)]


def analyse(text: str) -> Statement:
    """Break a claim or a source sentence into the parts the heuristics compare."""
    found = terms(text)
    tokens = [m.group(0).replace("’", "'") for m in _TOKEN.finditer(text)]
    names: set[str] = set()
    initial = ""
    slots: list[tuple[str, frozenset[str], str]] = []
    counts: list[Count] = []
    surface: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        number = _number_of(token)
        if number is not None:
            surface.setdefault(number, token)
            # the content words right after the number (what it counts) and the one before it
            after = [t for t in tokens[i + 1 : i + 4] if _number_of(t) is None and t.lower() not in STOPWORDS][:2]
            before = [t for t in tokens[max(0, i - 2) : i] if _number_of(t) is None and t.lower() not in STOPWORDS]
            stems = frozenset(s for s in (_stem(t) for t in after + before[-1:]) if s)
            counts.append(Count(number, token, stems, after[0] if after else (before[-1] if before else "")))
            i += 1
            continue
        if not _is_name(token):
            if stem := _stem(token):
                surface.setdefault(stem, token)
            i += 1
            continue
        # a run of capitalised words is one name ("Vladimir Medinsky")
        j = i
        while j < len(tokens) and _is_name(tokens[j]) and _number_of(tokens[j]) is None:
            j += 1
        run = [t.removesuffix("'s") for t in tokens[i:j]]
        stems = frozenset(s for s in (_stem(t) for t in run) if s)
        for t, stem in ((t, _stem(t)) for t in run):
            if stem:
                surface.setdefault(stem, t)
        names |= stems
        if i == 0:
            initial = _stem(run[0])
        elif not tokens[i - 1][0].isupper():
            slots.append((tokens[i - 1].lower(), stems, " ".join(run)))
        i = j
    return Statement(
        text=text,
        words=frozenset(_SAME_STEM.get(w, w) for w in found.words),
        numbers=found.numbers,
        names=frozenset(names),
        initial=initial,
        counts=counts,
        slots=slots,
        negated=bool(_NEGATION.search(text)),
        surface=surface,
    )


def _is_name(token: str) -> bool:
    low = token.lower().removesuffix("'s")
    return token[0].isupper() and low not in STOPWORDS and len(low) > 1


_SLOT_WORDS = {"in", "by", "at", "from", "to", "of"}  # prepositions before a place or person


def _number_conflict(claim: Statement, sentence: Statement) -> tuple[Count, Count] | None:
    """(the claim's count, the sentence's) when the sentence puts another number on
    something the claim counts ("500 prisoners" against "700 prisoners")."""
    for mine in claim.counts:
        if mine.number in sentence.numbers or not mine.stems:
            continue
        for other in sentence.counts:
            if other.number != mine.number and mine.stems & other.stems:
                return mine, other
    return None


def _name_swap(claim: Statement, sentence: Statement) -> tuple[str, str] | None:
    """(claimed name, the sentence's name) when the sentence puts another name where the
    claim has one ("headed by Vladimir Medinsky" against "headed by Sergei Lavrov")."""
    for before, stems, name in claim.slots:
        if stems & sentence.all or (before in STOPWORDS and before not in _SLOT_WORDS):
            continue
        for other_before, other_stems, other in sentence.slots:
            if other_before == before and not other_stems & claim.all:
                return name, other
    return None


def _counted(count: Count) -> str:
    return f"{count.surface} {count.noun}".strip()


def judge(claim: Statement, sentence: Statement, similarity: float | None = None) -> tuple[Relation, str, float] | None:
    """How a sentence bears on a claim: (relation, reason, coverage of the claim's words),
    or None when it is unrelated. ``similarity`` is the embedding cosine similarity
    between them (None when there is no embedding model)."""
    wanted = claim.words or claim.numbers
    if not wanted:
        return None
    have = sentence.words if claim.words else sentence.numbers
    matched = wanted & have
    coverage = len(matched) / len(wanted)
    shared_terms = len(claim.all & sentence.all)
    sim = similarity if similarity is not None else 0.0
    enough_shared = shared_terms >= min(2, len(claim.all))
    same_topic = enough_shared and (
        coverage >= SAME_TOPIC_COVERAGE or (coverage >= RELATED_COVERAGE and sim >= SAME_TOPIC_SIMILARITY)
    )
    numbers_ok = claim.numbers <= sentence.numbers
    names_ok = claim.names <= sentence.all
    conflict = _number_conflict(claim, sentence)

    if same_topic and conflict:
        mine, other = conflict
        return "contradicts", f"gives {_counted(other)}, not {mine.surface}", coverage
    # "No prisoners were returned" denies "500 prisoners were returned" (it states no other number)
    if same_topic and (numbers_ok or not sentence.numbers) and names_ok and claim.negated != sentence.negated:
        which = "it is negated" if sentence.negated else "it is not negated"
        return "contradicts", f"says the opposite ({which})", coverage
    support_needed = SUPPORT_COVERAGE if len(wanted) >= 5 else 1.0
    if coverage >= support_needed and numbers_ok and names_ok and claim.negated == sentence.negated:
        return "supports", "states the claim's words, names and numbers", coverage
    plain = claim.words - (claim.names - {claim.initial})  # "Talks will ..." opens with a common word
    if len(plain) >= 2 and plain <= sentence.words and (swap := _name_swap(claim, sentence)):
        return "contradicts", f"names {swap[1]} where the claim has {swap[0]}", coverage
    related = enough_shared and (coverage >= RELATED_COVERAGE or sim >= RELATED_SIMILARITY)
    if related:
        if conflict:
            mine, other = conflict
            return "qualifies", f"gives {_counted(other)} (not {mine.surface}) about something else", coverage
        if claim.negated != sentence.negated:
            return "qualifies", "related, but with the opposite negation", coverage
        missing = claim.spell(claim.all - sentence.all)
        detail = f"; does not say: {', '.join(missing[:4])}" if missing else ""
        return "qualifies", f"related, but says only part of it{detail}", coverage
    return None


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
    return f"{p.outlet}, {format_date(p.published)}"


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
        self.builder = ContextBuilder(retriever, settings.context_tokens, settings.tokenizer)

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
        claim_statement = analyse(text)
        found: dict[Relation, list[ClaimPassage]] = {"supports": [], "contradicts": [], "qualifies": []}
        for s in sentences:
            judged = judge(claim_statement, analyse(s.text), s.similarity if has_vectors else None)
            if judged is None:
                continue
            relation, reason, coverage = judged
            found[relation].append(self._passage(s, relation, reason, coverage))
        for items in found.values():
            items.sort(key=lambda p: (-p.score, p.published, p.doc_id, p.start))
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

    @staticmethod
    def _passage(s: SourceSentence, relation: Relation, reason: str, coverage: float) -> ClaimPassage:
        return ClaimPassage(
            relation=relation,
            reason=reason,
            doc_id=s.doc_id,
            title=s.title,
            outlet=s.outlet,
            published=s.published,
            quote=s.text,
            start=s.start,
            end=s.end,
            coverage=coverage,
            similarity=s.similarity,
            score=coverage + s.similarity,
        )
