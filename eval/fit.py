"""``python -m eval.fit``: fit the answer-or-abstain model on the dev splits' runs.

    python -m eval.fit --run eval/runs/dev-seed --run eval/runs/dev-bbc ... --out app/answer/check/answerability.json

Every candidate answer of a run (``sentences[].features`` of items.jsonl, written by the
span reader with ``NEWSRAG_ANSWER_MODEL=none`` so that every candidate is kept) is a
labelled example: 1 when showing it would be a correct answer to its gold item, 0 when
the item is unanswerable or the answer is wrong. A logistic regression over the features (with
``--model signed``, one whose weights keep the sign each feature's meaning gives it, ``SIGNS``;
with ``--model forest``, a random forest) gives P(correct); the threshold is the one that
maximises the dev splits' balanced score (answer accuracy on answerable items, abstention on
unanswerable ones); a forest's is chosen on the candidates' item-grouped out-of-fold
probabilities. The cross-validated AUC is item-grouped too (one item's candidates never on
both sides). The fitted model is written with the candidates it came from (a JSONL file
beside the model, and its sha256) and its seed, so anyone can refit and check.

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


SEED = 0
FOLDS = 5
REPEATS = 5
LEAF_GRID = (3, 5, 10)  # a forest's smallest leaf, chosen by cross-validated AUC
TREES = 200


# The sign each feature's meaning gives its weight in a ``signed`` fit: +1, more of it makes a
# right answer likelier; -1, likelier wrong; 0, either (a property of the question, not of the
# pick). Fitted freely on a few hundred candidates built as near misses, features that move
# together take weights against their meaning (a type match, the similarity, the question's
# names in the sentence counting against a pick); bounded at 0, they cannot.
SIGNS = {
    "typed": 0,
    "type_match": 1,
    "type_loose": 1,
    "novel": 1,
    "span_in_question": -1,
    "q_cover": 1,
    "q_cover_doc": 1,
    "names_sent": 1,
    "names_doc": 1,
    "numbers_doc": 1,
    "sim": 1,
    "sim_gap": -1,
    "rank_rr": 1,
    "tie": 1,
    "predicate": 1,
    "qualifier": 1,
    "future_date": -1,
    "exact": 1,
    "overlap": 1,
    "answer_len": 0,
    "by_model": 1,
    "model_abstained": -1,
    "model_sentence": 1,
    "p_sentence": 1,
    "p_none": -1,
    "modifier_conflict": -1,
    "numbers_sent": 1,
    "number_conflict": -1,
    "missing_sent": -1,
    "missing_doc": -1,
    "counts_head": 1,
    "checker": 1,
    "corroborated": 1,
    "agree": 1,
}


class SignedLogistic:
    """A class-balanced, L2-penalised logistic regression (scikit-learn's objective:
    ||w||^2 / 2 + C * the weighted log loss) whose weights keep their features' signs
    (``signs``: +1 at least 0, -1 at most 0, 0 free), fitted by L-BFGS-B within those bounds."""

    def __init__(self, c: float, signs: list[int]):
        self.c, self.signs = c, signs

    def fit(self, x: np.ndarray, y: np.ndarray) -> SignedLogistic:
        from scipy.optimize import minimize

        d = x.shape[1]
        weight = np.where(y == 1, len(y) / (2 * max(1, y.sum())), len(y) / (2 * max(1, len(y) - y.sum())))

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ theta[:d] + theta[d]
            error = weight * (1 / (1 + np.exp(-z)) - y)
            value = theta[:d] @ theta[:d] / 2 + self.c * np.sum(weight * (np.logaddexp(0, z) - y * z))
            return value, np.append(theta[:d] + self.c * (x.T @ error), self.c * error.sum())

        bounds = [(0, None) if s > 0 else (None, 0) if s < 0 else (None, None) for s in self.signs] + [(None, None)]
        theta = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
        self.coef_, self.intercept_ = theta[:d][None, :], theta[d:]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-(x @ self.coef_[0] + self.intercept_[0])))
        return np.column_stack([1 - p, p])


def _model(kind: str, c: float, leaf: int = 5, names: list[str] | None = None):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if kind == "forest":
        return RandomForestClassifier(
            n_estimators=TREES, min_samples_leaf=leaf, class_weight="balanced", random_state=SEED, n_jobs=1
        )
    if kind == "signed":
        return SignedLogistic(c, [SIGNS[n] for n in names or FEATURES])
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")


def out_of_fold(make, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each candidate's probability from models fitted without its item (item-grouped
    ``FOLDS``-fold, averaged over ``REPEATS`` shuffles of the items): what the threshold is
    chosen on, since a forest's probabilities for its own training rows are near their labels."""
    out = np.zeros(len(y))
    n_groups = int(groups.max()) + 1
    for repeat in range(REPEATS):
        fold = np.random.RandomState(SEED + repeat).permutation(n_groups)[groups] % FOLDS
        for f in range(FOLDS):
            train, held = fold != f, fold == f
            if len(set(y[train])) < 2:
                out[held] += float(y[train].mean())
                continue
            out[held] += make().fit(x[train], y[train]).predict_proba(x[held])[:, 1]
    return out / REPEATS


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _trees(model, names: list[str]) -> list[dict]:
    """A fitted scikit-learn forest as the flat arrays ``decide.Tree`` reads."""
    out = []
    for estimator in model.estimators_:
        t = estimator.tree_
        value = t.value[:, 0, :]
        p = value[:, 1] / np.maximum(value.sum(axis=1), 1e-12)
        out.append({"feature": [int(max(f, 0)) for f in t.feature],
                    "threshold": [round(float(v), 6) for v in t.threshold],
                    "left": [int(v) for v in t.children_left], "right": [int(v) for v in t.children_right],
                    "value": [round(float(v), 6) for v in p]})  # fmt: skip
    return out


