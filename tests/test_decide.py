"""The answer model's file (app/answer/check/decide.py): a forest read in plain Python gives
its trees' mean; a broken file is a clear error."""

from __future__ import annotations

import json

import pytest

from app.answer.check.decide import load_decider
from app.errors import ConfigError


def _stump(feature: int, cut: float, low: float, high: float) -> dict:
    """A tree of one test: values[feature] <= cut goes to the leaf of ``low``, else ``high``."""
    return {"feature": [feature, 0, 0], "threshold": [cut, -2.0, -2.0], "left": [1, -1, -1],
            "right": [2, -1, -1], "value": [0.5, low, high]}  # fmt: skip


def _write(tmp_path, data: dict) -> str:
    path = tmp_path / f"model-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_forest_gives_the_mean_of_its_trees(tmp_path):
    data = {"kind": "forest", "features": ["q_cover", "type_match"], "threshold": 0.5,
            "forest": [_stump(0, 0.5, 0.1, 0.9), _stump(1, 0.5, 0.3, 0.7)]}  # fmt: skip
    decider = load_decider(_write(tmp_path, data))
    assert decider.probability({"q_cover": 0.9, "type_match": 1.0}) == pytest.approx(0.8)
    assert decider.probability({"q_cover": 0.9}) == pytest.approx(0.6)  # a missing feature reads as 0
    assert decider.accepts({"q_cover": 0.9}) == (True, pytest.approx(0.6))
    assert decider.accepts({"q_cover": 0.2, "type_match": 1.0}) == (False, pytest.approx(0.4))
    other = load_decider(_write(tmp_path, data | {"threshold": 0.6}))
    assert other.fingerprint != decider.fingerprint  # the answer cache's key changes with the model


@pytest.mark.parametrize(
    "broken",
    [
        {"forest": [_stump(0, 0.5, 0.1, 0.9) | {"value": [0.5]}]},  # arrays of different lengths
        {"forest": [_stump(0, 0.5, 0.1, 0.9) | {"right": [7, -1, -1]}]},  # a node it does not have
        {"forest": [_stump(3, 0.5, 0.1, 0.9)]},  # a feature it does not name
        {"forest": []},
        {"features": ["no_such_feature"]},
    ],
)
def test_a_broken_forest_is_a_clear_error(tmp_path, broken):
    data = {"kind": "forest", "features": ["q_cover"], "threshold": 0.5, "forest": [_stump(0, 0.5, 0.1, 0.9)]}
    with pytest.raises(ConfigError, match="Cannot read the answer model"):
        load_decider(_write(tmp_path, data | broken))
