"""Answer or abstain: a model over the features of app/answer/check/features.py that gives
P(the candidate is a right answer), and the threshold it must reach.

Two kinds, both fitted by ``python -m eval.fit`` on the dev splits' labelled candidates and
written with the data they came from to ``answerability.json`` beside this file (path in
``Settings.answer_model``); none of their numbers is written by hand:
- a logistic regression (``coef``, ``intercept``);
- a random forest (``forest``: each tree as flat arrays, as scikit-learn stores it), which
  also weighs one feature by another (a missing question word counts for less when the
  sentence holds the asked type) where the logistic model can only add them. Read here in
  plain Python, so no scikit-learn is needed to serve.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.answer.check.features import FEATURES
from app.errors import ConfigError

DEFAULT_MODEL = Path(__file__).with_name("answerability.json")


@dataclass(frozen=True)
class Tree:
    """One decision tree: node i tests ``values[feature[i]] <= threshold[i]`` and goes to
    ``left[i]`` or ``right[i]``; a leaf (left == -1) holds P(correct) of its training rows."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def predict(self, x: list[float]) -> float:
        node = 0
        while self.left[node] != -1:
            node = self.left[node] if x[self.feature[node]] <= self.threshold[node] else self.right[node]
        return self.value[node]

    @classmethod
    def from_json(cls, data: dict) -> Tree:
        tree = cls(*(tuple(data[k]) for k in ("feature", "threshold", "left", "right", "value")))
        n = len(tree.left)
        if not n or any(len(a) != n for a in (tree.feature, tree.threshold, tree.right, tree.value)):
            raise ValueError("a tree's arrays differ in length")
        if any(not (-1 <= c < n) for c in tree.left + tree.right):
            raise ValueError("a tree points at a node it does not have")
        return tree


@dataclass(frozen=True)
class Decider:
    """P(correct answer | features): sigmoid(intercept + coef . features), or the mean of the
    forest's trees over ``features`` when it has one; answer when it reaches ``threshold``."""

    coef: dict[str, float]
    intercept: float
    threshold: float
    info: dict = field(default_factory=dict)
    forest: tuple[Tree, ...] = ()
    features: tuple[str, ...] = ()  # the forest's feature order

    @property
    def fingerprint(self) -> str:
        """A hash of the weights and the threshold (the answer cache's key carries it)."""
        trees = [(t.feature, t.threshold, t.left, t.value) for t in self.forest]
        blob = json.dumps([sorted(self.coef.items()), self.intercept, self.threshold, self.features, trees])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def probability(self, values: dict[str, float]) -> float:
        if self.forest:
            x = [float(values.get(name, 0.0)) for name in self.features]
            return sum(tree.predict(x) for tree in self.forest) / len(self.forest)
        z = self.intercept + sum(w * values.get(name, 0.0) for name, w in self.coef.items())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def accepts(self, values: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(values)
        return p >= self.threshold, p

    @classmethod
    def accept_all(cls) -> Decider:
        """No fitted model: every candidate is an answer (used to collect candidates to fit on)."""
        return cls({}, 40.0, 0.0, {"fitted": False})


def _from_json(data: dict) -> Decider:
    names = [str(n) for n in data["features"]]
    unknown = set(names) - set(FEATURES)
    if unknown:
        raise ValueError(f"features this code does not compute: {sorted(unknown)}")
    threshold, info = float(data["threshold"]), data.get("fitted_on", {})
    if data.get("kind", "logistic") == "forest":
        trees = tuple(Tree.from_json(t) for t in data["forest"])
        if not trees or any(f >= len(names) for t in trees for f in t.feature):
            raise ValueError("the forest is empty or tests a feature it does not name")
        return Decider({}, 0.0, threshold, info, forest=trees, features=tuple(names))
    coef = {name: float(w) for name, w in zip(names, data["coef"], strict=True)}
    return Decider(coef, float(data["intercept"]), threshold, info)


@lru_cache(maxsize=8)
def load_decider(path: str = str(DEFAULT_MODEL)) -> Decider:
    """The fitted model at ``path``; ``"none"`` accepts every candidate."""
    if path == "none":
        return Decider.accept_all()
    try:
        return _from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"Cannot read the answer model {path}: {exc} (refit: python -m eval.fit)") from exc
