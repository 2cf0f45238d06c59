"""Incremental, crash-safe ingest: corpus folder -> cleaned chunks -> Chroma.

The desired state is computed from the corpus and compared with what the index
holds, so every run converges on the same index:

* an unchanged article (same content hash, all chunks present) is skipped unread;
* a new or edited article is chunked and embedded; chunks already present with the
  same id (from an interrupted run) are not embedded again; its article record is
  written after all its chunks, then its old chunks are deleted;
* an article whose file is gone is removed; one whose file now fails to parse keeps
  its previous version (nothing indexed is lost to a broken file);
* chunks that belong to no complete article (left by a killed run) are deleted.

Chunk ids hash the document id, its content hash and the chunk's offsets, so the
same corpus always yields the same ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.config import Settings
from app.corpus.discover import discover
from app.corpus.readers import load_article
from app.domain import Article
from app.errors import CorpusError, IndexBusyError
from app.index.embeddings import Embedder, make_embedder
from app.index.records import chunk_id, doc_metadata, embed_text_for
from app.index.store import VectorStore, expected_manifest
from app.services.locks import writer_lock
from app.text.chunking import chunk_text

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest did. ``failures`` and ``warnings`` name the file and the reason."""

    docs_seen: int = 0
    docs_added: int = 0
    docs_updated: int = 0
    docs_unchanged: int = 0
    docs_removed: int = 0
    docs_failed: int = 0
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_removed or self.docs_removed or self.docs_updated)

    @property
    def chunks_per_s(self) -> float:
        return self.chunks_added / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        out["failures"] = [{"source": s, "reason": r} for s, r in self.failures]
        out["chunks_per_s"] = round(self.chunks_per_s, 1)
        return out

    def summary(self) -> str:
        lines = [
            f"documents: {self.docs_seen} seen, {self.docs_added} added, {self.docs_updated} updated, "
            f"{self.docs_unchanged} unchanged, {self.docs_removed} removed, {self.docs_failed} failed",
            f"chunks:    {self.chunks_added} added, {self.chunks_skipped} skipped, "
            f"{self.chunks_removed} removed, {self.chunks_total} in the index",
            f"time:      {self.seconds:.1f} s ({self.chunks_per_s:.0f} chunks/s added)",
        ]
        if self.ignored_files:
            lines.append(f"ignored:   {len(self.ignored_files)} files that are not articles (README, other types)")
        for source, reason in self.failures:
            lines.append(f"FAILED     {source}: {reason}")
        for warning in self.warnings:
            lines.append(f"warning    {warning}")
        return "\n".join(lines)


@dataclass
class _PlannedChunk:
    id: str
    doc_id: str
    text: str
    embed_text: str
    metadata: dict


@dataclass
class _PlannedDoc:
    article: Article
    doc_hash: str
    chunk_ids: list[str]
    old_chunk_ids: list[str]
    is_update: bool


@dataclass
class _IndexState:
    articles: dict[str, dict]  # doc_id -> article metadata
    chunk_ids_by_doc: dict[str, dict[str, list[str]]]  # doc_id -> doc_hash -> ids
    present: set[str]


def _read_state(store: VectorStore) -> _IndexState:
    arts = store.get_all(store.articles, include=["metadatas"])
    articles = {meta["doc_id"]: meta for meta in arts["metadatas"]}
    chunks = store.get_all(store.chunks, include=["metadatas"])
    by_doc: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for cid, meta in zip(chunks["ids"], chunks["metadatas"], strict=True):
        by_doc[meta.get("doc_id", "")][meta.get("doc_hash", "")].append(cid)
    return _IndexState(articles=articles, chunk_ids_by_doc=by_doc, present=set(chunks["ids"]))


def _is_complete(state: _IndexState, doc_id: str, doc_hash: str) -> bool:
    record = state.articles.get(doc_id)
    if record is None or record.get("doc_hash") != doc_hash:
        return False
    return len(state.chunk_ids_by_doc.get(doc_id, {}).get(doc_hash, [])) == record.get("n_chunks")


