"""The features of a candidate answer: does the span say what the question asks for, of
the question's subject, in the sentence the question is about?

Each feature is a number in [0, 1] about a class of language: the entity type of the
span against the question word, the dependency path from the span to the question's
words, the share of the question's terms (IDF-weighted) in the sentence and in its
article, the question's names and numbers, qualifiers, dates. How much each one counts
is not set here: it is fitted on dev data (app/answer/check/decide.py).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from app.answer.context import SourceSentence
from app.answer.question import QuestionFrame
from app.text.dates import format_date
from app.text.numbers import quantities, same_quantity
from app.text.textmatch import terms

FEATURES = (
    "typed",
    "type_match",
    "type_loose",
    "novel",
    "span_in_question",
    "q_cover",
    "q_cover_doc",
    "names_sent",
    "names_doc",
    "numbers_doc",
    "sim",
    "sim_gap",
    "rank_rr",
    "tie",
    "predicate",
    "qualifier",
    "future_date",
    "exact",
    "overlap",
    "answer_len",
    "by_model",
    "model_abstained",
    "model_sentence",
    "p_sentence",
    "p_none",
    "modifier_conflict",
    "numbers_sent",
    "number_conflict",
    "missing_sent",
    "missing_doc",
    "counts_head",
    "checker",
    "corroborated",
    "agree",
)
MODIFIER_DEPS = {"poss", "compound", "amod", "nmod"}

# spaCy entity labels -> the answer kinds of app/answer/question.py
LABEL_KINDS = {
    "PERSON": {"person", "name"},
    "ORG": {"organisation", "name", "place"},
    "NORP": {"organisation", "name"},
    "GPE": {"place", "organisation", "name"},
    "LOC": {"place", "name"},
    "FAC": {"place", "name"},
    "PRODUCT": {"name"},
    "EVENT": {"name"},
    "WORK_OF_ART": {"name"},
    "LAW": {"name"},
    "LANGUAGE": {"name"},
    "DATE": {"time"},
    "TIME": {"time"},
    "MONEY": {"money", "number"},
    "PERCENT": {"percent", "number"},
    "CARDINAL": {"number"},
    "QUANTITY": {"number"},
}
NUMBER_KINDS = {
    "money": {"money", "number"},
    "percent": {"percent", "number"},
    "count": {"number"},
    "measure": {"number"},
    "fraction": {"number", "percent"},
    "year": {"time"},
    "ordinal": set(),
}


@dataclass(frozen=True)
class Candidate:
    """An answer the reader proposed: ``sentence.text[start:end]`` answers the question."""

    sentence: SourceSentence
    start: int
    end: int
    exact: bool
    overlap: float

    @property
    def text(self) -> str:
        return self.sentence.text[self.start : self.end]


PLACE_LABELS = {"GPE", "LOC", "FAC"}
GATED_WH = {"who", "whom", "where", "when"}
KIND_WORDS = {
    "person": "a person",
    "organisation": "an organisation",
    "place": "a place",
    "nationality": "a nationality",
    "time": "a date or time",
    "money": "a sum of money",
    "percent": "a percentage",
    "number": "a number",
}


def _span_ents(candidate: Candidate, doc) -> list:
    """The entities of the sentence's parse that overlap the span."""
    return [e for e in doc.ents if e.start_char < candidate.end and e.end_char > candidate.start]


def _passive_doer(ent) -> bool:
    """The doer of a passive, "by X" ("talks mediated by X")."""
    return ent.root.head.dep_ == "agent"


def _located(ent) -> bool:
    """A place named as where something is or happens: the object of a preposition ("in X",
    "to X"), not an actor ("X said", or the doer of a passive: "mediated by X")."""
    return ent.root.dep_ == "pobj" and ent.root.head.pos_ == "ADP" and not _passive_doer(ent)


