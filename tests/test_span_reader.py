"""The span reader's parts on hand-made text: what a question asks for, where the model's
words are in its sentence, the reply format, and the features the answer check weighs."""

from __future__ import annotations

import json

import pytest

from app.answer.check.align import complete, locate
from app.answer.check.decide import Decider
from app.answer.check.features import Candidate, dependency_tie, features, span_kinds
from app.answer.context import SourceSentence
from app.answer.prompts import display_order, numbered_context, reader_messages, reply_schema
from app.answer.question import analyse_question
from app.answer.reader import AnswerStream, Pick, located, parse_pick


def frame(nlp, question: str):
    return analyse_question(nlp.parse(question))


def sentence(text: str, **kw) -> SourceSentence:
    values = dict(doc_id="wire/1", start=0, end=len(text), text=text, title="Harbour plan", outlet="Coast News",
                  published="2024-03-04", passage_rank=0, score=1.0, similarity=0.6)  # fmt: skip
    values.update(kw)
    return SourceSentence(**values)


@pytest.mark.parametrize(
    ("question", "expects", "head"),
    [
        ("Who chairs the harbour board?", {"person", "organisation"}, ""),
        ("Where will the ferry talks resume?", {"place", "organisation"}, ""),
        ("When does the new terminal open?", {"time"}, ""),
        ("How many cranes did the port buy?", {"number"}, "crane"),
        ("How much did the dredging cost?", {"money"}, "cost"),
        ("How much did the port grow?", {"money", "number", "percent"}, ""),
        ("What fee will the council pay?", {"money"}, "fee"),
        ("Which company won the contract?", {"organisation"}, "company"),
        ("In which city is the shipyard?", {"place"}, "city"),  # the parse misses "which city"; the head is found
        ("What percentage of trade goes through the port?", {"percent"}, "percentage"),
        ("Why did the union strike?", {"clause"}, ""),
        ("Has the port reopened?", {"yesno"}, ""),
    ],
)
def test_what_a_question_asks_for(nlp, question, expects, head):
    f = frame(nlp, question)
    assert f.expects == expects and f.head == head


def test_a_question_brings_names_numbers_and_qualifiers(nlp):
    f = frame(nlp, "How many ships did Marlow Shipping order in total in 2023 for the first time?")
    assert "Marlow Shipping" in f.names
    assert [q.value for q in f.numbers if q.kind == "year"] == [2023]
    assert f.qualifiers == {"total", "first"}
    assert {"ship", "order"} <= f.focus and "many" not in f.focus


def test_the_models_words_are_found_and_widened_to_a_whole_unit():
    text = "The council agreed to pay Harbour Works £6.5m for the new quay."
    span = locate("6.5m", text)
    assert span is not None and text[span.start : span.end] == "6.5m"
    widened = complete(span, text, entities=[(26, 38)])
    assert text[widened.start : widened.end] == "£6.5m"
    loose = locate("pay harbour works", text)
    assert loose is not None and text[loose.start : loose.end].lower() == "pay harbour works"
    assert locate("nothing of it at all here", text) is None
    assert locate("pay Harbour Works £7.5m", text) is None  # most words, but not its figure
    name = complete(locate("Works", text), text, entities=[(26, 38)])
    assert text[name.start : name.end] == "Harbour Works"


def test_the_reply_is_json_of_the_schema_and_is_parsed_leniently():
    schema = reply_schema(3)
    assert schema["properties"]["sentence"]["enum"] == [0, 1, 2, 3]
    assert parse_pick('{"sentence": 2, "answer": "Geneva"}', 3).sentence == 2
    assert parse_pick('{"sentence": 2, "answer": "Gen', 3).answer == "Gen"  # cut short, still readable
    assert parse_pick('{"sentence": 9, "answer": "x"}', 3) == parse_pick("garbage", 3)
    assert not parse_pick("garbage", 3).valid
    stream = AnswerStream()
    pieces = [stream.feed(t) for t in ['{"sentence": 1, "ans', 'wer": "Ha', 'rbour \\"Works\\"', '"}']]
    assert "".join(pieces) == 'Harbour "Works"'


def test_sentences_are_numbered_under_their_article():
    a = sentence("The quay opens in May.", start=0, end=22)
    b = sentence("It cost £6.5m.", doc_id="wire/2", title="Quay costs", published="2024-01-02", start=5, end=19)
    ordered = display_order([a, b])
    assert ordered == [b, a]  # oldest article first
    context = numbered_context(ordered)
    assert context.index("Quay costs") < context.index("Harbour plan")
    assert "[1] It cost £6.5m." in context and "[2] The quay opens in May." in context  # numbered as read
    messages = reader_messages("When does the quay open?", [a, b])
    assert messages[-1].content.endswith("Question: When does the quay open?")
    assert json.loads(messages[2].content) == {"sentence": 2, "answer": "rising food prices"}


