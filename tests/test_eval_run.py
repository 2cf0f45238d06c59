"""python -m eval end to end, with the fake LLM: files, keys, thresholds, RGB format."""

import json

import pytest

from eval.run import main
from tests.conftest import write_article

REPORT_KEYS = {
    "n", "n_answerable", "n_unanswerable", "answer_accuracy", "abstention_accuracy", "false_abstention_rate",
    "citation_precision", "citation_recall", "retrieval_recall_at_5", "latency_p50_s", "latency_p95_s", "ttft_p50_s",
}  # fmt: skip


@pytest.fixture
def fake_env(monkeypatch):
    monkeypatch.setenv("NEWSRAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("NEWSRAG_LLM_BACKEND", "fake")
    monkeypatch.setenv("NEWSRAG_ANSWER_MODEL", "none")  # the fitted model judges the real model's picks


@pytest.fixture
def small_gold(tmp_path):
    corpus = tmp_path / "corpus"
    write_article(corpus, "a.md", "Talks", "Talks between the unions are set to resume in Geneva next week.")
    write_article(corpus, "b.md", "Bridge", "The mayor opened the new bridge over the river Tay on Saturday.")
    gold = tmp_path / "gold.jsonl"
    items = [
        {"id": "g1", "question": "Where are the union talks set to resume?", "answers": ["Geneva"],
         "evidence": ["set to resume in Geneva next week"], "answerable": True, "category": "single_fact"},
        {"id": "g2", "question": "Which river does the new bridge cross?", "answers": ["Tay"],
         "evidence": ["the new bridge over the river Tay"], "answerable": True, "category": "single_fact"},
        {"id": "g3", "question": "Who won the 2022 World Cup?", "answers": [], "evidence": [], "answerable": False,
         "category": "unanswerable"},
    ]  # fmt: skip
    gold.write_text("".join(json.dumps(i) + "\n" for i in items))
    return corpus, gold


def test_eval_run_writes_items_report_markdown_and_plot(fake_env, small_gold, tmp_path):
    corpus, gold = small_gold
    out = tmp_path / "out"
    assert main(["--gold", str(gold), "--corpus", str(corpus), "--out", str(out), "-q"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= REPORT_KEYS
    assert (report["n"], report["n_answerable"], report["n_unanswerable"]) == (3, 2, 1)
    assert report["answer_accuracy"] == 1.0 and report["abstention_accuracy"] == 1.0
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [i["id"] for i in items] == ["g1", "g2", "g3"]
    assert {"question", "answer", "citations", "retrieved", "scores", "timings"} <= set(items[0])
    assert "answer accuracy" in (out / "report.md").read_text()
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_min_accuracy_fails_the_run(fake_env, small_gold, tmp_path):
    corpus, gold = small_gold
    assert main(["--gold", str(gold), "--corpus", str(corpus), "--out", str(tmp_path / "o"), "-q",
                 "--min-accuracy", "1.01"]) == 1  # fmt: skip


def test_rgb_format_runs_answer_and_negative_rejection(fake_env, tmp_path):
    rgb = tmp_path / "en_fact.json"
    rows = [
        {"id": 0, "query": "Where was Super Bowl 2021 played?", "answer": "Tampa",
         "positive": ["Super Bowl 2021 was played at Raymond James Stadium in Tampa, Florida."],
         "negative": ["Super Bowl LVIII ticket packages are on sale in Las Vegas."]},
        {"id": 1, "query": "Who acquired WhatsApp?", "answer": ["Facebook"],
         "positive": ["Facebook acquired WhatsApp in 2014 for $19 billion."],
         "negative": ["WhatsApp is a messaging app with billions of users."]},
    ]  # fmt: skip
    rgb.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rgb"
    assert main(["--format", "rgb", "--gold", str(rgb), "--out", str(out), "-q"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= REPORT_KEYS and report["n"] == 2
    assert report["answer_accuracy"] == 1.0
    rejection = report["negative_rejection"]
    assert rejection["n_unanswerable"] == 2 and rejection["abstention_accuracy"] is not None
    items = [json.loads(line) for line in (out / "answer" / "items.jsonl").read_text().splitlines()]
    # each question was asked over its own passages only (RGB's protocol)
    assert all({p["outlet"] for p in it["retrieved"]} == {f"RGB item {k}"} for k, it in enumerate(items))
