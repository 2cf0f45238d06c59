"""The claim's predicate in a source sentence, from the dependency parse: said the same way,
negated, or with an antonym, and whether of the claim's subject (app/claims/judge.py uses it).

The mechanisms are classes of language, never words of a corpus: the dependency relations
of spaCy's English pipeline (``nsubj``, ``dobj``, ``neg``, ``acomp``, ``prt`` ...), negation
(``neg``, negative determiners and subjects, "no longer", verbs that deny their complement
such as "failed to"), the antonym pairs of the lexicon (rise/fall, approve/block, up/down),
and subjects that refer back ("they", "the two countries" after "A and B").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.text.lexicon import lexicon
from app.text.textmatch import terms

_ARGUMENT_DEPS = {"dobj", "attr", "acomp", "xcomp", "ccomp", "oprd", "npadvmod", "advmod", "dative", "prep", "agent"}
_SUBJECT_DEPS = {"nsubj", "nsubjpass", "expl"}
_COMPLEMENT_DEPS = {"acomp", "attr", "oprd"}  # "prices are *high*"
_OPPOSABLE_DEPS = {"prt", "acomp", "advmod", "oprd"}  # "went *up*" / "went *down*"
_LEFT_OUT = {"relcl", "advcl", "appos", "parataxis"}  # clauses inside a phrase, left out when it is retold
_RELATIVE = {"WDT", "WP"}  # "that", "which", "who"
_NAMED = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"}
ARGUMENT_SHARE = 0.5  # share of the claim's argument words the sentence's predicate must hold

Kind = Literal["same", "negation", "antonym"]


@dataclass(frozen=True)
class PredicateMatch:
    """A sentence saying the claim's predicate, with the claim's arguments."""

    kind: Kind  # the same polarity, the opposite one ("have *not* held"), or the antonym ("*fell*")
    same_subject: bool  # said of the claim's subject, or of "they" / "the two countries" referring back to it
    phrase: str  # the sentence's verb group as written ("have not held")
    says: str  # 'says the two countries have *not* held direct peace talks since 2022'
    subject: str  # the sentence's subject as written ("" when it has none)
    claim_subject: str  # the claim's ("the union and the employers")

    @property
    def contradicts(self) -> bool:
        return self.same_subject and self.kind != "same"


def predicate_head(doc):
    """What a claim says of its subject: its main verb, or the adjective of "X is ADJ"."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    if root.pos_ == "VERB":
        return root
    if verb := next((c for c in root.children if c.pos_ == "VERB"), None):
        return verb
    if root.pos_ != "AUX":
        return None
    return next((c for c in root.children if c.dep_ in _COMPLEMENT_DEPS and c.pos_ == "ADJ"), root)


def clause_of(head):
    """The token that carries a predicate's subject, auxiliaries and negation (the copula of "is high")."""
    return head.head if head.dep_ in _COMPLEMENT_DEPS else head


def _kept(token) -> list:
    """A phrase without the clauses inside it ("the mayor, who spoke on Monday," -> "the mayor")."""
    out = [token]
    for child in token.children:
        if child.dep_ not in _LEFT_OUT:
            out += _kept(child)
    return sorted(out, key=lambda t: t.i)


def _subject(clause) -> list:
    """The grammatical subject; a controlled or coordinated verb takes its head's ("failed to
    approve", "met and accepted")."""
    while True:
        found = [t for c in clause.children if c.dep_ in _SUBJECT_DEPS for t in _kept(c)]
        if found and clause.dep_ == "relcl" and all(t.tag_ in _RELATIVE for t in found):
            return _kept(clause.head)  # "the talks that were held": the talks
        if not found and clause.dep_ == "acl" and clause.tag_ in ("VBN", "VBG"):  # "containers sold"
            inside = {t.i for t in clause.subtree}
            return [t for t in _kept(clause.head) if t.i not in inside]
        if found or clause.dep_ not in ("xcomp", "conj") or clause.head is clause:
            return found
        clause = clause.head


def _passive(clause) -> bool:
    participle = clause.dep_ == "acl" and clause.tag_ == "VBN"  # "the containers sold"
    return participle or any(c.dep_ in ("nsubjpass", "auxpass") for c in clause.children)


