"""``python -m eval.bench``: how fast newsrag is, each figure beside its reference.

    python -m eval.bench --out /tmp/bench [--sizes 2000,20000,100000] [--queries 200]
                         [--answer-questions 10] [--skip-answer] [--corpus DIR]

Writes OUT/bench.json, OUT/bench.md and OUT/latency_vs_size.png; prints a summary table.
Every figure is measured in the same run as the figure it is compared with, so the
ratios hold on a busy machine:

1. ingest: a full ingest of the corpus (default: the BBC benchmark) into a fresh index;
   every batch ingest embeds is embedded a second time, timed, right before or after
   (the raw throughput of the same model on exactly the same texts and batches; its time
   is taken out of the ingest's) -> ``ingest_efficiency``; then re-ingests of the
   unchanged corpus -> ``reingest_share``.
2. retrieval at scale: indexes of ~2k, ~20k, ~100k chunks made of the ingested chunks
   repeated under new ids (their embeddings re-used); at each size our
   ``HybridRetriever.search`` and a plain LangChain Chroma retriever, interleaved on the
   same queries, both embedding every query; recall@5 on the gold set for both.
3. answers: ``python -m app serve`` started on a seed-corpus index -> ``cold_start_s``
   (process start to a ready ``/api/health``); questions over ``/api/ask`` -> time to
   first token, total time, per-stage timings; the server's RSS afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BBC = SHARED / "benchmarks" / "bbc"
SEED_CORPUS = REPO / "corpus"
BBC_GOLD = REPO / "eval" / "gold" / "bbc.jsonl"
SEED_GOLD = REPO / "eval" / "gold" / "seed.jsonl"

K = 5  # recall@5 and the k both retrievers are asked for
WARMUP_QUERIES = 5

# (key, label, target, kind): kind "min" means value >= target, "max" value <= target.
TARGETS = [
    ("ingest_efficiency", "ingest / raw embedding throughput", 0.85, "min"),
    ("reingest_share", "re-ingest (unchanged) / first ingest time", 0.05, "max"),
    ("retrieval_p95_ms", "retrieval p95 at the largest size (ms)", 30.0, "max"),
    ("retrieval_p95_vs_baseline", "retrieval p95 / LangChain baseline p95 (largest size)", 2.0, "max"),
    ("ttft_p50_s", "time to first token p50 (s)", 2.0, "max"),
    ("answer_p50_s", "answer time p50 (s)", 6.0, "max"),
    ("cold_start_s", "cold start to ready (s)", 20.0, "max"),
    ("rss_mb", "serving process RSS after answering (MB)", 3000.0, "max"),
]


# --- small helpers ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation); None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return []


def machine_info() -> dict:
    """nproc, CPU model, RAM, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(Exception):
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info


def proc_status_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A memory figure of a process from /proc/<pid>/status, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def clear_query_cache(embedder) -> None:
    """Forget cached query vectors so every timed search embeds its query."""
    cache = getattr(embedder, "_query_cache", None)
    if cache is not None:
        cache.clear()


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_settings(corpus: Path, index_dir: Path):
    """The environment's settings (NEWSRAG_*), in an embedded index of our own."""
    from app.config import Settings

    return Settings(corpus_dir=corpus, index_dir=index_dir, chroma_host=None)


# --- 1. ingest --------------------------------------------------------------------------


def ingest_texts_in_order(store, corpus: Path, settings) -> list[str]:
    """The texts ingest embedded, in its order: documents in discovery order, chunks in order."""
    from app.corpus.discover import discover
    from app.services.ingest import embed_text_for

    order = {u.doc_id: i for i, u in enumerate(discover(corpus, int(settings.max_file_mb * 1_000_000)).units)}
    got = store.get_all(store.chunks, include=["documents", "metadatas"])
    rows = sorted(
        zip(got["documents"], got["metadatas"], strict=True),
        key=lambda dm: (order.get(dm[1]["doc_id"], len(order)), dm[1]["doc_id"], int(dm[1].get("chunk_index", 0))),
    )
    return [embed_text_for(meta.get("title", ""), doc) for doc, meta in rows]


