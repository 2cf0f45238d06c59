"""Check the reader's pick: locate its words in the chosen sentence, widen them to a whole
name or amount, compute the candidate's features, and let the fitted model decide.

The answer shown to users is always words of the cited sentence at exact offsets; what
decides whether it is shown is the model of app/answer/check/decide.py, not a rule per case.
A pick that copies nothing of the sentence, or adds nothing the question did not say, is
not an answer whatever the model says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.answer.check.align import complete, locate
from app.answer.check.decide import Decider
from app.answer.check.features import (
    LABEL_KINDS,
    NUMBER_KINDS,
    SWAP_LABELS,
    Candidate,
    dependency_tie,
    features,
    off_type,
    span_tokens,
    swapped_entity,
)
from app.answer.context import SourceSentence
from app.answer.question import QuestionFrame
from app.text.injection import looks_like_instruction
from app.text.numbers import quantities
from app.text.textmatch import terms


@dataclass
class Checked:
    """The verdict on one pick."""

    candidate: Candidate | None
    accepted: bool
    probability: float = 0.0
    values: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    code: str = ""  # no_pick | not_in_sentence | vacuous | instruction | rejected | accepted


def candidate_for(sentence: SourceSentence, answer: str, doc) -> Candidate | None:
    """The span of ``sentence`` the answer words come from (the whole sentence when the
    model copied none), widened to the entities and amounts it cuts into."""
    if not answer.strip():
        return Candidate(sentence, 0, len(sentence.text), False, 0.0)
    span = locate(answer, sentence.text)
    if span is None:
        return None
    entities = [(e.start_char, e.end_char) for e in doc.ents]
    span = complete(span, sentence.text, entities)
    return Candidate(sentence, span.start, span.end, span.exact, span.overlap)


@dataclass
class CheckContext:
    """What every check of one question needs."""

    frame: QuestionFrame
    nlp: object
    shown: list[SourceSentence]
    article_text: Callable[[str], str]
    idf: Callable[[str], float]
    decider: Decider
    model_abstained: bool = False
    model_sentence: SourceSentence | None = None  # the sentence the model picked
    sentence_probability: dict = field(default_factory=dict)  # (doc_id, start) -> P(the model names it)
    p_none: float = 0.0  # ... of "no sentence answers"
    pool: list[SourceSentence] | None = None  # sentences whose typed span is judged (default: the shown ones)
    checker: Callable[[str, str, str], float] | None = None  # the learned checker: (question, sentence, words)
    # the model's words when asked again with the sentences in another order (None: not asked)
    second_reading: Callable[[], str] | None = None
    second_reading_always: bool = False  # ... asked for every candidate (the fit's runs), not only when it decides

    def ranked(self) -> list[SourceSentence]:
        """The shown sentences and the pool, best-scored first."""
        seen = {(s.doc_id, s.start): s for s in [*self.shown, *(self.pool or [])]}
        return sorted(seen.values(), key=lambda s: -s.score)


def check_pick(ctx: CheckContext, sentence: SourceSentence | None, answer: str) -> Checked:
    """Whether the reader's pick (``sentence``, the words ``answer``) answers the question."""
    if sentence is None:
        return Checked(None, False, reason="the model found no sentence that answers the question", code="no_pick")
    if looks_like_instruction(sentence.text):
        return Checked(None, False, reason="the sentence speaks like an instruction", code="instruction")
    doc = ctx.nlp.parse(sentence.text)
    candidate = candidate_for(sentence, answer, doc)
    if candidate is None or (not candidate.exact and answer.strip()):
        # the model may miscount its sentence: its exact words in another shown sentence are taken there
        elsewhere = next(
            (s for s in ctx.shown if s is not sentence and answer.strip() and answer.strip().lower() in s.text.lower()),
            None,
        )
        if elsewhere is not None:
            ctx.model_sentence = elsewhere
            doc = ctx.nlp.parse(elsewhere.text)
            candidate = candidate_for(elsewhere, answer, doc)
    if candidate is None:
        reason = f"its words ({answer!r}) are not in the sentence it chose"
        return Checked(None, False, reason=reason, code="not_in_sentence")
    return judge_candidate(ctx, candidate, doc, by_model=True)