def test_features_see_the_type_the_tie_and_the_missing_words(nlp):
    question = frame(nlp, "Who chairs the harbour board?")
    text = "Sarah Jones chairs the harbour board, the council said."
    doc = nlp.parse(text)
    good = Candidate(sentence(text), 0, 11, True, 1.0)
    kinds, loose = span_kinds(good, doc)
    assert "person" in kinds and not loose
    assert dependency_tie(doc, 0, 11, question.focus) == pytest.approx(0.5)  # Jones <- chairs: one step
    values = features(question, good, doc, text, best_similarity=0.6, rank=0, idf=lambda t: 1.0)
    assert values["type_match"] == 1.0 and values["q_cover"] == 1.0 and values["novel"] == 1.0
    other = "Tom Hale captains the rowing club."
    elsewhere = features(question, Candidate(sentence(other), 0, 8, True, 1.0), nlp.parse(other), other, 0.6, 0,
                         lambda t: 1.0)  # fmt: skip
    assert elsewhere["q_cover"] < values["q_cover"] and elsewhere["tie"] == 0.0


def test_another_figure_of_the_asked_kind_is_a_neighbouring_fact():
    from app.answer.check.features import number_conflict
    from app.text.numbers import quantities

    asked = quantities("Who won the cup in 2021?")
    assert number_conflict(asked, quantities("Rovers won the cup in 2023.")) == 1.0
    assert number_conflict(asked, quantities("Rovers won the 2021 cup, their first since 2009.")) == 0.0
    assert number_conflict(asked, quantities("Rovers won the cup on penalties.")) == 0.0  # silent is not other
    money = quantities("Did the club pay $327m?")
    assert number_conflict(money, quantities("The club paid $327bn.")) == 1.0
    assert number_conflict(money, quantities("It paid $327m for the ground.")) == 0.0


def test_the_count_of_the_asked_noun_is_no_figure_to_find(nlp):
    # "which three bands": the answer names three bands; a sentence need not say "three", and
    # its "10,000 tickets" is no other count of the same fact
    from app.answer.check.features import number_conflict
    from app.text.numbers import quantities

    listed = analyse_question(nlp.parse("Which three bands played the harbour gig in 2004?"))
    assert [q.text for q in listed.numbers] == ["2004"]
    said = quantities("All 10,000 tickets for the 2004 gig, with Blue Pier, Low Tide and Old Crane, sold out.")
    assert number_conflict(listed.numbers, said) == 0.0
    counted = analyse_question(nlp.parse("Which bands played the 3 harbour gigs?"))
    assert [q.text for q in counted.numbers] == ["3"]  # a count of something else stays


def test_a_how_many_answer_must_count_the_asked_noun(nlp):
    from app.answer.check.features import counts_asked_noun

    question = frame(nlp, "How many people were surveyed in the study?")
    text = "The study questioned 6,000 people, and 24% said they shopped online."
    doc = nlp.parse(text)
    at = text.index("6,000")
    assert counts_asked_noun(question, Candidate(sentence(text), at, at + 5, True, 1.0), doc) == 1.0
    at = text.index("24%")
    assert counts_asked_noun(question, Candidate(sentence(text), at, at + 3, True, 1.0), doc) == 0.0
    assert counts_asked_noun(frame(nlp, "Who ran the study?"), Candidate(sentence(text), 0, 9, True, 1.0), doc) == 0.5


def test_the_decider_is_a_logistic_model_with_a_threshold():
    decider = Decider({"q_cover": 4.0}, -2.0, 0.5)
    assert decider.accepts({"q_cover": 1.0})[0] and not decider.accepts({"q_cover": 0.0})[0]
    assert Decider.accept_all().accepts({})[0]


def test_arithmetic_is_done_in_code_on_numbers_that_count_the_asked_noun(nlp):
    from app.answer.check.arithmetic import compute

    april = sentence("In April the port sold 1,200 containers.", published="2024-04-02")
    may = sentence("The port sold another 1,350 containers in May.", doc_id="wire/2", published="2024-05-02")
    cranes = sentence("It also bought 3 cranes.", doc_id="wire/3")
    total = compute("sum", [(1, "1,200"), (2, "1,350")], [april, may, cranes], "container", nlp)
    assert total is not None and total.value == 2550 and total.text() == "1,200 + 1,350 = 2,550"
    assert [o.sentence for o in total.operands] == [april, may]
    assert compute("sum", [(1, "1,200"), (3, "3")], [april, may, cranes], "container", nlp) is None  # counts cranes
    assert compute("sum", [(1, "9,999"), (2, "1,350")], [april, may, cranes], "container", nlp) is None  # not said
    difference = compute("difference", [(2, "1,350"), (1, "1,200")], [april, may, cranes], "container", nlp)
    assert difference is not None and difference.text().endswith("= 150")


def test_typed_candidates_are_the_asked_kind_nearest_the_question_words(nlp):
    from app.answer.check.candidates import CheckContext, typed_candidates

    text = "On Monday the board named Sarah Jones chief executive of Harbour Works."
    shown = [sentence(text)]
    ctx = CheckContext(frame(nlp, "Who is the chief executive of Harbour Works?"), nlp, shown, lambda d: text,
                  lambda t: 1.0, Decider.accept_all())  # fmt: skip
    [(candidate, _doc)] = typed_candidates(ctx, 3, None)
    assert candidate.text == "Sarah Jones"
    when = CheckContext(frame(nlp, "When did the board name its chief executive?"), nlp, shown, lambda d: text,
                   lambda t: 1.0, Decider.accept_all())  # fmt: skip
    assert [c.text for c, _ in typed_candidates(when, 3, None)] == ["Monday"]


