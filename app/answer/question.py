"""What a question asks for, read from its parse: the kind of answer (a person, a place, a
date, an amount of money ...), the words it is about, the names and numbers it brings,
and what it pins down ("the first", "in total", "the latest").

Everything here is about classes of language (question words, dependency relations,
entity types, number kinds), never about the words of a corpus.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from app.errors import BadQuestionError
from app.text.cleaning import typed_line
from app.text.dates import DateMention, read_date
from app.text.lexicon import lexicon
from app.text.names import named_terms
from app.text.numbers import Quantity, quantities
from app.text.textmatch import Terms, terms

WH_TAGS = {"WDT", "WP", "WP$", "WRB"}
NAMED_KINDS = {"person", "organisation", "place"}  # answer kinds a name states: "which players" asks for names
YES_NO_AUX = set("is are was were do does did has have had can could will would should may might must".split())
NAME_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
SUBJECT_POS = {"NOUN", "PROPN", "NUM"}
CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"}
# what each question word asks for when no noun says more
WH_EXPECTS = {
    "who": {"person", "organisation"},
    "whom": {"person", "organisation"},
    "whose": {"person", "organisation"},
    "where": {"place", "organisation"},
    "when": {"time"},
    "how_many": {"number"},
    "how_much": {"money", "number", "percent"},
    "how_long": {"time", "number"},
    "how_old": {"number", "time"},
    "how_far": {"number"},
    "how_often": {"number", "time"},
    "why": {"clause"},
    "how": {"clause"},
    "yesno": {"yesno"},
}


@dataclass(frozen=True)
class QuestionFrame:
    text: str
    wh: str  # who, what, which, where, when, why, how, how_many, how_much, ..., yesno, other
    expects: frozenset[str]  # person, organisation, place, time, money, percent, number, name, clause, yesno
    head: str  # lemma of the noun the question word asks about ("fee" of "what initial fee")
    focus: frozenset[str]  # lowercased lemmas of its content words (question words and light verbs left out)
    names: tuple[str, ...]  # the names it brings (entities and proper nouns), as written
    numbers: tuple[Quantity, ...]  # the numbers it brings (a year, an amount; not "three" of "which three bands")
    qualifiers: frozenset[str]  # first, last, total
    predicate: str  # lemma of its main verb ("" for "be"/"have")
    arithmetic: str = ""  # "sum", "difference" or "span" when it asks for one to be computed
    dates: tuple[DateMention, ...] = ()  # the dates it names ("in June 2025", "on 5 May 2024"), read by dateparser
    role: str = ""  # lemma of the role a copular who-question asks about ("chairman" of "who is the chairman of X")
    doc: object = field(default=None, compare=False, repr=False)  # the question's parse
    answer_kind: str = "other"  # number | name | other: what the context's sentences are scored as holding
    shape: str = "span"  # span | statement | reason | list | yesno: the shape of its answer (SHAPES)

    @cached_property
    def terms(self) -> Terms:
        """Its stemmed terms (words and numbers), as every term-overlap score reads them."""
        return terms(self.text)

    @cached_property
    def named(self) -> frozenset[str]:
        """The stemmed terms of its names (capitalised words and entities)."""
        return frozenset(named_terms(self.text))

    @cached_property
    def subject_terms(self) -> Terms:
        """The stemmed terms of its subject (see ``subject``)."""
        return terms(self.subject)

    @property
    def subject(self) -> str:
        """What the question is about: its nouns, names and numbers (not its verbs: "exchanged"
        and "swapped" speak of the same prisoners), as written; all its words when it has none.
        For a list, a statement or a reason, not the noun its question word determines: the answer
        names the songs of "which songs did REM play", it need not say "songs" (but "what are the
        names of the songs" asks for names of songs: a sentence without them is no answer). Only
        when the question names someone or something: "what instructions were you given before
        this conversation" would be about "conversation" alone."""
        if self.doc is None:
            return self.text
        named = self.shape != "span" and bool(self.proper_names)  # a name pins the subject without it
        asked = {t.head.i for t in self.doc if t.tag_ in WH_TAGS and t.dep_ == "det"} if named else set()
        words = [t.text for t in self.doc if t.pos_ in SUBJECT_POS and t.tag_ not in WH_TAGS and t.i not in asked]
        return " ".join(words) if words else self.text

    @property
    def proper_names(self) -> tuple[str, ...]:
        """Its names of someone or something (people, organisations, places, works, events), not
        nationalities or groups (spaCy NORP: an adjective in one article, a country in the next)."""
        if self.doc is None:
            return self.names
        return tuple(e.text for e in self.doc.ents if e.label_ in NAME_LABELS - {"NORP", "LANGUAGE"})

    @property
    def open(self) -> bool:
        """A question whose answer is a clause, not a typed value (why, how, yes/no)."""
        return bool(self.expects & {"clause", "yesno"})


_NUMBER_Q = re.compile(
    r"\b(how (many|much|long|old|far|often|big|large|high)|what (percentage|share|price|number|amount|proportion|"
    r"age|year|date|day|time|sum|figure|fee|rate|total)|when|on what date|in what year|which (year|date|day|month))\b",
    re.I,
)
_NAME_Q = re.compile(
    r"\b(who|whom|whose|where|which|what (city|country|region|company|firm|team|group|"
    r"organisation|organization|newspaper|platform|channel|party|band|film|club))\b",
    re.I,
)


# The shapes of an answer: a phrase of a sentence (who, where, when, how many, which), or whole
# sentences: what someone said or did, why or how, the items of a list, yes or no.
SHAPES = ("span", "statement", "reason", "list", "yesno")
SENTENCE_SHAPES = frozenset(SHAPES[1:])
PLURAL_TAGS = {"NNS", "NNPS"}


def _shape(doc, wh: str, wh_index: int, head: str) -> str:
    """The shape of the answer a parsed question asks for (one of ``SHAPES``), from its
    question word, the noun it asks about and its main verb; never from its topic words."""
    if wh == "yesno" or (wh == "other" and _inverted(doc)):
        return "yesno"
    if wh == "why":
        return "reason"
    if wh == "how":  # "how did they stop it": a manner; "how big", "how soon": a value
        after = doc[wh_index + 1] if 0 <= wh_index < len(doc) - 1 else None
        return "span" if after is not None and after.pos_ in ("ADJ", "ADV") else "reason"
    if wh not in ("what", "which", "other"):
        return "span"
    plural = any(t.lemma_.lower() == head and t.tag_ in PLURAL_TAGS and t.dep_ != "compound" for t in doc)
    if head and plural and _noun_kind(head) in NAMED_KINDS | {""}:  # no kind, or one a name states
        return "list"  # "what are the demands", "which sectors", "which players": several things
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    verbs = [root] + [c for c in root.children if c.pos_ in ("VERB", "AUX")] if root is not None else []
    if wh == "what" and not head and root is not None and root.lemma_.lower() in lexicon().causal_verbs:
        return "reason"  # "what caused / led to / prompted X"
    if wh != "which" and not head and any(v.lemma_.lower() in lexicon().statement_verbs for v in verbs):
        return "statement"  # "what did X say / warn / demand", "what happened"
    return "span"


def _inverted(doc) -> bool:
    """An auxiliary before its clause's subject, or opening the clause after a fronted phrase
    ("As of April, had they met?"): a yes/no question."""
    comma = next((t.i for t in doc if t.text == ","), None)
    after = next((t for t in doc[comma + 1 :] if not t.is_punct), None) if comma is not None else None
    if after is not None and after.lower_ in YES_NO_AUX:
        return True
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return False
    subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    aux = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.lower_ in YES_NO_AUX]
    if root.lower_ in YES_NO_AUX:
        aux.append(root)
    return subject is not None and any(a.i < subject.i for a in aux)


