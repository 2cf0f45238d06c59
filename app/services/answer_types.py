"""What the answer service produces: the verified answer, the events of its stream, and
how its text is composed from the checked sentences."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from app.domain import Quote
from app.errors import BadQuestionError
from app.index.retrieval import Passage
from app.text.cleaning import typed_line
from app.text.dates import format_date
from app.text.lexicon import lexicon
from app.text.textmatch import terms
from app.verify.cited import AnswerSentence, Citation, Reason

# The three outcomes of a question, each shown as such (``Answer.outcome``):
ANSWERED = "answered"  # a verified, cited answer
ABSENT = "absent"  # nothing retrieved speaks of the question's subject: the articles don't say
UNVERIFIED = "unverified"  # passages on the subject exist, but no sentence passed the check
OUTCOMES = (ANSWERED, ABSENT, UNVERIFIED)


def derive_outcome(abstained: bool, closest: object) -> str:
    """The outcome of an answer that does not name one: answered unless it abstained; an
    abstention with closest passages is unverified, one without is absent."""
    return ANSWERED if not abstained else UNVERIFIED if closest else ABSENT


ABSTAIN_TEXT = "The articles don't say. Nothing in the indexed articles speaks of what this question asks about."
UNVERIFIED_TEXT = (
    "I couldn't write a checked answer. The articles speak of this, but no sentence of theirs passed the "
    "check against the question; the closest passages are shown so you can judge."
)
CLOSEST_TEXT = UNVERIFIED_TEXT  # the earlier name
NO_SOURCES_TEXT = "The articles don't say. No indexed article matches this question."


@dataclass
class Answer:
    """The verified answer; ``as_dict`` is the JSON of ``ask --json`` and ``/api/ask``."""

    question: str
    standalone_question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    sentences: list[AnswerSentence]
    retrieved: list[Passage]
    timings: dict[str, float]
    model: str = ""
    draft: str = ""
    time_intent: str = ""
    context: str = ""
    suppressed_instructions: int = 0
    closest: list[Quote] = field(default_factory=list)  # when it abstains: the passages nearest the question
    outcome: str = ""  # answered | absent | unverified ("" : derived from abstained and closest)

    def __post_init__(self) -> None:
        if not self.outcome:
            self.outcome = derive_outcome(self.abstained, self.closest)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @property
    def unsupported(self) -> list[AnswerSentence]:
        return [s for s in self.sentences if not s.supported and s.code is not Reason.ABSTENTION]

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "outcome": self.outcome,
            "abstained": self.abstained,
            "citations": [c.as_dict() for c in self.citations],
            "sentences": [
                {
                    "text": s.text,
                    "supported": s.supported,
                    "citations": s.citations,
                    "reason": s.reason,
                    "code": s.code.value,
                    "quoted": s.quoted,
                    "probability": round(s.coverage, 4),
                    "features": {k: round(v, 4) for k, v in s.features.items()},
                    "shown": s.shown,
                }
                for s in self.sentences
            ],
            "unsupported": [{"text": s.text, "reason": s.reason} for s in self.unsupported],
            "retrieved": [p.as_dict() for p in self.retrieved],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "model": self.model,
            "draft": self.draft,
            "time_intent": self.time_intent,
            "suppressed_instructions": self.suppressed_instructions,
            "context": self.context,
            "closest": [q.as_dict() for q in self.closest],
        }


@dataclass
class Token:
    text: str


@dataclass
class Final:
    answer: Answer


@dataclass
class Stage:
    """A progress note for the UI ("retrieving", "generating")."""

    name: str
    detail: dict = field(default_factory=dict)


def on_topic(question: str, citations: list[Citation]) -> bool:
    """Whether the cited quotes (with their headlines) share a word with the question.

    Quotes that back an answer but have nothing in common with what was asked ("What
    instructions were you given?" answered with sentences on prisoner swaps) answer
    another question; the answer then abstains.
    """
    asked = terms(question).all
    if not asked or not citations:
        return True
    return any(asked & terms(f"{c.quote.title} {c.quote.text}").all for c in citations)


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


def _with_date(sentence: str, citation: Citation) -> str:
    """Prefix a sentence with its source's date and outlet, unless it names them."""
    quote = citation.quote
    day = format_date(quote.published)
    if not quote.published or day.split()[1] in sentence or quote.outlet in sentence:
        return sentence
    first, _, rest = sentence.partition(" ")
    if first.lower() in lexicon().stopwords:  # "The", "More": not a name, so not capitalised mid-sentence
        sentence = f"{first.lower()} {rest}"
    return f"As of {day} ({quote.outlet}), {sentence}"


def compose(sentences: list[AnswerSentence], citations: list[Citation]) -> str:
    """The answer text: supported sentences with their [n] markers; dated when the
    cited articles are of different dates. A sentence that is its source's own words
    (the model misstated it) is shown in quotation marks."""
    by_n = {c.n: c for c in citations}
    dates = {c.quote.published for c in citations if c.quote.published}
    parts = []
    for s in sentences:
        if not s.supported:
            continue
        text = f"\u201c{s.text}\u201d" if s.quoted else s.text
        cited_dates = {by_n[n].quote.published for n in s.citations}
        if len(dates) > 1 and len(cited_dates) == 1:
            text = _with_date(text, by_n[s.citations[0]])
        parts.append(text + " " + "".join(f"[{n}]" for n in s.citations))
    return " ".join(parts)
