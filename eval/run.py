"""``python -m eval``: ask every gold question through the app's own chain and score.

    python -m eval --gold eval/gold/seed.jsonl --corpus corpus --out eval/runs/seed
    python -m eval --format rgb --gold ../shared/benchmarks/rgb/en_fact.json --out eval/runs/rgb

Writes OUT/items.jsonl (question, answer, citations, retrieved, scores, timings),
OUT/report.json, OUT/report.md and OUT/scores.png; prints a short table.
``--min-accuracy X`` exits 1 when answer accuracy falls below X (for CI).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from app.config import Settings
from app.domain import Filters
from app.errors import NewsragError
from app.services.ingest import ingest
from eval.gold import GoldItem, load_gold
from eval.report import print_table, write_markdown, write_plot
from eval.scoring import aggregate, score_item


def run_items(service, items: list[GoldItem], out_dir: Path, progress: bool = True) -> dict:
    """Answer and score every item; write items.jsonl; return the report dict."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scores, timings = [], []
    with open(out_dir / "items.jsonl", "w", encoding="utf-8") as fh:
        for i, item in enumerate(items, start=1):
            filters = Filters(outlets=(item.outlet,)) if item.outlet else None
            try:
                result = service.ask(item.question, filters=filters).as_dict()
            except NewsragError as exc:  # a refused question is an answer too: it says what is wrong
                result = {"answer": str(exc), "abstained": True, "citations": [], "retrieved": [], "timings": {},
                          "error": str(exc)}  # fmt: skip
            item_scores = score_item(item, result)
            scores.append(item_scores)
            timings.append(result.get("timings", {}))
            record = {
                "id": item.id,
                "category": item.category,
                "question": item.question,
                "gold_answers": item.answers,
                "gold_all_of": item.all_of,
                "gold_rule": item.rule,
                **{k: result.get(k) for k in ("answer", "outcome", "abstained", "citations", "retrieved", "timings")},
                "standalone_question": result.get("standalone_question"),
                "draft": result.get("draft"),
                "context": result.get("context"),
                "unsupported": result.get("unsupported"),
                "sentences": result.get("sentences"),
                "closest": result.get("closest"),
                "scores": item_scores,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            if progress:
                mark = "ok " if (item_scores["correct"] or item_scores["abstention_correct"]) else "BAD"
                print(f"[{i}/{len(items)}] {mark} {item.id}: {result.get('answer', '')[:90]}", file=sys.stderr)
    return aggregate(items, scores, timings)


def _service(settings: Settings, llm_cache: str | None = None):
    from app.wiring import build_answer_service

    if not llm_cache:
        return build_answer_service(settings)
    from app.llm.backends import make_chat_model
    from eval.llm_cache import CachedChatModel

    return build_answer_service(settings, llm=CachedChatModel(inner=make_chat_model(settings), path=llm_cache))


def _select(items: list, spec: str | None, limit: int | None) -> list:
    """Items whose position is in ``spec`` ("0-49", "50-99", "3,7,9-12"), then the first ``limit``."""
    if spec:
        wanted: set[int] = set()
        for part in spec.split(","):
            low, _, high = part.partition("-")
            wanted.update(range(int(low), int(high or low) + 1))
        items = [item for i, item in enumerate(items) if i in wanted]
    return items[:limit]


def _write_reports(out: Path, report: dict, title: str) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(out, report, title)
    write_plot(out, report)
    print_table(report, title)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", required=True, help="gold JSONL file (or RGB en_fact.json with --format rgb)")
    parser.add_argument("--corpus", help="corpus folder to index (not used with --format rgb)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--index-dir", help="index folder to build or reuse (default: OUT/index)")
    parser.add_argument("--format", choices=["gold", "rgb"], default="gold")
    parser.add_argument("--min-accuracy", type=float, help="exit 1 if answer accuracy is below this")
    parser.add_argument("--limit", type=int, help="only the first N items (smoke runs)")
    parser.add_argument("--range", help="only the items at these positions, e.g. 0-49 (RGB dev) or 50-99 (RGB test)")
    parser.add_argument("--llm-cache", help="SQLite file caching the model's replies (tuning reruns; not for latency)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-item lines")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        if args.format == "rgb":
            report = _run_rgb(args, out)
        else:
            if not args.corpus:
                parser.error("--corpus is required for gold JSONL runs")
            settings = Settings(corpus_dir=Path(args.corpus), index_dir=Path(args.index_dir or out / "index"))
            ingest_report = ingest(settings, settings.corpus_dir, progress=not args.quiet)
            items = _select(load_gold(Path(args.gold)), args.range, args.limit)
            report = run_items(_service(settings, args.llm_cache), items, out, progress=not args.quiet)
            report.update(_run_info(settings, args, ingest_report, started))
            _write_reports(out, report, f"{Path(args.gold).name} on {args.corpus}")
    except (NewsragError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    accuracy = report.get("answer_accuracy") or 0.0
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        print(f"FAIL: answer accuracy {accuracy:.3f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


def _run_info(settings: Settings, args, ingest_report, started: float) -> dict:
    return {
        "gold": str(args.gold),
        "corpus": str(args.corpus),
        "llm_backend": settings.llm_backend,
        "llm_model": settings.llm_model,
        "retrieval_mode": settings.retrieval_mode,
        "context_tokens": settings.context_tokens,
        "index_chunks": ingest_report.chunks_total,
        "range": args.range,
        "llm_cache": bool(args.llm_cache),
        "run_seconds": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%d"),
    }


def _run_rgb(args, out: Path) -> dict:
    from eval.rgb import gold_items, load_rgb, write_corpus

    everything = load_rgb(Path(args.gold))
    raw = _select(everything, args.range, args.limit)
    reports = {}
    for name, with_positives in (("answer", True), ("negative_rejection", False)):
        run_dir = out / name
        corpus = run_dir / "corpus"
        write_corpus(everything, corpus, with_positives)  # every item's passages: one corpus whatever --range
        settings = Settings(
            corpus_dir=corpus,
            index_dir=Path(args.index_dir or out) / f"index-{name}",
            default_outlet="RGB",
        )
        ingest_report = ingest(settings, corpus, progress=not args.quiet)
        items = gold_items(raw, with_positives)
        report = run_items(_service(settings, args.llm_cache), items, run_dir, progress=not args.quiet)
        report.update(_run_info(settings, args, ingest_report, time.time()))
        _write_reports(run_dir, report, f"RGB en_fact, {name.replace('_', ' ')} run")
        reports[name] = report
    combined = {**reports["answer"], "negative_rejection": reports["negative_rejection"]}
    (out / "report.json").write_text(json.dumps(combined, indent=2) + "\n")
    return combined
