"""Relevance before display: a short span of another kind than the question asks for (a
place for "who", a person for "where", a place for "when") is not an answer, whatever the
model's pick; actors and the asked-for kinds pass. The real spaCy pipeline; invented
sentences."""

from __future__ import annotations

import pytest

from app.answer.check.features import Candidate, off_type
from app.answer.context import SourceSentence
from app.answer.question import analyse_question
from app.text.nlp import shared_nlp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nlp():
    return shared_nlp()


def verdict(nlp, question: str, sentence: str, span: str) -> str:
    frame = analyse_question(nlp.parse(question))
    start = sentence.index(span)
    source = SourceSentence(
        doc_id="wire/x",
        start=0,
        end=len(sentence),
        text=sentence,
        title="Title",
        outlet="Wire A",
        published="2025-01-01",
        passage_rank=0,
    )
    return off_type(frame, Candidate(source, start, start + len(span), True, 1.0), nlp.parse(sentence))


@pytest.mark.parametrize(
    ("question", "sentence", "span", "kind"),
    [
        ("Who will attend the harbour talks?", "The next round of talks will be held in Bergen on Monday.", "Bergen",
         "a place"),
        ("Where will the harbour talks be held?", "The talks were chaired by Anna Berg in March.", "Anna Berg",
         "a person"),
        ("When will the ferry service resume?", "The ferry service will resume in Tromso.", "Tromso", "a place"),
        ("Who directed the harbour film?", "A Danish film about the harbour won the top prize.", "Danish",
         "a nationality"),
    ],
)  # fmt: skip
def test_a_span_of_another_kind_is_not_an_answer(nlp, question, sentence, span, kind):
    reason = verdict(nlp, question, sentence, span)
    assert reason.startswith(f"it names {kind};"), reason


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("Who rejected the harbour plan?", "Norway rejected the harbour plan on Monday.", "Norway"),  # an actor
        ("Who won the sailing race?", "The Danes won the sailing race on Sunday.", "The Danes"),  # a people acts
        ("Where will the harbour talks be held?", "The next round will be held in Bergen on Monday.", "Bergen"),
        ("How many workers were hired?", "The yard hired 500 workers in May.", "500"),
        ("How much did the club pay?", "The club paid £15.8bn for the ground.", "£15.8bn"),
        ("Why did the talks fail?", "The talks failed because the fees were too high.", "the fees were too high"),
    ],
)
def test_the_asked_for_kind_and_actors_pass(nlp, question, sentence, span):
    assert verdict(nlp, question, sentence, span) == ""


def test_a_question_typed_by_its_noun_is_left_to_the_model(nlp):
    # "which ... club" asks for an organisation through its noun; a club named like its city is common
    assert verdict(nlp, "Which club signed the striker?", "The striker joined from Bergen last week.", "Bergen") == ""


def test_the_doer_of_a_passive_says_who_not_where(nlp):
    sentence = "Last spring the two unions held talks, brokered by Norway, on harbour fees."
    # a clause whose only place is the doer of a passive does not say where
    reason = verdict(nlp, "Where will the next round of harbour talks be held?", sentence, "brokered by Norway")
    assert reason == "it names who did something, not where; the question asks for a place"
    # the same doer answers who did it: it acts, it is not a place
    assert verdict(nlp, "Who brokered the harbour talks?", sentence, "Norway") == ""
    # a clause that says where passes
    held = "The next round of harbour talks will be held in Bergen, officials said."
    assert verdict(nlp, "Where will the next round of harbour talks be held?", held, "held in Bergen") == ""
