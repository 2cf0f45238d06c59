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

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can could did didn't do does doesn't doing don't down during each few for from further had
    hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
    on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't
    so some such than that that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's will with won't would wouldn't you
    you'd you'll you're you've your yours yourself yourselves
    according article articles excerpt excerpts source sources report reports reported say says said state states
    stated mention mentions mentioned yes also however still just even
    """.split()
)

NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "twice": "2", "dozen": "12",
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5",
}  # fmt: skip
_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}  # fmt: skip
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


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
    raw = text.lower().replace("\u2019", "'")
    for token in _TOKEN.findall(raw):
        if token[0].isdigit():
            numbers.add(_number(token))
            continue
        token = token.removesuffix("'s")
        if token in NUMBER_WORDS:
            numbers.add(NUMBER_WORDS[token])
            continue
        if token in STOPWORDS or len(token) < 2:
            continue
        words.add(_MONTHS.get(token, token))
    stems = frozenset(_stemmer().stemWords(sorted(words)))
    return Terms(words=stems, numbers=frozenset(numbers))