def judge_candidate(ctx: CheckContext, candidate: Candidate, doc, by_model: bool) -> Checked:
    """The fitted model's verdict on one candidate (a vacuous one is never an answer)."""
    if not (terms(candidate.text).all - terms(ctx.frame.text).all):
        return Checked(candidate, False, reason="it adds nothing the question did not say", code="vacuous")
    sentence = candidate.sentence
    if ctx.frame.role and not names_role(ctx.frame.role, doc, sentence.title):
        reason = f"the sentence does not name the role asked about ({ctx.frame.role!r})"
        return Checked(candidate, False, reason=reason, code="role")
    if mismatch := off_type(ctx.frame, candidate, doc) or restates_asked(ctx.frame, candidate, doc):
        return Checked(candidate, False, reason=mismatch, code="off_type")  # relevance before display
    article = terms(ctx.article_text(sentence.doc_id)).all | terms(sentence.title).all  # cached, as for features()
    if other := swapped_entity(ctx.frame.doc, doc, candidate.start, candidate.end, article) or swapped_slot(
        ctx.frame.doc, doc, candidate.start, candidate.end
    ):
        return Checked(candidate, False, reason=other, code="other_subject")
    best = max((s.similarity for s in ctx.shown), default=sentence.similarity)
    ranked = ctx.ranked()
    rank = next(
        (i for i, s in enumerate(ranked) if (s.doc_id, s.start) == (sentence.doc_id, sentence.start)), len(ranked)
    )
    values = features(ctx.frame, candidate, doc, ctx.article_text(sentence.doc_id), best, rank, ctx.idf)
    values["by_model"] = float(by_model)
    values["model_abstained"] = float(ctx.model_abstained)
    values["model_sentence"] = float(ctx.model_sentence is sentence)
    values["p_sentence"] = float(ctx.sentence_probability.get((sentence.doc_id, sentence.start), 0.0))
    values["p_none"] = float(ctx.p_none)
    words = "" if (candidate.start, candidate.end) == (0, len(sentence.text)) else candidate.text
    values["corroborated"] = corroboration(candidate, ranked) if words else 0.0
    values["checker"] = ctx.checker(ctx.frame.text, sentence.text, words) if ctx.checker is not None else 0.0
    if ctx.second_reading is not None and _second_reading_decides(ctx, values):
        values["agree"] = agreement(candidate, ctx.second_reading())
    accepted, p = ctx.decider.accepts(values)
    if not accepted:
        reason = f"the checks give it a {p:.0%} chance of answering the question (needs {ctx.decider.threshold:.0%})"
        return Checked(candidate, False, p, values, reason, "rejected")
    return Checked(candidate, True, p, values, "", "accepted")


def _slot(token) -> tuple[str, str]:
    """Where a name stands in its clause: the word it hangs from and how ("deal", "with" for
    "a deal with Tanzania"; "fine", "subject" for "Liam Gallagher has been fined")."""
    if token.dep_ == "pobj" and token.head.dep_ == "prep":
        return token.head.head.lemma_.lower(), token.head.lower_
    role = "subject" if token.dep_ in ("nsubj", "nsubjpass", "agent") else token.dep_
    return token.head.lemma_.lower(), role


def _slots(token) -> list[tuple[str, str]]:
    """Where a name of a sentence stands: its own slot, and, as the subject of a verb, the
    subject of the verbs joined to it that have none of their own ("Virgin Blue was launched
    ... and now has ...")."""
    out = [_slot(token)]
    if out[0][1] == "subject":
        for verb in token.head.conjuncts:
            if not any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children):
                out.append((verb.lemma_.lower(), "subject"))
    return out


def swapped_slot(question_doc, sentence_doc, start: int, end: int) -> str:
    """Why the candidate is another entity's fact, or "": a name of the question that the
    sentence does not mention (by any word of it) stands where the sentence has another name,
    outside the answer span: a name of the same kind in the same relation to the same word ("a
    deal with Mozambique" asked, "a deal with Tanzania" said; "was Alan White fined" asked,
    "Liam Gallagher has been fined" said). The article may name both; the sentence speaks of the
    other. A name of another kind may stand for the same one ("the Kremlin" and "Moscow")."""
    if question_doc is None:
        return ""
    said, asked = terms(sentence_doc.text).all, terms(question_doc.text).all
    slots = {
        (slot, e.label_): e.text
        for e in sentence_doc.ents
        if e.label_ in SWAP_LABELS
        and (e.end_char <= start or e.start_char >= end)
        and terms(e.text).words
        and not terms(e.text).words & asked
        for slot in _slots(e.root)
    }
    for ent in question_doc.ents:
        words = terms(ent.text).words
        other = slots.get((_slot(ent.root), ent.label_)) if words and not words & said else None
        if other is not None:
            return f"it is about {other}, not {ent.text}"
    return ""


