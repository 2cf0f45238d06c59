"""CI scores the test splits (never tuned on) with the real parts and fails below
thresholds set just under the figures measured on them (README, Evaluation): the seed
held-out set, the BBC test split and RGB items 50-99."""

import json

import pytest

from eval.run import main
from tests.conftest import BBC, REPO, SEED_CORPUS, SHARED

pytestmark = [pytest.mark.slow, pytest.mark.llm]

GOLD = REPO / "eval" / "gold"
RUNS = REPO / "eval" / "runs"  # kept after the run for people to read (git-ignored)
# Measured on 2026-12-02 (README, Evaluation); each threshold sits one or two items under the
# measured figure, so noise between machines passes and a real regression fails.
# (answer accuracy, abstention accuracy, citation precision)
# Seed held-out re-set on 2026-12-06 (answer shapes): measured 0.429 / 1.000 / 1.000 (one right
# answer withheld, two wrong ones no longer shown), each threshold one item under it.
# 2026-12-07 (answer shapes, second pass): measured 0.429 / 0.875 / 0.875, one wrong answer more
# (docs/eval-history.md, Answer shapes); the guards are left where they were.
SEED_HELDOUT = (0.35, 0.85, 0.85)  # measured 0.429 / 0.875 / 0.875; 14 + 8 items
BBC_TEST = (0.55, 0.72, 0.74)  # measured 0.574 / 0.828 / 0.816 (2026-12-07, other-entity check); 54 + 29 items
RGB_TEST = (0.18, 0.68)  # (answer accuracy, negative rejection): measured 0.220 / 0.700 (2026-12-07); 50 + 50 items


def _report(out):
    report = json.loads((out / "report.json").read_text())
    print(json.dumps({k: v for k, v in report.items() if k != "accuracy_by_category"}, indent=1))
    return report


def _check(report, minimum):
    answers, abstention, precision = minimum
    assert report["answer_accuracy"] >= answers
    assert report["abstention_accuracy"] >= abstention
    assert report["citation_precision"] >= precision


def test_seed_heldout_split_meets_its_thresholds(tmp_path):
    out = RUNS / "ci-seed-heldout"
    code = main(["--gold", str(GOLD / "seed_heldout.jsonl"), "--corpus", str(SEED_CORPUS), "--out", str(out),
                 "--index-dir", str(tmp_path / "index"), "-q"])  # fmt: skip
    assert code == 0
    report = _report(out)
    _check(report, SEED_HELDOUT)
    assert report["retrieval_recall_at_5"] >= 0.95


def test_bbc_test_split_meets_its_thresholds(bbc_index):
    settings, _ = bbc_index
    out = RUNS / "ci-bbc-test"
    code = main(["--gold", str(GOLD / "bbc_test.jsonl"), "--corpus", str(BBC), "--out", str(out),
                 "--index-dir", str(settings.index_dir), "-q"])  # fmt: skip
    assert code == 0
    _check(_report(out), BBC_TEST)


def test_rgb_test_split_meets_its_thresholds(tmp_path):
    rgb = SHARED / "benchmarks" / "rgb" / "en_fact.json"
    if not rgb.is_file():
        pytest.skip(f"{rgb} is not here (CI has ../shared beside the repo)")
    out = RUNS / "ci-rgb-test"
    code = main(["--format", "rgb", "--gold", str(rgb), "--range", "50-99", "--out", str(out),
                 "--index-dir", str(tmp_path), "-q"])  # fmt: skip
    assert code == 0
    report = _report(out)
    answers, rejection = RGB_TEST
    assert report["answer_accuracy"] >= answers
    assert report["negative_rejection"]["abstention_accuracy"] >= rejection