def _role(clause, theme: bool) -> list:
    """Who does it (the active subject, the passive's by-phrase) or, with ``theme``, what it is
    done to (the object, the passive subject): "the senate blocked the bill" = "the bill was
    blocked by the senate"."""
    if theme == _passive(clause):
        return _subject(clause)
    dep = "dobj" if theme else "agent"
    found = [t for c in clause.children if c.dep_ == dep for t in _kept(c) if t is not c or dep == "dobj"]
    # "prisoners returned", "prices rose": with no object, the active subject is what it happens to
    return found or (_subject(clause) if theme else [])


def _denials(head, clause) -> list:
    """What denies a predicate: "not", "never", "no longer", "no talks", "nobody", or a verb that
    denies its complement ("*failed* to approve")."""
    negations = lexicon().negations
    out = [c for t in dict.fromkeys((head, clause)) for c in t.children if _negating(c)]
    for c in clause.children:
        if c.dep_ == "advmod":  # "no longer"
            out += [d for d in c.children if _negating(d)]
        if c.dep_ in _SUBJECT_DEPS | {"dobj", "attr"}:  # "nobody", "no talks"
            out += (
                [c] if c.lower_ in negations else [d for d in c.children if d.dep_ == "det" and d.lower_ in negations]
            )
    if clause.dep_ == "xcomp" and clause.head.lemma_.lower() in lexicon().negating_verbs:
        out.append(clause.head)
    return out


_SUBORDINATE_DEPS = {"advcl", "relcl", "acl"}  # "if there is *no* progress", "talks that did *not* happen"


def main_clause_negated(doc) -> bool:
    """Whether a sentence denies what it states: a negation ("not", "never", "no talks") that
    is not inside a clause that only modifies the statement (a condition, a time, a relative
    clause). "Trump warned he may abandon the talks if there is no progress" states no
    denial; "He said there was no progress" does (reported speech is what is said)."""
    return any(
        (_negating(t) or t.lower_.endswith("n't")) and not any(n.dep_ in _SUBORDINATE_DEPS for n in [t, *t.ancestors])
        for t in doc
    )


def _negating(token) -> bool:
    """A negation word: spaCy's ``neg`` ("not", "never") or one of the lexicon's ("no", "nobody")."""
    return token.dep_ == "neg" or token.lower_ in lexicon().negations


def _opposite(a, b) -> bool:
    antonyms = lexicon().antonyms
    return b.lemma_.lower() in antonyms.get(a.lemma_.lower(), ()) or b.lower_ in antonyms.get(a.lower_, ())


def _opposed_complement(claim_head, head):
    """The sentence's particle or complement opposite to the claim's ("went up" / "went down")."""
    mine = [c for c in claim_head.children if c.dep_ in _OPPOSABLE_DEPS]
    return next((c for c in head.children if c.dep_ in _OPPOSABLE_DEPS and any(_opposite(m, c) for m in mine)), None)


def _candidates(claim_head, doc) -> list:
    """(token, whether it is the claim head's antonym): the same lemma first, then its opposites."""
    verbal = ("VERB", "AUX")

    def same_class(t) -> bool:
        return (claim_head.pos_ in verbal and t.pos_ in verbal) or (
            claim_head.pos_ == t.pos_ == "ADJ" and t.dep_ in _COMPLEMENT_DEPS
        )

    same = [(t, False) for t in doc if t.lemma_ == claim_head.lemma_ and same_class(t)]
    return same + [(t, True) for t in doc if _opposite(claim_head, t) and same_class(t)]


def _arguments(head, clause) -> list:
    """What the predicate says of its subject (objects, complements, prepositional phrases),
    without the head itself and without a word that an antonym could replace ("up")."""
    antonyms = lexicon().antonyms
    children = [c for t in dict.fromkeys((clause, head)) for c in t.children if c.dep_ in _ARGUMENT_DEPS]
    return [c for c in children if c is not head and not (c.dep_ in _OPPOSABLE_DEPS and c.lemma_.lower() in antonyms)]


