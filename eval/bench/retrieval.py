"""Part 2 of the benchmark: retrieval at scale. Indexes of growing size made of the
ingested chunks repeated under new ids; at each size our ``HybridRetriever.search`` and a
plain LangChain Chroma retriever, interleaved on the same queries; recall@5 for both."""

from __future__ import annotations

import gc
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from eval.bench.base import K, clear_query_cache, loadavg, log, proc_status_mb, rounded
from eval.common import percentile

WARMUP_QUERIES = 5


class ScaledIndex:
    """A fresh index grown to any size from copies of an ingested index's records.

    Copy r of a chunk has id ``<id>#r<r>`` and doc_id ``<doc_id>#r<r>``, with the same text,
    embedding, metadata and doc_hash; each copied article gets its article record too,
    because the retriever only searches chunks of complete articles.
    """

    def __init__(self, source_store, settings, embedder, first_docs: list[str], seed: int):
        from app.index.store import VectorStore, expected_manifest

        self.settings = settings
        self.store = VectorStore(settings).open(create=True)
        self.manifest = expected_manifest(settings, embedder)
        log("reading the ingested chunks and articles back with their embeddings ...")
        chunks = source_store.get_all(source_store.chunks, include=["embeddings", "documents", "metadatas"])
        arts = source_store.get_all(source_store.articles, include=["embeddings", "documents", "metadatas"])
        self.articles = {
            aid: (np.asarray(emb, dtype=np.float32), doc, meta)
            for aid, emb, doc, meta in zip(
                arts["ids"], arts["embeddings"], arts["documents"], arts["metadatas"], strict=True
            )
        }
        self.chunks_by_doc: dict[str, list[tuple]] = defaultdict(list)
        for cid, emb, doc, meta in zip(
            chunks["ids"], chunks["embeddings"], chunks["documents"], chunks["metadatas"], strict=True
        ):
            if self.articles.get(meta["doc_id"], (None, None, {}))[2].get("doc_hash") == meta.get("doc_hash"):
                self.chunks_by_doc[meta["doc_id"]].append((cid, np.asarray(emb, dtype=np.float32), doc, meta))
        rest = sorted(d for d in self.chunks_by_doc if d not in set(first_docs))
        random.Random(seed).shuffle(rest)
        # The gold articles come first, so the smallest index can answer the gold questions too.
        self.order = [d for d in dict.fromkeys(first_docs) if d in self.chunks_by_doc] + rest
        self.base_chunks = sum(len(v) for v in self.chunks_by_doc.values())
        self.size = 0
        self._next = 0  # position in the endless sequence of (copy round, article)

    def grow_to(self, target: int) -> int:
        """Add whole articles until at least ``target`` chunks are indexed; the size."""
        from app.index.store import _MAX_WRITE

        chunk_rows: list[tuple] = []
        art_rows: list[tuple] = []
        added = 0
        while self.size + added < target and self.order:
            rnd, pos = divmod(self._next, len(self.order))
            self._next += 1
            doc_id = self.order[pos]
            suffix = f"#r{rnd}" if rnd else ""
            new_doc = doc_id + suffix
            for cid, emb, doc, meta in self.chunks_by_doc[doc_id]:
                chunk_rows.append((cid + suffix, emb, doc, {**meta, "doc_id": new_doc}))
            emb, text, meta = self.articles[doc_id]
            art_rows.append((new_doc, emb, text, {**meta, "doc_id": new_doc}))
            added += len(self.chunks_by_doc[doc_id])
        # chunks first, then their article records (the ingest's order)
        for collection, rows in ((self.store.chunks, chunk_rows), (self.store.articles, art_rows)):
            for i in range(0, len(rows), _MAX_WRITE):
                part = rows[i : i + _MAX_WRITE]
                collection.add(
                    ids=[r[0] for r in part],
                    embeddings=np.stack([r[1] for r in part]),
                    documents=[r[2] for r in part],
                    metadatas=[r[3] for r in part],
                )
        self.size += added
        self.store.write_manifest(self.manifest, changed=True)
        return self.size