def _ent_kinds(ent) -> set[str]:
    """What an entity of the span can answer: a place that is where something is ("in X") is
    a place only, and a people's adjective ("a German film": a nationality or a group as a
    modifier) describes something, it is not a person or an organisation that acts."""
    if ent.label_ in PLACE_LABELS and _located(ent):
        return {"place"}
    if ent.label_ == "NORP" and ent.root.pos_ == "ADJ":
        return {"nationality"}
    return set(LABEL_KINDS.get(ent.label_, set()))


def _doers_only(candidate: Candidate, doc) -> bool:
    """Whether every name of a place or an organisation in a clause-long span is the doer of a
    passive ("talks mediated by X"): the span says who did something, not where."""
    places = [e for e in _span_ents(candidate, doc) if e.label_ in PLACE_LABELS | {"ORG"}]
    return bool(places) and all(_passive_doer(e) for e in places)


def off_type(frame, candidate: Candidate, doc) -> str:
    """Why a short span cannot answer a typed question ("it names a place; the question asks
    for a person or an organisation"), or "" when it can. Only spans whose every entity or
    number is of another kind; a place that is a preposition's object ("in X") is a place, not
    an organisation that acts. Clause-long spans and loose names are left to the model, but for
    one: a clause whose places are all doers of a passive ("mediated by X") does not say where."""
    wanted = frame.expects - {"name", "clause"}
    # only what a question word itself asks for: "which star" or "what club" is typed by its
    # noun, which the lexicon reads less surely (a "star" of a walk of fame is a number)
    if frame.open or not wanted or frame.wh not in GATED_WH:
        return ""
    kinds, loose = span_kinds(candidate, doc)
    if "clause" in kinds and frame.wh == "where" and _doers_only(candidate, doc):
        return "it names who did something, not where; the question asks for a place"
    if loose or "clause" in kinds:
        return ""
    found: set[str] = set()
    for ent in _span_ents(candidate, doc):
        found |= _ent_kinds(ent)
    for q in quantities(candidate.text):
        found |= NUMBER_KINDS.get(q.kind, set())
    found -= {"name"}
    if not found or found & wanted:
        return ""
    said = " or ".join(sorted(KIND_WORDS[k] for k in found if k in KIND_WORDS)) or "something else"
    asked = " or ".join(sorted(KIND_WORDS[k] for k in wanted if k in KIND_WORDS))
    return f"it names {said}; the question asks for {asked}"


def span_tokens(candidate: Candidate, doc) -> list:
    """The tokens of the sentence's parse that lie within the candidate span."""
    return [t for t in doc if t.idx >= candidate.start and t.idx + len(t) <= candidate.end]


def span_kinds(candidate: Candidate, doc) -> tuple[set[str], bool]:
    """The answer kinds the span holds (from its entities and numbers), and whether it
    holds only a loose name (a proper noun no entity covers)."""
    kinds: set[str] = set()
    for ent in _span_ents(candidate, doc):
        kinds |= LABEL_KINDS.get(ent.label_, set())
    for q in quantities(candidate.text):
        kinds |= NUMBER_KINDS.get(q.kind, set())
    tokens = span_tokens(candidate, doc)
    loose = not kinds and any(t.pos_ == "PROPN" for t in tokens)
    if loose:
        kinds = {"name", "person", "organisation", "place"}
    if any(t.pos_ in ("VERB", "AUX") for t in tokens) or len(tokens) > 6:
        kinds.add("clause")
    return kinds, loose


def _idf_cover(wanted: frozenset[str], have: frozenset[str], idf: Callable[[str], float]) -> float:
    if not wanted:
        return 1.0
    total = sum(idf(t) for t in wanted)
    return sum(idf(t) for t in wanted & have) / total if total else 1.0


def _rarest_missing(wanted: frozenset[str], have: frozenset[str], idf: Callable[[str], float]) -> float:
    """The IDF of the rarest question term the text lacks, over the IDF of the question's
    rarest term: near 1 when the one word that pins the question down ("women's", "Q1",
    "chairman") is not there, however many of the others are."""
    weights = {t: idf(t) for t in wanted}
    top = max(weights.values(), default=0.0)
    missing = [w for t, w in weights.items() if t not in have]
    return max(missing, default=0.0) / top if top else 0.0


