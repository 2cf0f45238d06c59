"""Answer or abstain: a logistic model over the features of app/answer/check/features.py.

Its weights and threshold are not written by hand: ``python -m eval.fit`` fits them on
the dev splits' labelled candidates and writes them, with the data they came from, to
``answerability.json`` beside this file (path in ``Settings.answer_model``).
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
class Decider:
    """P(correct answer | features) = sigmoid(intercept + coef . features); answer when it
    reaches ``threshold``."""

    coef: dict[str, float]
    intercept: float
    threshold: float
    info: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A hash of the weights and the threshold (the answer cache's key carries it)."""
        blob = json.dumps([sorted(self.coef.items()), self.intercept, self.threshold])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(w * values.get(name, 0.0) for name, w in self.coef.items())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def accepts(self, values: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(values)
        return p >= self.threshold, p

    @classmethod
    def accept_all(cls) -> Decider:
        """No fitted model: every candidate is an answer (used to collect candidates to fit on)."""
        return cls({}, 40.0, 0.0, {"fitted": False})


@lru_cache(maxsize=8)
def load_decider(path: str = str(DEFAULT_MODEL)) -> Decider:
    """The fitted model at ``path``; ``"none"`` accepts every candidate."""
    if path == "none":
        return Decider.accept_all()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        coef = {name: float(w) for name, w in zip(data["features"], data["coef"], strict=True)}
        unknown = set(coef) - set(FEATURES)
        if unknown:
            raise ValueError(f"features this code does not compute: {sorted(unknown)}")
        return Decider(coef, float(data["intercept"]), float(data["threshold"]), data.get("fitted_on", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"Cannot read the answer model {path}: {exc} (refit: python -m eval.fit)") from exc
