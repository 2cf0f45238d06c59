"""How one sentence of an article bears on a pasted claim: supports, contradicts,
qualifies, or is unrelated (the judgement of the claim check, app/claims/checker.py).

Words first (``judge``):

* **supports**: the claim's content words (80 %, all of them for a short claim), every
  name and every number of the claim are in the sentence, its negation matches, and it
  puts no other number on what the claim counts;
* **contradicts**: the sentence is about the same thing (75 % of the claim's words, or
  half of them and a close embedding) and puts a different number on the same noun
  ("500 prisoners" against "700 prisoners"), or says it with the opposite negation,
  or names someone or somewhere else in the same place ("in London" against "in Paris");
* **qualifies**: related (two or more of the claim's terms, half its words or a close
  embedding) but saying only part of it.

Then the parse (``decide``, with app/claims/predicates.py): the claim's predicate said of
its subject negated or with an antonym contradicts it; said of another subject it only
qualifies it, whatever the words. Reasons are verb phrases whose subject is the source
("gives 500 prisoners, not 700", "says the two sides have *not* held talks since 2022",
"speaks of the talks but gives no date"); *emphasis* marks a negation or an antonym.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

from app.claims.predicates import PredicateMatch, clause_of, predicate_head, verb_group
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


def number_conflict(claim: Statement, sentence: Statement) -> tuple[Count, Count] | None:
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


def counted(count: Count, doc=None) -> str:
    """'500 prisoners'; with the sentence's parse, the whole noun it counts ('500 shipping containers')."""
    number = next((t for t in doc or () if t.text == count.surface and t.dep_ == "nummod"), None)
    if number is not None and number.head.i > number.i:
        return number.doc[number.i : number.head.i + 1].text
    return f"{count.surface} {count.noun}".strip()


class Finding(NamedTuple):
    """How a sentence bears on a claim. ``reason`` is a verb phrase whose subject is the source
    ("gives 500 prisoners, not 700"); the service puts the outlet and date before it."""

    relation: Relation
    reason: str
    coverage: float  # share of the claim's words the sentence holds
    basis: str = "words"  # what decided it: words, number, negation, name, predicate, antonym, subject


def judge(claim: Statement, sentence: Statement, similarity: float | None = None) -> Finding | None:
    """How a sentence bears on a claim, from its words, numbers and names, or None when it is
    unrelated. ``similarity`` is the embedding cosine similarity between them (None when
    there is no embedding model)."""
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
    conflict = number_conflict(claim, sentence)

    if same_topic and conflict:
        mine, other = conflict
        return Finding("contradicts", f"gives {counted(other)}, not {mine.surface}", coverage, "number")
    # "No prisoners were returned" denies "500 prisoners were returned" (it states no other number)
    if same_topic and (numbers_ok or not sentence.numbers) and names_ok and claim.negated != sentence.negated:
        return Finding("contradicts", f"says the opposite: it {_polarity_words(claim, sentence)}", coverage, "negation")
    support_needed = SUPPORT_COVERAGE if len(wanted) >= 5 else 1.0
    if coverage >= support_needed and numbers_ok and names_ok and claim.negated == sentence.negated:
        return Finding("supports", "says so, with the claim's words, names and numbers", coverage)
    plain = claim.words - (claim.names - {claim.initial})  # "Talks will ..." opens with a common word
    if len(plain) >= 2 and plain <= sentence.words and (swap := _name_swap(claim, sentence)):
        return Finding("contradicts", f"names {swap[1]} where the claim has {swap[0]}", coverage, "name")
    if enough_shared and (coverage >= RELATED_COVERAGE or sim >= RELATED_SIMILARITY):
        return Finding("qualifies", "says only part of the claim", coverage)
    return None


def _negation_word(statement: Statement) -> str:
    negations = lexicon().negations
    words = (m.group(0) for m in _TOKEN.finditer(statement.text))
    return next((w for w in words if w.lower() in negations or w.lower().endswith("n't")), "not")


def _polarity_words(claim: Statement, sentence: Statement) -> str:
    """'says *not* where the claim does not', or 'lacks the claim's "not"'."""
    if sentence.negated:
        return f"says *{_negation_word(sentence)}* where the claim does not"
    return f"lacks the claim's “{_negation_word(claim)}”"


