"""Word-level text comparison used to pick context sentences and to check that an
answer sentence is supported by a source sentence.

Words are lowercased and Snowball-stemmed, stopwords dropped; numbers are kept
apart (``1,000`` and ``1000`` and ``one thousand`` are the same number) because a
claim with a number the source does not contain is not supported, however many
other words match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.text.lexicon import lexicon
from app.text.stem import stemmer

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?")
# an initialism written with full stops ("U.S.", "U.N.", "e.g."): one word, as "US" is
_INITIALISM = re.compile(r"(?<![a-z0-9.])[a-z](?:\.[a-z])+\.?(?![a-z0-9])")


def fold_initialisms(text: str) -> str:
    """``text`` (lowercased) with each initialism written with full stops as one word:
    "the u.s. said" -> "the us said" (else its letters, each too short, are no word)."""
    return _INITIALISM.sub(lambda m: m.group().replace(".", ""), text)


@dataclass(frozen=True)
class Terms:
    """The comparable content of a text: stems of content words, and numbers."""

    words: frozenset[str]
    numbers: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.words | self.numbers

    def __len__(self) -> int:
        return len(self.words) + len(self.numbers)


def _number(token: str) -> str:
    token = re.sub(r"(?<=\d),(?=\d{3})", "", token)
    token = re.sub(r"(st|nd|rd|th)$", "", token) if re.match(r"\d", token) else token
    if "." in token:
        token = token.rstrip("0").rstrip(".")
    return token


@lru_cache(maxsize=20000)
def terms(text: str) -> Terms:
    """Content terms of a text (cached: context sentences are compared many times)."""
    words: set[str] = set()
    numbers: set[str] = set()
    raw = fold_initialisms(text.lower().replace("\u2019", "'"))
    lex = lexicon()
    for token in _TOKEN.findall(raw):
        if token[0].isdigit():
            numbers.add(_number(token))
            continue
        token = token.removesuffix("'s")
        if token in lex.number_words:
            numbers.add(lex.number_words[token])
            continue
        if token in lex.stopwords or len(token) < 2:
            continue
        words.add(lex.month_abbreviations.get(token, token))
    stems = frozenset(stemmer().stemWords(sorted(words)))
    return Terms(words=stems, numbers=frozenset(numbers))


@lru_cache(maxsize=1)
def _negation() -> re.Pattern:
    words = sorted(w for w in lexicon().negations if w.isalpha())
    return re.compile(r"\b(" + "|".join(words) + r")\b|n't\b", re.I)


def is_negated(text: str) -> bool:
    """Whether a text carries a negation word ("not", "never", "n't", ...)."""
    return bool(_negation().search(text))
