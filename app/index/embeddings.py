"""Embedders: the real sentence-transformers model (the fake of the tests lives in
app/testing and is chosen the same way, by name).

Embedders are LangChain ``Embeddings`` so they plug into LangChain's Chroma wrapper, and
expose ``encode`` (a float32 matrix of unit vectors) for the batch paths.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from app.config import Settings
from app.plugins import load_object


class SentenceTransformerEmbedder(Embeddings):
    """all-MiniLM-L6-v2 (or another sentence-transformers model) from a local folder."""

    def __init__(self, model_path: str, name: str, device: str = "cpu", batch_size: int = 64):
        self.name = name
        self.model_path = str(model_path)
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._plain_mean_pooling = False  # set at load: whether _encode_one can skip encode()
        self.dim = _declared_dimension(self.model_path)

    def load(self) -> SentenceTransformerEmbedder:
        """Load the model now (it is otherwise loaded at the first encode)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                from app.errors import ModelError

                try:
                    model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
                except (OSError, ValueError) as exc:
                    raise ModelError(f"Cannot load the embedding model from {self.model_path}: {exc}") from exc
                self.dim = int(model.get_embedding_dimension())
                self._plain_mean_pooling = _is_plain_mean_pooling(model)
                self._model = model
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            self.load()
        with self._lock:  # one inference at a time on one model
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector; repeated queries (retries, eval reruns) hit a small cache."""
        hit = self._query_cache.get(text)
        if hit is not None:
            self._query_cache.move_to_end(text)
            return hit
        vector = self._encode_one(text)
        self._query_cache[text] = vector
        if len(self._query_cache) > 512:
            self._query_cache.popitem(last=False)
        return vector

    def _encode_one(self, text: str) -> np.ndarray:
        """One text straight through the transformer, mean pooling and normalisation: the
        same vector as ``encode`` (checked in tests) without its batching overhead (~2 ms of
        ~11 per query). Models of another shape go through ``encode``."""
        if self._model is None:
            self.load()
        if not self._plain_mean_pooling:
            return self.encode([text])[0]
        import torch

        model = self._model
        modules = list(model)

        with self._lock, torch.inference_mode():
            features = model.tokenizer(
                [text], padding=True, truncation=True, max_length=model.max_seq_length, return_tensors="pt"
            )
            hidden = modules[0].auto_model(**features).last_hidden_state
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vector = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
        return vector[0].numpy().astype(np.float32, copy=False)

    @property
    def fingerprint(self) -> str:
        """Short hash of the model folder's files, to tell two same-named models apart."""
        return fingerprint(self.model_path)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


def _is_plain_mean_pooling(model) -> bool:
    """Whether a SentenceTransformer is transformer -> mean pooling (-> normalise), the shape
    ``_encode_one`` reproduces."""
    modules = list(model)
    pooling = modules[1] if len(modules) > 1 else None
    return (
        len(modules) in (2, 3)
        and type(modules[0]).__name__ == "Transformer"
        and hasattr(modules[0], "auto_model")
        and type(pooling).__name__ == "Pooling"
        and pooling.get_config_dict().get("pooling_mode") == "mean"
        and (len(modules) == 2 or type(modules[2]).__name__ == "Normalize")
    )


def _declared_dimension(model_path: str) -> int:
    """The output dimension a sentence-transformers folder declares, without loading it."""
    import json
    from pathlib import Path

    for name in ("1_Pooling/config.json", "config.json"):
        try:
            config = json.loads((Path(model_path) / name).read_text())
        except (OSError, ValueError):
            continue
        dim = config.get("word_embedding_dimension") or config.get("hidden_size")
        if dim:
            return int(dim)
    return 0


class Embedder(Protocol):
    """What the index and the answer path need of an embedding model."""

    name: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


# Embedders chosen by name, imported when chosen: the fakes of the tests are registered
# the same way as real models.
FAKE_EMBEDDERS = {"hashing": "app.testing.fakes:HashingEmbedder"}

_CACHE: dict[tuple, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for; loaded once per process and shared."""
    for prefix, target in FAKE_EMBEDDERS.items():
        if settings.embedding_model.startswith(prefix):
            return load_object(target)()
    path = settings.resolved_embedding_model_path()
    key = (str(path), settings.embedding_device, settings.embedding_batch_size)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = SentenceTransformerEmbedder(
                str(path),
                name=settings.embedding_model,
                device=settings.embedding_device,
                batch_size=settings.embedding_batch_size,
            )
        return _CACHE[key]


def fingerprint(path: str) -> str:
    """Short hash of a model folder's weights, to tell two same-named models apart."""
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "tokenizer.json"):
        try:
            with open(f"{path}/{name}", "rb") as fh:
                digest.update(fh.read())
        except OSError:
            continue
    return digest.hexdigest()[:16]
