"""Citations checked in code, not trusted to the model.

Each sentence of the model's answer is matched against the source sentences that
were retrieved for the question. A sentence is kept only when its content words are
mostly found in one to three source sentences and every number it states is found
there too; it is then cited with those sentences as exact quotes (offsets into the
cleaned article, so ``article[start:end] == quote``). Anything else is removed and
reported as unsupported.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from app.chunking import split_sentences
from app.constraints import actors_present, unmet
from app.context import SourceSentence, format_date, looks_like_instruction, named_terms
from app.textmatch import NUMBER_WORDS as _COUNT_WORDS
from app.textmatch import STOPWORDS, terms

MIN_COVERAGE = 0.6  # share of an answer sentence's terms that its quotes must contain
MAX_QUOTES = 3
MAX_SENTENCES = 4

_ABSTAIN = re.compile(
    r"\bnot\s+found\b|\b(do|does|did)\s+not\s+(say|mention|contain|provide|specify|state|include|address|answer|"
    r"give|indicate|discuss)\b|\bno\s+(information|mention|details?|data)\b|\bnot\s+(mentioned|specified|provided|"
    r"stated|available|given|included|clear|indicated)\b|\bcannot\s+(answer|determine|find|be determined)\b|"
    r"\b(i\s+)?(don't|do not)\s+know\b|\bunable\s+to\s+(answer|determine|find)\b|\bthere\s+is\s+no\b.*\b(excerpt|"
    r"article|information|mention)",
    re.I,
)
# "According to the July 2025 article, ..." names the source, it is not part of the claim.
_ATTRIBUTION = re.compile(
    r"\b(according to|as of|in|as reported in|as stated in)\s+(the\s+)?([\w,.-]+\s+){0,4}?"
    r"(article|excerpt|report|source|story)s?\b,?",
    re.I,
)
_ALIASED = re.compile(
    r"\b(America|United States|US|USA|U\.S\.|Britain|Great Britain|UK|U\.K\.|United Kingdom|England|EU|"
    r"European Union|UN|United Nations|Washington|Moscow|Kremlin|Kyiv|Kiev|Beijing|Whitehall|Westminster)\b"
)
# "in both articles", "the two reports" count articles, not anything the articles say
_META_ARTICLES = re.compile(r"\b(?:the\s+)?(?:two|both|all|three)\s+(?:articles|reports|stories|sources)\b", re.I)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_HTML = re.compile(r"<[^>]{0,200}>")
_MARKERS = re.compile(r"\[(?:\d+|source\s*\d+|[^\]]{0,40}\d{4})\]|\((?:source|excerpt)\s*\d+\)", re.I)
_LEAD = re.compile(r"^\s*(answer|response|final answer)\s*:\s*", re.I)


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    outlet: str
    published: str
    quote: str
    start: int
    end: int

    def as_dict(self) -> dict:
        return asdict(self)

    def one_line(self) -> str:
        """The quote with title, outlet and date, as a journalist would paste it."""
        return f'"{self.quote}" ({self.title}, {self.outlet}, {format_date(self.published)})'


@dataclass
class AnswerSentence:
    text: str
    supported: bool
    citations: list[int] = field(default_factory=list)
    coverage: float = 0.0
    reason: str = ""
    quoted: bool = False  # the text is the cited source sentence itself, verbatim


def clean_model_text(text: str) -> str:
    """Strip what must never reach a reader from model output: markup that a browser
    would fetch or run, invented citation markers, answer labels."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _HTML.sub("", text)
    text = _URL.sub("", text)
    text = _MARKERS.sub("", text)
    text = text.replace("**", "").replace("__", "")
    text = "\n".join(_LEAD.sub("", line) for line in text.splitlines())
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return text.strip()


def is_abstention(text: str) -> bool:
    return bool(_ABSTAIN.search(text))


def split_answer(text: str) -> list[str]:
    """Answer sentences; list bullets and line breaks separate sentences too."""
    text = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", text, flags=re.M)
    return [text[s.start : s.end].strip() for s in split_sentences(text) if text[s.start : s.end].strip()]


_NEGATION = re.compile(r"\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b", re.I)


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def _header_terms(src: SourceSentence) -> frozenset[str]:
    return terms(f"{src.outlet} {format_date(src.published)} {src.published[:4]}").all


_SUBJECT = re.compile(r"^\s*((?:[A-Z][\w'-]*\s+){0,3}[A-Z][\w'-]*)")