def test_the_words_the_model_copied_name_its_sentence_when_its_number_does_not():
    shown = [
        sentence("The ferry board met on Monday."),
        sentence("Its chair said the fares would stay frozen until the spring, officials said.", start=31),
        sentence("Dock workers plan a strike on Friday.", start=108),
    ]
    miscounted = Pick(3, "the fares would stay frozen until the spring")
    assert located(miscounted, shown) == Pick(2, "the fares would stay frozen until the spring")
    assert located(Pick(2, "the fares would stay frozen"), shown).sentence == 2  # counted right
    assert located(Pick(3, "officials"), shown).sentence == 3  # one word locates nothing
    assert located(Pick(1, "said"), shown).sentence == 1
    assert located(Pick(3, "a strike in May"), shown).sentence == 3  # words found nowhere: the number stands
    twice = [*shown, sentence("Officials said the fares would stay frozen for now.", doc_id="wire/2")]
    assert located(Pick(3, "the fares would stay frozen"), twice).sentence == 3  # in two sentences: not decided
    assert located(Pick(0, ""), shown).sentence == 0


def test_a_name_asked_and_another_of_its_kind_said_is_another_entitys_fact(nlp):
    from app.answer.check.features import swapped_entity
    from app.text.textmatch import terms

    def swapped(question: str, text: str, span: str, article: str = "") -> str:
        start = text.index(span)
        return swapped_entity(nlp.parse(question), nlp.parse(text), start, start + len(span), terms(article).all)

    asked = "How much was the drummer Tom Hale fined?"
    said = swapped(asked, "The singer Sarah Jones was fined £500 on Monday.", "£500")
    assert said == "it is about Sarah Jones; its article does not mention Tom Hale"
    assert not swapped(asked, "The drummer, Hale, was fined £500 on Monday.", "£500")  # a shorter form of the name
    assert not swapped(asked, "He was fined £500 on Monday.", "£500")  # silent is not another
    assert not swapped(asked, "Tom Hale was fined £500 after a row with Sarah Jones.", "£500")
    # named elsewhere in the article: the sentence may speak of him as "the drummer"
    article = "The drummer Tom Hale and the singer Sarah Jones were in court."
    assert not swapped(asked, "The singer Sarah Jones was fined £500 on Monday.", "£500", article)
    # the answer is not another entity: a who-question's answer is a name the question lacks
    replaced = "Who replaced Tom Hale as captain?"
    assert not swapped(replaced, "Sarah Jones replaced Hale as captain.", "Sarah Jones")
    # ... but another name where the asked one should be is
    assert swapped(replaced, "Sarah Jones replaced Ben Cole as captain.", "Sarah Jones")


def test_a_span_that_only_restates_the_asked_noun_names_none(nlp):
    from app.answer.check.candidates import restates_asked

    def restated(question: str, text: str, span: str) -> str:
        start = text.index(span)
        candidate = Candidate(sentence(text), start, start + len(span), True, 1.0)
        return restates_asked(frame(nlp, question), candidate, nlp.parse(text))

    which = "Which towns were flooded on Monday?"
    said = restated(which, "Three northern towns were flooded on Monday.", "Three northern towns")
    assert said == "it says 'Three northern towns', not which town; the question asks which"
    assert not restated(which, "Storms flooded the towns of Vossa and Brekke.", "the towns of Vossa and Brekke")
    assert not restated("How many towns were flooded?", "Three towns were flooded.", "Three towns")
    fee = "What fee did the port pay for the crane?"
    assert not restated(fee, "The port paid a fee of £2m for the crane.", "a fee of £2m")  # an amount names it
    assert restated(fee, "The port paid an undisclosed fee for the crane.", "an undisclosed fee")


def test_another_name_in_the_asked_names_place_is_another_entitys_fact(nlp):
    from app.answer.check.candidates import swapped_slot

    def swapped(question, text, answer):
        start = text.index(answer)
        return swapped_slot(nlp.parse(question), nlp.parse(text), start, start + len(answer))

    asked = "How much was drummer Ola Halden fined after the harbour fight?"
    assert swapped(asked, "Singer Tom Hale was fined £500 after the harbour fight.", "£500") != ""
    assert swapped(asked, "Drummer Ola Halden was fined £500 after the harbour fight.", "£500") == ""
    assert swapped(asked, "Halden was fined £500 after the harbour fight.", "£500") == ""  # his surname
    # the subject of the verb joined to another's: "Tom Hale ... and was fined"
    assert swapped(asked, "Singer Tom Hale was arrested on Monday and fined £500.", "£500") != ""
    # the other name elsewhere in the sentence, not where the asked one stands
    assert swapped(asked, "The court fined him £500, Tom Hale said.", "£500") == ""
