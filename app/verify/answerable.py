"""Whether quotes that back an answer sentence also answer the question asked.

A quote can hold every word of a sentence and still answer another question: it may
not be about the question at all, count something else, miss a name or a number the
question brings, or miss what the question pins down (app/verify/constraints.py).
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import Protocol

from app.text.dates import format_date
from app.text.injection import looks_like_instruction
from app.text.lexicon import lexicon
from app.text.names import named_terms
from app.text.textmatch import terms
from app.verify.constraints import actors_present, unmet
from app.verify.context import SourceSentence

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


def _header_terms(src: SourceSentence) -> frozenset[str]:
    return terms(f"{src.outlet} {format_date(src.published)} {src.published[:4]}").all


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


@lru_cache(maxsize=1)
def _number_token() -> re.Pattern:
    words = sorted(lexicon().number_words, key=len, reverse=True)
    return re.compile(r"\d[\d,.]*|" + "|".join(words), re.I)


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
        if any(_number_token().fullmatch(w) for w in window):
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
        if looks_like_instruction(quote.text) or not names <= quote_terms | _month_terms():
            continue
        if not actors_present(asked, f"{quote.title} {quote.text}"):
            continue
        key = (len(terms(quote.text).all & echo), quote.similarity)
        if key[0] and key > best_key and not _answers_question([quote], sources, question, corpus):
            best, best_key = quote, key
    return best


@lru_cache(maxsize=1)
def _month_terms() -> frozenset[str]:
    return terms(" ".join(calendar.month_name[1:])).all
