"""The batching measurement's arithmetic (eval/batching.py), on hand-made rows."""

from __future__ import annotations

import pytest

from eval.batching import score_runs, summarise, write_report
from eval.gold import GoldItem

FERRY = GoldItem("f1", "When does the ferry sail again?", ["Monday"], ["sail again from Monday"], True, "single_fact")
NONE = GoldItem("f2", "Who won the regatta?", [], [], False, "unanswerable")


def row(question: str, answer: str, done_at: float, took: float, abstained: bool = False) -> dict:
    result = {"answer": answer, "abstained": abstained, "outcome": "absent" if abstained else "answered",
              "citations": []}  # fmt: skip
    return {"session": 0, "question": question, "result": result, "answer_s": took, "done_at": done_at}


def test_answers_per_minute_count_until_the_last_answer_came():
    rows = [row(FERRY.question, "Monday.", 20.0, 10.0), row(NONE.question, "The articles don't say.", 30.0, 10.0),
            {"session": 1, "question": FERRY.question, "error": "HTTP 503: model failed", "answer_s": 1.0,
             "done_at": 5.0}]  # fmt: skip
    run = summarise(rows, sessions=2, duration_s=25.0)
    assert run["answered"] == 2 and run["errors"] == ["HTTP 503: model failed"]
    assert run["answers_per_min"] == pytest.approx(4.0)  # 2 answers in 30 s
    assert run["answer_p50_s"] == 10.0


def test_runs_are_scored_against_gold_and_compared_with_the_in_process_answers(tmp_path):
    reference = {FERRY.question: "Monday. [1]", NONE.question: "The articles don't say."}
    same = summarise([row(FERRY.question, "Monday. [1]", 9, 9), row(NONE.question, "The articles don't say.", 18, 9,
                                                                     abstained=True)], 1, 10)  # fmt: skip
    other = summarise([row(FERRY.question, "Tuesday. [1]", 9, 9), row(NONE.question, "Anna Berg. [1]", 18, 9)], 1, 10)
    runs = [{"config": "a", "parallel": 2, **same}, {"config": "b", "parallel": 4, **other}]
    score_runs(runs, [FERRY, NONE], reference)
    assert (runs[0]["right_share"], runs[0]["same_as_in_process"]) == (1.0, "2/2")
    assert (runs[1]["right_share"], runs[1]["same_as_in_process"]) == (0.0, "0/2")
    write_report(tmp_path, {"date": "d", "machine": "m", "gold": "g", "duration_s": 10, "runs": runs})
    table = (tmp_path / "batching.md").read_text()
    assert "| b | 1 | 2 | 0 | 6.67 | 9.0 / 9.0 | 0.0 (2) | 0/2 |" in table
