"""The last stage of a question's path: the reply. What the answer service produces (the
verified answer and the events of its stream), how its text is composed from the checked
sentences, and, when none passed, which outcome it is and which passages come closest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.answer.check.decide import Decider
from app.answer.check.shapes import asks, subject_agrees, subject_share
from app.answer.cited import AnswerSentence, Citation, CitationIndex, Reason
from app.answer.context import Context, SourceSentence
from app.answer.question import QuestionFrame
from app.config import Settings
from app.domain import Quote
from app.index.retrieval import HybridRetriever, Passage
from app.text.dates import format_date
from app.text.lexicon import lexicon
from app.text.nlp import Nlp
from app.text.textmatch import terms

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
UNVERIFIED_LEAD = "The articles may not answer this exactly"


def hedged(quote: Quote) -> str:
    """An unverified reply: the closest sentence the articles have, quoted and dated, hedged
    (the outcome stays ``unverified``; the other closest passages follow it as sources)."""
    where = f"{quote.outlet}, {format_date(quote.published)}"
    return f"{UNVERIFIED_LEAD}; the closest they come: \u201c{quote.text}\u201d ({where})"


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
    short: str = ""  # what a span answer states without its quotes ("London"); "" otherwise
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
                    "lead": s.lead,
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
            "short": self.short,
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


READING_SENTENCES = 6  # sentences a "generating" stage names, best first


def reading_detail(contexts: list[Context], limit: int = READING_SENTENCES) -> dict:
    """What the "generating" stage tells a watcher: how many articles the model reads and the
    sentences it reads, best first (``text``, ``outlet``, ``published``, ``title``), so a UI can
    show what is being checked instead of the model's unchecked words."""
    shown = [s for c in contexts for s in c.shown]
    best = sorted(shown, key=lambda s: -s.score)[:limit]
    sentences = [{"text": s.text, "outlet": s.outlet, "published": s.published, "title": s.title} for s in best]
    return {"sources": len({s.doc_id for s in shown}), "sentences": sentences}


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


def compose(sentences: list[AnswerSentence], citations: list[Citation], shape: str = "span") -> str:
    """The answer text: supported sentences with their [n] markers; dated when the
    cited articles are of different dates. A sentence that is its source's own words
    (the model misstated it) is shown in quotation marks. An answer of whole sentences
    (``shape`` other than span) quotes each one with its outlet and date, as a list when
    it is a list of several."""
    if shape != "span":
        return _quoted(sentences, {c.n: c for c in citations}, shape)
    by_n = {c.n: c for c in citations}
    dates = {c.quote.published for c in citations if c.quote.published}
    parts = []
    for s in sentences:
        if not s.supported:
            continue
        if not s.quoted and s.source is not None and s.code is Reason.SUPPORTED:
            parts.append(_phrase_and_sentence(s, by_n, dated=len(dates) > 1))
            continue
        text = f"\u201c{s.text}\u201d" if s.quoted else s.text
        cited_dates = {by_n[n].quote.published for n in s.citations}
        if len(dates) > 1 and len(cited_dates) == 1:
            text = _with_date(text, by_n[s.citations[0]])
        parts.append(text + " " + "".join(f"[{n}]" for n in s.citations))
    return " ".join(parts)


def _attributed(quote: Quote, marks: str) -> str:
    """A sentence quoted, its citation markers, then its outlet and date."""
    return f"\u201c{quote.text}\u201d {marks} ({quote.outlet}, {format_date(quote.published)})"


def _phrase_and_sentence(s: AnswerSentence, by_n: dict[int, Citation], dated: bool = False) -> str:
    """A span answer: the phrase first, in bold, then the sentence that states it, quoted,
    cited and attributed: "**London.** “Talks ... continue in London.” [1] (Outlet, 22 April 2025)";
    ``dated`` (the answer cites articles of different dates): "As of 22 April 2025 (Outlet):
    **London.** “…” [1]", so each part says as of when it holds."""
    phrase = s.text.rstrip()
    stop = "" if phrase[-1:] in ".!?" else "."
    quote = by_n[s.citations[0]].quote if s.citations else s.source
    marks = "".join(f"[{n}]" for n in s.citations)
    if dated and quote.published:
        day = format_date(quote.published)
        return f"As of {day} ({quote.outlet}): **{phrase}{stop}** \u201c{quote.text}\u201d {marks}"
    return f"**{phrase}{stop}** " + _attributed(quote, marks)


def short_answer(sentences: list[AnswerSentence]) -> str:
    """What a span answer states, without its quotes (the phrases of its supported sentences;
    a computed result as it is): what the eval scores a span answer on. "" for an answer of
    whole sentences, which states its quotes."""
    return "; ".join(s.text for s in sentences if s.supported and not s.quoted)


