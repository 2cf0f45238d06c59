"""How one sentence of an article bears on a pasted claim: supports, contradicts,
qualifies, or is unrelated (the judgement of the claim check, app/services/claims.py).

* **supports**: the claim's content words (80 %, all of them for a short claim), every
  name and every number of the claim are in the sentence, its negation matches, and it
  puts no other number on what the claim counts;
* **contradicts**: the sentence is about the same thing (75 % of the claim's words, or
  half of them and a close embedding) and puts a different number on the same noun
  ("500 prisoners" against "700 prisoners"), or says it with the opposite negation,
  or names someone or somewhere else in the same place ("in London" against "in Paris");
* **qualifies**: related (two or more of the claim's terms, half its words or a close
  embedding) but saying only part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.text.lexicon import lexicon
from app.text.textmatch import is_negated, terms

Relation = Literal["supports", "contradicts", "qualifies"]

SUPPORT_COVERAGE = 0.8  # share of the claim's words a supporting sentence must hold
SAME_TOPIC_COVERAGE = 0.75  # ... a sentence must hold to be "about the same thing"
SAME_TOPIC_SIMILARITY = 0.6  # or half the words and at least this embedding similarity
RELATED_COVERAGE = 0.5
RELATED_SIMILARITY = 0.5

_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[A-Za-z][\w'’-]*")


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
    words = lexicon().number_words
    return words.get(low) if low in words and low not in {"first", "second"} else None


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
    initial: str  # stem of the first word when it is capitalised ("Talks", "Ruiz")
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
            stop = lexicon().stopwords
            after = [t for t in tokens[i + 1 : i + 4] if _number_of(t) is None and t.lower() not in stop][:2]
            before = [t for t in tokens[max(0, i - 2) : i] if _number_of(t) is None and t.lower() not in stop]
            stems = frozenset(s for s in (_stem(t) for t in after + before[-1:]) if s)
            counts.append(Count(number, token, stems, after[0] if after else (before[-1] if before else "")))
            i += 1
            continue
        if not _is_name(token):
            if stem := _stem(token):
                surface.setdefault(stem, token)
            i += 1
            continue
        # a run of capitalised words is one name ("Ana Ruiz")
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
        negated=is_negated(text),
        surface=surface,
    )


def _is_name(token: str) -> bool:
    low = token.lower().removesuffix("'s")
    return token[0].isupper() and low not in lexicon().stopwords and len(low) > 1


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
    claim has one ("headed by Ana Ruiz" against "headed by Tom Hale")."""
    for before, stems, name in claim.slots:
        if stems & sentence.all or (before in lexicon().stopwords and before not in _SLOT_WORDS):
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


# --- the same predicate, the opposite polarity (from the dependency parse) ---------------

_ARGUMENT_DEPS = {"dobj", "attr", "acomp", "xcomp", "ccomp", "oprd", "npadvmod", "advmod", "dative"}
_SUBJECT_DEPS = {"nsubj", "nsubjpass", "expl"}


def _main_verb(doc):
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    if root.pos_ == "VERB":
        return root
    return next((c for c in root.children if c.pos_ == "VERB"), root if root.pos_ == "AUX" else None)


def _negated(verb) -> bool:
    negations = lexicon().negations
    return any(c.dep_ == "neg" or c.lower_ in negations for c in verb.children)


def _arguments(verb) -> set[str]:
    """Content lemmas of what the verb says of its subject (objects, complements, prepositional objects)."""
    out: set[str] = set()
    for child in verb.children:
        if child.dep_ in _ARGUMENT_DEPS or child.dep_ == "prep":
            out |= {t.lemma_.lower() for t in child.subtree if t.pos_ in ("NOUN", "PROPN", "ADJ", "NUM", "VERB")}
    return out


def named_arguments(verb) -> set[str]:
    """The names and numbers among what the verb says (they must all be said again)."""
    return {
        t.lemma_.lower()
        for child in verb.children
        if child.dep_ in _ARGUMENT_DEPS or child.dep_ == "prep"
        for t in child.subtree
        if t.pos_ in ("PROPN", "NUM")
    }


def _subject(verb) -> list:
    return [t for c in verb.children if c.dep_ in _SUBJECT_DEPS for t in c.subtree]


def same_predicate(claim_doc, sentence_doc, claim_names_in_article: bool) -> tuple[str, bool] | None:
    """(the sentence's verb phrase, whether its polarity is the claim's) when the sentence
    says the claim's predicate, with the claim's arguments, of the claim's subject ("have
    held direct talks" / "have not held direct talks"); None when it does not.

    The subject must be the claim's (a shared word), or one the sentence does not name ("the
    two countries", "they") in an article that names the claim's actors.
    """
    verb = _main_verb(claim_doc)
    if verb is None:
        return None
    wanted = _arguments(verb)
    subject = {t.lemma_.lower() for t in _subject(verb) if t.pos_ in ("NOUN", "PROPN")}
    for other in sentence_doc:
        if other.lemma_ != verb.lemma_ or other.pos_ not in ("VERB", "AUX"):
            continue
        said = {t.lemma_.lower() for t in other.subtree}
        if wanted and len(wanted & said) < 0.5 * len(wanted):
            continue
        if not named_arguments(verb) <= said:  # "took place in Geneva" is not "took place at the border"
            continue
        theirs = _subject(other)
        their_lemmas = {t.lemma_.lower() for t in theirs}
        unnamed = theirs and not any(t.pos_ == "PROPN" for t in theirs)
        if (subject & their_lemmas) or (unnamed and claim_names_in_article) or not subject:
            start = min(t.i for t in [other, *other.children] if t.dep_ in ("aux", "neg", "auxpass") or t is other)
            return sentence_doc[start : other.i + 1].text, _negated(other) == _negated(verb)
    return None
