"""Embedders: the real sentence-transformers model, or one served over the OpenAI
``/v1/embeddings`` protocol (TEI, vLLM, Infinity); the fake of the tests lives in
app/testing and is chosen the same way, by name.

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
from pydantic import SecretStr

from app.config import Settings
from app.errors import ModelError
from app.plugins import load_object


class SentenceTransformerEmbedder(Embeddings):
    """all-MiniLM-L6-v2 (or another sentence-transformers model) from a local folder."""

    backend = "local"

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


class OpenAIEmbedder(Embeddings):
    """A model served over the OpenAI ``/v1/embeddings`` protocol, through LangChain's
    ``OpenAIEmbeddings`` sending plain strings (no tiktoken token ids: other servers want
    text, and tiktoken would try a download).

    ``dim`` and ``fingerprint`` are learned from a probe request (``load``, or the first
    use of either). The fingerprint hashes the model name, the dimension and the probe
    text's vector rounded to 3 decimals: it names what the server really computes, so two
    different models served under one name differ. (The server does not expose its
    weights, so a hash of files as for the local model is not possible; the index
    manifest also keeps the probe vector itself, which is what lets an index of the local
    model and one of a server serving it be used interchangeably, see app/index/store.py.)
    """

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        name: str,
        api_key: str | SecretStr = "not-needed",
        batch_size: int = 64,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ):
        from langchain_openai import OpenAIEmbeddings

        self.name = name
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self._client = OpenAIEmbeddings(
            model=name,
            base_url=self.base_url,
            api_key=api_key if isinstance(api_key, SecretStr) else SecretStr(api_key),
            chunk_size=batch_size,
            check_embedding_ctx_length=False,
            timeout=timeout_s,
            max_retries=max_retries,
            model_kwargs={"encoding_format": "float"},
        )
        self._dim = 0
        self._fingerprint = ""
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def load(self) -> OpenAIEmbedder:
        """Ask the server for the probe text's vector now: learns the dimension and the
        fingerprint, and fails early (ModelError naming the URL) if the server is not there."""
        with self._lock:
            if not self._dim:
                vector = self._request([PROBE_TEXT])[0]
                self._fingerprint = served_fingerprint(self.name, vector)
                self._dim = int(vector.shape[0])
        return self

    @property
    def dim(self) -> int:
        if not self._dim:
            self.load()
        return self._dim

    @property
    def fingerprint(self) -> str:
        if not self._dim:
            self.load()
        return self._fingerprint

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._request(texts)
        if vectors.shape[1] != self.dim:
            raise ModelError(
                f"The embedding server at {self.base_url} now returns {vectors.shape[1]}-dimensional vectors "
                f"for {self.name!r}, {self.dim} before: is another model being served?"
            )
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector; repeated queries (retries, eval reruns) hit a small cache."""
        with self._lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vector = self.encode([text])[0]
        with self._lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > 512:
                self._query_cache.popitem(last=False)
        return vector

    def _request(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for the texts, in batches of ``batch_size``; server failures become
        ModelError naming the URL."""
        import openai

        where = f"The embedding server at {self.base_url}"
        try:
            rows = self._client.embed_documents(texts)
        except openai.APITimeoutError as exc:
            raise ModelError(f"{where} gave no answer in {self.timeout_s:g} s (NEWSRAG_EMBEDDING_TIMEOUT_S)") from exc
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"Cannot reach {where[0].lower()}{where[1:]} ({exc.__cause__ or exc}). Start it (TEI, vLLM, "
                "Infinity, or python -m app.testing.embedding_server), or set NEWSRAG_EMBEDDING_BASE_URL, or "
                "NEWSRAG_EMBEDDING_BACKEND=local."
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"{where} refused to embed with {self.name!r}: {exc.message}") from exc
        except (openai.OpenAIError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where} gave no usable embeddings response: {exc}") from exc
        try:
            vectors = np.asarray(rows, dtype=np.float32)
        except ValueError as exc:  # ragged rows
            raise ModelError(f"{where} returned vectors of different lengths") from exc
        if vectors.ndim != 2 or len(vectors) != len(texts) or vectors.shape[1] == 0:
            raise ModelError(
                f"{where} returned {len(rows)} vectors of shape {vectors.shape[1:]} for {len(texts)} texts"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)  # servers need not normalise

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


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
    if settings.embedding_backend == "openai":
        return _served_embedder(settings)
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


def _served_embedder(settings: Settings) -> OpenAIEmbedder:
    key = (
        "openai",
        settings.embedding_base_url,
        settings.embedding_model,
        settings.embedding_batch_size,
        settings.embedding_timeout_s,
        settings.embedding_api_key.get_secret_value(),
    )
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = OpenAIEmbedder(
                settings.embedding_base_url,
                name=settings.embedding_model,
                api_key=settings.embedding_api_key,
                batch_size=settings.embedding_batch_size,
                timeout_s=settings.embedding_timeout_s,
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


# --- the probe: one fixed text whose vector identifies a model, whatever serves it ---------

PROBE_TEXT = (
    "Officials met in the capital on Tuesday to discuss a ceasefire, prisoner exchanges "
    "and the next round of talks, according to three people briefed on the meeting."
)


def probe_vector(embedder: Embedder) -> np.ndarray:
    """The embedder's unit vector for PROBE_TEXT (through the query path, so it is cached)."""
    return np.asarray(embedder.encode_query(PROBE_TEXT), dtype=np.float32)


def served_fingerprint(name: str, vector: np.ndarray) -> str:
    """Short hash of a model name, its dimension and its probe vector rounded to 3 decimals."""
    rounded = ",".join(f"{x:.3f}" for x in np.asarray(vector, dtype=np.float64))
    return hashlib.sha256(f"{name}|{len(vector)}|{rounded}".encode()).hexdigest()[:16]


def pack_probe(vector: np.ndarray) -> str:
    """A probe vector as compact text for the manifest (float16, base64)."""
    import base64

    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def unpack_probe(text: object) -> np.ndarray | None:
    """The probe vector of a manifest, or None if it has none (an index from before probes)."""
    import base64
    import binascii

    if not isinstance(text, str) or not text:
        return None
    try:
        return np.frombuffer(base64.b64decode(text, validate=True), dtype="<f2").astype(np.float32)
    except (binascii.Error, ValueError):
        return None