def _subject(sentence: str) -> frozenset[str]:
    """Terms of the name a sentence opens with ("Zelenskyy told ..." -> zelenskyy)."""
    match = _SUBJECT.match(sentence)
    if not match:
        return frozenset()
    words = [w for w in match.group(1).split() if w.lower() not in STOPWORDS]
    return terms(" ".join(words)).words if words else frozenset()


def _support(
    sentence: str,
    sources: list[SourceSentence],
    question_terms: frozenset[str],
    common: frozenset[str],
    question: str = "",
) -> tuple[list[SourceSentence], float, str, list[SourceSentence]]:
    """The source sentences that back a sentence, its coverage, why not if not, and
    the quotes that supplied its words (also when it is not backed).

    An answer sentence mixes words it repeats from the question (``echo``) with the
    words that answer it (``new``). The new words must be found in the quotes, every
    number among them included; and the quote that supplies them must also hold at
    least half of the echoed words, so that two unrelated sentences cannot be stitched
    into one claim ("Peskov" from one, "heads the delegation" from another). A sentence
    that only repeats the question is kept only if one quote says all of it.
    """
    claim = terms(_ATTRIBUTION.sub("", sentence))
    wanted = claim.all
    if not wanted:
        return [], 0.0, "no content words", []
    new = wanted - question_terms
    # Words of the question that most of the corpus shares ("Russia", "talks" in a corpus
    # about the war) say nothing about which sentence answers it.
    echo = (wanted & question_terms) - common
    # The model saw each excerpt under its outlet and date, so those words count as the quote's.
    source_terms = {id(src): terms(src.text).all | _header_terms(src) for src in sources}

    if not new:  # a confirmation ("Yes, Putin said he was open to talks")
        best = max(sources, key=lambda src: (len(source_terms[id(src)] & echo), src.score), default=None)
        share = len(source_terms[id(best)] & echo) / len(echo) if best and echo else 0.0
        if best is None or share < 0.75:
            return [], share, "only repeats the question, and no source says so", []
        return _polarity([best], sentence, share)

    chosen: list[SourceSentence] = []
    covered: set[str] = set()
    for _ in range(MAX_QUOTES):
        best, gain, best_echo = None, set(), -1
        for src in sources:
            if src in chosen:
                continue
            gained = (source_terms[id(src)] & new) - covered
            echoed = len(source_terms[id(src)] & echo)
            if (len(gained), echoed, src.score) > (len(gain), best_echo, best.score if best else -1.0):
                best, gain, best_echo = src, gained, echoed
        # a further quote must add a number or at least two words
        if best is None or not gain or (chosen and len(gain) < 2 and not (gain & claim.numbers)):
            break
        chosen.append(best)
        covered |= gain
    coverage = len(covered) / len(new)
    missing_numbers = (claim.numbers - question_terms) - covered
    if missing_numbers:
        return [], coverage, f"number(s) not in any source: {', '.join(sorted(missing_numbers))}", []
    # Names are facts like numbers: a name the question did not bring must be in a quote.
    stated = _ATTRIBUTION.sub("", sentence)
    missing_names = (named_terms(stated) - question_terms - claim.numbers) - covered
    if missing_names:
        return [], coverage, f"name(s) not in any source: {', '.join(sorted(missing_names))}", []
    quoted = set().union(*(source_terms[id(q)] for q in chosen))
    subject = _subject(stated)
    if subject and not subject <= quoted:
        reason = f"the quotes do not say this of {' '.join(sorted(subject))}"
        # A subject the question asked about, said of someone else, is a wrong answer; a
        # subject the model made up for the quote's ("Russia" for "Putin") only misstates it.
        return [], coverage, reason if subject <= question_terms else f"{MISSTATED}: {reason}", chosen
    if coverage < MIN_COVERAGE:
        return [], coverage, f"only {coverage:.0%} of its new words are in the sources", []
    # What the question points at: the words the sentence echoes, or for a bare answer
    # ("Alfonso Cuaron") the question's own words.
    focus = echo if len(echo) >= 2 else question_terms - common
    if len(focus) >= 2:

        def held(srcs: list[SourceSentence]) -> frozenset[str]:
            return frozenset().union(*(source_terms[id(src)] & focus for src in srcs))

        own = held(chosen[:1])
        # stitching: the answer and the question's words come from unrelated sentences
        elsewhere = max(len(held([s])) for s in sources)
        stitched = len(echo) >= 2 and len(own) < 0.5 * len(focus) and elsewhere >= len(own) + 0.34 * len(focus)
        # or the quote is not about the question (the similarity check of _answers_question)
        unlike = max(q.similarity for q in chosen) < max(s.similarity for s in sources) - SIMILARITY_GAP
        if stitched or unlike:
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
            if len(named_terms(stated) & new) >= 0.5 * len(new):  # the answer is who/what it is
                for src in near:
                    if len(held(chosen[:1] + extra)) >= 0.5 * len(focus):
                        break
                    extra.append(src)
            if len(held(chosen[:1] + extra)) >= 0.5 * len(focus):
                chosen += extra
            elif stitched:
                reason = f"{MISSTATED}: its answer and the question's words come from different sentences"
                return [], coverage, reason, chosen
    if deictic := _refers_back(stated, question, question_terms):
        return [], coverage, f"{MISSTATED}: it says {deictic!r} instead of what they are", chosen
    return _polarity(chosen, sentence, coverage)