def dependency_tie(doc, start: int, end: int, focus: frozenset[str]) -> float:
    """1/(1 + the shortest dependency path from the span to a word of the question)
    outside it; 0 when the sentence has none of the question's words."""
    inside = {t.i for t in doc if t.idx >= start and t.idx + len(t) <= end}
    targets = {t.i for t in doc if t.i not in inside and t.lemma_.lower() in focus}
    if not inside or not targets:
        return 0.0
    neighbours: dict[int, set[int]] = {t.i: set() for t in doc}
    for t in doc:
        if t.head.i != t.i:
            neighbours[t.i].add(t.head.i)
            neighbours[t.head.i].add(t.i)
    seen = dict.fromkeys(inside, 0)
    queue = deque(inside)
    while queue:
        node = queue.popleft()
        if node in targets:
            return 1.0 / (1.0 + seen[node])
        for nxt in neighbours[node]:
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return 0.0


def _name_modifiers(token) -> set[str]:
    return {
        c.lemma_.lower()
        for c in token.children
        if c.dep_ in MODIFIER_DEPS and (c.pos_ == "PROPN" or (c.ent_type_ in LABEL_KINDS and c.ent_type_ != "DATE"))
    }


def modifier_conflict(question_doc, sentence_doc) -> float:
    """1 when a noun the question ties to a name ("Norland's delegation", "the Green
    leader") is tied in the sentence only to other names ("the Ostland delegation"): the
    same word, of someone else."""
    if question_doc is None:
        return 0.0
    for tok in question_doc:
        asked = _name_modifiers(tok) if tok.pos_ == "NOUN" else set()
        if not asked:
            continue
        for other in sentence_doc:
            if other.pos_ == "NOUN" and other.lemma_.lower() == tok.lemma_.lower():
                said = _name_modifiers(other)
                if said and not said & asked:
                    return 1.0
    return 0.0


SWAP_LABELS = {"PERSON", "ORG", "GPE", "FAC", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}


def swapped_entity(question_doc, sentence_doc, start: int, end: int, article: frozenset = frozenset()) -> str:
    """Why the candidate is another entity's fact, or "": the question names someone or
    something (a person, organisation, place, work...) that neither the sentence nor its article
    (``article``: its terms) mentions by any word of its name ("White" counts for "Alan White"),
    while the sentence names another of that kind, in neither the question nor the answer span
    (``start``-``end``). Not nationalities (spaCy's NORP: an adjective, or a country)."""
    if question_doc is None:
        return ""
    said, asked = terms(sentence_doc.text).all | article, terms(question_doc.text).all
    others = {
        e.label_: e.text
        for e in sentence_doc.ents
        if e.label_ in SWAP_LABELS
        and (e.end_char <= start or e.start_char >= end)
        and terms(e.text).words
        and not terms(e.text).words & asked
    }
    for ent in question_doc.ents:
        words = terms(ent.text).words
        if ent.label_ in others and words and not words & said:
            return f"it is about {others[ent.label_]}; its article does not mention {ent.text}"
    return ""


def _after_publication(frame: QuestionFrame, published: str) -> bool:
    """Whether the question asks about a time that begins after the article was published
    ("in June 2025" of an article of May 2025): the article cannot report its outcome."""
    try:
        day = dt.date.fromisoformat(published)
    except ValueError:
        return False
    return any(d.has_year and d.first_day > day for d in frame.dates)