def _content(tokens, pos=("NOUN", "PROPN", "ADJ", "NUM", "VERB")) -> set[str]:
    return {t.lemma_.lower() for t in tokens if t.pos_ in pos}


def _head_of(tokens):
    ids = {t.i for t in tokens}
    return next((t for t in tokens if t.head.i not in ids or t.head is t), None)


def _names_agree(mine: list, theirs: list) -> bool:
    """No kind of entity that both subjects name with other words (two nationalities before the
    same "farmers" are two subjects). A kind whose every word the sentence's subject holds, under
    whatever entity type, is no other name: a small model tags a bare surname ("Lind") as an
    organisation where the sentence has the person ("envoy Ana Lind")."""

    def by_type(tokens) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for t in tokens:
            if t.ent_type_ in _NAMED:
                out.setdefault(t.ent_type_, set()).add(t.lemma_.lower())
        return out

    held = {t.lemma_.lower() for t in theirs}
    a = {kind: words for kind, words in by_type(mine).items() if words - held}
    b = by_type(theirs)
    return all(a[kind] & b[kind] for kind in a.keys() & b.keys())


def _refers_back(theirs: list, mine: list) -> bool:
    """Whether the sentence's subject is one that refers back to a subject like the claim's: a
    personal pronoun of its number ("they", "it"), or a noun phrase that counts as many as the
    claim names ("the two countries", "both sides" for "A and B")."""
    head, claim_head = _head_of(theirs), _head_of(mine)
    size = 1 + sum(t.dep_ == "conj" and t.pos_ in ("NOUN", "PROPN") for t in mine)
    plural = size > 1 or claim_head.tag_ in ("NNS", "NNPS")
    if head.pos_ == "PRON" and "Prs" in head.morph.get("PronType"):
        number = head.morph.get("Number")
        return not number or (number == ["Plur"]) == plural
    if head.pos_ != "NOUN" or any(t.pos_ == "PROPN" for t in theirs):
        return False
    groups = lexicon().group_determiners
    counts = [
        next(iter(terms(c.text).numbers), None) if c.dep_ == "nummod" else groups.get(c.lower_) for c in head.children
    ]
    return str(size) in counts


def _same_subject(mine: list, theirs: list, context: str) -> bool:
    """Said of the claim's subject: a shared word (and no other name of the same kind), a
    negative subject ("nobody"), or a subject that refers back to it where the text before the
    sentence (``context``) names the claim's subject."""
    if not _content(mine, ("NOUN", "PROPN")):
        return True  # the claim's own subject is a pronoun: nothing to compare
    if not theirs:
        return False
    if _head_of(theirs).lower_ in lexicon().negations:
        return True
    if _content(mine, ("NOUN", "PROPN")) & _content(theirs, ("NOUN", "PROPN")):
        return _names_agree(mine, theirs)
    named_before = terms(" ".join(t.text for t in mine)).all <= terms(context).all
    return named_before and _refers_back(theirs, mine)


def verb_group(head, clause, denial=None) -> str:
    """The auxiliaries, negation and verb as written ("have not held", "failed to approve");
    without the negation when ``denial`` is None ("has expressed" for "has not expressed")."""
    ids = {clause.i, head.i} | {c.i for c in clause.children if c.dep_ in ("aux", "auxpass")}
    for t in denial or ():
        if t.head in (head, clause) or t is clause.head:
            ids.add(t.i)
        elif t.head.dep_ == "advmod" and t.head.head in (head, clause):  # "no longer"
            ids |= {t.i, t.head.i}
    return _retold(head.doc, ids, set(), lower=False)


