"""Hybrid retrieval: dense (Chroma HNSW) and lexical (BM25), fused by weighted
reciprocal rank (weights and k in the settings; the defaults were chosen by recall
on the gold sets, see the README).

The BM25 index and the chunk table are built once from the Chroma collection and
kept warm; they are rebuilt when an ingest changes the index (its version).
Filters (outlets, date range) apply to both arms.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.config import Settings
from app.domain import Article, ArticleSpan, Filters
from app.index.bm25 import LexicalIndex, lexical_tokens
from app.index.embeddings import Embedder
from app.index.store import VectorStore, expected_manifest
from app.text.dates import date_int

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "lexical"]


@dataclass(kw_only=True)
class Passage(ArticleSpan):
    """One retrieved chunk (a span of its article) and how it ranked."""

    id: str
    score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_similarity: float | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 6),
            "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank,
            "dense_similarity": None if self.dense_similarity is None else round(self.dense_similarity, 4),
        }


@dataclass
class Retrieval:
    """Ranked passages and how long each stage took (seconds)."""

    passages: list[Passage]
    timings: dict[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = None


class HybridRetriever:
    """Dense + BM25 retrieval over one index, kept warm between queries."""

    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore | None = None):
        self.settings = settings
        self.embedder = embedder
        self.store = store or VectorStore(settings)
        self._lock = threading.Lock()
        self._version: str | None = None
        self._updated = ""
        self._bm25 = None
        self._ids: list[str] = []
        self._meta: list[dict] = []
        self._docs: list[str] = []
        self._row: dict[str, int] = {}
        self._outlet_arr = np.array([], dtype=object)
        self._date_arr = np.array([], dtype=np.int64)
        self._articles: dict[str, Article] = {}
        self._df: Counter[str] = Counter()
        self._checked = float("-inf")

    # --- loading -------------------------------------------------------------------

    def load(self) -> HybridRetriever:
        """Open the index, check its manifest, and build the lexical index."""
        self.store.open()
        self.store.check_manifest(expected_manifest(self.settings, self.embedder, self.store.manifest()))
        self.refresh(force=True)
        return self

    def refresh(self, force: bool = False) -> bool:
        """Rebuild the in-memory tables if the index changed since the last load (looked
        up at most once a second: searches stay fast, new articles appear within a second)."""
        now = time.monotonic()
        if not force and now - self._checked < self.settings.retrieval_refresh_s:
            return False
        self._checked = now
        version = self.store.version()
        if not force and version == self._version:
            return False
        with self._lock:
            if not force and version == self._version:
                return False
            started = time.perf_counter()
            chunks = self.store.get_all(self.store.chunks, include=["documents", "metadatas"])
            arts = self.store.get_all(self.store.articles, include=["documents", "metadatas"])
            articles = {}
            for text, meta in zip(arts["documents"], arts["metadatas"], strict=True):
                articles[meta["doc_id"]] = Article(
                    doc_id=meta["doc_id"],
                    title=meta.get("title", ""),
                    outlet=meta.get("outlet", ""),
                    published=meta.get("published", ""),
                    text=text,
                    source=meta.get("source", ""),
                    url=meta.get("url"),
                    author=meta.get("author"),
                    n_chunks=int(meta.get("n_chunks", 0)),
                )
            # Only chunks of the current version of a complete article are searchable.
            live = {d: m["doc_hash"] for d, m in zip(arts["ids"], arts["metadatas"], strict=True)}
            keep = [
                i for i, meta in enumerate(chunks["metadatas"]) if live.get(meta.get("doc_id")) == meta.get("doc_hash")
            ]
            ids = [chunks["ids"][i] for i in keep]
            docs = [chunks["documents"][i] for i in keep]
            metas = [chunks["metadatas"][i] for i in keep]
            bm25 = None
            df: Counter[str] = Counter()
            if docs:
                tokens = lexical_tokens([f"{m.get('title', '')}\n{d}" for d, m in zip(docs, metas, strict=True)])
                for doc_tokens in tokens:
                    df.update(set(doc_tokens))
                bm25 = LexicalIndex(tokens)
            self._ids, self._docs, self._meta, self._bm25, self._df = ids, docs, metas, bm25, df
            self._row = {cid: i for i, cid in enumerate(ids)}
            self._outlet_arr = np.array([m.get("outlet", "") for m in metas], dtype=object)
            self._date_arr = np.array([int(m.get("published_int", 0)) for m in metas], dtype=np.int64)
            self._articles = articles
            self._version = version
            self._updated = self.store.updated()
            log.info("retriever loaded %d chunks in %.2f s", len(ids), time.perf_counter() - started)
            return True

    # --- reading -------------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._ids)

    def articles(self) -> list[Article]:
        return sorted(self._articles.values(), key=lambda a: (a.published or "", a.doc_id), reverse=True)

    def article(self, doc_id: str) -> Article | None:
        return self._articles.get(doc_id)

    def document_frequency(self, term: str) -> tuple[int, int]:
        """(chunks containing the stemmed term, all chunks): for IDF weights."""
        return self._df.get(term, 0), len(self._ids)

    def idf(self, term: str) -> float:
        """The term's inverse document frequency over the indexed chunks (BM25's form, never
        negative): the one weight every term-overlap score of the answer path uses."""
        df, n = self.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    @property
    def version(self) -> str:
        """The index version the loaded state comes from ("" before the first load)."""
        return self._version or ""

    @property
    def updated(self) -> str:
        """When an ingest last changed the loaded index (UTC, ISO 8601; "" when unknown)."""
        return self._updated

    def newest_date(self) -> dt.date | None:
        dates = [a.published for a in self._articles.values() if a.published]
        return dt.date.fromisoformat(max(dates)) if dates else None

    def article_text(self, doc_id: str) -> str:
        article = self._articles.get(doc_id)
        return article.text if article else ""

    def outlets(self) -> list[str]:
        return sorted({a.outlet for a in self._articles.values()})

    # --- search --------------------------------------------------------------------

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        mask = np.ones(len(self._ids), dtype=bool)
        if filters.outlets:
            mask &= np.isin(self._outlet_arr, list(filters.outlets))
        if filters.date_from:
            mask &= self._date_arr >= date_int(filters.date_from)
        if filters.date_to:
            mask &= self._date_arr <= date_int(filters.date_to)
        return mask

    def dense(self, query_vector: np.ndarray, n: int, filters: Filters | None) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the n nearest chunks."""
        if not self._ids:
            return []
        res = self.store.chunks.query(
            query_embeddings=[query_vector],
            n_results=min(n, len(self._ids)),
            where=filters.chroma_where() if filters else None,
            include=["distances"],
        )
        out = []
        for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            row = self._row.get(cid)
            if row is not None:
                out.append((row, 1.0 - float(dist)))
        return out

    def _timed_lexical(self, query: str, n: int, filters: Filters | None) -> tuple[list[tuple[int, float]], float]:
        t = time.perf_counter()
        hits = self.lexical(query, n, filters)
        return hits, time.perf_counter() - t

    def lexical(self, query: str, n: int, filters: Filters | None) -> list[tuple[int, float]]:
        """(row, BM25 score) of the n best-matching chunks with a positive score."""
        if self._bm25 is None:
            return []
        tokens = lexical_tokens([query])
        if not tokens[0]:
            return []
        return self._bm25.top(tokens[0], n, self._mask(filters))

    def search(
        self,
        query: str,
        k: int = 8,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        candidates: int = 30,
        query_vector: np.ndarray | None = None,
        refresh: bool = True,
    ) -> Retrieval:
        """The k best chunks for the query, best first (``refresh=False``: the caller has just
        refreshed the index state)."""
        if refresh:
            self.refresh()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        dense_hits: list[tuple[int, float]] = []
        lexical_hits: list[tuple[int, float]] = []
        # BM25 runs after the query embedding, not beside it: torch's encoder already keeps
        # every core busy, and a BM25 thread beside it slowed both (2 cores, 1M chunks:
        # query embedding + BM25 p50/p95 20.6/32.6 ms beside, 14.8/17.9 ms one after the other)
        if mode in ("hybrid", "dense"):
            if query_vector is None:
                query_vector = self.embedder.encode_query(query)
            t1 = time.perf_counter()
            timings["embed_query_s"] = t1 - t0
            dense_hits = self.dense(query_vector, candidates, filters)
            timings["dense_s"] = time.perf_counter() - t1
        if mode in ("hybrid", "lexical"):
            lexical_hits, timings["lexical_s"] = self._timed_lexical(query, candidates, filters)
        t3 = time.perf_counter()
        passages = self._fused(dense_hits, lexical_hits, k, mode)
        timings["fusion_s"] = time.perf_counter() - t3
        return Retrieval(passages, timings, query_vector)

    def _fused(self, dense_hits: list, lexical_hits: list, k: int, mode: Mode) -> list[Passage]:
        """The k best rows by weighted reciprocal rank fusion of the two arms, as passages."""
        fused: dict[int, float] = {}
        dense_rank: dict[int, int] = {}
        dense_sim: dict[int, float] = {}
        lexical_rank: dict[int, int] = {}
        rrf_k = self.settings.rrf_k
        w_dense = self.settings.dense_weight if mode == "hybrid" else 1.0
        w_lexical = self.settings.lexical_weight if mode == "hybrid" else 1.0
        for rank, (row, sim) in enumerate(dense_hits, start=1):
            fused[row] = fused.get(row, 0.0) + w_dense / (rrf_k + rank)
            dense_rank[row], dense_sim[row] = rank, sim
        for rank, (row, _score) in enumerate(lexical_hits, start=1):
            fused[row] = fused.get(row, 0.0) + w_lexical / (rrf_k + rank)
            lexical_rank[row] = rank
        passages = []
        for row, score in sorted(fused.items(), key=lambda item: -item[1])[:k]:
            meta = self._meta[row]
            passages.append(
                Passage(
                    id=self._ids[row],
                    doc_id=meta["doc_id"],
                    text=self._docs[row],
                    start=int(meta["start"]),
                    end=int(meta["end"]),
                    title=meta.get("title", ""),
                    outlet=meta.get("outlet", ""),
                    published=meta.get("published", ""),
                    score=score,
                    dense_rank=dense_rank.get(row),
                    lexical_rank=lexical_rank.get(row),
                    dense_similarity=dense_sim.get(row),
                )
            )
        return passages