def _adjacent(a: SourceSentence, b: SourceSentence) -> bool:
    """Whether two sentences follow each other in one article."""
    return a.doc_id == b.doc_id and (0 <= b.start - a.end <= 3 or 0 <= a.start - b.end <= 3)


def _polarity(quotes: list[SourceSentence], sentence: str, coverage: float):
    # A short answer ("24 March", "Jack's snooker hall") states no polarity of its own.
    if len(sentence.split()) >= 6 and _negated(sentence) != _negated(quotes[0].text):
        return [], coverage, "negation differs from the source", []
    return quotes, coverage, "", quotes


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


# A quote must be about the question: its similarity to the question (embedding model)
# may trail the best candidate's by at most this much.
SIMILARITY_GAP = 0.2
RARE_SHARE = 0.002  # a term in at most this share of chunks (or in one) is a rare name


class CorpusView(Protocol):
    """What verification needs to know about the corpus (the retriever provides it)."""

    def document_frequency(self, term: str) -> tuple[int, int]: ...

    def article_text(self, doc_id: str) -> str: ...


_HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'-]+\s+){0,3}?[\w'-]+?)(?=\s+(?:" + "|".join(
    ["were", "was", "are", "is", "did", "do", "does", "have", "has", "had", "will", "would", "could", "can",
     "in", "of", "at", "on", "for", "from", "by", "during", "since", "after", "before", "to", "per"]
) + r")\b|\s*[?,.]|$)", re.I)  # fmt: skip
_SAME_COUNT = {"peopl": "person", "person": "person", "persons": "person"}
_NUMBER_TOKEN = re.compile(r"\d[\d,.]*|" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True)), re.I)


def counted_noun(question: str) -> str | None:
    """The stem of what a "how many" question counts ("how many Ukrainian cities" -> "citi")."""
    match = _HOW_MANY.search(question)
    if not match:
        return None
    head = match.group(1).split()[-1]
    stems = terms(head).words
    return next(iter(stems), None)


def _counts_it(quote: str, noun: str) -> bool:
    """True when the quote puts a number right before the counted noun."""
    words = re.findall(r"[\w']+", quote.lower())
    want = _SAME_COUNT.get(noun, noun)
    for i, word in enumerate(words):
        stem = next(iter(terms(word).words), "")
        if _SAME_COUNT.get(stem, stem) != want:
            continue
        # "four Ukrainian cities", "500 prisoners", "six of the awards"
        window = words[max(0, i - 2) : i]
        if words[max(0, i - 2) : i] == ["of", "the"]:
            window = words[max(0, i - 3) : i - 2]
        if any(_NUMBER_TOKEN.fullmatch(w) for w in window):
            return True
    return False


def _answers_question(
    quotes: list[SourceSentence],
    sources: list[SourceSentence],
    question: str,
    corpus: CorpusView | None,
) -> str:
    """Why the quotes, though they back the sentence, do not answer the question ("" if they do).

    * the quote must be about the question (similarity close to the best candidate's);
    * for "how many X", a quote must put a number on X, not on something else;
    * a rare name in the question (one a few chunks at most mention) must be in a cited
      article: a question about "Gaza" is not answered from an article that never
      mentions Gaza;
    * every number of the question ("in 2021", "Season 17") must be in a cited article
      or its date: "Super Bowl 2021" is not answered from a page about Super Bowl LVIII.
    """
    best = max((src.similarity for src in sources), default=0.0)
    own = max(q.similarity for q in quotes)
    if own < best - SIMILARITY_GAP:
        return "the quoted sentence is not about what the question asks"
    noun = counted_noun(question)
    mentioned = noun and any(noun in terms(q.text).words or noun in _SAME_COUNT for q in quotes)
    if mentioned and not any(_counts_it(q.text, noun) for q in quotes):
        return f"the quotes do not count the {noun}(s) the question asks about"
    if reason := unmet(question, quotes):
        return reason
    if corpus is None:
        return ""
    known: set[str] = set()
    for doc_id in {q.doc_id for q in quotes}:
        known |= terms(corpus.article_text(doc_id)).all
    known |= set().union(*(_header_terms(q) | terms(q.title).all for q in quotes))
    asked = _asked(question)
    numbers = _question_numbers(asked) - known
    if numbers:
        return f"the cited article does not have the question's {', '.join(sorted(numbers))}"
    names = _names(asked)
    missing = []
    for term in {t for t in names if not t[0].isdigit()} - known:
        df, n = corpus.document_frequency(term)
        if df <= max(1, RARE_SHARE * n):
            missing.append(term)
    if missing:
        return f"the cited article does not mention {', '.join(sorted(missing))}"
    return ""


