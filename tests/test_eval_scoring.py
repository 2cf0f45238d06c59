"""The scorer itself, on hand-made items whose scores are known."""

import json

import pytest

from eval.gold import GoldItem, contains, load_gold, normalise
from eval.rgb import gold_items, rgb_correct
from eval.scoring import aggregate, overlaps, score_item

LONDON = GoldItem("s1", "Where will talks continue?", ["London"], ["set to continue in London"], True, "single_fact")
PRISONERS = GoldItem("s2", "How many prisoners?", ["1,000", "one thousand"], ["exchange 1,000 prisoners"], True,
                     "number_date")  # fmt: skip
NOPE = GoldItem("s3", "Who won the World Cup?", [], [], False, "unanswerable")


def cite(quote: str) -> dict:
    return {"quote": quote, "doc_id": "d", "start": 0, "end": len(quote)}


def test_normalisation():
    assert normalise("Kyiv’s 1,000 Prisoners!") == normalise("kyiv's 1000 prisoners") == "kyiv s 1000 prisoners"
    assert normalise("76 per cent") == normalise("76%") == "76%"
    assert contains("They agreed to swap 1000 prisoners.", "1,000")
    assert not contains("In 2025 they met.", "20")  # whole words only
    assert contains("Rates rose to $1.13bn.", "$1.13bn")


def test_correct_answer_with_precise_citation():
    result = {"answer": "Talks will continue in London. [1]", "abstained": False,
              "citations": [cite("Talks are set to continue in London.")],
              "retrieved": [{"text": "Officials said talks are set to continue in London next week."}]}  # fmt: skip
    s = score_item(LONDON, result)
    assert s["correct"] and s["citation_hit"] and s["retrieval_hit_at_5"]
    assert (s["n_citations"], s["n_precise_citations"]) == (1, 1)


def test_wrong_answer_and_citation_outside_the_evidence():
    result = {"answer": "Talks will continue in Paris. [1]", "abstained": False,
              "citations": [cite("The weather in Paris was mild.")], "retrieved": []}  # fmt: skip
    s = score_item(LONDON, result)
    assert not s["correct"] and not s["citation_hit"] and not s["retrieval_hit_at_5"]
    assert (s["n_citations"], s["n_precise_citations"]) == (1, 0)


def test_number_formats_count_as_the_same_answer():
    result = {"answer": "They agreed to exchange 1000 prisoners.", "abstained": False, "citations": [],
              "retrieved": []}  # fmt: skip
    assert score_item(PRISONERS, result)["correct"]


def test_citation_containing_a_gold_alias_is_precise():
    result = {"answer": "1,000.", "abstained": False, "citations": [cite("Both sides will free 1,000 detainees.")],
              "retrieved": []}  # fmt: skip
    s = score_item(PRISONERS, result)
    assert s["n_precise_citations"] == 1 and not s["citation_hit"]  # precise by alias, but not the gold evidence


def test_abstentions():
    abstain = {"answer": "The articles don't say.", "abstained": True, "citations": [], "retrieved": []}
    assert score_item(NOPE, abstain)["abstention_correct"]
    s = score_item(LONDON, abstain)
    assert s["abstained"] and not s["correct"]  # a false abstention
    answered = {"answer": "Argentina won.", "abstained": False, "citations": [], "retrieved": []}
    assert not score_item(NOPE, answered)["abstention_correct"]


def test_aggregate_figures():
    items = [LONDON, PRISONERS, NOPE]
    results = [
        {"answer": "In London. [1]", "abstained": False, "citations": [cite("set to continue in London")],
         "retrieved": [{"text": "set to continue in London"}]},
        {"answer": "The articles don't say.", "abstained": True, "citations": [], "retrieved": []},
        {"answer": "Argentina. [1]", "abstained": False, "citations": [cite("Argentina is a country.")],
         "retrieved": []},
    ]  # fmt: skip
    timings = [{"total_s": 1.0, "first_token_s": 0.5}, {"total_s": 2.0}, {"total_s": 3.0, "first_token_s": 1.5}]
    report = aggregate(items, [score_item(i, r) for i, r in zip(items, results, strict=True)], timings)
    assert (report["n"], report["n_answerable"], report["n_unanswerable"]) == (3, 2, 1)
    assert report["answer_accuracy"] == 0.5
    assert report["abstention_accuracy"] == 0.0
    assert report["false_abstention_rate"] == 0.5
    assert report["citation_precision"] == 0.5  # 1 of 2 citations
    assert report["citation_recall"] == 0.5
    assert report["retrieval_recall_at_5"] == 0.5
    assert report["latency_p50_s"] == 2.0 and report["latency_p95_s"] == 3.0
    assert report["ttft_p50_s"] in (0.5, 1.5)
    assert report["accuracy_by_category"] == {"number_date": 0.0, "single_fact": 1.0, "unanswerable": 0.0}


