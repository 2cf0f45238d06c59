"""Citations checked in code, not trusted to the model.

Each sentence of the model's answer is matched against the source sentences that
were retrieved for the question. A sentence is kept only when its content words are
mostly found in one to three source sentences and every number it states is found
there too; it is then cited with those sentences as exact quotes (offsets into the
cleaned article, so ``article[start:end] == quote``). Anything else is removed and
reported as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain import Quote
from app.text.injection import looks_like_instruction
from app.text.lexicon import lexicon
from app.text.names import named_terms
from app.text.textmatch import Terms, is_negated, terms
from app.verify.answerable import (
    _ATTRIBUTION,
    SIMILARITY_GAP,
    CorpusView,
    _answers_question,
    _header_terms,
    _quote_instead,
)
from app.verify.context import SourceSentence
from app.verify.model_text import clean_model_text, is_abstention, split_answer

MIN_COVERAGE = 0.6  # share of an answer sentence's terms that its quotes must contain
MAX_QUOTES = 3
MAX_SENTENCES = 4


@dataclass(frozen=True)
class Citation:
    """Citation ``[n]`` of an answer: an exact quote of an article."""

    n: int
    quote: Quote

    def as_dict(self) -> dict:
        return {"n": self.n, **self.quote.as_dict()}

    def one_line(self) -> str:
        return self.quote.one_line()


class Reason(StrEnum):
    """Why an answer sentence is or is not kept (``AnswerSentence.code``)."""

    SUPPORTED = "supported"
    QUOTED = "quoted"  # the source's own words, standing in for a misstated sentence
    ABSTENTION = "abstention"
    INSTRUCTION = "instruction"
    TOO_LONG = "beyond_length"
    UNSUPPORTED = "unsupported"  # no quote backs it (coverage, numbers, names, subject, negation)
    MISSTATED = "misstated"  # it draws on the right quote but states it wrongly
    OFF_QUESTION = "off_question"  # the quotes back it but do not answer the question


@dataclass
class AnswerSentence:
    text: str
    supported: bool
    citations: list[int] = field(default_factory=list)
    coverage: float = 0.0
    reason: str = ""
    quoted: bool = False  # the text is the cited source sentence itself, verbatim
    code: Reason = Reason.SUPPORTED


_SUBJECT = re.compile(r"^\s*((?:[A-Z][\w'-]*\s+){0,3}[A-Z][\w'-]*)")


def _subject(sentence: str) -> frozenset[str]:
    """Terms of the name a sentence opens with ("Zelenskyy told ..." -> zelenskyy)."""
    match = _SUBJECT.match(sentence)
    if not match:
        return frozenset()
    words = [w for w in match.group(1).split() if w.lower() not in lexicon().stopwords]
    return terms(" ".join(words)).words if words else frozenset()


@dataclass
class Support:
    """How the sources bear on one answer sentence.

    ``quotes`` back it (empty when nothing does); ``drew_on`` are the quotes that supplied
    its words, also when it is not backed; ``misstated`` marks a sentence that draws on the
    right quotes but states them wrongly (the quote may then answer instead).
    """

    quotes: list[SourceSentence]
    coverage: float
    reason: str = ""
    drew_on: list[SourceSentence] = field(default_factory=list)
    misstated: bool = False


@dataclass
class _Claim:
    """One answer sentence against the sources: the words it repeats from the question
    (``echo``) and the words that answer it (``new``)."""

    sentence: str
    stated: str  # without its attribution ("According to the July article, ...")
    terms: Terms
    new: frozenset[str]
    echo: frozenset[str]
    question_terms: frozenset[str]
    common: frozenset[str]
    source_terms: dict[int, frozenset[str]]


def _support(
    sentence: str,
    sources: list[SourceSentence],
    question_terms: frozenset[str],
    common: frozenset[str],
    question: str = "",
) -> Support:
    """The source sentences that back a sentence, its coverage, and why not if not.

    An answer sentence mixes words it repeats from the question (``echo``) with the
    words that answer it (``new``). The new words must be found in the quotes, every
    number among them included; and the quote that supplies them must also hold at
    least half of the echoed words, so that two unrelated sentences cannot be stitched
    into one claim ("Peskov" from one, "heads the delegation" from another). A sentence
    that only repeats the question is kept only if one quote says all of it.
    """
    stated = _ATTRIBUTION.sub("", sentence)
    found = terms(stated)
    if not found.all:
        return Support([], 0.0, "no content words")
    # The model saw each excerpt under its outlet and date, so those words count as the quote's.
    source_terms = {id(src): terms(src.text).all | _header_terms(src) for src in sources}
    # Words of the question that most of the corpus shares ("Russia", "talks" in a corpus
    # about the war) say nothing about which sentence answers it.
    claim = _Claim(sentence, stated, found, found.all - question_terms, (found.all & question_terms) - common,
                   question_terms, common, source_terms)  # fmt: skip
    if not claim.new:  # a confirmation ("Yes, Putin said he was open to talks")
        return _confirmation(claim, sources)
    chosen, covered = _cover(claim, sources)
    coverage = len(covered) / len(claim.new)
    if failed := _facts_missing(claim, chosen, covered, coverage):
        return failed
    if coverage < MIN_COVERAGE:
        return Support([], coverage, f"only {coverage:.0%} of its new words are in the sources")
    if failed := _focus(claim, chosen, sources, coverage):
        return failed
    if deictic := _refers_back(stated, question, question_terms):
        return Support([], coverage, f"{MISSTATED}: it says {deictic!r} instead of what they are", chosen, True)
    return _polarity(chosen, sentence, coverage)


def _confirmation(claim: _Claim, sources: list[SourceSentence]) -> Support:
    echo, source_terms = claim.echo, claim.source_terms
    best = max(sources, key=lambda src: (len(source_terms[id(src)] & echo), src.score), default=None)
    share = len(source_terms[id(best)] & echo) / len(echo) if best and echo else 0.0
    if best is None or share < 0.75:
        return Support([], share, "only repeats the question, and no source says so")
    return _polarity([best], claim.sentence, share)


def _cover(claim: _Claim, sources: list[SourceSentence]) -> tuple[list[SourceSentence], set[str]]:
    """Up to MAX_QUOTES quotes, greedily, that cover most of the sentence's new words."""
    chosen: list[SourceSentence] = []
    covered: set[str] = set()
    for _ in range(MAX_QUOTES):
        best, gain, best_echo = None, set(), -1
        for src in sources:
            if src in chosen:
                continue
            gained = (claim.source_terms[id(src)] & claim.new) - covered
            echoed = len(claim.source_terms[id(src)] & claim.echo)
            if (len(gained), echoed, src.score) > (len(gain), best_echo, best.score if best else -1.0):
                best, gain, best_echo = src, gained, echoed
        # a further quote must add a number or at least two words
        if best is None or not gain or (chosen and len(gain) < 2 and not (gain & claim.terms.numbers)):
            break
        chosen.append(best)
        covered |= gain
    return chosen, covered