def features(
    frame: QuestionFrame,
    candidate: Candidate,
    doc,
    article_text: str,
    best_similarity: float,
    rank: int,
    idf: Callable[[str], float],
) -> dict[str, float]:
    """The feature vector of one candidate (``doc``: the parse of its sentence)."""
    s = candidate.sentence
    asked = terms(frame.text).all
    header = terms(f"{s.title} {s.outlet} {format_date(s.published)}").all
    in_sentence = terms(s.text).all | header
    in_article = terms(article_text).all | header
    kinds, loose = span_kinds(candidate, doc)
    typed = not frame.open and bool(frame.expects - {"name", "clause"})
    span_terms = terms(candidate.text).all
    name_terms = terms(" ".join(frame.names)).all
    numbers = [q for q in frame.numbers if q.kind != "ordinal"]
    said = quantities(f"{article_text} {s.published[:4]}")
    qualifiers_ok = all(any(w in s.text.lower() for w in _qualifier_words(kind)) for kind in frame.qualifiers)
    lemmas = {t.lemma_.lower() for t in doc}
    return {
        "typed": float(typed),
        "type_match": float(typed and bool(kinds & frame.expects) and not loose),
        "type_loose": float(typed and bool(kinds & frame.expects) and loose),
        "novel": len(span_terms - asked) / len(span_terms) if span_terms else 0.0,
        "span_in_question": float(candidate.text.lower() in frame.text.lower()),
        "q_cover": _idf_cover(asked, in_sentence, idf),
        "q_cover_doc": _idf_cover(asked, in_article, idf),
        "names_sent": len(name_terms & in_sentence) / len(name_terms) if name_terms else 1.0,
        "names_doc": len(name_terms & in_article) / len(name_terms) if name_terms else 1.0,
        "numbers_doc": _share_said(numbers, said),
        "numbers_sent": _share_said(numbers, quantities(f"{s.text} {s.published[:4]}")),
        "number_conflict": number_conflict(numbers, quantities(s.text)),
        "missing_sent": _rarest_missing(asked, in_sentence, idf),
        "missing_doc": _rarest_missing(asked, in_article, idf),
        "counts_head": counts_asked_noun(frame, candidate, doc),
        "modifier_conflict": modifier_conflict(frame.doc, doc),
        "sim": max(0.0, s.similarity),
        "sim_gap": max(0.0, best_similarity - s.similarity),
        "rank_rr": 1.0 / (1.0 + rank),
        "tie": dependency_tie(doc, candidate.start, candidate.end, frame.focus),
        "predicate": 0.5 if not frame.predicate else float(frame.predicate in lemmas),
        "qualifier": float(qualifiers_ok),
        "future_date": float(_after_publication(frame, s.published)),
        "exact": float(candidate.exact),
        "overlap": candidate.overlap,
        "answer_len": min(1.0, math.log1p(len(candidate.text.split())) / math.log1p(20)),
    }


def number_conflict(numbers: list, said: list) -> float:
    """1 when the question names a number of one kind (a year, a sum of money, a count)
    that the sentence does not state while it states another of that kind ("in 2021"
    asked, "in 2023" said): the sentence is about a neighbouring fact."""
    for asked in numbers:
        same_kind = [q for q in said if q.kind == asked.kind]
        if same_kind and not any(same_quantity(asked, q, lenient=True) for q in same_kind):
            return 1.0
    return 0.0


def counts_asked_noun(frame: QuestionFrame, candidate: Candidate, doc) -> float:
    """For "how many X" / "what number of X": 1 when a number of the span counts X in the
    sentence's parse ("6,000 people" for "how many people"), 0 when its numbers count
    something else; 0.5 when the question counts nothing."""
    from app.answer.check.arithmetic import counts_head

    if frame.wh != "how_many" or not frame.head:
        return 0.5
    span = [q for q in quantities(candidate.sentence.text) if candidate.start <= q.start and q.end <= candidate.end]
    return float(any(counts_head(doc, q, frame.head) for q in span))


def _share_said(numbers: list, said: list) -> float:
    if not numbers:
        return 1.0
    return sum(any(same_quantity(n, q, lenient=True) for q in said) for n in numbers) / len(numbers)


def _qualifier_words(kind: str) -> tuple[str, ...]:
    from app.text.lexicon import lexicon

    return lexicon().qualifiers.get(kind, ())