def ingest(
    settings: Settings,
    corpus_dir: Path | None = None,
    *,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> IngestReport:
    """Bring the index in line with the corpus folder. Returns what was done."""
    started = time.perf_counter()
    corpus_dir = Path(corpus_dir or settings.corpus_dir)
    embedder = embedder or make_embedder(settings)
    store = store or VectorStore(settings)
    if rebuild:
        store.drop()
    store.open(create=True)
    manifest = expected_manifest(settings, embedder, store.manifest())
    store.check_manifest(manifest)
    if store.manifest() is None:  # record the settings before the first chunk lands
        store.write_manifest(manifest, changed=True)
    report = IngestReport()

    found = discover(corpus_dir, int(settings.max_file_mb * 1_000_000))
    report.ignored_files = found.ignored
    report.failures.extend((failure.path, failure.reason) for failure in found.failures)
    state = _read_state(store)
    # Files that failed keep whatever version of their articles is already indexed.
    failed_files = {f.path.split(":")[0] for f in found.failures}
    report.docs_seen = len(found.units)

    planned, todo = _plan(found.units, state, settings, report, failed_files, progress)
    report.docs_failed = len(report.failures)
    _store_chunks(store, embedder, planned, todo, state, report, settings.ingest_batch_chunks, progress, on_batch)
    _prune(store, state, planned, {u.doc_id for u in found.units}, failed_files, report)

    report.chunks_total = store.chunks.count()
    store.write_manifest(manifest, changed=report.changed or rebuild)
    report.seconds = time.perf_counter() - started
    return report


def _plan(units, state: _IndexState, settings: Settings, report: IngestReport, failed_files: set[str], progress: bool):
    """Read, clean and chunk every new or changed article: the documents to record and
    the chunks to embed (those not already stored by an interrupted run)."""
    planned: list[_PlannedDoc] = []
    todo: list[_PlannedChunk] = []
    changed = [u for u in units if not _is_complete(state, u.doc_id, u.content_hash)]
    report.docs_unchanged = len(units) - len(changed)
    for unit in _progress(changed, progress, "reading"):
        try:
            article = load_article(unit, settings.default_outlet)
        except CorpusError as exc:
            report.failures.append((exc.path, exc.reason))
            failed_files.add(unit.source.split(":")[0])
            continue
        report.warnings.extend(article.warnings)
        meta = doc_metadata(article, unit.content_hash)
        chunks = chunk_text(article.text, settings.chunk_tokens, settings.chunk_overlap_tokens, settings.tokenizer)
        ids = []
        for chunk in chunks:
            cid = chunk_id(article.doc_id, unit.content_hash, chunk.start, chunk.end)
            ids.append(cid)
            if cid in state.present:
                report.chunks_skipped += 1
                continue
            chunk_meta = {
                "start": chunk.start,
                "end": chunk.end,
                "chunk_index": chunk.index,
                "n_chunks": len(chunks),
                "n_tokens": chunk.n_tokens,
            }
            embed_text = embed_text_for(article.title, chunk.text)
            todo.append(_PlannedChunk(cid, article.doc_id, chunk.text, embed_text, {**meta, **chunk_meta}))
        old = [
            cid
            for doc_hash, cids in state.chunk_ids_by_doc.get(article.doc_id, {}).items()
            if doc_hash != unit.content_hash
            for cid in cids
        ]
        planned.append(_PlannedDoc(article, unit.content_hash, ids, old, is_update=article.doc_id in state.articles))
    return planned, todo


def _store_chunks(store, embedder, planned, todo, state, report, batch_size: int, progress: bool, on_batch) -> None:
    """Embed and upsert the chunks in batches; after each batch, record every article whose
    chunks are all stored (so a killed run leaves only complete articles behind)."""
    vectors: dict[str, np.ndarray] = {}
    pending_docs = list(planned)
    embed_started = time.perf_counter()
    bar = _bar(len(todo), progress, "embedding")
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        matrix = embedder.encode([c.embed_text for c in batch])
        store.upsert(store.chunks, [c.id for c in batch], matrix, [c.text for c in batch], [c.metadata for c in batch])
        for c, vec in zip(batch, matrix, strict=True):
            vectors[c.id] = vec
            state.present.add(c.id)
        report.chunks_added += len(batch)
        if bar:
            bar.update(len(batch))
        pending_docs = _finalize_ready(store, pending_docs, state, vectors, report)
        if on_batch:
            on_batch(report.chunks_added)
    if bar:
        bar.close()
    report.embed_seconds = time.perf_counter() - embed_started
    pending_docs = _finalize_ready(store, pending_docs, state, vectors, report)
    assert not pending_docs, "every planned document has all its chunks by now"


def _prune(store, state, planned, wanted_ids: set[str], failed_files: set[str], report: IngestReport) -> None:
    """Remove articles whose file is gone, and chunks that belong to no complete article."""
    # Articles whose file is gone (and did not merely fail to parse) leave the index.
    gone = [
        doc_id
        for doc_id, record in state.articles.items()
        if doc_id not in wanted_ids and record.get("source", "").split(":")[0] not in failed_files
    ]
    if gone:
        store.articles.delete(ids=gone)
        report.docs_removed = len(gone)
    # Chunks that belong to no complete article: removed docs, older versions, debris of killed runs.
    live = {doc_id: record["doc_hash"] for doc_id, record in state.articles.items() if doc_id not in gone}
    for doc in planned:
        live[doc.article.doc_id] = doc.doc_hash
    orphans = [
        cid
        for doc_id, versions in state.chunk_ids_by_doc.items()
        for doc_hash, cids in versions.items()
        if live.get(doc_id) != doc_hash
        for cid in cids
    ]
    store.delete(store.chunks, orphans)
    report.chunks_removed += len(orphans)


def _finalize_ready(store, pending, state, vectors, report) -> list[_PlannedDoc]:
    """Write the article record of every planned doc whose chunks are all stored."""
    ready = [d for d in pending if all(cid in state.present for cid in d.chunk_ids)]
    if not ready:
        return pending
    missing = [cid for d in ready for cid in d.chunk_ids if cid not in vectors]
    if missing:  # chunks stored by an interrupted run: fetch their vectors back
        got = store.chunks.get(ids=missing, include=["embeddings"])
        for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
            vectors[cid] = np.asarray(vec, dtype=np.float32)
    records_ids, records_vecs, records_docs, records_meta = [], [], [], []
    for doc in ready:
        mean = np.mean([vectors[cid] for cid in doc.chunk_ids], axis=0)
        norm = float(np.linalg.norm(mean)) or 1.0
        records_ids.append(doc.article.doc_id)
        records_vecs.append(mean / norm)
        records_docs.append(doc.article.text)
        records_meta.append(
            {
                **doc_metadata(doc.article, doc.doc_hash),
                "n_chunks": len(doc.chunk_ids),
                "n_chars": len(doc.article.text),
            }
        )
    store.upsert(store.articles, records_ids, np.stack(records_vecs).astype(np.float32), records_docs, records_meta)
    for doc in ready:
        store.delete(store.chunks, doc.old_chunk_ids)
        report.chunks_removed += len(doc.old_chunk_ids)
        state.articles[doc.article.doc_id] = records_meta[records_ids.index(doc.article.doc_id)]
        state.chunk_ids_by_doc[doc.article.doc_id] = {doc.doc_hash: list(doc.chunk_ids)}
        if doc.is_update:
            report.docs_updated += 1
        else:
            report.docs_added += 1
        for cid in doc.chunk_ids:
            vectors.pop(cid, None)
    done = {id(d) for d in ready}
    return [d for d in pending if id(d) not in done]


def _progress(items, enabled: bool, desc: str):
    if not enabled or len(items) < 50:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="doc", leave=False)


