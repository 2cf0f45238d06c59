"""The learned answer checker: a cross-encoder trained here from all-MiniLM-L6-v2 (no
checker's weights can be installed) that scores (question, sentence) -> P(the sentence
answers the question). Trained on the dev side only by ``python -m eval.train_checker``,
which writes its weights (fp16), their sha256 and its held-out measurements to
``app/answer/check/checker/``.

Its score is a feature of the answer model (``checker``) and of the sentence shapes'
decision; how much it counts is fitted on dev data, not set here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from app.errors import ConfigError

DEFAULT_CHECKER = Path(__file__).with_name("checker")
CACHE = 4096  # (question, sentence) scores kept


def answer_text(sentence: str, answer: str = "") -> str:
    """What the checker reads beside the question: the words offered as the answer, then
    their sentence (the sentence alone when it is the answer)."""
    return f"{answer} — {sentence}" if answer else sentence


class LearnedChecker:
    """Loads lazily (about 1 s) and scores pairs in one batch; thread-safe."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        info = self.path / "checker.json"
        try:
            self.info = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot read the answer checker at {self.path}: {exc} (python -m eval.train_checker)"
            ) from exc

    @property
    def fingerprint(self) -> str:
        return str(self.info.get("weights_sha256", ""))[:16]

    def load(self) -> LearnedChecker:
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self

    def _load(self):
        weights = self.path / "model.safetensors"
        try:
            digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        except OSError as exc:
            raise ConfigError(f"The answer checker's weights are missing: {weights} ({exc})") from exc
        if digest != self.info.get("weights_sha256"):
            raise ConfigError(
                f"The answer checker's weights at {weights} do not match checker.json (sha256 {digest[:12]}…)"
            )
        import torch
        from sentence_transformers import CrossEncoder

        max_length = int(self.info.get("max_length", 128))
        dtype = {"dtype": torch.float32}  # stored in fp16, scored in fp32 on the CPU
        path = str(self.path)
        return CrossEncoder(path, device="cpu", local_files_only=True, max_length=max_length, model_kwargs=dtype)

    def scores(self, question: str, sentences: list[str]) -> list[float]:
        """P(answers) for each text (a sentence, or ``answer_text``; cached per pair)."""
        if self._model is None:
            self.load()
        with self._lock:
            missing = list(dict.fromkeys(s for s in sentences if (question, s) not in self._cache))
            if missing:
                values = self._model.predict([(question, s) for s in missing], batch_size=16, show_progress_bar=False)
                for s, v in zip(missing, values, strict=True):
                    self._cache[(question, s)] = float(v)
                while len(self._cache) > CACHE:
                    self._cache.popitem(last=False)
            return [self._cache[(question, s)] for s in sentences]

    def score(self, question: str, sentence: str, answer: str = "") -> float:
        """P(``answer``, words of ``sentence``, answers the question; the sentence itself when
        no words are given)."""
        return self.scores(question, [answer_text(sentence, answer)])[0]


@lru_cache(maxsize=4)
def load_checker(path: str = str(DEFAULT_CHECKER)) -> LearnedChecker | None:
    """The checker at ``path``; ``"none"`` turns it off (its feature reads 0)."""
    if path == "none":
        return None
    return LearnedChecker(Path(path))