def _facts_missing(claim: _Claim, chosen: list[SourceSentence], covered: set[str], coverage: float) -> Support | None:
    """A number, a name or the subject of the sentence that the quotes do not have."""
    missing_numbers = (claim.terms.numbers - claim.question_terms) - covered
    if missing_numbers:
        return Support([], coverage, f"number(s) not in any source: {', '.join(sorted(missing_numbers))}")
    # Names are facts like numbers: a name the question did not bring must be in a quote.
    missing_names = (named_terms(claim.stated) - claim.question_terms - claim.terms.numbers) - covered
    if missing_names:
        return Support([], coverage, f"name(s) not in any source: {', '.join(sorted(missing_names))}")
    quoted = set().union(*(claim.source_terms[id(q)] for q in chosen))
    subject = _subject(claim.stated)
    if subject and not subject <= quoted:
        reason = f"the quotes do not say this of {' '.join(sorted(subject))}"
        # A subject the question asked about, said of someone else, is a wrong answer; a
        # subject the model made up for the quote's ("Russia" for "Putin") only misstates it.
        if subject <= claim.question_terms:
            return Support([], coverage, reason, chosen)
        return Support([], coverage, f"{MISSTATED}: {reason}", chosen, True)
    return None


def _focus(claim: _Claim, chosen: list[SourceSentence], sources: list[SourceSentence], coverage: float):
    """The answer and the question's words must come from one quote (or its neighbours),
    and the quote must be about the question; else the sentence is stitched."""
    # What the question points at: the words the sentence echoes, or for a bare answer
    # ("Alfonso Cuaron") the question's own words.
    echo = claim.echo
    focus = echo if len(echo) >= 2 else claim.question_terms - claim.common
    if len(focus) < 2:
        return None

    def held(srcs: list[SourceSentence]) -> frozenset[str]:
        return frozenset().union(*(claim.source_terms[id(src)] & focus for src in srcs))

    own = held(chosen[:1])
    # stitching: the answer and the question's words come from unrelated sentences
    elsewhere = max(len(held([s])) for s in sources)
    stitched = len(echo) >= 2 and len(own) < 0.5 * len(focus) and elsewhere >= len(own) + 0.34 * len(focus)
    # or the quote is not about the question (the similarity check of _answers_question)
    unlike = max(q.similarity for q in chosen) < max(s.similarity for s in sources) - SIMILARITY_GAP
    if not (stitched or unlike):
        return None
    # News names a person in the sentence after the one that says what they did ("...
    # a Labour backbencher has said. Derek Wyatt said ..."): when the answer is a name,
    # the quote's neighbours in the article may hold what the question asks; the fewest
    # that do are cited with it.
    near = sorted(
        (s for s in sources if s not in chosen and _adjacent(s, chosen[0])),
        key=lambda s: (len(held([s])), s.similarity),
        reverse=True,
    )
    extra: list[SourceSentence] = []
    if len(named_terms(claim.stated) & claim.new) >= 0.5 * len(claim.new):  # the answer is who/what it is
        for src in near:
            if len(held(chosen[:1] + extra)) >= 0.5 * len(focus):
                break
            extra.append(src)
    if len(held(chosen[:1] + extra)) >= 0.5 * len(focus):
        chosen += extra
    elif stitched:
        reason = f"{MISSTATED}: its answer and the question's words come from different sentences"
        return Support([], coverage, reason, chosen, True)
    return None


