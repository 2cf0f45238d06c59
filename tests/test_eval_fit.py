"""The answer model's fit (eval/fit.py) and the eval's model-reply cache (eval/llm_cache.py),
on made-up runs and the fake model."""

from __future__ import annotations

import json

from app.answer.check.decide import load_decider
from app.answer.check.features import FEATURES
from app.testing.fakes import FakeChatModel
from eval import fit
from eval.llm_cache import CachedChatModel


def _run(tmp_path, name: str, n: int = 30):
    """A run where a candidate with a high ``q_cover`` is the right answer; half the items
    are unanswerable and their candidates have a low one."""
    run = tmp_path / name
    run.mkdir()
    lines = []
    for i in range(n):
        answerable = i % 2 == 0
        good = {k: 0.0 for k in FEATURES} | {"q_cover": 0.9, "type_match": 1.0}
        bad = {k: 0.0 for k in FEATURES} | {"q_cover": 0.2}
        sentences = [{"text": "Ana Ruiz", "shown": "Ana Ruiz", "features": good if answerable else bad},
                     {"text": "Tom Hale", "shown": "Tom Hale", "features": bad}]  # fmt: skip
        lines.append(json.dumps({"id": f"q{i}", "question": "Who was named coach?", "category": "relation",
                                 "gold_answers": ["Ana Ruiz"] if answerable else [], "sentences": sentences,
                                 "scores": {"answerable": answerable}}))  # fmt: skip
    (run / "items.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_the_fit_separates_right_from_wrong_and_is_stored_with_its_data(tmp_path):
    out = tmp_path / "model" / "answerability.json"
    out.parent.mkdir()
    assert fit.main(["--run", str(_run(tmp_path, "dev-a")), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["fitted_on"]["dev_answer_accuracy"] == 1.0 and data["fitted_on"]["dev_abstention_accuracy"] == 1.0
    candidates = out.with_name("answerability-candidates.jsonl")
    assert len(candidates.read_text().splitlines()) == data["fitted_on"]["candidates"] == 60
    decider = load_decider(str(out))
    good = {"q_cover": 0.9, "type_match": 1.0}
    assert decider.accepts(good)[0] and not decider.accepts({"q_cover": 0.2})[0]
    # an ablation leaves features out of the model
    assert fit.main(["--run", str(tmp_path / "dev-a"), "--out", str(out), "--drop", "q_cover"]) == 0
    assert "q_cover" not in json.loads(out.read_text())["features"]


def test_a_forest_can_be_fitted_and_is_read_without_scikit_learn(tmp_path):
    """``--model forest``: its threshold is chosen on held-out probabilities; its file is read
    by decide.py; the default is still the logistic model."""
    run, out = _run(tmp_path, "dev-a"), tmp_path / "answerability.json"
    assert fit.main(["--run", str(run), "--out", str(out), "--model", "forest"]) == 0
    data = json.loads(out.read_text())
    assert data["kind"] == "forest" and data["forest"] and "coef" not in data
    assert data["fitted_on"]["min_samples_leaf"] in fit.LEAF_GRID and data["fitted_on"]["cv_roc_auc"] == 1.0
    forest = load_decider(str(out))
    assert forest.accepts({"q_cover": 0.9, "type_match": 1.0})[0] and not forest.accepts({"q_cover": 0.2})[0]
    assert fit.main(["--run", str(run), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["kind"] == "logistic" and len(data["coef"]) == len(data["features"])


def test_a_signed_fit_keeps_each_weight_to_its_features_meaning(tmp_path):
    """``--model signed``: a right pick here has the lower similarity (as near misses built to look
    alike make it on a small set), so an unbounded fit weighs similarity against a pick; the
    signed fit holds it at 0 and separates on the coverage, as well."""
    run = tmp_path / "dev-a"
    run.mkdir()
    lines = []
    for i in range(40):
        answerable = i % 2 == 0
        features = {k: 0.0 for k in FEATURES} | (
            {"q_cover": 0.9, "sim": 0.3 + 0.01 * (i % 5)} if answerable else {"q_cover": 0.4, "sim": 0.8}
        )
        sentences = [{"text": "Ana Ruiz", "shown": "Ana Ruiz", "features": features}]
        lines.append(json.dumps({"id": f"q{i}", "question": "Who was named coach?", "sentences": sentences,
                                 "gold_answers": ["Ana Ruiz"] if answerable else [],
                                 "scores": {"answerable": answerable}}))  # fmt: skip
    (run / "items.jsonl").write_text("\n".join(lines) + "\n")
    free, _ = fit.fit([run], 1.0, kind="logistic")
    signed, _ = fit.fit([run], 1.0, kind="signed")
    assert dict(zip(free["features"], free["coef"], strict=True))["sim"] < 0
    weights = dict(zip(signed["features"], signed["coef"], strict=True))
    assert weights["sim"] == 0.0 and weights["q_cover"] > 0
    assert all(w * fit.SIGNS[name] >= 0 for name, w in weights.items())
    assert signed["kind"] == "logistic" and signed["fitted_on"]["signs"]["sim"] == 1
    assert signed["fitted_on"]["dev_answer_accuracy"] == signed["fitted_on"]["dev_abstention_accuracy"] == 1.0


def test_the_fit_refuses_test_runs(tmp_path, capsys):
    assert fit.main(["--run", str(_run(tmp_path, "bbc-test")), "--out", str(tmp_path / "m.json")]) == 2
    assert "dev runs only" in capsys.readouterr().err


def test_cached_replies_are_replayed_with_their_metadata(tmp_path):
    inner = FakeChatModel(responses=['{"sentence": 1, "answer": "Geneva"}'])
    cached = CachedChatModel(inner=inner, path=str(tmp_path / "cache.sqlite"))
    first = "".join(str(c.content) for c in cached.stream("Where will talks resume?"))
    again = CachedChatModel(inner=FakeChatModel(fail_with="not asked"), path=str(tmp_path / "cache.sqlite"))
    assert "".join(str(c.content) for c in again.stream("Where will talks resume?")) == first
    assert (again.hits, again.misses) == (1, 0)
    assert len(inner.calls) == 1
