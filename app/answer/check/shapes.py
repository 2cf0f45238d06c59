"""The checks of an answer made of whole sentences (a statement, a reason, a list, yes/no):
the words shown are the articles' own, so what is checked is whether each sentence the model
chose speaks of what the question asks about, and of its subject rather than a neighbour's.

    subject_share   the IDF-weighted share of the question's subject words a sentence holds
                    (zero when it lacks most of each of the question's names)
    subject_agrees  no subject of the sentence names another than the question's grammatical
                    subject ("What does Russia want" against "Ukraine wants ...")
    polarity        "yes" or "no" when the sentence states the question's own predicate,
                    negated or not (or its opposite); "" when it does not say

Everything here reads classes of language (dependency relations, entity types, negation,
antonyms), never the words of a corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from app.answer.check.features import LABEL_KINDS, MODIFIER_DEPS
from app.answer.cited import Reason
from app.answer.context import ANAPHOR, SourceSentence
from app.answer.question import NAME_LABELS, NAMED_KINDS, QuestionFrame
from app.text.chunking import split_sentences
from app.text.dates import format_date
from app.text.lexicon import lexicon
from app.text.textmatch import terms

OFF_SUBJECT = "it does not speak of what the question asks about"
SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj", "agent", "expl"}
NAMEISH = {"PROPN"}


def _names(token) -> bool:
    """Whether a token is part of a name (a proper noun, or an entity that names someone or
    something): "two" of "the two countries" is a number, not a name."""
    return token.pos_ in NAMEISH or token.ent_type_ in NAME_LABELS


def _weight(words, idf: Callable[[str], float]) -> float:
    return sum(idf(t) for t in words)


def subject_share(frame: QuestionFrame, text: str, idf: Callable[[str], float]) -> float:
    """The IDF-weighted share of the question's subject words (its nouns, names and numbers)
    that ``text`` holds; 0 when the question names someone or something and the text holds
    less than half the weight of every one of its names ("world" is not "World Cup"); a person's
    surname holds the whole of their name, and a name held holds the words describing it in the
    question ("General secretary Brendan Barber" answers of "TUC leader Brendan Barber")."""
    asked = frame.subject_terms.words or frame.subject_terms.all
    said = terms(text).all
    found = _name_terms(frame)
    named: set[str] = set()
    for name, short, _ in found:
        named |= name if short and short <= said else {t for t in name if t in said or _kin(t, said)}
    described = [description for name, _, description in found if _weight(name & named, idf) >= _weight(name, idf) / 2]
    if found and not described:  # no name held
        return 0.0
    named = named.union(*described)  # the words describing a held name
    held = {t for t in asked if t in said or t in named}
    return _weight(held, idf) / (_weight(asked, idf) or 1.0)


def _name_terms(frame: QuestionFrame) -> list[tuple[frozenset[str], frozenset[str], frozenset[str]]]:
    """The terms of each of the question's names, with the terms that alone stand for the whole
    name: a person's surname ("Cole" for "Carlton Cole"), as news names a person after first
    mention; empty for other names ("Villa" is not "Aston Villa"); and the terms of the words
    that describe the name in front of it ("TUC leader" of "TUC leader Brendan Barber",
    "sportswear maker" of "sportswear maker Umbro"): a sentence that names it need not."""
    if frame.doc is None:
        return [(n, frozenset(), frozenset()) for n in (terms(name).words for name in frame.proper_names) if n]
    out = []
    for ent in frame.doc.ents:
        name = terms(ent.text).words if ent.label_ in NAME_LABELS - {"NORP", "LANGUAGE"} else frozenset()
        if name:
            person = ent.label_ == "PERSON" and len(name) > 1
            out.append((name, terms(ent[-1].text).words if person else frozenset(), _description(ent)))
    return out


def _description(ent) -> frozenset[str]:
    """The words in front of a name that describe it: the compound and adjective modifiers of
    its tokens, with their own, outside the name ("Iranian blogger" of "Iranian blogger Arash
    Sigarchi")."""
    words = [
        w.text
        for tok in ent
        for child in tok.children
        if child.dep_ in MODIFIER_DEPS - {"poss"} and child.i < ent.start
        for w in child.subtree
        if w.i < ent.start
    ]
    return terms(" ".join(words)).words


def _kin(name_term: str, said) -> bool:
    """Whether the text holds a word of the name's family: one stem the other's start, both of
    four letters or more ("ukrainian" and "ukrain", a people and its country)."""
    return len(name_term) >= 4 and any(
        len(w) >= 4 and (w.startswith(name_term) or name_term.startswith(w)) for w in said
    )


def _question_subject(frame: QuestionFrame) -> set[str]:
    """The lowercased words of the names in the question's grammatical subject ("Russia" of
    "What is Russia demanding?"); empty when its subject names no one."""
    doc = frame.doc
    if doc is None:
        return set()
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return set()
    heads = [root] + [c for c in root.children if c.pos_ in ("VERB", "AUX") and c.dep_ in ("xcomp", "ccomp")]
    out: set[str] = set()
    for head in heads:
        for child in head.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                out |= {t.lower_ for t in child.subtree if _names(t)}
    return {w for w in out if w.isalpha() and w not in lexicon().stopwords}


def _attributed_to(tok) -> bool:
    """Whether a token is the source a sentence is attributed to ("according to X")."""
    return tok.dep_ == "pobj" and tok.head.lower_ in ("to", "by") and tok.head.head.lower_ in ("according", "by")


def _named_subjects(doc) -> list[set[str]]:
    """The lowercased words of each subject of a parsed sentence that names someone or
    something (a proper noun or an entity in it), with its possessors, and of the source it is
    attributed to ("according to X"). Pronouns and descriptions ("they", "the two countries")
    name no one: they neither agree nor disagree."""
    out = []
    for tok in doc:
        if tok.dep_ in SUBJECT_DEPS or _attributed_to(tok):
            words = list(tok.subtree)
            if any(_names(t) for t in words):
                out.append({t.lower_ for t in words})
    return out


def subject_agrees(frame: QuestionFrame, sentence_doc) -> bool:
    """Whether the sentence does not make someone else the subject: false only when every
    subject of it that names someone or something names another than the question's subject
    (a subject holding any word of it agrees, so "Steve Witkoff" holds "Witkoff"); true when
    the question's subject names no one or no subject of the sentence names anyone (a
    pronoun, a description: "they", "the two countries")."""
    wanted = _question_subject(frame)
    if not wanted:
        return True
    named = _named_subjects(sentence_doc)
    return not named or any(wanted & words for words in named)


def _predicate(frame: QuestionFrame) -> set[str]:
    """The lemmas that carry a yes/no question's claim: its main verb, or, under a copula, the
    adjective or noun it attributes ("Are the pills different?" -> different)."""
    doc = frame.doc
    root = next((t for t in doc if t.dep_ == "ROOT"), None) if doc is not None else None
    if root is None:
        return set()
    if root.lemma_ in ("be", "have") or root.pos_ == "AUX":
        return {c.lemma_.lower() for c in root.children if c.dep_ in ("acomp", "attr", "oprd")}
    return {root.lemma_.lower()}


def _negated(token) -> bool:
    words = lexicon().negations
    if any(c.dep_ == "neg" or c.lower_ in words for c in token.children):
        return True
    head = token.head
    # "declined to comment", "failed to approve": a denying verb over the predicate
    return token.dep_ == "xcomp" and head.lemma_.lower() in lexicon().negating_verbs and not _negated(head)


def polarity(frame: QuestionFrame, sentence_doc) -> str:
    """ "yes" or "no" when the sentence states the question's predicate (or its opposite),
    negated or not; "" when it does not state it."""
    wanted = _predicate(frame)
    if not wanted:
        return ""
    opposites = set().union(*(lexicon().antonyms.get(w, frozenset()) for w in wanted))
    for tok in sentence_doc:
        lemma = tok.lemma_.lower()
        if lemma in wanted:
            return "no" if _negated(tok) else "yes"
        if lemma in opposites:
            return "yes" if _negated(tok) else "no"
    return ""


def stating(frame: QuestionFrame, shown: list[SourceSentence], nlp) -> SourceSentence | None:
    """The best-scored shown sentence that states a yes/no question's predicate (negated or
    not, or its opposite), with the question's subject agreeing; None when none does."""
    ranked = sorted(shown, key=lambda s: -s.score)
    for s, doc in zip(ranked, nlp.parse_many([s.text for s in ranked]), strict=True):
        if polarity(frame, doc) and subject_agrees(frame, doc):
            return s
    return None


def names_asked_kind(frame: QuestionFrame, verdicts: list[SentenceVerdict], nlp) -> list[SentenceVerdict]:
    """The verdicts, the accepted ones turned down when none of them names something of the
    kind a list question asks for ("which players": a person), other than the question's own
    names, the source a sentence is attributed to and a name that only modifies a noun:
    "According to AP News, four cities were hit" and "Ukraine's attacks" name no city.
    Unchanged when the question asks for no such kind ("which songs", "what are the demands")."""
    kinds = frame.expects & NAMED_KINDS
    accepted = [v for v in verdicts if v.accepted]
    if not kinds or not accepted:
        return verdicts
    asked = terms(frame.text).words
    for doc in nlp.parse_many([v.sentence.text for v in accepted]):
        for ent in doc.ents:
            modifier = ent.root.dep_ in MODIFIER_DEPS  # "Ukraine's attacks" names attacks, not a place
            if (
                kinds & LABEL_KINDS.get(ent.label_, set())
                and terms(ent.text).words - asked
                and not (_attributed_to(ent.root) or modifier)
            ):
                return verdicts
    unnamed = f"it does not name which {frame.head}; the question asks which"
    return [replace(v, accepted=False, reason=unnamed, code=Reason.OFF_TYPE) if v.accepted else v for v in verdicts]


def follows(a: SourceSentence, b: SourceSentence) -> bool:
    """Whether ``b`` comes right after ``a`` in the same article (at most a few characters between)."""
    return a.doc_id == b.doc_id and 0 <= b.start - a.end <= 3


def adjacent(s: SourceSentence, shown: list[SourceSentence], step: int) -> SourceSentence | None:
    """The shown sentence of the same article right before (``step`` -1) or after (+1) ``s``,
    in the same paragraph; None when it was not shown."""
    if step < 0:
        return max((x for x in shown if follows(x, s)), key=lambda x: x.end, default=None)
    return min((x for x in shown if follows(s, x)), key=lambda x: x.start, default=None)


def _root_subjects(doc) -> list:
    """The subjects of a parsed sentence's main verb."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    return [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")] if root is not None else []


def continues(doc) -> bool:
    """Whether a parsed sentence goes on about what the one before it spoke of: its main
    subject is a pronoun or a description without a name ("It ...", "The chancellor ...")."""
    subject = next(iter(_root_subjects(doc)), None)
    if subject is None:
        return False
    if subject.pos_ == "PRON":
        return True
    words = list(subject.subtree)
    return any(t.dep_ == "det" and t.lower_ in ("the", "this", "these", "those") for t in words) and not any(
        _names(t) for t in words
    )


def window(
    frame: QuestionFrame,
    verdicts: list[SentenceVerdict],
    shown: list[SourceSentence],
    nlp,
    idf: Callable[[str], float],
    min_share: float,
) -> list[SentenceVerdict]:
    """The verdicts with the first accepted sentence's neighbours (the shown sentences just
    before and after it) accepted too when they are on the question's subject, or, after it,
    go on about it: the sentences a statement or a reason runs on to; never one whose subject
    names another than the question's. A neighbour the model chose as well, turned down only
    for holding too little of the subject on its own, is accepted: with the accepted one it is
    one passage ("Putin told ... that Moscow remains open ..." before "Peskov confirmed Putin was
    referring to negotiations with Ukraine")."""
    first = next((v for v in verdicts if v.accepted), None)
    if first is None:
        return verdicts
    taken = {(v.sentence.doc_id, v.sentence.start): i for i, v in enumerate(verdicts)}
    out = list(verdicts)
    for step in (-1, 1):
        near = adjacent(first.sentence, shown, step)
        if near is None:
            continue
        if (near.doc_id, near.start) in taken:
            i = taken[(near.doc_id, near.start)]
            if not out[i].accepted and out[i].reason == OFF_SUBJECT and out[i].share > 0:
                out[i] = replace(out[i], accepted=True, reason="")
            continue
        share = subject_share(frame, near.text, idf)  # its own words: the headline is the pick's context
        doc = nlp.parse(near.text)
        if not subject_agrees(frame, doc):  # "..., and Russia insists on ..." after "Ukraine wants ..."
            continue
        if (share > 0 and share >= min_share) or (step > 0 and continues(doc)):
            out.append(SentenceVerdict(near, True, share))
    return out


@dataclass(frozen=True)
class SentenceVerdict:
    """The check of one sentence the model chose."""

    sentence: SourceSentence
    accepted: bool
    share: float  # subject_share
    reason: str = ""
    lead: str = ""  # "Yes" / "No" for a yes/no question, when the sentence states which
    code: Reason = Reason.REJECTED  # of a turned-down sentence: OTHER_SUBJECT for another's X


def asks(text: str) -> bool:
    """Whether a sentence is a question (it states nothing, so it answers nothing)."""
    return text.rstrip(" \"'\u201d\u2019)").endswith("?")


LEAD_IN_SENTENCES = 3


def preceding(s: SourceSentence, article: str) -> str:
    """What an opening that points back ("The two countries ...", "These attacks ...") points
    back to, read from the article: the sentences of its paragraph before it or, when it opens
    its paragraph, the paragraph (or heading) before that; at most the last three sentences."""
    head = article[: s.start] if 0 < s.start <= len(article) else ""
    cut = head.rfind("\n\n")
    block = head[cut + 2 :] if cut >= 0 else head
    if not block.strip() and cut >= 0:  # it opens its paragraph: the one before
        head = head[:cut].rstrip()
        cut = head.rfind("\n\n")
        block = head[cut + 2 :] if cut >= 0 else head
    sentences = [block[x.start : x.end].strip() for x in split_sentences(block)]
    return " ".join(sentences[-LEAD_IN_SENTENCES:])


def points_back(s: SourceSentence, doc) -> bool:
    """Whether ``s`` (``doc``: its parse) speaks of what the sentences before it named: it opens
    by pointing back ("Those efforts collapsed ..."), or its main subject is a third-person
    pronoun ('"I saw people pushing," he told the club's website')."""
    if ANAPHOR.match(s.text):
        return True
    return any(c.pos_ == "PRON" and "3" in c.morph.get("Person") for c in _root_subjects(doc))


def _lead(frame: QuestionFrame, doc) -> str:
    """ "Yes" or "No" for a yes/no question whose predicate the parsed sentence states; ""."""
    return polarity(frame, doc).capitalize() if frame.shape == "yesno" else ""


def judge_sentences(
    frame: QuestionFrame,
    chosen: list[SourceSentence],
    shown: list[SourceSentence],
    nlp,
    idf: Callable[[str], float],
    min_share: float,
    first_min_share: float | None = None,
    article_text: Callable[[str], str] | None = None,
) -> list[SentenceVerdict]:
    """Each chosen sentence checked: on the question's subject (``min_share`` of it, read
    with the sentence it points back to; ``first_min_share`` for the first, the model's pick,
    when given) and with the question's subject as a subject of its own (or of that
    sentence). An accepted sentence that points back brings that sentence, accepted before
    it, so the quote reads on its own; when that sentence was not shown, what it points back
    to is read from the article (``preceding``, given ``article_text``), for the share only."""
    out: list[SentenceVerdict] = []
    docs = nlp.parse_many([s.text for s in chosen]) if chosen else []
    for i, (s, doc) in enumerate(zip(chosen, docs, strict=True)):
        least = first_min_share if i == 0 and first_min_share is not None else min_share
        back = points_back(s, doc)
        before = adjacent(s, shown, -1) if back else None  # it says what ``s`` is about
        lead_in = f"{before.text} " if before is not None else ""
        if before is None and article_text is not None and back:
            lead_in = f"{preceding(s, article_text(s.doc_id))} "
        dateline = format_date(s.published) if s.published else ""  # "As of April 2025, ..." is its date
        share = subject_share(frame, f"{s.title} {dateline} {lead_in}{s.text}", idf)
        agrees = subject_agrees(frame, doc) or (before is not None and subject_agrees(frame, nlp.parse(before.text)))
        if asks(s.text):
            out.append(SentenceVerdict(s, False, share, "it asks a question, it does not state an answer"))
        elif not agrees:  # first: another's X is no closest quote either
            other = "it is about someone or something else than the question"
            out.append(SentenceVerdict(s, False, share, other, code=Reason.OTHER_SUBJECT))
        elif share < least:
            out.append(SentenceVerdict(s, False, share, OFF_SUBJECT))
        else:
            if before is not None and all(v.sentence != before for v in out):
                out.append(SentenceVerdict(before, True, share, lead=_lead(frame, nlp.parse(before.text))))
            out.append(SentenceVerdict(s, True, share, lead=_lead(frame, doc)))
    return out