class InterleavedRawEncode:
    """Times the raw embedding of exactly the batches ingest embeds, interleaved with them.

    While installed, every ``embedder.encode(batch)`` that ingest makes is paired with a
    second, timed ``encode`` of the same batch (alternately before and after ingest's own),
    so machine noise hits the ingest and its reference alike. The time of the extra
    encodes is subtracted from the ingest's.
    """

    def __init__(self, embedder):
        self.embedder = embedder
        self.real = embedder.encode
        self.texts: list[str] = []
        self.batches = 0
        self.seconds = 0.0

    def encode(self, texts: list[str]):
        texts = list(texts)
        if not texts:
            return self.real(texts)
        raw_first = self.batches % 2 == 1
        self.batches += 1
        if raw_first:
            self._raw(texts)
        vectors = self.real(texts)
        if not raw_first:
            self._raw(texts)
        self.texts.extend(texts)
        return vectors

    def _raw(self, texts: list[str]) -> None:
        t = time.perf_counter()
        self.real(texts)
        self.seconds += time.perf_counter() - t

    def __enter__(self) -> InterleavedRawEncode:
        self.embedder.encode = self.encode  # instance attribute shadows the method
        return self

    def __exit__(self, *exc) -> None:
        del self.embedder.encode


def bench_ingest(corpus: Path, work: Path, reingest_runs: int = 3) -> dict:
    from app.index.embeddings import make_embedder
    from app.index.store import VectorStore
    from app.services.ingest import ingest

    settings = make_settings(corpus, work / "ingest-index")
    embedder = make_embedder(settings)
    t = time.perf_counter()
    if hasattr(embedder, "load"):
        embedder.load()
    embedder.encode(["warm up the model", "a second sentence to warm up"])
    model_load_s = time.perf_counter() - t

    log(f"ingest of {corpus}, each embedding batch also encoded raw for reference ...")
    load_before = loadavg()
    with InterleavedRawEncode(embedder) as raw:
        report = ingest(settings, corpus, embedder=embedder, progress=False)
    ingest_s = report.seconds - raw.seconds
    log(f"ingest: {report.chunks_added} chunks in {ingest_s:.1f} s; raw encode of the same: {raw.seconds:.1f} s")

    # The recorded texts are what ingest embedded; check they are the index's chunks.
    store = VectorStore(settings).open()
    texts_match = sorted(raw.texts) == sorted(ingest_texts_in_order(store, corpus, settings))

    log("re-ingest of the unchanged corpus ...")
    agains = [ingest(settings, corpus, embedder=embedder, progress=False) for _ in range(reingest_runs)]
    again = sorted(agains, key=lambda r: r.seconds)[len(agains) // 2]  # the median run
    log(f"re-ingest: {again.seconds:.2f} s (median of {len(agains)}), {again.chunks_added} chunks added")

    ingest_cps = report.chunks_added / ingest_s if ingest_s > 0 else 0.0
    raw_cps = len(raw.texts) / raw.seconds if raw.seconds else 0.0
    return {
        "settings": settings,
        "embedder": embedder,
        "store": store,
        "figures": {
            "corpus": str(corpus),
            "embedding_model": settings.embedding_model,
            "embedding_batch_size": settings.embedding_batch_size,
            "ingest_batch": settings.ingest_batch_chunks,
            "embedder_load_s": _r(model_load_s, 2),
            "docs": report.docs_seen,
            "docs_added": report.docs_added,
            "chunks": report.chunks_total,
            "chunks_added": report.chunks_added,
            "failures": len(report.failures),
            "failure_list": [{"source": s, "reason": r} for s, r in report.failures],
            "warnings": len(report.warnings),
            "warning_list": report.warnings,
            "ingest_s": _r(ingest_s, 2),
            "ingest_embed_phase_s": _r(report.embed_seconds - raw.seconds, 2),
            "ingest_chunks_per_s": _r(ingest_cps, 2),
            "raw_encode_method": "interleaved: every ingest batch encoded again, alternately before and after",
            "raw_encode_texts": len(raw.texts),
            "raw_encode_batches": raw.batches,
            "raw_texts_match_index": texts_match,
            "raw_encode_s": _r(raw.seconds, 2),
            "raw_encode_chunks_per_s": _r(raw_cps, 2),
            "ingest_efficiency": _r(_ratio(ingest_cps, raw_cps), 4),
            "reingest_s": _r(again.seconds, 3),
            "reingest_runs_s": [_r(a.seconds, 3) for a in agains],
            "reingest_share": _r(_ratio(again.seconds, ingest_s), 4),
            "reingest_chunks_added": again.chunks_added,
            "reingest_docs_unchanged": again.docs_unchanged,
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
        },
    }


# --- 2. retrieval at scale ----------------------------------------------------------------


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
        "retrieval_p50_ms": _r(percentile(ours_ms, 50)),
        "retrieval_p95_ms": _r(percentile(ours_ms, 95)),
        "retrieval_mean_ms": _r(float(np.mean(ours_ms))),
        "baseline_p50_ms": _r(percentile(base_ms, 50)),
        "baseline_p95_ms": _r(percentile(base_ms, 95)),
        "baseline_mean_ms": _r(float(np.mean(base_ms))),
        "recall_at_5": _r(sum(hits) / len(hits), 4) if hits else None,
        "baseline_recall_at_5": _r(sum(base_hits) / len(base_hits), 4) if base_hits else None,
        "recall_items": len(hits),
        # copies of one chunk crowd the top 5 of a repeated index: how many distinct texts are left
        "distinct_texts_in_top5_mean": _r(float(np.mean(distinct)), 2),
        "baseline_distinct_texts_in_top5_mean": _r(float(np.mean(base_distinct)), 2),
        "stages_p50_ms": {k: _r(percentile(v, 50)) for k, v in stages.items()},
        "stages_p95_ms": {k: _r(percentile(v, 95)) for k, v in stages.items()},
        "store_version_ms": _r(version_ms),
        "retriever_load_s": _r(load_s, 2),
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
    for target in sorted(sizes):
        t = time.perf_counter()
        size = scaled.grow_to(target)
        build_s = time.perf_counter() - t
        log(f"index of {size} chunks built in {build_s:.1f} s (+ earlier sizes); {len(queries)} queries ...")
        entry = bench_size(scaled, ingested["embedder"], queries, warmup, gold_by_question)
        entry["target_size"] = target
        entry["build_s"] = _r(build_s, 1)
        log(
            f"size {entry['size']}: ours p50 {entry['retrieval_p50_ms']} p95 {entry['retrieval_p95_ms']} ms, "
            f"baseline p50 {entry['baseline_p50_ms']} p95 {entry['baseline_p95_ms']} ms, "
            f"recall@5 {entry['recall_at_5']} vs {entry['baseline_recall_at_5']}"
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


# --- 3. answers ------------------------------------------------------------------------------


def pick_questions(gold_path: Path, n: int, seed: int) -> list:
    """n gold items, about 70 % answerable and 30 % not (fixed seed)."""
    from eval.gold import load_gold

    items = load_gold(gold_path)
    rng = random.Random(seed)
    yes = [i for i in items if i.answerable]
    no = [i for i in items if not i.answerable]
    rng.shuffle(yes)
    rng.shuffle(no)
    n_no = min(len(no), max(1, round(n * 0.3))) if n > 1 else 0
    picked = no[:n_no] + yes[: n - n_no]
    picked += [i for i in no[n_no:] + yes[n - n_no :]][: n - len(picked)]
    rng.shuffle(picked)
    return picked


def _server_available() -> bool:
    import importlib.util

    try:
        from app.adapters.cli import build_parser

        build_parser().parse_args(["serve", "--port", "1"])
    except (ImportError, SystemExit):
        return False
    return importlib.util.find_spec("app.adapters.server") is not None


def _tail(path: Path, n: int = 2000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-n:]
    return ""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _child_env(index_dir: Path, corpus: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NEWSRAG_CHROMA_HOST"}
    env.update(
        NEWSRAG_INDEX_DIR=str(index_dir),
        NEWSRAG_CORPUS_DIR=str(corpus),
        PYTHONUNBUFFERED="1",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        GRADIO_ANALYTICS_ENABLED="False",
    )
    return env


def run_with_server(index_dir: Path, corpus: Path, questions: list[str], work: Path, timeout: float) -> dict:
    """Start ``python -m app serve``, wait for /api/health, ask over /api/ask, read the RSS."""
    import httpx

    from app.adapters.server import free_port

    port = free_port()
    log_path = work / "server.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=_child_env(index_dir, corpus),
            stdout=log_fh,
            stderr=subprocess.STDOUT,
        )
    try:
        cold = None
        health: dict = {}
        with httpx.Client(timeout=5.0) as client:
            while time.perf_counter() - t0 < timeout:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode}: {_tail(log_path)}")
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    r = client.get(base + "/api/health")
                    if r.status_code == 200:
                        health = r.json()
                        if health.get("ready") is True or health.get("status") == "ok":
                            cold = time.perf_counter() - t0
                            break
                time.sleep(0.1)
        if cold is None:
            raise TimeoutError(f"the server was not ready within {timeout:.0f} s: {_tail(log_path)}")
        log(f"server ready in {cold:.1f} s; asking {len(questions)} questions ...")
        answers = []
        with httpx.Client(timeout=timeout) as client:
            for q in questions:
                t = time.perf_counter()
                r = client.post(base + "/api/ask", json={"question": q})
                wall = time.perf_counter() - t
                body = r.json()
                if r.status_code != 200:
                    answers.append({"question": q, "error": body, "wall_s": wall, "timings": {}})
                    continue
                answers.append(
                    {
                        "question": q,
                        "wall_s": wall,
                        "timings": body.get("timings", {}),
                        "abstained": body.get("abstained"),
                        "answer": body.get("answer", "")[:300],
                    }
                )
        rss = proc_status_mb(proc.pid)
        hwm = proc_status_mb(proc.pid, "VmHWM")
        return {
            "method": "python -m app serve + GET /api/health; questions over POST /api/ask",
            "cold_start_s": cold,
            "health": health,
            "answers": answers,
            "rss_mb": rss,
            "peak_rss_mb": hwm,
        }
    finally:
        _stop(proc)


def run_with_worker(index_dir: Path, corpus: Path, questions: list[str], work: Path, timeout: float) -> dict:
    """Fallback without a server: a subprocess builds the answer service, loads the models,
    prints "ready", then answers questions read from stdin (eval/bench_worker.py)."""
    import queue
    import threading

    log_path = work / "worker.log"
    with open(log_path, "wb") as err_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "eval.bench_worker"],
            cwd=REPO,
            env=_child_env(index_dir, corpus),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_fh,
            text=True,
        )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()

    def next_event(deadline: float) -> dict:
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.perf_counter()))
            except queue.Empty as exc:
                raise TimeoutError(f"the worker did not answer in time: {_tail(log_path)}") from exc
            if line is None:
                raise RuntimeError(f"the worker exited with {proc.poll()}: {_tail(log_path)}")
            with contextlib.suppress(ValueError):
                return json.loads(line)

    try:
        event = next_event(t0 + timeout)
        cold = time.perf_counter() - t0
        assert event.get("event") == "ready", event
        answers = []
        for q in questions:
            t = time.perf_counter()
            proc.stdin.write(json.dumps({"question": q}) + "\n")
            proc.stdin.flush()
            event = next_event(t + timeout)
            answers.append({"question": q, "wall_s": time.perf_counter() - t, **event})
        return {
            "method": "subprocess (eval/bench_worker.py): build_answer_service + load the models, then stdin questions",
            "cold_start_s": cold,
            "answers": answers,
            "rss_mb": proc_status_mb(proc.pid),
            "peak_rss_mb": proc_status_mb(proc.pid, "VmHWM"),
        }
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        _stop(proc)


