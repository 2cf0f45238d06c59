"""What a question pins down, and whether a cited quote honours it.

A quote can back every word of an answer sentence and still answer another question:
a count from one strike for "how many in total", a meeting for "the *first* meeting",
the head of the Kremlin's delegation for "who led *Ukraine's* delegation", a preview
of talks for "what was the *outcome* of the talks" asked about a day after the article
was published. Each check here returns why the quotes miss the question ("" if they
do not), and is applied to every answer sentence and to every quote offered in place
of one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from app.text.lexicon import lexicon
from app.text.textmatch import terms
from app.text.timewords import MONTHS, question_dates


class Quoted(Protocol):
    text: str
    published: str


# A qualifier narrows what is asked; the quote must carry it (or a word for it).
_QUALIFIERS = {
    "first": (
        re.compile(r"\bfirst\b", re.I),
        re.compile(r"\b(first|1st|debut|maiden|inaugural|initial(ly)?|earliest|never before)\b", re.I),
    ),
    "total": (
        re.compile(r"\b(in total|total|in all|altogether|all told|overall|combined|cumulative)\b", re.I),
        re.compile(r"\b(total|in all|altogether|all told|overall|combined|cumulative|so far|to date)\b", re.I),
    ),
}


def _in_name(question: str, start: int) -> bool:
    """A capitalised qualifier mid-question is part of a name ("First Minister")."""
    before = question[:start].rstrip()
    return question[start].isupper() and bool(before) and before[-1] not in ".?!:\"'"


def missing_qualifier(question: str, quotes: Iterable[Quoted]) -> str:
    """The question's qualifier ("first", "in total") that no quote carries, or ""."""
    texts = [q.text for q in quotes]
    for name, (asked, said) in _QUALIFIERS.items():
        match = asked.search(question)
        if match and not _in_name(question, match.start()) and not any(said.search(t) for t in texts):
            return name
    return ""


# Names that stand for the same actor in news copy ("the Kremlin delegation" is Russia's).
_ALIAS_GROUPS = [
    {"russia", "russian", "kremlin", "moscow"},
    {"ukrain", "ukrainian", "kyiv", "kiev"},
    {"us", "usa", "america", "american", "washington", "white"},
    {"uk", "britain", "british", "london", "whitehall", "downing", "england", "english"},
    {"china", "chines", "beij"},
    {"eu", "european", "brussel"},
    {"franc", "french", "pari"},
    {"germani", "german", "berlin"},
]
_ALIAS = {stem: i for i, group in enumerate(_ALIAS_GROUPS) for stem in group}
# "Ukraine's delegation", "the White House Middle East envoy": capitalised owner words
# directly before a lowercase noun.
_OWNED = re.compile(
    r"\b((?:[A-Z][\w-]*\s+)*[A-Z][\w-]*)('s|\u2019s)?\s+(?!(?:of|and|or|to|in|on|at|for|by|with|from|as)\b)"
    r"([a-z][\w-]+)"
)
_COORDINATED = re.compile(r"\b([A-Z][\w-]*)(?:'s|\u2019s)?\s+(?:and|or|&)\s+(?:its\s+|their\s+|the\s+)?$")
# "the July talks", "Monday's attacks" say when, not whose
_TIME_WORDS = (
    set(MONTHS)
    | {d.lower() for d in calendar.day_name}
    | {"spring", "summer", "autumn", "fall", "winter", "easter", "christmas", "overnight", "today", "yesterday"}
)


def _stem(word: str) -> str:
    return next(iter(terms(word).words), word.lower())