def _retold(doc, keep: set[int], emphasis: set[int], lower: bool = True) -> str:
    """The kept tokens of a sentence in their order, emphasised ones as *word* (the first one
    in lower case unless it is a name, to follow "says")."""
    out, last = "", None
    for t in doc:
        if t.i not in keep:
            continue
        # a comma or colon beside a left-out part goes with it
        if t.pos_ == "PUNCT" and t.text in ",;:" and not ({t.i - 1, t.i + 1} <= keep):
            continue
        word = t.text
        if lower and not out and t.pos_ != "PROPN" and not t.ent_type_ and t.text != "I" and not t.text.isupper():
            word = word[:1].lower() + word[1:]
        if last is not None and t.i != last + 1 and out and not out[-1].isspace():
            out += " "
        out += (f"*{word}*" if t.i in emphasis else word) + t.whitespace_
        last = t.i
    return re.sub(r"\*(\s+)\*", r"\1", out.strip().rstrip(",;:"))  # "*no* *longer*" -> "*no longer*"


def _says(token, clause, wanted: set[str], emphasis: list) -> str:
    """'says the two countries have *not* held direct peace talks since 2022': the sentence's
    subject, verb group and the parts of it that bear on the claim's arguments."""
    subject = _subject(clause)
    keep = {t.i for t in subject} | {clause.i, token.i} | {t.i for t in emphasis}
    marked = {t.i for t in emphasis} | {t.head.i for t in emphasis if t.head.dep_ == "advmod"}  # "no longer"
    keep |= marked
    keep |= {c.i for c in clause.children if c.dep_ in ("aux", "auxpass", "neg", "prt")}
    for c in _arguments(token, clause) + [c for c in token.children if c.dep_ in _OPPOSABLE_DEPS]:
        phrase = _kept(c)
        if _content(phrase) & wanted or c.dep_ in ("dobj", "prt", "acomp", "attr", "agent") or c in emphasis:
            keep |= {t.i for t in phrase}
    if clause.dep_ == "xcomp" and clause.head in emphasis:
        keep.add(clause.head.i)
    if subject:
        return "says " + _retold(token.doc, keep, marked)
    # no subject ("an agreement to exchange 1,000 prisoners"): the noun it belongs to
    if clause.dep_ in ("acl", "relcl"):
        noun = clause.head
        keep |= {noun.i} | {c.i for c in noun.children if c.dep_ in ("det", "amod", "compound", "nummod", "poss")}
    return "speaks of " + _retold(token.doc, keep, marked)


def match_predicate(claim_doc, sentence_doc, context: str = "") -> PredicateMatch | None:
    """How a sentence says the claim's predicate with the claim's arguments: the same ("have
    held direct talks"), negated ("have not held ..."), or with an antonym ("rose" / "fell",
    "went up" / "went down"); and whether of the claim's subject (see ``_same_subject``;
    ``context`` is the text just before the sentence). None when it does not say it. A match
    said of the claim's subject comes first."""
    head = predicate_head(claim_doc)
    if head is None:
        return None
    clause = clause_of(head)
    arguments = [t for c in _arguments(head, clause) for t in c.subtree]
    wanted = _content(arguments)
    named = _content(arguments, ("PROPN", "NUM"))
    mine = _role(clause, theme=_passive(clause))
    claim_denied = bool(_denials(head, clause))
    found = []
    for token, antonym in _candidates(head, sentence_doc):
        their_clause = clause_of(token)
        said = _content(their_clause.subtree) | {t.lemma_.lower() for t in their_clause.subtree}
        if (wanted and len(wanted & said) < ARGUMENT_SHARE * len(wanted)) or not named <= said:
            continue
        opposed = token if antonym else _opposed_complement(head, token)
        denial = _denials(token, their_clause)
        if bool(denial) != claim_denied and opposed is not None:
            continue  # "did not fall" neither says nor denies "rose"
        kind: Kind = "negation" if bool(denial) != claim_denied else "antonym" if opposed is not None else "same"
        emphasis = (denial or [token]) if kind == "negation" else [opposed] if kind == "antonym" else []
        theirs = _role(their_clause, theme=_passive(clause))
        found.append(
            PredicateMatch(
                kind=kind,
                same_subject=_same_subject(mine, theirs, context),
                phrase=verb_group(token, their_clause, denial),
                says=_says(token, their_clause, wanted, emphasis),
                subject=_retold(sentence_doc, {t.i for t in theirs}, set()),
                claim_subject=_retold(claim_doc, {t.i for t in mine}, set()),
            )
        )
    return next((m for m in found if m.same_subject), found[0] if found else None)
