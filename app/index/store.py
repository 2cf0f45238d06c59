"""The Chroma index: client (embedded or server), collections and manifest.

Two collections hold everything, so an embedded index and a Chroma server behave the
same and there is no second store to drift out of sync:

* ``<name>``: one record per chunk (embedding, exact chunk text, doc metadata, offsets);
* ``<name>-articles``: one record per article (cleaned full text, metadata, content
  hash and chunk count). An article record is written only after all its chunks, so
  it marks that article as completely indexed.

The manifest (embedding model, tokenizer, chunking) lives in the chunk collection's
metadata; in embedded mode a readable copy is written to ``index_dir/manifest.json``.

Which embedding backend wrote the vectors (``local``, or ``openai`` with its base URL) is
recorded but does not shape the index: the local all-MiniLM-L6-v2 and a server serving
it compute the same vectors, so their indexes are interchangeable. What decides is the
model: its name and dimension must agree, and so must the vector it gives a fixed probe
text (cosine >= PROBE_MIN_COSINE, stored in the manifest); the fingerprint (a hash of the
model's files for the local backend, of name, dimension and rounded probe vector for a
server) must agree too when both indexes were built locally or either predates the probe.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import ConfigError, IndexMismatchError, IndexNotFoundError
from app.index.embeddings import pack_probe, probe_vector, unpack_probe
from app.text.chunking import CHUNKER_VERSION
from app.text.cleaning import CLEANER_VERSION

MANIFEST_SCHEMA = 1
_MAX_WRITE = 4000  # below Chroma's max batch size for every backend
_MANIFEST_KEY = "newsrag_manifest"
_VERSION_KEY = "newsrag_version"
_UPDATED_KEY = "newsrag_updated"  # when the version last changed (UTC, ISO 8601)
# The same model's vectors from two runtimes (CPU/GPU, fp16) agree far above this; another
# model's (a fine-tune of the same one too, as a rule) fall below it.
PROBE_MIN_COSINE = 0.999
# Settings that change what is stored; an index built with others cannot be queried
# (the embedding fingerprint and probe are compared by _embedding_diffs).
_SHAPING_KEYS = (
    "embedding_model",
    "embedding_dim",
    "tokenizer",
    "chunk_tokens",
    "chunk_overlap_tokens",
    "chunker",
    "cleaner",
)


def expected_manifest(settings: Settings, embedder, recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest an index built now, with these settings, would carry. ``recorded`` (the
    index's manifest) lends its probe vector when it was made by the same local model files
    (same name and fingerprint), so opening an index does not load the model only to probe it."""
    backend = getattr(embedder, "backend", "local")
    base_url = getattr(embedder, "base_url", None)
    probe = None
    if (recorded and backend == "local" and _embedding_source(recorded) == "local"
            and recorded.get("embedding_model") == embedder.name
            and recorded.get("embedding_fingerprint") == embedder.fingerprint):
        probe = recorded.get("embedding_probe")
    return {
        "schema": MANIFEST_SCHEMA,
        "embedding_model": embedder.name,
        "embedding_fingerprint": embedder.fingerprint,
        "embedding_dim": embedder.dim,
        "embedding_probe": probe or pack_probe(probe_vector(embedder)),
        "embedding_backend": backend,
        "embedding_base_url": base_url,
        "normalized_embeddings": True,
        "distance": "cosine",
        "tokenizer": settings.tokenizer,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "chunker": CHUNKER_VERSION,
        "cleaner": CLEANER_VERSION,
    }


