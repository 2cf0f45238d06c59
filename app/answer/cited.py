"""What an answer is made of: its sentences, each cited with numbered exact quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.answer.context import SourceSentence
from app.domain import Quote


@dataclass(frozen=True)
class Citation:
    """Citation ``[n]`` of an answer: an exact quote of an article."""

    n: int
    quote: Quote

    def as_dict(self) -> dict:
        return {"n": self.n, **self.quote.as_dict()}

    def one_line(self) -> str:
        return self.quote.one_line()


class Reason(StrEnum):
    """Why an answer sentence is or is not kept (``AnswerSentence.code``)."""

    SUPPORTED = "supported"
    QUOTED = "quoted"  # the source's own words, standing in for a misstated sentence
    ABSTENTION = "abstention"
    INSTRUCTION = "instruction"
    NO_PICK = "no_pick"  # the reader found no sentence that answers
    NOT_IN_SENTENCE = "not_in_sentence"  # the reader's words are not in the sentence it chose
    VACUOUS = "vacuous"  # it adds nothing the question did not say
    REJECTED = "rejected"  # the fitted checks do not accept it
    OTHER_SUBJECT = "other_subject"  # it states another's X ("B wants ..." for "what does A want")
    OUTRANKED = "outranked"  # accepted, but another candidate of the same context was likelier
    OFF_TYPE = "off_type"  # it names another kind of thing than the question asks for (a place for "who")
    COMPUTED = "computed"  # a sum, difference or span computed in code from cited numbers


@dataclass
class AnswerSentence:
    text: str
    supported: bool
    citations: list[int] = field(default_factory=list)
    coverage: float = 0.0
    reason: str = ""
    quoted: bool = False  # the text is the cited source sentence itself, verbatim
    code: Reason = Reason.SUPPORTED
    features: dict[str, float] = field(default_factory=dict)  # what the answer check weighed (span reader)
    shown: str = ""  # what the answer would say if it were accepted (span reader)
    source: Quote | None = None  # the sentence the candidate is words of (span reader)
    lead: str = ""  # said before the quote: "Yes" / "No" of a yes/no answer (sentence reader)


class CitationIndex:
    """Numbers quotes in order of first use; a quote cited twice keeps its number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def number(self, src: SourceSentence) -> int:
        key = (src.doc_id, src.start, src.end)
        if key not in self._by_span:
            self._by_span[key] = len(self.citations) + 1
            self.citations.append(Citation(self._by_span[key], src.as_quote()))
        return self._by_span[key]