def restates_asked(frame: QuestionFrame, candidate: Candidate, doc) -> str:
    """Why the span only restates what a "which X" / "what X" question asks for without naming
    one ("four Ukrainian cities" for "which cities were hit"), or "" when it names something: its
    head is the question's asked noun, no word of it is a proper name and its only number counts
    that noun ("a fee of £2m" names a fee). "How many X" is not asked here: a count answers it."""
    if frame.wh not in ("which", "what") or not frame.head:
        return ""
    span = span_tokens(candidate, doc)
    heads = [t for t in span if not (candidate.start <= t.head.idx < candidate.end) or t.head.i == t.i]
    if len(heads) != 1 or heads[0].lemma_.lower() != frame.head or any(t.pos_ == "PROPN" for t in span):
        return ""
    head = heads[0]
    if any((t.like_num or t.pos_ in ("NUM", "SYM")) and not (t.dep_ == "nummod" and t.head.i == head.i) for t in span):
        return ""
    return f"it says {candidate.text!r}, not which {head.lemma_.lower()}; the question asks which"


def _second_reading_decides(ctx: CheckContext, values: dict[str, float]) -> bool:
    """Whether the second reading can change the verdict: the model accepts the candidate
    when the readings agree and turns it down when they do not (or ``second_reading_always``)."""
    if ctx.second_reading_always:
        return True
    return ctx.decider.accepts({**values, "agree": 1.0})[0] != ctx.decider.accepts({**values, "agree": 0.0})[0]


def agreement(candidate: Candidate, words: str) -> float:
    """1 when the second reading's words and the candidate's overlap (one holds the other,
    case aside), else 0: a pick the model makes again from a reordered context is surer."""
    a, b = " ".join(candidate.text.lower().split()), " ".join(words.lower().split())
    return float(bool(a and b) and (a in b or b in a))


def role_verbs(role: str) -> set[str]:
    """The verbs an agent noun is made from ("winner" -> win, "director" -> direct, "manager"
    -> manage): a sentence saying who *won* names the winner."""
    if len(role) < 5 or not role.endswith(("er", "or")):
        return set()
    base = role[:-2]
    out = {base, base + "e"}
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiou":
        out.add(base[:-1])  # winner -> win, runner -> run
    return out


def names_role(role: str, doc, title: str) -> bool:
    """Whether a parsed sentence (or its article's title) names the role a "who is the ROLE"
    question asks about: the noun itself, or the verb it is the agent of."""
    lemmas = {t.lemma_.lower() for t in doc}
    verbs = {t.lemma_.lower() for t in doc if t.pos_ in ("VERB", "AUX")}
    return role in lemmas | terms(title).all or bool(role_verbs(role) & verbs)


def corroboration(candidate: Candidate, sentences: list[SourceSentence]) -> float:
    """How many other articles' sentences among ``sentences`` hold every word and number of
    the candidate's span (0, one: 0.5, two or more: 1): a fact several sources state alike."""
    own = terms(candidate.text)
    if not (own.words or own.numbers):
        return 0.0
    docs = set()
    for s in sentences:
        if s.doc_id == candidate.sentence.doc_id:
            continue
        other = terms(s.text)
        if own.words <= other.words and own.numbers <= other.numbers:
            docs.add(s.doc_id)
    return min(len(docs), 2) / 2


def typed_candidates(ctx: CheckContext, limit: int, exclude: Candidate | None) -> list[tuple[Candidate, object]]:
    """Spans of the kind the question asks for (a person for who, an amount for how much)
    in the best-scored sentences of the pool (the shown ones unless told otherwise), the
    one nearest the question's words in each sentence's parse: what an extractive reader
    would answer. For a question that asks for no kind (why, how, what sort of ...), each
    of those sentences whole."""
    wanted = ctx.frame.expects - {"name", "clause", "yesno"}
    out = []
    for sentence in sorted(ctx.pool if ctx.pool is not None else ctx.shown, key=lambda s: -s.score)[:limit]:
        if looks_like_instruction(sentence.text):
            continue
        doc = ctx.nlp.parse(sentence.text)
        if not wanted or ctx.frame.open:  # no kind to look for: the sentence itself is the candidate
            whole = Candidate(sentence, 0, len(sentence.text), False, 0.0)
            if exclude is None or exclude.sentence is not sentence:
                out.append((whole, doc))
            continue
        best: tuple[float, Candidate] | None = None
        for start, end in _typed_spans(doc, sentence.text, wanted):
            candidate = Candidate(sentence, start, end, False, 0.0)
            if exclude is not None and (exclude.sentence is sentence and exclude.start == start):
                continue
            if not (terms(candidate.text).all - terms(ctx.frame.text).all):
                continue
            tie = dependency_tie(doc, start, end, ctx.frame.focus)
            if best is None or tie > best[0]:
                best = (tie, candidate)
        if best is not None:
            out.append((best[1], doc))
    return out


def _typed_spans(doc, text: str, wanted: set[str]) -> list[tuple[int, int]]:
    spans = [(e.start_char, e.end_char) for e in doc.ents if LABEL_KINDS.get(e.label_, set()) & wanted]
    spans += [(q.start, q.end) for q in quantities(text) if NUMBER_KINDS.get(q.kind, set()) & wanted]
    return sorted(set(spans))