ANSWER_STAGES = [
    "rewrite_s",
    "embed_query_s",
    "dense_s",
    "lexical_s",
    "fusion_s",
    "retrieval_s",
    "prompt_build_s",
    "first_token_s",
    "first_shown_s",
    "generation_s",
    "verify_s",
    "total_s",
]


def bench_answers(seed_corpus: Path, gold_path: Path, n: int, work: Path, seed: int, timeout: float) -> dict:
    from app.services.ingest import ingest

    settings = make_settings(seed_corpus, work / "seed-index")
    if settings.llm_backend == "llamacpp" and settings.llm_model_path is None:
        from app.llm.models import ensure_model

        log("checking the cached LLM ...")
        ensure_model(settings.llm_model, settings.model_cache_dir)  # cached before the cold start is timed
    report = ingest(settings, seed_corpus, progress=False)
    items = pick_questions(gold_path, n, seed)
    questions = [i.question for i in items]
    load_before = loadavg()
    errors = []
    result = None
    if _server_available():
        try:
            result = run_with_server(settings.index_dir, seed_corpus, questions, work, timeout)
        except (RuntimeError, TimeoutError, OSError) as exc:
            errors.append(f"server: {exc}")
            log(f"server failed ({exc}); falling back to a worker subprocess")
    if result is None:
        result = run_with_worker(settings.index_dir, seed_corpus, questions, work, timeout)
    answers = result["answers"]
    timings = [a["timings"] for a in answers if a.get("timings")]
    stages = {}
    for key in ANSWER_STAGES:
        values = [t[key] for t in timings if key in t]
        if values:
            stages[key] = _r(percentile(values, 50), 4)
    ttfts = [t["first_token_s"] for t in timings if "first_token_s" in t]
    # the first streamed text a user sees (after the stream guard); absent for abstentions
    shown = [t["first_shown_s"] for t in timings if "first_shown_s" in t]
    totals = [t["total_s"] for t in timings if "total_s" in t]
    return {
        "answer_corpus": str(seed_corpus),
        "answer_index_chunks": report.chunks_total,
        "answer_gold": str(gold_path),
        "answer_questions": len(questions),
        "answer_answerable": sum(1 for i in items if i.answerable),
        "answer_errors": sum(1 for a in answers if a.get("error")),
        "llm_backend": settings.llm_backend,
        "llm_model": settings.llm_model,
        "cold_start_method": result["method"],
        "cold_start_s": _r(result["cold_start_s"], 2),
        "ttft_p50_s": _r(percentile(ttfts, 50)),
        "ttft_p95_s": _r(percentile(ttfts, 95)),
        "ttft_first_question_s": _r(timings[0].get("first_token_s")) if timings else None,
        "first_shown_p50_s": _r(percentile(shown, 50)),
        "first_shown_answers": len(shown),
        "answer_p50_s": _r(percentile(totals, 50)),
        "answer_p95_s": _r(percentile(totals, 95)),
        "answer_wall_p50_s": _r(percentile([a["wall_s"] for a in answers], 50)),
        "rss_mb": result["rss_mb"],
        "peak_rss_mb": result["peak_rss_mb"],
        "answer_stages_p50_s": stages,
        "answer_items": [
            {k: a.get(k) for k in ("question", "abstained", "answer", "wall_s", "timings", "error") if k in a}
            for a in answers
        ],
        "answer_part_errors": errors,
        "answer_loadavg_before": load_before,
        "answer_loadavg_after": loadavg(),
        "health": result.get("health"),
    }