def differences(claim: Statement, sentence: Statement, claim_doc=None, sentence_doc=None) -> str:
    """What a related sentence says differently, as a verb phrase whose subject is the source:
    "speaks of the talks but gives no date", "gives 2023, not 2022". With the parses it also
    says when the claim's verb is missing and compares dates (spaCy's DATE entities)."""
    found: list[str] = []
    dated: frozenset[str] = frozenset()
    names = claim.spell(claim.names - sentence.all - {claim.initial} - claim.numbers)
    if claim_doc is not None and sentence_doc is not None:
        head = predicate_head(claim_doc)
        if head is not None and head.lemma_ not in {t.lemma_ for t in sentence_doc} and head.lemma_ != "be":
            found.append(f"does not say “{verb_group(head, clause_of(head))}”")
        dates = [e for e in claim_doc.ents if e.label_ == "DATE"]
        dated = date_numbers(claim_doc)
        theirs = sorted((e for e in sentence_doc.ents if e.label_ == "DATE"), key=lambda e: not terms(e.text).numbers)
        for date in dates:
            if not terms(date.text).all <= sentence.all:
                found.append(f"gives {_as_written(theirs[0])}, not {date.text}" if theirs else "gives no date")
        names = [t.text for t in claim_doc if t.pos_ == "PROPN" and t.ent_type_ != "DATE"]
        names = list(dict.fromkeys(n for n in names if not terms(n).all <= sentence.all))
    if (conflict := number_conflict(claim, sentence)) and conflict[0].number not in dated:
        found.append(f"gives {counted(conflict[1], sentence_doc)}, not {conflict[0].surface}")
    elif missing := [c.surface for c in claim.counts if c.number not in sentence.numbers | dated]:
        found.append(f"does not give {_listed(missing)}")
    if names:
        found.append(f"does not mention {_listed(names)}")
    if claim.negated != sentence.negated:
        found.append(_polarity_words(claim, sentence))
    topic = _topic(claim, sentence, claim_doc)
    said = " and ".join(dict.fromkeys(found[:2])) or "says only part of the claim"
    return f"speaks of {topic} but {said}" if topic else said


def _as_written(span) -> str:
    """A span as it would read inside a sentence ("Last summer" at the start -> "last summer")."""
    first = span[0]
    if first.i == first.sent.start and first.pos_ != "PROPN":
        return span.text[:1].lower() + span.text[1:]
    return span.text


def _is_named(token, elsewhere: str = "") -> bool:
    """A name (no article before it): tagged so, an entity, or capitalised inside the sentence.
    A capital that opens the sentence says nothing, so there the word is a name when the other
    text (``elsewhere``) writes it capitalised after a word of its own ("Zelenskyy proposed …"
    against "…, Zelenskyy's proposal")."""
    if token.pos_ == "PROPN" or token.ent_type_:
        return True
    if token.i != token.sent.start:
        return token.text[:1].isupper()
    pattern = rf"\w\W+{re.escape(token.text)}\b"
    return token.text[:1].isupper() and re.search(pattern, elsewhere) is not None


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _topic(claim: Statement, sentence: Statement, claim_doc=None) -> str:
    """The claim's nouns the sentence speaks of, as the claim writes them ("the union and the offer")."""
    if claim_doc is None:
        return _listed(claim.spell(claim.names & sentence.all)) if claim.names & sentence.all else ""
    nouns = [
        t.text if _is_named(t, sentence.text) else f"the {t.lower_ if t.i == t.sent.start else t.text}"
        for t in claim_doc
        if t.pos_ in ("NOUN", "PROPN")
        and t.dep_ != "compound"
        and t.ent_type_ not in ("DATE", "TIME")
        and _stem(t.text) in sentence.all
    ]
    return _listed(list(dict.fromkeys(nouns))[:3]) if nouns else ""


def date_numbers(doc) -> frozenset[str]:
    """The numbers inside a parse's dates (spaCy's DATE entities): "since 2022" -> {"2022"}."""
    return terms(" ".join(e.text for e in doc.ents if e.label_ == "DATE")).numbers


def decide(
    claim: Statement,
    sentence: Statement,
    found: Finding | None,
    match: PredicateMatch | None,
    dates: frozenset[str] = frozenset(),
) -> Finding | None:
    """The word-level finding (``judge``) corrected by the parse (``match_predicate``): the claim's
    predicate said of its subject with the opposite polarity or an antonym contradicts it; said
    of someone else it only qualifies it; said alike (with the claim's numbers) it supports it.
    Another year is not another count: with ``dates`` (the claim's numbers that are dates,
    ``date_numbers``), "talks in 2023" only qualifies "talks since 2022"."""
    coverage = found.coverage if found else 0.0
    conflict = number_conflict(claim, sentence) if found and found.basis == "number" else None
    if conflict and conflict[0].number in dates:
        found = Finding("qualifies", f"gives {conflict[1].surface}, not {conflict[0].surface}", coverage)
    if match is None:
        return found
    if match.contradicts:
        return Finding("contradicts", match.says, coverage, match.kind)
    if not match.same_subject:
        if found is not None and found.basis in ("words", "negation"):
            return Finding(
                "qualifies", f"{match.says}, but the claim is about {match.claim_subject}", coverage, "subject"
            )
        return found
    # the same polarity of the same predicate: a word-level negation was about something else
    if (
        found is None or found.relation == "qualifies" or found.basis == "negation"
    ) and claim.numbers <= sentence.numbers:
        return Finding("supports", match.says, coverage, "predicate")
    if found is not None and found.relation == "supports":
        return found._replace(reason=match.says)
    return found