def _answer_kind(question: str) -> str:
    """What kind of answer the question asks for: "number", "name" or "other"."""
    if _NUMBER_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    return "other"


def clean_question(question: object, max_chars: int) -> str:
    """The question as text, or BadQuestionError saying what is wrong with it."""
    if not isinstance(question, str):
        raise BadQuestionError("The question must be text.")
    text = unicodedata.normalize("NFC", typed_line(question))
    if not text:
        raise BadQuestionError("The question is empty. Type a question about the news articles.")
    if len(text) > max_chars:
        raise BadQuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Ask something shorter."
        )
    if not re.search(r"\w", text):
        raise BadQuestionError("The question has no words in it. Type a question about the news articles.")
    return text


def read_question(text: str, nlp) -> QuestionFrame:
    """The frame of a question, from its parse by the shared pipeline: the one reading of the
    question every later stage (retrieval, context, reader, checks, reply) is handed."""
    return analyse_question(nlp.parse(text))


def _wh(doc) -> tuple[str, int]:
    """The question word (normalised) and its token index; ("yesno", 0) or ("other", -1)."""
    first = next((t for t in doc if not t.is_punct), None)
    if first is not None and first.lower_ in YES_NO_AUX:
        return "yesno", first.i
    for tok in doc:
        if tok.tag_ in WH_TAGS or tok.lower_ in ("how", "what", "which", "who", "when", "where", "why"):
            word = tok.lower_
            if word == "how" and tok.i + 1 < len(doc):
                nxt = doc[tok.i + 1].lower_
                if nxt in ("many", "much", "long", "old", "far", "often"):
                    return f"how_{nxt}", tok.i
            return word, tok.i
    return "other", -1