# --- report --------------------------------------------------------------------------------


def assemble(results: dict) -> dict:
    """Top-level figures: the largest retrieval size and the ``stages`` summary."""
    retrieval = results.get("retrieval") or []
    if retrieval:
        top = max(retrieval, key=lambda e: e["size"])
        for key in (
            "retrieval_p50_ms",
            "retrieval_p95_ms",
            "baseline_p50_ms",
            "baseline_p95_ms",
            "recall_at_5",
            "baseline_recall_at_5",
        ):
            results[key] = top[key]
        results["retrieval_size"] = top["size"]
        results["retrieval_p95_vs_baseline"] = _r(_ratio(top["retrieval_p95_ms"], top["baseline_p95_ms"]), 3)
        results["retrieval_p50_vs_baseline"] = _r(_ratio(top["retrieval_p50_ms"], top["baseline_p50_ms"]), 3)
    stages: dict = {}
    if retrieval:
        s = top["stages_p50_ms"]
        stages.update(
            {
                "retrieval_size": top["size"],
                "embed_query_ms": s.get("embed_query_ms"),
                "dense_ms": s.get("dense_ms"),
                "bm25_ms": s.get("lexical_ms"),
                "fusion_ms": s.get("fusion_ms"),
                "retrieval_other_ms": s.get("other_ms"),
                "store_version_ms": top.get("store_version_ms"),
            }
        )
    a = results.get("answer_stages_p50_s") or {}
    for key in ("retrieval_s", "prompt_build_s", "first_token_s", "generation_s", "verify_s", "total_s"):
        if key in a:
            stages["answer_" + key if key in ("retrieval_s", "total_s") else key] = a[key]
    results["stages"] = stages
    results["targets"] = {}
    for key, label, target, kind in TARGETS:
        value = results.get(key)
        met = None if value is None else (value >= target if kind == "min" else value <= target)
        results["targets"][key] = {"label": label, "target": target, "kind": kind, "value": value, "met": met}
    return results


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def _target_text(t: dict) -> str:
    return ("≥ " if t["kind"] == "min" else "≤ ") + _fmt(t["target"])