def _bar(total: int, enabled: bool, desc: str):
    if not enabled or total < 200:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk")


class IngestRunningError(IndexBusyError):
    """An ingest is already running in this process."""


class IngestService:
    """Runs ingests, one at a time, under the index's write lock; ``on_change`` is called
    after each (the serving app's retriever reloads, so new articles are citable at once)."""

    def __init__(
        self,
        settings: Settings,
        store: VectorStore | None = None,
        embedder: Embedder | None = None,
        on_change: Callable[[], object] | None = None,
    ):
        self.settings = settings
        self._store = store
        self._embedder = embedder
        self._on_change = on_change
        self._running = threading.Lock()

    def run(
        self, corpus_dir: Path | None = None, *, rebuild: bool = False, progress: bool = False, wait: bool = False
    ) -> IngestReport:
        """One ingest; with ``wait``, after the one already running (up to an hour)."""
        if not (self._running.acquire(timeout=3600) if wait else self._running.acquire(blocking=False)):
            raise IngestRunningError("An ingest is already running in the app; wait for it to finish.")
        try:
            with writer_lock(self.settings):
                report = ingest(
                    self.settings,
                    corpus_dir,
                    store=self._store,
                    embedder=self._embedder,
                    rebuild=rebuild,
                    progress=progress,
                )
            if self._on_change is not None:
                self._on_change()
            return report
        finally:
            self._running.release()
