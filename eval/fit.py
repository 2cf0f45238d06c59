"""``python -m eval.fit``: fit the answer-or-abstain model on the dev splits' runs.

    python -m eval.fit --run eval/runs/dev-seed --run eval/runs/dev-bbc ... --out app/answer/check/answerability.json

Every candidate answer of a run (``sentences[].features`` of items.jsonl, written by the
span reader with ``NEWSRAG_ANSWER_MODEL=none`` so that every candidate is kept) is a
labelled example: 1 when showing it would be a correct answer to its gold item, 0 when
the item is unanswerable or the answer is wrong. A logistic regression over the features
gives P(correct); the threshold is the one that maximises the dev splits' balanced
score (answer accuracy on answerable items, abstention on unanswerable ones). The
fitted weights are written with the candidates they came from (a JSONL file beside the
model, and its sha256), so anyone can refit and check.

Run it on dev runs only: the test splits are for reporting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from app.answer.check.features import FEATURES
from eval.gold import GoldItem
from eval.scoring import answer_correct

TEST_MARKERS = ("test", "heldout", "held-out")


def _item(record: dict) -> GoldItem:
    return GoldItem(
        id=record["id"],
        question=record["question"],
        answers=record.get("gold_answers") or [],
        evidence=[],
        answerable=bool(record["scores"]["answerable"]),
        category=record.get("category", ""),
        all_of=record.get("gold_all_of") or [],
        rule=record.get("gold_rule", "alias"),
    )


def examples(run_dir: Path) -> list[dict]:
    """The labelled candidates of one run."""
    out = []
    for line in (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        item = _item(record)
        for s in record.get("sentences") or []:
            if not s.get("features"):
                continue
            correct = item.answerable and answer_correct(s.get("shown") or s["text"], item)
            out.append({"run": run_dir.name, "id": item.id, "answerable": item.answerable, "label": int(correct),
                        "features": {k: s["features"].get(k, 0.0) for k in FEATURES}})  # fmt: skip
    return out


def outcomes(run_dirs: list[Path]) -> list[dict]:
    """Per item: whether it is answerable and whether it has any candidate (for the threshold)."""
    items = []
    for run_dir in run_dirs:
        for line in (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            items.append({"run": run_dir.name, "id": record["id"], "answerable": record["scores"]["answerable"]})
    return items


def balanced_score(probabilities: dict, labels: dict, items: list[dict], threshold: float) -> tuple[float, float]:
    """(answer accuracy, abstention accuracy) if candidates at or above ``threshold`` are shown
    (the likeliest of an item's candidates, as the service chooses)."""
    right_answer = right_abstain = n_answerable = n_unanswerable = 0
    for item in items:
        key = (item["run"], item["id"])
        shown = [i for i, p in enumerate(probabilities.get(key, [])) if p >= threshold]
        if item["answerable"]:
            n_answerable += 1
            best = max(shown, key=lambda i: probabilities[key][i]) if shown else None
            right_answer += best is not None and labels[key][best] == 1
        else:
            n_unanswerable += 1
            right_abstain += not shown
    return right_answer / max(1, n_answerable), right_abstain / max(1, n_unanswerable)


def fit(run_dirs: list[Path], c: float, drop: tuple[str, ...] = ()) -> tuple[dict, list[dict]]:
    """The logistic model and its threshold over FEATURES less ``drop`` (an ablation)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    rows = [e for run in run_dirs for e in examples(run)]
    if len({r["label"] for r in rows}) < 2:
        raise SystemExit("need both correct and wrong candidates to fit on")
    names = [k for k in FEATURES if k not in drop]
    x = np.array([[r["features"][k] for k in names] for r in rows])
    y = np.array([r["label"] for r in rows])
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    cv_auc = cross_val_score(model, x, y, cv=5, scoring="roc_auc")
    model.fit(x, y)
    p = model.predict_proba(x)[:, 1]
    probabilities: dict = {}
    labels: dict = {}
    for row, prob in zip(rows, p, strict=True):
        probabilities.setdefault((row["run"], row["id"]), []).append(float(prob))
        labels.setdefault((row["run"], row["id"]), []).append(row["label"])
    items = outcomes(run_dirs)
    best = max(
        (t for t in np.linspace(0.05, 0.95, 91)),
        key=lambda t: (sum(balanced_score(probabilities, labels, items, t)), -abs(t - 0.5)),
    )
    answer_acc, abstain_acc = balanced_score(probabilities, labels, items, best)
    fitted = {
        "features": names,
        "coef": [round(float(w), 6) for w in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "threshold": round(float(best), 4),
        "fitted_on": {
            "runs": [str(r) for r in run_dirs],
            "candidates": len(rows),
            "correct": int(y.sum()),
            "items": len(items),
            "C": c,
            "dropped": list(drop),
            "cv_roc_auc": round(float(cv_auc.mean()), 4),
            "dev_answer_accuracy": round(answer_acc, 4),
            "dev_abstention_accuracy": round(abstain_acc, 4),
            "date": time.strftime("%Y-%m-%d"),
        },
    }
    return fitted, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="a dev run folder (repeatable)")
    parser.add_argument("--out", required=True, help="the model file to write (app/answer/check/answerability.json)")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--drop", default="", help="features to leave out, comma-separated (ablations)")
    args = parser.parse_args(argv)
    runs = [Path(r) for r in args.run]
    if any(marker in r.name.lower() for r in runs for marker in TEST_MARKERS):
        print("error: fit on dev runs only (a run folder names a test split)", file=sys.stderr)
        return 2
    drop = tuple(d for d in args.drop.split(",") if d)
    unknown = set(drop) - set(FEATURES)
    if unknown:
        parser.error(f"unknown features: {sorted(unknown)}")
    fitted, rows = fit(runs, args.c, drop)
    out = Path(args.out)
    data = out.with_name(out.stem + "-candidates.jsonl")
    data.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    fitted["fitted_on"]["data"] = data.name
    fitted["fitted_on"]["data_sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    out.write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(fitted["fitted_on"], indent=1))
    for name, w in sorted(zip(fitted["features"], fitted["coef"], strict=True), key=lambda nw: -abs(nw[1])):
        print(f"  {name:<18} {w:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