def _quoted(sentences: list[AnswerSentence], by_n: dict[int, Citation], shape: str) -> str:
    """Whole sentences, each quoted, cited and attributed: "“…” [1] (Outlet, 22 April 2025)";
    a yes/no answer leads with its "Yes." or "No."; a list of several is a Markdown list."""
    kept = [s for s in sentences if s.supported]
    parts = []
    for s in kept:
        parts.append(_attributed(by_n[s.citations[0]].quote, "".join(f"[{n}]" for n in s.citations)))
    lead = next((s.lead for s in kept if s.lead), "")
    if shape == "list" and len(parts) > 1:
        return "\n".join(f"- {p}" for p in parts)
    text = " ".join(parts)
    return f"**{lead}.** {text}" if lead else text


@dataclass
class Prepared:
    """A question made ready for the model: rewritten, read, retrieved, its contexts built."""

    standalone: str
    frame: QuestionFrame
    contexts: list[Context]
    base: dict  # the Answer fields known before generation


class Replier:
    """Writes the reply: the checked answer, or which outcome an unanswered question has and
    the passages that come closest."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, decider: Decider, nlp: Nlp):
        self.settings = settings
        self.nlp = nlp
        self.retriever = retriever
        self.decider = decider

    def no_answer(self, prepared: Prepared, text: str, timings: dict, outcome: str = "") -> Answer:
        """The reply when no generation ran (nothing retrieved, or nothing on the subject)."""
        return Answer(
            answer=text,
            abstained=True,
            citations=[],
            sentences=[],
            timings=timings,
            outcome=outcome,
            **prepared.base,
        )

    def final(self, prepared: Prepared, sentences: list[AnswerSentence], index: CitationIndex, drafts, timings):
        """The reply from the checked sentences of every context."""
        citations = index.citations
        closest: list[Quote] = []
        short = ""
        if any(s.supported for s in sentences) and on_topic(prepared.standalone, citations):
            text, outcome = compose(sentences, citations, prepared.frame.shape), ANSWERED
            short = short_answer(sentences) if prepared.frame.shape == "span" else ""
        else:
            citations = []
            on_subject = self.closest(prepared, sentences)
            # "the articles don't say" only when nothing retrieved speaks of the question's subject
            text, outcome = (UNVERIFIED_TEXT, UNVERIFIED) if on_subject else (ABSTAIN_TEXT, ABSENT)
            closest = [self._linked(q) for q in on_subject[: self.settings.closest_passages]]
            if closest:  # below the bar, the closest quote leads, hedged, not an apology
                text = hedged(closest[0])
        return Answer(
            answer=text,
            abstained=outcome != ANSWERED,
            citations=[replace(c, quote=self._linked(c.quote)) for c in citations],
            sentences=sentences,
            timings=timings,
            draft="\n\n".join(drafts),
            closest=closest,
            outcome=outcome,
            short=short,
            **prepared.base,
        )

    def _linked(self, quote: Quote) -> Quote:
        """The quote with its article's original URL and byline, when the corpus recorded them."""
        article = self.retriever.article(quote.doc_id)
        if article is None:
            return quote
        return replace(quote, url=article.url or quote.url, author=article.author or quote.author)

    def closest(self, prepared: Prepared, sentences: list[AnswerSentence]) -> list[Quote]:
        """What the user is shown when no answer is verified but the articles do speak of the
        question: the sentences of the candidates the answer model turned down narrowly
        (likeliest first), then the shown sentences that hold most of the question's terms
        (IDF-weighted)."""
        floor = self.settings.closest_min_probability * self.decider.threshold
        turned_down = [
            s for s in sentences if s.source is not None and s.code in ("rejected", "outranked") and s.coverage >= floor
        ]
        out: dict[tuple[str, int], Quote] = {}
        for s in sorted(turned_down, key=lambda s: -s.coverage):
            out.setdefault((s.source.doc_id, s.source.start), s.source)
        for quote in self.covering(prepared):
            out.setdefault((quote.doc_id, quote.start), quote)
        return list(out.values())

    def covering(self, prepared: Prepared) -> list[Quote]:
        """The shown sentences holding ``closest_min_coverage`` of the terms of the question's
        subject (its nouns, names and numbers; IDF-weighted), most first; those whose subject
        names another than the question's (``check.shapes.subject_agrees``) after the others."""
        least = self.settings.closest_min_coverage
        scored = [(share, s) for share, s in self.subject_shares(prepared) if share >= least and not asks(s.text)]
        # another's X ("B wants ..." for "what does A want") after the sentences on the asked subject
        docs = self.nlp.parse_many([s.text for _, s in scored])
        agrees = [subject_agrees(prepared.frame, doc) for doc in docs]
        ranked = sorted(zip(scored, agrees, strict=True), key=lambda row: (not row[1], -row[0][0]))
        return [s.as_quote() for (_, s), _ in ranked]

    def subject_shares(self, prepared: Prepared) -> list[tuple[float, SourceSentence]]:
        """Each shown sentence with the IDF-weighted share of the question's subject words it
        holds (``check.shapes.subject_share``: words only, a year or an amount is a detail
        asked about, not what the question is about)."""
        frame, idf = prepared.frame, self.retriever.idf
        return [(subject_share(frame, f"{s.title} {s.text}", idf), s) for c in prepared.contexts for s in c.shown]
