"""The benchmark's report: the top-level figures and their targets, the summary table,
bench.md and the latency-vs-size plot."""

from __future__ import annotations

from pathlib import Path

from eval.bench.base import K, ratio, rounded

# (key, label, target, kind): kind "min" means value >= target, "max" value <= target.
TARGETS = [
    ("ingest_efficiency", "ingest / raw embedding throughput", 0.85, "min"),
    ("reingest_share", "re-ingest (unchanged) / first ingest time", 0.05, "max"),
    ("retrieval_p95_ms", "retrieval p95 at 100k chunks (ms)", 30.0, "max"),
    ("retrieval_p95_vs_baseline", "retrieval p95 / LangChain baseline p95 (100k chunks)", 1.3, "max"),
    ("ttft_p50_s", "time to first token p50 (s)", 2.0, "max"),
    ("ttft_vs_raw", "time to first token p50 / llama.cpp's own p50, same prompts", 1.15, "max"),
    ("answer_p50_s", "answer time p50 (s)", 6.0, "max"),
    ("followup_first_text_p50_s", "follow-up (second turn): time to first text p50 (s)", 10.0, "max"),
    ("standalone_rewrites", "standalone questions sent to the rewrite", 0, "max"),
    ("cold_start_s", "cold start to ready (s)", 20.0, "max"),
    ("rss_mb", "serving process RSS after answering (MB)", 3000.0, "max"),
]


TARGET_SIZE = 100_000  # the retrieval targets hold at this index size; larger sizes are the scale rows


def target_entry(retrieval: list[dict]) -> dict:
    """The retrieval entry the targets are read at: the one nearest 100k chunks."""
    return min(retrieval, key=lambda e: (abs(e.get("target_size", e["size"]) - TARGET_SIZE), -e["size"]))


def assemble(results: dict) -> dict:
    """Top-level figures: the retrieval size nearest the targets' 100k chunks and the
    ``stages`` summary."""
    retrieval = results.get("retrieval") or []
    if retrieval:
        top = target_entry(retrieval)
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
        results["retrieval_p95_vs_baseline"] = rounded(ratio(top["retrieval_p95_ms"], top["baseline_p95_ms"]), 3)
        results["retrieval_p50_vs_baseline"] = rounded(ratio(top["retrieval_p50_ms"], top["baseline_p50_ms"]), 3)
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
    if results.get("prompt_tokens_p50") is not None:
        results["prompt_tokens_text"] = f"{results['prompt_tokens_p50']:.0f} / {results['prompt_tokens_max']}"
    if "followup_questions" in results:
        results["followup_first_text_text"] = (
            f"{_fmt(results['followup_first_text_p50_s'])} / {_fmt(results['followup_first_text_max_s'])}"
        )
        results["followup_rewrites_text"] = f"{results['followup_rewrites']} / {results['followup_leaning']}"
        results["standalone_rewrites_text"] = f"{results['standalone_rewrites']} / {results['standalone_questions']}"
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
        if e.get("rss_mb") is not None:
            rows.append((f"RSS (MB); chunks written/s at {n} chunks",
                         f"{_fmt(e['rss_mb'])}; {_fmt(e.get('write_chunks_per_s'))}", "", ""))  # fmt: skip
    if r.get("retrieval"):
        add(f"retrieval p95 at {r['retrieval_size']:,} chunks (ms)", "retrieval_p95_ms", "retrieval_p95_ms")
        add("retrieval p95 / baseline p95", "retrieval_p95_vs_baseline", "retrieval_p95_vs_baseline")
    if "ttft_p50_s" in r:
        add("time to first token p50 (s)", "ttft_p50_s", "ttft_p50_s")
        add("first streamed text shown p50 (s; answers that stream)", "first_shown_p50_s")
        add("answer p50 (s)", "answer_p50_s", "answer_p50_s")
        add("cold start to ready (s)", "cold_start_s", "cold_start_s")
        add("serving RSS after answering (MB)", "rss_mb", "rss_mb")
    if "followup_questions" in r:
        add("follow-up: time to first text p50 (s)", "followup_first_text_p50_s", "followup_first_text_p50_s")
        add("follow-up: time to first text p50 / max (s)", "followup_first_text_text")
        add("follow-ups rewritten / leaning on the conversation", "followup_rewrites_text")
        add("standalone questions rewritten / asked", "standalone_rewrites_text", "standalone_rewrites")
    if "ttft_vs_raw" in r:
        add("ours: time to first token p50, in-process (s)", "ttft_ours_p50_s")
        add("llama.cpp: time to first token p50, same prompts (s)", "ttft_raw_p50_s")
        add("time to first token / llama.cpp's own", "ttft_vs_raw", "ttft_vs_raw")
        add("prompt tokens p50 / max", "prompt_tokens_text")
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
            "| Embed q | Dense | BM25 | Fusion | Other | Written/s | Retriever load (s) | RSS (MB) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in r["retrieval"]:
            s = e["stages_p50_ms"]
            lines.append(
                f"| {e['size']:,} | {_fmt(e['retrieval_p50_ms'])} | {_fmt(e['retrieval_p95_ms'])} | "
                f"{_fmt(e['baseline_p50_ms'])} | {_fmt(e['baseline_p95_ms'])} | {_fmt(e['recall_at_5'])} | "
                f"{_fmt(e['baseline_recall_at_5'])} | {_fmt(s.get('embed_query_ms'))} | {_fmt(s.get('dense_ms'))} | "
                f"{_fmt(s.get('lexical_ms'))} | {_fmt(s.get('fusion_ms'))} | {_fmt(s.get('other_ms'))} | "
                f"{_fmt(e.get('write_chunks_per_s'))} | {_fmt(e.get('retriever_load_s'))} | {_fmt(e.get('rss_mb'))} |"
            )
        lines += [
            "",
            "Latencies in ms; stage columns are per-stage medians of our retriever. Written/s: "
            "pre-embedded chunks added to Chroma per second while growing to that size; RSS: this "
            "process (embedded Chroma, our retriever, the embedding model).",
            "",
        ]
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