def first_sentence(text: str, title: str) -> str | None:
    body = text[len(title) :] if title and text.startswith(title) else text
    for sentence in re.split(r"(?<=[.!?])\s+", body.strip()):
        sentence = " ".join(sentence.split())
        if len(sentence.split()) >= 6:
            return sentence[:300]
    return None


def make_queries(gold_items, articles: dict, n: int, seed: int) -> tuple[list[str], list[str]]:
    """(timed queries, warm-up queries): the gold questions, then titles and first
    sentences of random articles, alternating; fixed seed."""
    queries = [item.question for item in gold_items][:n]
    rng = random.Random(seed)
    ids = sorted(articles)

    def draw(kind: int) -> str:
        while True:
            _emb, text, meta = articles[rng.choice(ids)]
            title = meta.get("title", "")
            q = title if kind == 0 else first_sentence(text, title)
            if q:
                return q

    kind = 0
    while len(queries) < n:
        queries.append(draw(kind))
        kind ^= 1
    warmup = [draw(i % 2) for i in range(WARMUP_QUERIES)]
    return queries, warmup


def _hit(texts: list[str], evidence: list[str]) -> bool:
    from eval.gold import contains

    return any(contains(t, e) for t in texts for e in evidence)


def bench_size(scaled: ScaledIndex, embedder, queries, warmup, gold_by_question) -> dict:
    """Our retriever and the LangChain baseline on the same index and queries, interleaved."""
    from langchain_chroma import Chroma

    from app.index.retrieval import HybridRetriever

    settings = scaled.settings
    t = time.perf_counter()
    ours = HybridRetriever(settings, embedder, store=scaled.store).load()
    load_s = time.perf_counter() - t
    baseline = Chroma(
        client=scaled.store.client, collection_name=settings.collection, embedding_function=embedder
    ).as_retriever(search_kwargs={"k": K})

    def run_ours(q: str):
        clear_query_cache(embedder)
        t0 = time.perf_counter()
        res = ours.search(q, k=K, mode=settings.retrieval_mode, candidates=settings.retrieval_candidates)
        return time.perf_counter() - t0, [p.text for p in res.passages], res.timings

    def run_base(q: str):
        clear_query_cache(embedder)
        t0 = time.perf_counter()
        docs = baseline.invoke(q)
        return time.perf_counter() - t0, [d.page_content for d in docs], {}

    for q in warmup:
        run_ours(q)
        run_base(q)
    # refresh() cost alone: what every search pays to ask the store for its version
    t = time.perf_counter()
    for _ in range(20):
        ours.store.version()
    version_ms = (time.perf_counter() - t) / 20 * 1000

    gc.collect()
    ours_ms, base_ms = [], []
    stages: dict[str, list[float]] = defaultdict(list)
    hits, base_hits = [], []
    distinct, base_distinct = [], []
    for i, q in enumerate(queries):
        pair = (run_ours, run_base) if i % 2 == 0 else (run_base, run_ours)
        results = {fn: fn(q) for fn in pair}
        (o_s, o_texts, o_t), (b_s, b_texts, _) = results[run_ours], results[run_base]
        ours_ms.append(o_s * 1000)
        base_ms.append(b_s * 1000)
        staged = 0.0
        for key, value in o_t.items():
            stages[key.removesuffix("_s") + "_ms"].append(value * 1000)
            staged += value
        stages["other_ms"].append(max(0.0, o_s - staged) * 1000)
        distinct.append(len(set(o_texts)))
        base_distinct.append(len(set(b_texts)))
        evidence = gold_by_question.get(q)
        if evidence:
            hits.append(_hit(o_texts, evidence))
            base_hits.append(_hit(b_texts, evidence))
    entry = {
        "size": ours.size,
        "queries": len(queries),
        "retrieval_p50_ms": rounded(percentile(ours_ms, 50)),
        "retrieval_p95_ms": rounded(percentile(ours_ms, 95)),
        "retrieval_mean_ms": rounded(float(np.mean(ours_ms))),
        "baseline_p50_ms": rounded(percentile(base_ms, 50)),
        "baseline_p95_ms": rounded(percentile(base_ms, 95)),
        "baseline_mean_ms": rounded(float(np.mean(base_ms))),
        "recall_at_5": rounded(sum(hits) / len(hits), 4) if hits else None,
        "baseline_recall_at_5": rounded(sum(base_hits) / len(base_hits), 4) if base_hits else None,
        "recall_items": len(hits),
        # copies of one chunk crowd the top 5 of a repeated index: how many distinct texts are left
        "distinct_texts_in_top5_mean": rounded(float(np.mean(distinct)), 2),
        "baseline_distinct_texts_in_top5_mean": rounded(float(np.mean(base_distinct)), 2),
        "stages_p50_ms": {k: rounded(percentile(v, 50)) for k, v in stages.items()},
        "stages_p95_ms": {k: rounded(percentile(v, 95)) for k, v in stages.items()},
        "store_version_ms": rounded(version_ms),
        "retriever_load_s": rounded(load_s, 2),
        "loadavg": loadavg(),
    }
    return entry