def _same_owner(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two owners (stems of their words) may be the same actor."""
    for x in a:
        for y in b:
            if x == y or x.startswith(y) or y.startswith(x):  # "ukrain" / "ukrainian"
                return True
            if x in _ALIAS and _ALIAS.get(x) == _ALIAS.get(y):
                return True
    return False


_ACTOR_WORD = re.compile(r"\b(?:[A-Z][\w.-]*|[A-Z]{2,})\b")


def actors_present(question: str, text: str) -> bool:
    """Whether every actor the question names by a known name ("the EU", "Washington")
    is in the text under one of its names ("European Union", "Brussels")."""
    said = {_ALIAS.get(_stem(w.replace(".", ""))) for w in _ACTOR_WORD.findall(text)} | {
        _ALIAS.get(w) for w in terms(text).words if w in _ALIAS
    }
    for word in _ACTOR_WORD.findall(question):
        group = _ALIAS.get(_stem(word.replace(".", "")))
        if group is not None and group not in said:
            return False
    return True


@dataclass(frozen=True)
class _Owned:
    owner: frozenset[str]  # stems of the owner's words
    noun: str
    start: int
    possessive: bool


def _owned(text: str) -> list[_Owned]:
    """The (owner, noun) pairs of a text; a sentence's first word is not taken for a name."""
    pairs = []
    for match in _OWNED.finditer(text):
        words = match.group(1).split()
        start = match.start()
        before = text[:start].rstrip()
        if not before or before[-1] in ".!?:;\"'\u201c(":
            words, start = words[1:], start + len(words[0]) + 1
        words = [w for w in words if w.lower() not in lexicon().stopwords and w.lower() not in _TIME_WORDS]
        noun = match.group(3)
        if not words or noun in lexicon().stopwords:
            continue
        owner = frozenset(_stem(w) for w in words)
        pairs.append(_Owned(owner, _stem(noun), start, bool(match.group(2))))
    return pairs


def conflicting_owner(question: str, quotes: Iterable[Quoted]) -> str:
    """ "Ukraine's delegation" asked, only "the Kremlin delegation" quoted: the conflict, or "".

    A noun the question gives an owner ("Ukraine's"), which the quotes give only to
    another, is not the thing asked about. An owner named just before the noun in the
    quote ("Ukraine and European allies") counts as tied to it.
    """
    asked = [pair for pair in _owned(question) if pair.possessive]
    if not asked:
        return ""
    for quote in quotes:
        said = _owned(quote.text)
        for pair in asked:
            others = [o for o in said if o.noun == pair.noun]
            if not others or any(_same_owner(pair.owner, o.owner) for o in others):
                continue
            # coordination: "Ukraine and European allies" ties Ukraine to the allies too
            tied = [_COORDINATED.search(quote.text[max(0, o.start - 40) : o.start]) for o in others]
            if any(m and _same_owner(pair.owner, frozenset({_stem(m.group(1))})) for m in tied):
                continue
            theirs, ours = " ".join(sorted(others[0].owner)), " ".join(sorted(pair.owner))
            return f"the quote's {pair.noun} belongs to {theirs}, the question's to {ours}"
    return ""


# The question asks what happened; an article published before can only have previewed it.
_PAST_OUTCOME = re.compile(
    r"\b(outcome|result|results|happened|ended|end|concluded|agreed|decided|won|lost|achieved|produced|"
    r"reached|signed|announced after|came out of)\b",
    re.I,
)
_FORWARD = re.compile(r"\b(scheduled|planned|expected|due|set to|will|upcoming|next|to be held|going to|plans?)\b",
                      re.I)  # fmt: skip


def after_publication(question: str, quotes: Iterable[Quoted]) -> str:
    """Why quotes from articles published before the event cannot give its outcome, or ""."""
    if not _PAST_OUTCOME.search(question) or _FORWARD.search(question):
        return ""
    published = [q.published for q in quotes if q.published]
    dates = question_dates(question)
    if not published or not dates:
        return ""
    newest = max(dt.date.fromisoformat(p) for p in published)
    later = [d for d in dates if d > newest]
    if later:
        return f"the cited article ({newest}) was published before {later[0]}, the date the question asks about"
    return ""


def unmet(question: str, quotes: list[Quoted]) -> str:
    """The first constraint of the question the quotes do not meet, as a reason; "" if none."""
    if qualifier := missing_qualifier(question, quotes):
        return f"the question asks for the {qualifier} one, and the quotes do not say so"
    return conflicting_owner(question, quotes) or after_publication(question, quotes)