_NAMED_NUMBER = re.compile(
    r"(?<=[A-Za-z] )(?:One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Twenty|Hundred|First|Second|Third)"
    r"(?= [A-Z])|(?<=[A-Z][a-z] )(?:One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten)\b"
)


def _asked(question: str) -> str:
    """The question without its attribution ("according to the July article") and its
    talk of articles ("in both articles"): what it asks of the world."""
    return _ATTRIBUTION.sub("", _META_ARTICLES.sub("", question))


def _names(question: str) -> frozenset[str]:
    """Terms of the names a question brings. Demonyms ("American") describe rather than
    name; some places go by several names; a number word inside a name ("the Six
    Nations", "Formula One") is not a number."""
    text = re.sub(r"\b[A-Z][a-z]+(?:ian|ean|an|ese|ish)\b", "", question)
    return named_terms(_ALIASED.sub("", _NAMED_NUMBER.sub("", text)))


def _question_numbers(question: str) -> frozenset[str]:
    return terms(_NAMED_NUMBER.sub("", question)).numbers


def _quote_instead(
    tried: list[SourceSentence],
    sources: list[SourceSentence],
    question: str,
    common: frozenset[str],
    corpus: CorpusView | None,
) -> SourceSentence | None:
    """The quote to answer with when the model drew on it but misstated it.

    Among the quotes that supplied the sentence's words, the one sharing most of the
    question's (non-common) words, if it names every name the question brings (an
    actor such as "the EU" by any of its names) and answers the question by every
    check of ``_answers_question``.
    """
    asked = _asked(question)
    echo = terms(question).all - common
    names = {t for t in _names(asked) if not t[0].isdigit()} - common
    best, best_key = None, (0, -1.0)
    for quote in tried:
        quote_terms = terms(quote.text).all | _header_terms(quote) | terms(quote.title).all
        if looks_like_instruction(quote.text) or not names <= quote_terms | _MONTH_TERMS:
            continue
        if not actors_present(asked, f"{quote.title} {quote.text}"):
            continue
        key = (len(terms(quote.text).all & echo), quote.similarity)
        if key[0] and key > best_key and not _answers_question([quote], sources, question, corpus):
            best, best_key = quote, key
    return best


_MONTH_TERMS = terms(" ".join(calendar.month_name[1:])).all


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
            self.citations.append(
                Citation(
                    n=self._by_span[key],
                    doc_id=src.doc_id,
                    title=src.title,
                    outlet=src.outlet,
                    published=src.published,
                    quote=src.text,
                    start=src.start,
                    end=src.end,
                )
            )
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
            sentences.append(AnswerSentence(text, False, reason="speaks like an instruction, not an answer"))
            continue
        if is_abstention(text):
            sentences.append(AnswerSentence(text, False, reason="abstention"))
            continue
        if terms(text).all in seen:  # a small model repeating itself
            continue
        seen.add(terms(text).all)
        if len([x for x in sentences if x.supported]) >= MAX_SENTENCES:
            sentences.append(AnswerSentence(text, False, reason="beyond the answer's length"))
            continue
        quotes, coverage, reason, tried = _support(text, sources, question_terms, common, question)
        if quotes:
            reason = _answers_question(quotes, sources, question, corpus)
            if reason:
                quotes = []
        if not quotes:
            sentences.append(AnswerSentence(text, False, coverage=coverage, reason=reason))
            if reason.startswith(MISSTATED):
                quote = _quote_instead(tried, sources, question, common, corpus)
                if quote is not None and not index.has(quote):
                    sentences[-1].reason += "; answered with the quote it drew on instead"
                    sentences.append(AnswerSentence(quote.text, True, [index.number(quote)], 1.0, quoted=True))
            continue
        numbers = [index.number(q) for q in sorted(quotes, key=lambda s: (s.doc_id, s.start))]
        sentences.append(AnswerSentence(text, True, numbers, coverage))
    return sentences
