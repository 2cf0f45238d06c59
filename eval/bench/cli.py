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
4. ttft: the same questions in this process, each reader request sent again to the same
   llama.cpp model directly -> ``ttft_vs_raw`` (our time to first token over llama.cpp's
   own for the same prompt) and the prompts' token counts (eval/bench/ttft.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from eval.bench.answers import bench_answers, pick_questions
from eval.bench.base import loadavg, log, machine_info, make_settings
from eval.bench.ingest import bench_ingest
from eval.bench.report import assemble, print_summary, write_markdown, write_plot
from eval.bench.retrieval import bench_retrieval
from eval.bench.ttft import bench_ttft
from eval.common import BBC, BBC_GOLD, SEED_CORPUS, SEED_GOLD


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
        default="ingest,retrieval,answer,ttft",
        help="comma-separated parts to run: ingest, retrieval (needs ingest; runs it), answer, ttft",
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
        parts -= {"answer", "ttft"}
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
        if "ttft" in parts:
            try:
                questions = [i.question for i in pick_questions(args.answer_gold, args.answer_questions, args.seed)]
                index_dir = work / "seed-index"
                if not index_dir.is_dir():
                    from app.services.ingest import ingest

                    ingest(make_settings(args.answer_corpus, index_dir), args.answer_corpus, progress=False)
                results.update(bench_ttft(args.answer_corpus, index_dir, questions))
            except Exception as exc:
                results["errors"].append(f"ttft part: {type(exc).__name__}: {exc}")
                log(f"ttft part failed: {exc}")
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