def bench_retrieval(ingested: dict, sizes: list[int], n_queries: int, gold_path: Path, work: Path, seed: int) -> dict:
    from eval.gold import load_gold

    source_settings = ingested["settings"]
    settings = source_settings.model_copy(update={"index_dir": work / "scale-index"})
    gold = load_gold(gold_path) if gold_path.is_file() else []
    first_docs = [d for item in gold for d in item.doc_ids]
    scaled = ScaledIndex(ingested["store"], settings, ingested["embedder"], first_docs, seed)
    queries, warmup = make_queries(gold, scaled.articles, n_queries, seed)
    gold_by_question = {item.question: item.evidence for item in gold if item.answerable and item.evidence}
    out = []
    previous = 0
    for target in sorted(sizes):
        t = time.perf_counter()
        size = scaled.grow_to(target)
        build_s = time.perf_counter() - t
        log(f"index of {size} chunks built in {build_s:.1f} s (+ earlier sizes); {len(queries)} queries ...")
        entry = bench_size(scaled, ingested["embedder"], queries, warmup, gold_by_question)
        # this process holds the embedded Chroma index (HNSW in memory), our retriever (the
        # chunk table, BM25) and the embedding model: the memory a server at this size needs
        entry["rss_mb"] = proc_status_mb(os.getpid())
        entry["target_size"] = target
        entry["build_s"] = rounded(build_s, 1)
        # pre-embedded chunks written to Chroma per second (the embedding is the ingest's
        # bottleneck and scales with the chunk count: ingest_chunks_per_s)
        entry["write_chunks_per_s"] = rounded((size - previous) / build_s, 1) if build_s > 0 else None
        previous = size
        log(
            f"size {entry['size']}: ours p50 {entry['retrieval_p50_ms']} p95 {entry['retrieval_p95_ms']} ms, "
            f"baseline p50 {entry['baseline_p50_ms']} p95 {entry['baseline_p95_ms']} ms, "
            f"recall@5 {entry['recall_at_5']} vs {entry['baseline_recall_at_5']}, RSS {entry['rss_mb']} MB"
        )
        out.append(entry)
    return {
        "retrieval": out,
        "retrieval_queries": {
            "n": len(queries),
            "gold_questions": sum(1 for q in queries if any(q == i.question for i in gold)),
            "gold": str(gold_path),
            "seed": seed,
            "examples": queries[:3] + queries[-3:],
        },
        "base_chunks": scaled.base_chunks,
    }
