"""CI runs the scorer on the seed gold set with the real parts and fails below thresholds
set just under the measured figures (README, Evaluation)."""

import json

import pytest

from eval.run import main
from tests.conftest import REPO, SEED_CORPUS

pytestmark = [pytest.mark.slow, pytest.mark.llm]

# Measured on 2026-11-24: 0.951 / 1.000 / 0.975 (README, Evaluation); thresholds sit one item below to absorb
# noise between machines, so a real regression fails CI. They are also the targets (0.90 / 0.90 / 0.95).
MIN_ANSWER_ACCURACY = 0.92  # 41 answerable items: one item is 0.024
MIN_ABSTENTION_ACCURACY = 0.92  # 13 unanswerable items: one item is 0.077
MIN_CITATION_PRECISION = 0.95


def test_seed_gold_set_meets_its_thresholds(tmp_path):
    out = REPO / "eval" / "runs" / "ci-seed"  # kept after the run for people to read (git-ignored)
    code = main(["--gold", str(REPO / "eval" / "gold" / "seed.jsonl"), "--corpus", str(SEED_CORPUS), "--out",
                 str(out), "--index-dir", str(tmp_path / "index"), "-q",
                 "--min-accuracy", str(MIN_ANSWER_ACCURACY)])  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    print(json.dumps({k: v for k, v in report.items() if k != "accuracy_by_category"}, indent=1))
    assert code == 0, f"answer accuracy {report['answer_accuracy']} < {MIN_ANSWER_ACCURACY}"
    assert report["abstention_accuracy"] >= MIN_ABSTENTION_ACCURACY
    assert report["citation_precision"] >= MIN_CITATION_PRECISION
    assert report["retrieval_recall_at_5"] >= 0.95