def fit(run_dirs: list[Path], c: float, drop: tuple[str, ...] = (), kind: str = "logistic") -> tuple[dict, list[dict]]:
    """The model (``kind``: signed, logistic or forest) and its threshold over FEATURES less ``drop``
    (an ablation). The threshold maximises the balanced dev score of the candidates'
    probabilities: the fitted model's own for a logistic model, the out-of-fold ones for a
    forest (whose probabilities for its own training rows are near their labels)."""
    rows = [e for run in run_dirs for e in examples(run)]
    if len({r["label"] for r in rows}) < 2:
        raise SystemExit("need both correct and wrong candidates to fit on")
    names = [k for k in FEATURES if k not in drop]
    x = np.array([[r["features"][k] for k in names] for r in rows])
    y = np.array([r["label"] for r in rows])
    keys = {key: i for i, key in enumerate(dict.fromkeys((r["run"], r["id"]) for r in rows))}
    groups = np.array([keys[(r["run"], r["id"])] for r in rows])
    if kind == "forest":  # the smallest leaf by held-out AUC; its held-out probabilities are kept
        grid = {n: out_of_fold(lambda n=n: _model(kind, c, n), x, y, groups) for n in LEAF_GRID}
        leaf = max(LEAF_GRID, key=lambda n: (round(_auc(y, grid[n]), 3), -n))
        held_out = grid[leaf]
    else:
        leaf, held_out = 0, out_of_fold(lambda: _model(kind, c, names=names), x, y, groups)
    model = _model(kind, c, leaf, names).fit(x, y)
    p = held_out if kind == "forest" else model.predict_proba(x)[:, 1]
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
    fitted: dict = {"kind": "forest" if kind == "forest" else "logistic", "features": names}
    if kind == "forest":
        fitted["forest"] = _trees(model, names)
    else:
        fitted["coef"] = [round(float(w), 6) for w in model.coef_[0]]
        fitted["intercept"] = round(float(model.intercept_[0]), 6)
    fitted["threshold"] = round(float(best), 4)
    fitted["fitted_on"] = {
        "runs": [str(r) for r in run_dirs],
        "candidates": len(rows),
        "correct": int(y.sum()),
        "items": len(items),
        "model": kind,
        **({"C": c} if kind != "forest" else {"trees": TREES, "min_samples_leaf": leaf, "seed": SEED}),
        **({"signs": {n: SIGNS[n] for n in names}} if kind == "signed" else {}),
        "dropped": list(drop),
        "cv": f"item-grouped {FOLDS}-fold, {REPEATS} shuffles",
        "cv_roc_auc": round(_auc(y, held_out), 4),
        "threshold_on": "out-of-fold probabilities" if kind == "forest" else "the fitted model's probabilities",
        "dev_answer_accuracy": round(answer_acc, 4),
        "dev_abstention_accuracy": round(abstain_acc, 4),
        "date": time.strftime("%Y-%m-%d"),
    }
    return fitted, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="a dev run folder (repeatable)")
    parser.add_argument("--out", required=True, help="the model file to write (app/answer/check/answerability.json)")
    parser.add_argument(
        "--model",
        choices=("logistic", "signed", "forest"),
        default="logistic",
        help="logistic (the shipped kind); signed: a logistic regression whose weights keep their "
        "features' signs (SIGNS); forest: a random forest",
    )
    parser.add_argument("--c", type=float, default=1.0, help="the logistic model's inverse regularisation strength")
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
    fitted, rows = fit(runs, args.c, drop, args.model)
    out = Path(args.out)
    data = out.with_name(out.stem + "-candidates.jsonl")
    data.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    fitted["fitted_on"]["data"] = data.name
    fitted["fitted_on"]["data_sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    out.write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(fitted["fitted_on"], indent=1))
    for name, w in sorted(zip(fitted["features"], fitted.get("coef", []), strict=False), key=lambda nw: -abs(nw[1])):
        print(f"  {name:<18} {w:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