def _embedding_diffs(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Whether the index's vectors and the current embedder's come from the same model
    (the name and dimension already agree): see the module docstring."""
    diffs = []
    old, new = unpack_probe(found.get("embedding_probe")), unpack_probe(expected.get("embedding_probe"))
    if old is not None and new is not None:
        cosine = 0.0
        if len(old) == len(new):
            cosine = float(old @ new / (np.linalg.norm(old) * np.linalg.norm(new) or 1.0))
        if cosine < PROBE_MIN_COSINE:
            diffs.append(
                f"embedding vectors: the model behind {expected.get('embedding_model')!r} "
                f"({_embedding_source(expected)}) is not the one that built the index ({_embedding_source(found)}): "
                f"their vectors of a probe text differ (cosine {cosine:.3f} < {PROBE_MIN_COSINE})"
            )
    both_local = _embedding_source(found) == _embedding_source(expected) == "local"
    if (old is None or new is None or both_local) and found.get("embedding_fingerprint") != expected.get(
        "embedding_fingerprint"
    ):
        diffs.append(
            f"embedding_fingerprint: index has {found.get('embedding_fingerprint')!r} "
            f"({_embedding_source(found)}), settings say {expected.get('embedding_fingerprint')!r} "
            f"({_embedding_source(expected)})"
            + (
                "; if it is the same model, run one ingest with the backend that built the index to record "
                "its probe vector"
                if old is None and _embedding_source(found) != _embedding_source(expected)
                else ""
            )
        )
    return diffs


def _embedding_source(manifest: dict[str, Any]) -> str:
    backend = manifest.get("embedding_backend") or "local"  # indexes from before backends were local
    url = manifest.get("embedding_base_url")
    return f"{backend} {url}" if url else backend


def make_client(settings: Settings):
    """A Chroma client: HTTP when ``chroma_host`` is set, else persistent in index_dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.server_mode:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError here
            raise ConfigError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: {exc}"
            ) from exc
    path = Path(settings.index_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class VectorStore:
    """The two collections of one index, and its manifest."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.client = client if client is not None else make_client(settings)
        self.chunks_name = settings.collection
        self.articles_name = f"{settings.collection}-articles"
        self._chunks = None
        self._articles = None

    # --- collections ---------------------------------------------------------------

    def exists(self) -> bool:
        names = {c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()}
        return self.chunks_name in names and self.articles_name in names

    def _collection(self, name: str, create: bool):
        if create:
            return self.client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(name, embedding_function=None)
        except NotFoundError as exc:
            raise IndexNotFoundError(self._missing_message()) from exc

    def _missing_message(self) -> str:
        where = (
            f"on the Chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
            if self.settings.server_mode
            else f"in {self.settings.index_dir}"
        )
        return (
            f"No index named {self.chunks_name!r} {where}. Build it first: "
            f"python -m app ingest --corpus {self.settings.corpus_dir} --index-dir {self.settings.index_dir}"
        )

    def open(self, create: bool = False) -> VectorStore:
        self._chunks = self._collection(self.chunks_name, create)
        self._articles = self._collection(self.articles_name, create)
        return self

    @property
    def chunks(self):
        if self._chunks is None:
            self.open()
        return self._chunks

    @property
    def articles(self):
        if self._articles is None:
            self.open()
        return self._articles

    # --- manifest ------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        raw = (self.chunks.metadata or {}).get(_MANIFEST_KEY)
        return json.loads(raw) if raw else None

    def version(self) -> str:
        """Changes whenever an ingest changes the index; readers reload on change. Read
        afresh from the store (a collection object keeps the metadata it was fetched with,
        and another process may have written since)."""
        fresh = self.client.get_collection(self.chunks_name, embedding_function=None)
        return str((fresh.metadata or {}).get(_VERSION_KEY, ""))

    def updated(self) -> str:
        """When an ingest last changed the index (UTC, ISO 8601; "" for an index older than this field)."""
        fresh = self.client.get_collection(self.chunks_name, embedding_function=None)
        return str((fresh.metadata or {}).get(_UPDATED_KEY, ""))

    def check_manifest(self, expected: dict[str, Any]) -> None:
        """Refuse an index built with settings that shape the index differently."""
        found = self.manifest()
        if found is None:
            if self.chunks.count() == 0:
                return
            raise IndexMismatchError(
                f"The index {self.chunks_name!r} has no newsrag manifest, so its embedding and "
                "chunking settings are unknown. Rebuild it: python -m app ingest --rebuild"
            )
        diffs = [
            f"{key}: index has {found.get(key)!r}, settings say {expected.get(key)!r}"
            for key in _SHAPING_KEYS
            if found.get(key) != expected.get(key)
        ]
        if all(found.get(key) == expected.get(key) for key in ("embedding_model", "embedding_dim")):
            diffs += _embedding_diffs(found, expected)  # the probe means something only then
        if diffs:
            raise IndexMismatchError(
                f"The index {self.chunks_name!r} was built with other settings ("
                + "; ".join(diffs)
                + "). Rebuild it with the current settings (python -m app ingest --rebuild) "
                "or set the settings back (see the README's configuration table)."
            )

    def write_manifest(self, manifest: dict[str, Any], changed: bool) -> None:
        """Store the manifest and, when the ingest changed anything, a new version."""
        meta = dict(self.chunks.metadata or {})
        meta[_MANIFEST_KEY] = json.dumps(manifest, sort_keys=True)
        if changed or _VERSION_KEY not in meta:
            meta[_VERSION_KEY] = uuid.uuid4().hex
            meta[_UPDATED_KEY] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        meta = {k: v for k, v in meta.items() if not k.startswith("hnsw:")}
        self.chunks.modify(metadata=meta)
        if not self.settings.server_mode:
            path = Path(self.settings.index_dir) / "manifest.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps({**manifest, "collection": self.chunks_name}, indent=2, sort_keys=True) + "\n")
            tmp.replace(path)

    def drop(self) -> None:
        """Delete both collections (for --rebuild)."""
        from chromadb.errors import NotFoundError

        for name in (self.chunks_name, self.articles_name):
            with contextlib.suppress(NotFoundError):  # absent is fine
                self.client.delete_collection(name)
        self._chunks = self._articles = None

    # --- writing -------------------------------------------------------------------

    def upsert(self, collection, ids: list[str], embeddings, documents: list[str], metadatas: list[dict]) -> None:
        """Write records in batches below Chroma's largest batch."""
        for i in range(0, len(ids), _MAX_WRITE):
            collection.upsert(
                ids=ids[i : i + _MAX_WRITE],
                embeddings=embeddings[i : i + _MAX_WRITE],
                documents=documents[i : i + _MAX_WRITE],
                metadatas=metadatas[i : i + _MAX_WRITE],
            )

    def delete(self, collection, ids: list[str]) -> None:
        for i in range(0, len(ids), _MAX_WRITE):
            collection.delete(ids=ids[i : i + _MAX_WRITE])

    # --- reading -------------------------------------------------------------------

    def get_all(self, collection, include: list[str], where: dict | None = None, page: int = 5000) -> dict:
        """Every record of a collection, fetched in pages (Chroma caps one request)."""
        ids: list[str] = []
        out: dict[str, list] = {key: [] for key in include}
        offset = 0
        while True:
            batch = collection.get(include=include, where=where, limit=page, offset=offset)
            ids.extend(batch["ids"])
            for key in include:
                values = batch.get(key)
                out[key].extend(values if values is not None else [])
            if len(batch["ids"]) < page:
                break
            offset += page
        return {"ids": ids, **out}
