"""Part 1 of the benchmark: a full ingest timed against the raw embedding throughput of the
same model on the same batches (``ingest_efficiency``), then re-ingests of the unchanged
corpus (``reingest_share``)."""

from __future__ import annotations

import time
from pathlib import Path

from eval.bench.base import loadavg, log, make_settings, ratio, rounded


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
            "embedder_load_s": rounded(model_load_s, 2),
            "docs": report.docs_seen,
            "docs_added": report.docs_added,
            "chunks": report.chunks_total,
            "chunks_added": report.chunks_added,
            "failures": len(report.failures),
            "failure_list": [{"source": s, "reason": r} for s, r in report.failures],
            "warnings": len(report.warnings),
            "warning_list": report.warnings,
            "ingest_s": rounded(ingest_s, 2),
            "ingest_embed_phase_s": rounded(report.embed_seconds - raw.seconds, 2),
            "ingest_chunks_per_s": rounded(ingest_cps, 2),
            "raw_encode_method": "interleaved: every ingest batch encoded again, alternately before and after",
            "raw_encode_texts": len(raw.texts),
            "raw_encode_batches": raw.batches,
            "raw_texts_match_index": texts_match,
            "raw_encode_s": rounded(raw.seconds, 2),
            "raw_encode_chunks_per_s": rounded(raw_cps, 2),
            "ingest_efficiency": rounded(ratio(ingest_cps, raw_cps), 4),
            "reingest_s": rounded(again.seconds, 3),
            "reingest_runs_s": [rounded(a.seconds, 3) for a in agains],
            "reingest_share": rounded(ratio(again.seconds, ingest_s), 4),
            "reingest_chunks_added": again.chunks_added,
            "reingest_docs_unchanged": again.docs_unchanged,
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
        },
    }
