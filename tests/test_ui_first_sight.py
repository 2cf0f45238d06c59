"""What a person sees first and while an answer is written, without a browser: the corpus card
(counts, outlets, dates, what the articles are about) and its example questions in plain words;
the "checking" view that never shows the model's unchecked words; Stop seen at once while the
model is busy; a blank question not sent. Invented articles only (the spaCy pipeline is real)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from app.adapters.ui import handlers as ui_handlers
from app.adapters.ui.card import render_index_status
from app.adapters.ui.render import Progress, render_checking
from app.answer.context import Context, SourceSentence
from app.answer.reply import reading_detail
from app.domain import Article
from app.services.overview import CorpusOverview, build_overview, plain_question
from app.text.nlp import shared_nlp

ARTICLES = [
    Article(
        "wire/ferry",
        "Ferry Line Reopens After Storm Repairs",
        "Harbour Post",
        "2025-03-04",
        "Mayor Ada Reyes said on Monday that the ferry line to Lisbon would reopen next week. "
        "Repairs cost the city 4 million pounds.",
    ),
    Article(
        "wire/rail",
        "Rail Strike Ends",
        "Wire A",
        "2025-02-10",
        "Union leader Tomas Brandt told reporters the strike against Northline Rail was over. Trains ran again.",
    ),
    Article(
        "wire/bank",
        "Bank Profits Rise",
        "Wire A",
        "2024-12-01",
        "Meridian Bank reported higher profits for the year, helped by lending in Portugal.",
    ),
]


@pytest.fixture(scope="module")
def nlp():
    return shared_nlp().load()


def test_the_corpus_card_counts_outlets_dates_and_names(nlp):
    card = build_overview(ARTICLES, nlp.parse_many)
    assert card.articles == 3
    assert card.outlets == [("Wire A", 2), ("Harbour Post", 1)]  # most articles first
    assert (card.first, card.last) == ("2024-12-01", "2025-03-04")
    assert "Reyes" in card.topics and "Meridian Bank" in card.topics
    # headline case makes no name of a common word: the card reads the opening sentences
    assert not {"Ferry Line", "Storm Repairs", "Rail Strike"} & set(card.topics)
    html = render_index_status("2026-12-07T08:00:00+00:00", card)
    assert "<b>3</b> articles from Wire A and Harbour Post" in html
    assert "1 December 2024 to 4 March 2025" in html and "About: " in html and "Index updated" in html


def test_example_questions_are_short_plain_and_not_copied(nlp):
    card = build_overview(ARTICLES, nlp.parse_many)
    assert card.questions, card
    sentences = [s.strip().lower() for a in ARTICLES for s in re.split(r"(?<=[.!?])\s+", a.text)]
    for question in card.questions:
        assert question.endswith("?") and len(question.split()) <= 8, question
        assert not any(question.lower().rstrip("?") in s for s in sentences), f"copied: {question}"
    # a person's surname, as a reader asks; what they said about the next place or person named
    assert "What did Reyes say about Lisbon?" in card.questions
    assert "What did Meridian Bank announce?" in card.questions


def test_a_plain_question_needs_a_person_or_an_organisation():
    assert plain_question([("Lisbon", "GPE")]) == ""
    assert plain_question([("Brandt", "PERSON")]) == "What did Brandt say?"
    assert plain_question([]) == ""


def test_an_empty_corpus_has_an_empty_card():
    assert build_overview([], lambda texts: []) == CorpusOverview()
    assert "<b>0</b> articles" in render_index_status("", CorpusOverview())


def sentence(text: str, score: float, outlet: str = "Wire A") -> SourceSentence:
    return SourceSentence(
        doc_id="wire/x", title="T", outlet=outlet, published="2025-03-04", start=0, end=len(text), text=text,
        passage_rank=0, score=score,
    )  # fmt: skip


def test_the_generating_stage_names_the_sentences_read_best_first():
    shown = [sentence("Trains ran again.", 0.2), sentence("The strike was over.", 0.9, "Harbour <Post>")]
    detail = reading_detail([Context("", shown, shown)])
    assert detail["sources"] == 1
    assert [s["text"] for s in detail["sentences"]] == ["The strike was over.", "Trains ran again."]


def test_the_checking_view_quotes_the_sentence_and_never_the_models_words():
    html = render_checking(Progress("Reading 1 article(s)…", time.time()), {"text": "A <b>strike</b> ended.",
                           "outlet": "Wire A", "published": "2025-03-04"})  # fmt: skip
    assert "checking</span> \u201cA &lt;b&gt;strike&lt;/b&gt; ended.\u201d" in html
    assert "(Wire A, 4 March 2025)" in html and "nr-elapsed" in html
    assert "nr-considered" not in render_checking(Progress("Searching…", time.time()), None)


class FakeServing:
    """The serving service's stream: a stage with the sentences read, then the model's words
    (a wrong phrase first), then the final answer; optionally blocked before its next event."""

    def __init__(self, events, block: threading.Event | None = None):
        self.events = events
        self.block = block
        self.closed = threading.Event()
        self.gate = type("Gate", (), {"abandon": lambda self, session: 0})()

    def stream(self, *args, **kwargs):
        try:
            for event in self.events:
                if self.block is not None:
                    self.block.wait(10)
                yield event
        finally:
            self.closed.set()


def handlers_with(serving) -> ui_handlers.Handlers:
    services = type("Services", (), {})()
    services.serving = serving
    services.articles = type("Articles", (), {"get": lambda self, doc_id: None})()
    services.settings = type("S", (), {"answer_queue_max": 4})()
    return ui_handlers.Handlers(services)


def test_the_draft_shows_the_sentence_being_checked_not_the_models_words():
    from app.answer.reply import Stage, Token

    read = [{"text": "Talks will continue in London.", "outlet": "Wire A", "published": "2025-04-22"},
            {"text": "The delegation came from Moscow.", "outlet": "Wire A", "published": "2025-04-22"}]  # fmt: skip
    events = [Stage("generating", {"sources": 1, "sentences": read}), Token("peace referring"), Token(" Mos"),
              Token("cow")]  # fmt: skip
    handlers = handlers_with(FakeServing(events))
    shown = [html for event, html in handlers._progress("Where?", [], None, "s") if html]
    assert all("peace" not in html and "referring" not in html for html in shown), shown
    assert "London" in shown[1]  # the best sentence read, while the model writes
    assert "Moscow" in shown[-1] and "Checking the sentence" in shown[-1]  # the one holding its words


def test_stop_is_seen_at_once_while_the_model_is_busy():
    blocked = threading.Event()
    serving = FakeServing(["a", "b"], block=blocked)
    stop = threading.Event()
    pumped = ui_handlers._pumped(serving.stream(), stop)
    started = time.perf_counter()
    threading.Timer(0.3, stop.set).start()
    assert list(pumped) == []  # the source never gave its first item: the reader ends on Stop
    took = time.perf_counter() - started
    assert took < 0.3 + 2 * ui_handlers.STOP_POLL_S + 0.2, took
    blocked.set()  # the model's step ends: the worker closes the stream, which ends the generation
    assert serving.closed.wait(5)


def test_an_error_in_the_stream_reaches_the_reader():
    def failing():
        yield 1
        raise ValueError("the model failed")

    with pytest.raises(ValueError, match="the model failed"):
        list(ui_handlers._pumped(failing(), threading.Event()))


def test_a_blank_question_is_not_sent():
    serving = FakeServing([])
    handlers = handlers_with(serving)
    chat, _sources, turns, _box = next(handlers.respond("   ", [], [], "", ""))
    assert chat == [] and turns == [] and not serving.closed.is_set()
    assert handlers.show_waiting(" ", [])[0] == []


def test_a_closed_reader_ends_the_answer_too():
    """The page went away (Gradio closes the handler): the worker closes the stream at its next
    event, as on Stop, instead of writing the rest of an answer nobody reads."""
    written: list[int] = []
    closed = threading.Event()

    def slow_answer():
        try:
            for n in range(40):  # 40 steps of 50 ms: 2 s to write it all
                time.sleep(0.05)
                written.append(n)
                yield n
        finally:
            closed.set()

    pumped = ui_handlers._pumped(slow_answer(), threading.Event())
    assert next(pumped) == 0
    pumped.close()
    assert closed.wait(5)
    assert len(written) < 10, f"{len(written)} steps written after the reader went away"