def test_the_three_outcomes_are_counted_on_each_side():
    items = [LONDON, PRISONERS, NOPE, NOPE]
    results = [
        {"answer": "In London. [1]", "outcome": "answered", "citations": [cite("set to continue in London")]},
        {"answer": "I couldn't write a checked answer.", "abstained": True, "outcome": "unverified",
         "closest": [{"quote": "Both sides will free detainees."}]},
        {"answer": "The articles don't say.", "abstained": True, "outcome": "absent"},
        # a result written before the outcome field: abstained with closest passages reads as unverified
        {"answer": "I couldn't write a checked answer.", "abstained": True, "closest": [{"quote": "x"}]},
    ]  # fmt: skip
    report = aggregate(items, [score_item(i, r) for i, r in zip(items, results, strict=True)], [{}] * 4)
    assert report["outcomes_answerable"] == {"answered": 1, "unverified": 1, "absent": 0}
    assert report["outcomes_unanswerable"] == {"answered": 0, "unverified": 1, "absent": 1}
    assert report["false_absent_rate"] == 0.0 and report["absent_on_unanswerable"] == 0.5


def test_overlap_of_quotes():
    assert overlaps("Talks involving officials are set to continue in London.", "set to continue in London")
    assert not overlaps("Talks are in London.", "set to continue in Geneva next week")


def test_rgb_rule_and_items():
    assert rgb_correct("It was played in Tampa, Florida.", [["Tampa, Florida"]])
    assert rgb_correct("Released on Jul 21, 2017", [["July 21 2017", "Jul 21, 2017"]])
    assert not rgb_correct("Played in Glendale", [["Tampa, Florida"]])
    assert not rgb_correct("Facebook", [["Facebook"], ["2012"]])  # every group must match
    raw = [{"id": 3, "query": "Who acquired WhatsApp?", "answer": "Facebook", "positive": ["Facebook bought it."],
            "negative": ["Noise."]}]  # fmt: skip
    [answer_item] = gold_items(raw, with_positives=True)
    assert answer_item.answerable and answer_item.all_of == [["Facebook"]] and answer_item.outlet == "RGB item 3"
    [reject_item] = gold_items(raw, with_positives=False)
    assert not reject_item.answerable and reject_item.evidence == []


def test_gold_files_are_valid_and_evidence_is_in_the_corpus():
    """Every gold evidence quote is a verbatim span of the cleaned seed corpus."""
    from app.corpus.discover import discover
    from app.corpus.readers import load_article
    from tests.conftest import REPO, SEED_CORPUS

    found = discover(SEED_CORPUS, 10**7)
    text = " ".join(load_article(u, "x").text.replace("\n\n", " ") for u in found.units)
    for name in ("seed.jsonl", "seed_heldout.jsonl"):
        items = load_gold(REPO / "eval" / "gold" / name)
        assert len(items) >= 20
        assert sum(not i.answerable for i in items) >= 8
        for item in items:
            for quote in item.evidence:
                assert quote in text, (item.id, quote)
    assert len(load_gold(REPO / "eval" / "gold" / "seed.jsonl")) >= 40
    assert len(load_gold(REPO / "eval" / "gold" / "bbc.jsonl")) >= 30


def test_malformed_gold_line_is_named(tmp_path):
    bad = tmp_path / "g.jsonl"
    bad.write_text(json.dumps({"id": "a", "question": "q", "answers": ["x"], "answerable": True}) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"g\.jsonl:2"):
        load_gold(bad)


@pytest.mark.parametrize(
    ("answer", "alias", "expected"),
    [
        ("The loss was £51.6m.", "51.6", True),  # a short gold number, the answer with currency and scale
        ("The deal is worth $327bn.", "$327m", False),  # another scale is another amount
        ("Prices rose 7%.", "7", False),  # per cent is not a plain number
        ("Prices rose 7 per cent.", "7%", True),
        ("It opens on March 24.", "24 March", True),  # the same date in another order
        ("She cleared 4.89m.", "4.89 metres", True),
        ("Sales reached £6.5m.", "6.5 million", True),
        ("The contract runs to 2008.", "summer 2008", False),  # the other words of the alias must be said too
        ("It sold 2.4bn texts.", "2.4 billion", True),
    ],
)
def test_numbers_are_scored_as_values_with_unit_and_scale(answer, alias, expected):
    item = GoldItem("n", "How much?", [alias], [], True, "number")
    result = {"answer": answer, "abstained": False, "citations": [], "retrieved": []}
    assert score_item(item, result)["correct"] is expected


def test_all_of_needs_one_alias_of_every_group():
    item = GoldItem("m", "Which two?", ["Ivanovic", "Mirza"], [], True, "multi_doc", all_of=[["Ivanovic"], ["Mirza"]])
    both = {"answer": "Ivanovic and Mirza.", "abstained": False, "citations": [], "retrieved": []}
    one = {"answer": "Ivanovic won.", "abstained": False, "citations": [], "retrieved": []}
    assert score_item(item, both)["correct"] and not score_item(item, one)["correct"]


def test_a_span_answer_is_scored_on_its_phrase_not_on_the_sentence_quoted_after_it():
    quoted = "\u201cTalks are set to continue in London, not Paris.\u201d [1] (Wire A, 22 April 2025)"
    wrong = {"answer": f"**Paris.** {quoted}", "short": "Paris", "abstained": False,
             "citations": [cite("Talks are set to continue in London, not Paris.")], "retrieved": []}  # fmt: skip
    assert not score_item(LONDON, wrong)["correct"]
    right = {**wrong, "answer": f"**London.** {quoted}", "short": "London"}
    assert score_item(LONDON, right)["correct"]
    assert score_item(LONDON, {**right, "short": ""})["correct"]  # no phrase: the whole answer