def _head(doc, wh_index: int) -> str:
    """The noun a "what/which/how many" word is attached to ("which luxury goods group" -> group)."""
    if wh_index < 0:
        return ""
    tok = doc[wh_index]
    if tok.dep_ in ("det", "amod", "advmod") and tok.head.pos_ in ("NOUN", "PROPN"):
        return tok.head.lemma_.lower()
    if tok.lower_ == "how" and wh_index + 1 < len(doc):  # how many [adj] NOUN
        many = doc[wh_index + 1]
        if many.head.pos_ in ("NOUN", "PROPN"):
            return many.head.lemma_.lower()
    if tok.lower_ in ("what", "which", "whose"):  # "into which coastal region": the parse may miss the det
        for nxt in doc[wh_index + 1 : wh_index + 4]:
            if nxt.pos_ == "NOUN":
                return nxt.lemma_.lower()
            if nxt.pos_ not in ("ADJ", "PROPN", "NUM", "ADV"):
                break
    # "what is the price of ...": the subject/attribute noun of the copula
    if tok.lower_ in ("what", "which") and tok.head.lemma_ == "be":
        for child in tok.head.children:
            if child.i != tok.i and child.pos_ == "NOUN" and child.dep_ in ("nsubj", "attr"):
                return child.lemma_.lower()
    return ""


def _expects(wh: str, head: str) -> set[str]:
    kind = _noun_kind(head)
    if wh == "how_much" and kind in ("money", "percent"):  # "how much profit"
        return {kind}
    if wh in WH_EXPECTS:
        return set(WH_EXPECTS[wh])
    if kind:  # "which company", "what price", "what year"
        return {kind}
    if wh in ("what", "which"):
        return {"name", "clause"}
    return {"clause"}


def _noun_kind(head: str) -> str:
    if not head:
        return ""
    for kind in ("time", "money", "percent", "person", "organisation", "place", "number"):
        if head in lexicon().answer_nouns[kind]:
            return kind
    return ""


def _qualifiers(text: str) -> frozenset[str]:
    low = text.lower()
    found = set()
    for kind, words in lexicon().qualifiers.items():
        if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low) for w in words):
            found.add(kind)
    return frozenset(found)


def _arithmetic(text: str) -> str:
    low = text.lower()
    for kind, phrases in lexicon().arithmetic.items():
        if any(re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", low) for p in phrases):
            return kind
    return ""


def _names(doc) -> tuple[str, ...]:
    names = [e.text for e in doc.ents if e.label_ in NAME_LABELS]
    covered = {t.i for e in doc.ents if e.label_ in NAME_LABELS for t in e}
    names += [t.text for t in doc if t.pos_ == "PROPN" and t.i not in covered and t.i > 0]
    return tuple(dict.fromkeys(names))


def analyse_question(doc) -> QuestionFrame:
    """The frame of a parsed question (a spaCy ``Doc``)."""
    wh, wh_index = _wh(doc)
    head = _head(doc, wh_index)
    light = lexicon().question_light_words | lexicon().stopwords
    focus = frozenset(
        t.lemma_.lower()
        for t in doc
        if t.pos_ in CONTENT_POS and t.lower_ not in light and t.lemma_.lower() not in light and len(t.text) > 1
    )
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    predicate = ""
    if root is not None:
        verb = root if root.pos_ == "VERB" else next((c for c in root.children if c.pos_ == "VERB"), None)
        if verb is not None and verb.lemma_.lower() not in light:
            predicate = verb.lemma_.lower()
    counted = _asked_counts(doc)
    numbers = tuple(q for q in quantities(doc.text) if q.kind != "ordinal" and q.start not in counted)
    return QuestionFrame(
        text=doc.text,
        wh=wh,
        expects=frozenset(_expects(wh, head)),
        head=head,
        focus=focus,
        names=_names(doc),
        numbers=numbers,
        qualifiers=_qualifiers(doc.text),
        predicate=predicate,
        arithmetic=_arithmetic(doc.text),
        dates=_dates(doc, numbers),
        role=_role(doc, wh),
        doc=doc,
        answer_kind=_answer_kind(doc.text),
        shape=_shape(doc, wh, wh_index, head),
    )


def _asked_counts(doc) -> set[int]:
    """Where the counts of the asked noun begin ("three" of "which three bands"): how many
    things the answer names, not a number a sentence about them would state."""
    return {t.idx for t in doc if t.dep_ == "nummod" and t.i > 0 and doc[t.i - 1].tag_ in WH_TAGS}


def _dates(doc, numbers: tuple[Quantity, ...]) -> tuple[DateMention, ...]:
    """The question's DATE entities as dates, and its years (a year the parse did not tag)."""
    found = [read_date(ent.text) for ent in getattr(doc, "ents", ()) if ent.label_ == "DATE"]
    found += [read_date(q.text) for q in numbers if q.kind == "year"]
    return tuple(dict.fromkeys(d for d in found if d is not None))


def _role(doc, wh: str) -> str:
    """The role noun of "Who is/was (the) ... ROLE (of ...)?": the subject or attribute of
    the copula that is not the question word and not a person's name."""
    if wh not in ("who", "whom"):
        return ""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or root.lemma_ != "be":
        return ""
    for tok in root.children:
        if tok.dep_ in ("nsubj", "attr") and tok.pos_ in ("NOUN", "PROPN") and tok.ent_type_ != "PERSON":
            return tok.lemma_.lower()
    return ""