def _met_text(t: dict) -> str:
    return "n/a" if t["met"] is None else ("met" if t["met"] else "NOT met")


def summary_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met) rows of the summary table."""
    t = r["targets"]
    rows = []

    def add(label: str, key: str, target_key: str | None = None):
        if target_key and target_key in t:
            rows.append((label, _fmt(r.get(key)), _target_text(t[target_key]), _met_text(t[target_key])))
        else:
            rows.append((label, _fmt(r.get(key)), "", ""))

    if "ingest_chunks_per_s" in r:
        add(f"ingest: docs ({r.get('failures')} failures, {r.get('warnings')} warnings)", "docs")
        add("ingest: chunks", "chunks")
        add("ingest: seconds", "ingest_s")
        add("ingest: chunks/s", "ingest_chunks_per_s")
        add("raw embedding: chunks/s (same texts, same batches)", "raw_encode_chunks_per_s")
        add("ingest efficiency (ingest / raw)", "ingest_efficiency", "ingest_efficiency")
        add("re-ingest, unchanged (s)", "reingest_s")
        add("re-ingest share of first ingest", "reingest_share", "reingest_share")
    for e in r.get("retrieval") or []:
        n = f"{e['size']:,}"
        rows.append((f"retrieval p50 / p95 at {n} chunks (ms)",
                     f"{_fmt(e['retrieval_p50_ms'])} / {_fmt(e['retrieval_p95_ms'])}", "", ""))  # fmt: skip
        rows.append((f"baseline p50 / p95 at {n} chunks (ms)",
                     f"{_fmt(e['baseline_p50_ms'])} / {_fmt(e['baseline_p95_ms'])}", "", ""))  # fmt: skip
        rows.append((f"recall@5 ours / baseline at {n} chunks",
                     f"{_fmt(e['recall_at_5'])} / {_fmt(e['baseline_recall_at_5'])}", "", ""))  # fmt: skip
    if r.get("retrieval"):
        add(f"retrieval p95 at {r['retrieval_size']:,} chunks (ms)", "retrieval_p95_ms", "retrieval_p95_ms")
        add("retrieval p95 / baseline p95", "retrieval_p95_vs_baseline", "retrieval_p95_vs_baseline")
    if "ttft_p50_s" in r:
        add("time to first token p50 (s)", "ttft_p50_s", "ttft_p50_s")
        add("first streamed text shown p50 (s; answers that stream)", "first_shown_p50_s")
        add("answer p50 (s)", "answer_p50_s", "answer_p50_s")
        add("cold start to ready (s)", "cold_start_s", "cold_start_s")
        add("serving RSS after answering (MB)", "rss_mb", "rss_mb")
    return rows


def print_summary(r: dict) -> None:
    rows = summary_rows(r)
    w = max(len(x[0]) for x in rows) if rows else 10
    print(f"\nnewsrag bench, {r['date']}, {r['machine']['nproc']} cores, {r['machine']['cpu']}")
    for label, value, target, met in rows:
        print(f"  {label:<{w}}  {value:>16}  {target:>8}  {met}")


def write_plot(out: Path, r: dict) -> Path | None:
    retrieval = r.get("retrieval") or []
    if not retrieval:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [e["size"] for e in retrieval]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(sizes, [e["retrieval_p50_ms"] for e in retrieval], "o-", color="C0", label="newsrag hybrid p50")
    ax.plot(sizes, [e["retrieval_p95_ms"] for e in retrieval], "o--", color="C0", label="newsrag hybrid p95")
    ax.plot(sizes, [e["baseline_p50_ms"] for e in retrieval], "s-", color="C1", label="LangChain Chroma p50")
    ax.plot(sizes, [e["baseline_p95_ms"] for e in retrieval], "s--", color="C1", label="LangChain Chroma p95")
    ax.axhline(30, color="grey", lw=0.8, ls=":", label="target p95 (30 ms)")
    ax.set_xscale("log")
    ax.set_xlabel("index size (chunks)")
    ax.set_ylabel("latency per query (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Retrieval latency vs index size (k={K}, both embed the query)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "latency_vs_size.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_markdown(out: Path, r: dict) -> None:
    m = r["machine"]
    lines = [
        "# newsrag benchmark",
        "",
        f"Date: {r['date']}. Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, "
        f"Python {m['python']}, no GPU. Load average at start {r['loadavg_start']}, at end {r['loadavg_end']}. "
        f"Embedding model: {r.get('embedding_model', 'n/a')}; LLM: {r.get('llm_model', 'n/a')} "
        f"({r.get('llm_backend', 'n/a')}). Run took {r['run_s']:.0f} s.",
        "",
        "Each figure is measured in the same run as its reference (raw embedding throughput, the "
        "LangChain baseline on the same index, interleaved query by query), so the ratios hold on a "
        "noisy machine.",
        "",
        "| Figure | Value | Target | Met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(r)]
    if r.get("retrieval"):
        lines += [
            "",
            "## Retrieval at scale",
            "",
            f"{r['retrieval_queries']['n']} queries per size ({r['retrieval_queries']['gold_questions']} gold "
            "questions, the rest titles and first sentences of random articles; fixed seed), each asked of our "
            f"`HybridRetriever.search(q, k={K})` and of `langchain_chroma.Chroma(...).as_retriever(k={K})` on the "
            "same Chroma collection, alternating which goes first; the query-vector cache is cleared before "
            "every call, so both embed every query. Larger indexes repeat the ingested chunks under new ids "
            "(a hit on any copy counts for recall).",
            "",
            "| Chunks | Ours p50 | Ours p95 | Baseline p50 | Baseline p95 | Recall@5 ours | Recall@5 baseline "
            "| Embed q | Dense | BM25 | Fusion | Other |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in r["retrieval"]:
            s = e["stages_p50_ms"]
            lines.append(
                f"| {e['size']:,} | {_fmt(e['retrieval_p50_ms'])} | {_fmt(e['retrieval_p95_ms'])} | "
                f"{_fmt(e['baseline_p50_ms'])} | {_fmt(e['baseline_p95_ms'])} | {_fmt(e['recall_at_5'])} | "
                f"{_fmt(e['baseline_recall_at_5'])} | {_fmt(s.get('embed_query_ms'))} | {_fmt(s.get('dense_ms'))} | "
                f"{_fmt(s.get('lexical_ms'))} | {_fmt(s.get('fusion_ms'))} | {_fmt(s.get('other_ms'))} |"
            )
        lines += ["", "Latencies in ms; stage columns are per-stage medians of our retriever.", ""]
        lines += ["![retrieval latency vs index size](latency_vs_size.png)", ""]
    if r.get("answer_stages_p50_s"):
        lines += [
            "## Answers",
            "",
            f"{r['answer_questions']} questions of {r['answer_gold']} ({r['answer_answerable']} answerable) on the "
            f"seed corpus. Cold start: {r['cold_start_method']}.",
            "",
            "| Stage (median) | Seconds |",
            "|---|---|",
        ]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in r["answer_stages_p50_s"].items()]
        lines.append("")
    if r.get("errors"):
        lines += ["## Errors", "", *[f"- {e}" for e in r["errors"]], ""]
    (out / "bench.md").write_text("\n".join(lines), encoding="utf-8")


# --- main ----------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x.replace("_", "")) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes must be integers separated by commas: {text!r}") from exc
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (bench.json, bench.md, latency_vs_size.png)")
    p.add_argument("--sizes", type=_sizes, default=[2000, 20000, 100000], help="index sizes in chunks")
    p.add_argument("--queries", type=int, default=200, help="retrieval queries per size")
    p.add_argument("--answer-questions", type=int, default=10, help="questions for the answer latency")
    p.add_argument("--skip-answer", action="store_true", help="no LLM: skip the answer latency part")
    p.add_argument(
        "--parts",
        default="ingest,retrieval,answer",
        help="comma-separated parts to run: ingest, retrieval (needs ingest; runs it), answer",
    )
    p.add_argument("--corpus", type=Path, default=BBC, help=f"corpus to ingest and scale (default {BBC})")
    p.add_argument("--gold", type=Path, default=BBC_GOLD, help="gold set for retrieval recall@5")
    p.add_argument("--answer-corpus", type=Path, default=SEED_CORPUS, help="corpus the answers are asked of")
    p.add_argument("--answer-gold", type=Path, default=SEED_GOLD, help="gold set the questions come from")
    p.add_argument("--work-dir", type=Path, help="where the indexes go (default: a temp folder, removed)")
    p.add_argument("--seed", type=int, default=6, help="random seed of the queries and the article order")
    p.add_argument("--timeout", type=float, default=300.0, help="bound of every wait on a subprocess (s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if args.skip_answer:
        parts.discard("answer")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "parts": sorted(parts),
        "errors": [],
    }
    try:
        if parts & {"ingest", "retrieval"}:
            if not args.corpus.is_dir():
                print(f"error: corpus {args.corpus} does not exist", file=sys.stderr)
                return 2
            ingested = bench_ingest(args.corpus, work)
            results.update(ingested["figures"])
            if "retrieval" in parts:
                results.update(bench_retrieval(ingested, args.sizes, args.queries, args.gold, work, args.seed))
            del ingested
        if "answer" in parts:
            try:
                results.update(
                    bench_answers(
                        args.answer_corpus, args.answer_gold, args.answer_questions, work, args.seed, args.timeout
                    )
                )
            except Exception as exc:  # the other figures still get written
                results["errors"].append(f"answer part: {type(exc).__name__}: {exc}")
                log(f"answer part failed: {exc}")
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    results["loadavg_end"] = loadavg()
    results["run_s"] = round(time.perf_counter() - started, 1)
    assemble(results)
    plot = write_plot(out, results)
    results["plot"] = plot.name if plot else None
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    write_markdown(out, results)
    print_summary(results)
    print(f"\nwrote {out / 'bench.json'}, {out / 'bench.md'}" + (f", {plot}" if plot else ""))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
