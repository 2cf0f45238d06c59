"""The checks of one context, run in order: the model's pick, then (``typed_candidates``) the
span of the asked-for kind in the best sentences, each judged by the fitted model; only the
likeliest accepted one stays accepted. Each verdict becomes an answer sentence: the words
shown, cited, or the reason they are not."""

from __future__ import annotations

from collections.abc import Callable

from app.answer.check.candidates import CheckContext, Checked, check_pick, judge_candidate, typed_candidates
from app.answer.check.decide import Decider
from app.answer.check.learned import LearnedChecker
from app.answer.cited import AnswerSentence, CitationIndex, Reason
from app.answer.context import SourceSentence
from app.answer.question import QuestionFrame
from app.config import Settings
from app.text.injection import looks_like_instruction
from app.text.nlp import Nlp

# what a verdict's code says to the user of a sentence that is not shown
NOT_SHOWN = {
    "no_pick": Reason.NO_PICK,
    "not_in_sentence": Reason.NOT_IN_SENTENCE,
    "vacuous": Reason.VACUOUS,
    "instruction": Reason.INSTRUCTION,
    "outranked": Reason.OUTRANKED,
    "off_type": Reason.OFF_TYPE,
    "other_subject": Reason.OTHER_SUBJECT,
}


class Checker:
    """Judges a context's candidates for one question."""

    def __init__(
        self,
        settings: Settings,
        nlp: Nlp,
        article_text: Callable[[str], str],
        idf: Callable[[str], float],
        decider: Decider,
        learned: LearnedChecker | None = None,
    ):
        self.settings = settings
        self.nlp = nlp
        self.article_text = article_text
        self.idf = idf
        self.decider = decider
        self.learned = learned

    def learned_score(self, question: str, sentence: str, answer: str = "") -> float:
        """The learned checker's P(the answer words, or the sentence, answer the question); 0
        when it is off."""
        return self.learned.score(question, sentence, answer) if self.learned is not None else 0.0

    def judge(
        self,
        frame: QuestionFrame,
        shown: list[SourceSentence],
        candidates: list[SourceSentence],
        chosen: SourceSentence | None,
        words: str,
        numbers: dict[int, float],
        second_reading: Callable[[], str] | None = None,
    ) -> list[Checked]:
        """The model's pick (``chosen`` and its ``words``; ``numbers``: its probabilities for
        each sentence number) and the typed spans of the best sentences, each judged;
        ``second_reading`` (lazy) gives the words of the model's pick from the sentences in
        another order (``Settings.second_reading``)."""
        # no log-probabilities from the backend: the model is taken to be sure of its pick
        probs = {(s.doc_id, s.start): numbers.get(i, 0.0) for i, s in enumerate(shown, 1)}
        if not numbers and chosen is not None:
            probs = {(chosen.doc_id, chosen.start): 1.0}
        p_none = numbers.get(0, 0.0) if numbers else float(chosen is None)
        pool = None
        if self.settings.typed_candidates_from == "retrieved":
            pool = [s for s in candidates if not looks_like_instruction(s.text)]
        ctx = CheckContext(
            frame=frame,
            nlp=self.nlp,
            shown=shown,
            article_text=self.article_text,
            idf=self.idf,
            decider=self.decider,
            model_abstained=chosen is None,
            model_sentence=chosen,
            sentence_probability=probs,
            p_none=p_none,
            pool=pool,
            checker=self.learned_score if self.learned is not None else None,
            second_reading=second_reading if self.settings.second_reading != "off" else None,
            second_reading_always=self.settings.second_reading == "always",
        )
        first = check_pick(ctx, chosen, words)
        results = [first]
        if self.settings.typed_candidates:
            for candidate, doc in typed_candidates(ctx, self.settings.typed_candidates, first.candidate):
                results.append(judge_candidate(ctx, candidate, doc, by_model=False))
        return _one_accepted(results)


def _one_accepted(results: list[Checked]) -> list[Checked]:
    """Only the likeliest accepted verdict stays accepted (one answer per context)."""
    accepted = [r for r in results if r.accepted]
    if len(accepted) <= 1:
        return results
    best = max(accepted, key=lambda r: r.probability)
    out = []
    for r in results:
        if r is best or not r.accepted:
            out.append(r)
        else:
            out.append(
                Checked(r.candidate, False, r.probability, r.values, "a likelier answer was chosen", "outranked")
            )
    return out


def answer_sentence(checked: Checked, frame: QuestionFrame, words: str | None, index: CitationIndex) -> AnswerSentence:
    """The answer sentence of a verdict: its words (or its whole sentence, quoted, for a
    why/how/yes-no question or a span of most of it), cited; or the reason it is not shown.
    ``words`` are the model's own, for the verdict on its pick (None for the others)."""
    candidate = checked.candidate
    shown, quoted = "", False
    if candidate is not None:
        whole = (candidate.end - candidate.start) >= 0.6 * len(candidate.sentence.text)
        quoted = frame.open or whole
        shown = candidate.sentence.text if quoted else candidate.text
    if not checked.accepted:
        text = (words or "") or (candidate.text if candidate else "(no sentence chosen)")
        return AnswerSentence(
            text,
            False,
            coverage=checked.probability,
            reason=checked.reason,
            code=NOT_SHOWN.get(checked.code, Reason.REJECTED),
            features=checked.values,
            shown=shown,
            source=candidate.sentence.as_quote() if candidate is not None else None,
        )
    return AnswerSentence(
        shown,
        True,
        [index.number(candidate.sentence)],
        checked.probability,
        quoted=quoted,
        code=Reason.QUOTED if quoted else Reason.SUPPORTED,
        features=checked.values,
        shown=shown,
        source=candidate.sentence.as_quote(),
    )


def computed_sentence(computed, index: CitationIndex) -> AnswerSentence:
    """The answer sentence of a computation: the calculation, citing every number's sentence."""
    numbers = list(dict.fromkeys(index.number(o.sentence) for o in computed.operands))
    return AnswerSentence(computed.text(), True, numbers, 1.0, code=Reason.COMPUTED, shown=computed.text())