def _adjacent(a: SourceSentence, b: SourceSentence) -> bool:
    """Whether two sentences follow each other in one article."""
    return a.doc_id == b.doc_id and (0 <= b.start - a.end <= 3 or 0 <= a.start - b.end <= 3)


def _polarity(quotes: list[SourceSentence], sentence: str, coverage: float) -> Support:
    # A short answer ("24 March", "Jack's snooker hall") states no polarity of its own.
    if len(sentence.split()) >= 6 and is_negated(sentence) != is_negated(quotes[0].text):
        return Support([], coverage, "negation differs from the source")
    return Support(quotes, coverage, "", quotes)


# The model's sentence draws on the right quotes but states them wrongly (another
# subject, words stitched from two sentences, "these demands" for the demands): the
# answer may then be the quote itself (see ``_quote_instead``).
MISSTATED = "misstates its source"
_WH_QUESTION = re.compile(r"^\W*(which|what|who|whom|whose|where|when|how)\b", re.I)
_DEICTIC = re.compile(r"\b(these|this|those|such|the same|said)\s+([a-z][\w-]*)", re.I)


def _refers_back(sentence: str, question: str, question_terms: frozenset[str]) -> str:
    """The phrase ("these demands") by which a sentence points at what a which/what
    question asks for instead of naming it; "" if it does not."""
    if not _WH_QUESTION.search(question):
        return ""
    for match in _DEICTIC.finditer(sentence):
        if terms(match.group(2)).words & question_terms:
            return match.group(0)
    return ""


class CitationIndex:
    """Numbers quotes in order of first use; a quote cited twice keeps its number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def has(self, src: SourceSentence) -> bool:
        return (src.doc_id, src.start, src.end) in self._by_span

    def number(self, src: SourceSentence) -> int:
        key = (src.doc_id, src.start, src.end)
        if key not in self._by_span:
            self._by_span[key] = len(self.citations) + 1
            self.citations.append(Citation(self._by_span[key], src.as_quote()))
        return self._by_span[key]


def verify(
    answer: str,
    sources: list[SourceSentence],
    question: str = "",
    is_common: Callable[[str], bool] | None = None,
    index: CitationIndex | None = None,
    corpus: CorpusView | None = None,
) -> list[AnswerSentence]:
    """Attach citations to every supported sentence of ``answer``; mark the rest.

    ``is_common(term)`` tells terms found in most of the corpus; they are not required
    to co-occur with the answer in its quote. Quotes are numbered in ``index`` (pass
    one index to number several answers together). ``corpus`` gives term frequencies
    and article texts for the checks of ``_answers_question``.
    """
    index = index if index is not None else CitationIndex()
    question_terms = terms(question).all
    common = frozenset(t for t in question_terms if is_common and is_common(t))
    sentences: list[AnswerSentence] = []
    seen: set[frozenset[str]] = set()
    for text in split_answer(clean_model_text(answer)):
        if looks_like_instruction(text):
            sentences.append(_rejected(text, Reason.INSTRUCTION, "speaks like an instruction, not an answer"))
            continue
        if is_abstention(text):
            sentences.append(_rejected(text, Reason.ABSTENTION, "abstention"))
            continue
        if terms(text).all in seen:  # a small model repeating itself
            continue
        seen.add(terms(text).all)
        if len([x for x in sentences if x.supported]) >= MAX_SENTENCES:
            sentences.append(_rejected(text, Reason.TOO_LONG, "beyond the answer's length"))
            continue
        sentences += _checked(text, sources, question, question_terms, common, index, corpus)
    return sentences


def _rejected(text: str, code: Reason, reason: str, coverage: float = 0.0) -> AnswerSentence:
    return AnswerSentence(text, False, coverage=coverage, reason=reason, code=code)


def _checked(text, sources, question, question_terms, common, index: CitationIndex, corpus) -> list[AnswerSentence]:
    """One sentence of the answer, cited; or rejected, and then perhaps the quote it
    misstated in its place."""
    support = _support(text, sources, question_terms, common, question)
    if support.quotes:
        if off := _answers_question(support.quotes, sources, question, corpus):
            return [_rejected(text, Reason.OFF_QUESTION, off, support.coverage)]
        numbers = [index.number(q) for q in sorted(support.quotes, key=lambda s: (s.doc_id, s.start))]
        return [AnswerSentence(text, True, numbers, support.coverage)]
    code = Reason.MISSTATED if support.misstated else Reason.UNSUPPORTED
    out = [_rejected(text, code, support.reason, support.coverage)]
    if support.misstated:
        quote = _quote_instead(support.drew_on, sources, question, common, corpus)
        if quote is not None and not index.has(quote):
            out[0].reason += "; answered with the quote it drew on instead"
            out.append(AnswerSentence(quote.text, True, [index.number(quote)], 1.0, quoted=True, code=Reason.QUOTED))
    return out
