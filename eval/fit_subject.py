"""``python -m eval.fit_subject``: fit ``closest_min_coverage``, the share of a question's
subject (its nouns, names and numbers, IDF-weighted) a retrieved sentence must hold for the
question to count as one the articles speak of.

Below it, an unverified question is told "the articles don't say"; at or above it, "I
couldn't write a checked answer" with the closest passages. Saying "don't say" of a
question the articles answer is the error users must not meet, so the fit takes the
largest threshold that leaves at most ``--max-false-absent`` of the answerable dev items
below it. Retrieval and context only: no generation, so it runs in minutes.

    python -m eval.fit_subject --split seed=eval/gold/seed.jsonl:corpus \\
        --split bbc_dev=eval/gold/bbc_dev.jsonl:../shared/benchmarks/bbc

Dev splits only. Writes eval/results/subject.json (the threshold with the data it came
from) and eval/results/subject.md.

With ``--answers`` it also answers (with the LLM, no early exit) the dev items below the
fitted threshold: what saying "don't say" before generation (``absent_before_generation``)
would cost (answerable items now answered right) and gain (unanswerable items now answered,
wrongly; seconds of generation saved).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from app.config import Settings
from app.domain import Filters
from app.services.ingest import ingest
from eval.gold import load_gold

GRID = [round(i * 0.05, 2) for i in range(21)]


def _filters(item) -> Filters | None:
    return Filters(outlets=(item.outlet,)) if item.outlet else None


def coverages(items: list, corpus: Path, index_dir: Path) -> tuple[list[dict], object]:
    """Each item's answerability and its best subject coverage; the answer service."""
    from app.wiring import build_answer_service

    settings = Settings(corpus_dir=corpus, index_dir=index_dir, absent_before_generation=False)
    ingest(settings, corpus, progress=False)
    service = build_answer_service(settings)
    out = []
    for item in items:
        share = service.subject_coverage(item.question, _filters(item))
        out.append({"id": item.id, "answerable": item.answerable, "coverage": round(share, 4)})
    return out, service


def answers_below(rows: list[dict], threshold: float, services: dict, golds: dict) -> dict:
    """The items below ``threshold`` answered in full: what an exit before generation changes."""
    from eval.scoring import answer_correct

    below = []
    for r in rows:
        if r["coverage"] >= threshold:
            continue
        item = golds[r["split"]][r["id"]]
        answer = services[r["split"]].ask(item.question, filters=_filters(item))
        right = item.answerable and not answer.abstained and answer_correct(answer.short or answer.answer, item)
        below.append({"id": r["id"], "split": r["split"], "answerable": item.answerable, "outcome": answer.outcome,
                      "right": bool(right), "seconds": round(answer.timings.get("total_s", 0.0), 2)})  # fmt: skip
    answerable = [b for b in below if b["answerable"]]
    unanswerable = [b for b in below if not b["answerable"]]
    return {
        "below": len(below),
        "answerable_below": len(answerable),
        "answerable_right_now": sum(b["right"] for b in answerable),
        "unanswerable_below": len(unanswerable),
        "unanswerable_answered_now": sum(b["outcome"] == "answered" for b in unanswerable),
        "seconds_per_question_now": round(sum(b["seconds"] for b in below) / len(below), 2) if below else None,
        "items": below,
    }


def fit(rows: list[dict], max_false_absent: float) -> dict:
    """The largest grid threshold with at most ``max_false_absent`` of answerable rows below it."""
    answerable = [r["coverage"] for r in rows if r["answerable"]]
    unanswerable = [r["coverage"] for r in rows if not r["answerable"]]
    curve = []
    for t in GRID:
        false_absent = sum(c < t for c in answerable) / len(answerable) if answerable else 0.0
        absent_unans = sum(c < t for c in unanswerable) / len(unanswerable) if unanswerable else 0.0
        curve.append(
            {"threshold": t, "false_absent": round(false_absent, 4), "absent_on_unanswerable": round(absent_unans, 4)}
        )
    admissible = [p for p in curve if p["false_absent"] <= max_false_absent]
    best = max(admissible, key=lambda p: p["threshold"]) if admissible else curve[0]
    return {"threshold": best["threshold"], "at_threshold": best, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit_subject", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", action="append", required=True, help="NAME=GOLD.jsonl:CORPUS_DIR (dev splits only)")
    parser.add_argument("--max-false-absent", type=float, default=0.05)
    parser.add_argument("--runs", default="eval/runs/subject", help="where the indexes are built")
    parser.add_argument("--out", default="eval/results/subject")
    parser.add_argument("--answers", action="store_true", help="answer the items below the threshold (LLM)")
    args = parser.parse_args(argv)
    rows, per_split, services, golds = [], {}, {}, {}
    for spec in args.split:
        name, _, rest = spec.partition("=")
        gold, _, corpus = rest.partition(":")
        if "test" in gold or "heldout" in gold:
            parser.error(f"{gold}: fit on dev splits only")
        items = load_gold(Path(gold))
        golds[name] = {item.id: item for item in items}
        split_rows, services[name] = coverages(items, Path(corpus), Path(args.runs) / name / "index")
        per_split[name] = {"gold": gold, "corpus": corpus, "n": len(split_rows),
                           **fit(split_rows, args.max_false_absent)["at_threshold"]}  # fmt: skip
        rows += [{**r, "split": name} for r in split_rows]
    result = fit(rows, args.max_false_absent)
    result.update(
        date=dt.date.today().isoformat(), max_false_absent=args.max_false_absent, splits=per_split, items=rows
    )
    if args.answers:
        result["exit_before_generation"] = answers_below(rows, result["threshold"], services, golds)
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(_markdown(result))
    print(f"closest_min_coverage = {result['threshold']} ({result['at_threshold']})")
    return 0


def _markdown(result: dict) -> str:
    lines = [
        f'# Subject coverage: when "the articles don\'t say" ({result["date"]})',
        "",
        "Fitted by `python -m eval.fit_subject` on the dev splits (retrieval and context only).",
        f"Threshold: **{result['threshold']}**, the largest with at most {result['max_false_absent']:.0%} of the "
        "answerable dev items below it.",
        "",
        '| Split | items | "don\'t say" on answerable (at its own fit) | on unanswerable | its own threshold |',
        "|---|---|---|---|---|",
    ]
    for name, s in result["splits"].items():
        lines.append(
            f"| {name} | {s['n']} | {s['false_absent']:.3f} | {s['absent_on_unanswerable']:.3f} | {s['threshold']} |"
        )
    lines += ["", '| threshold | "don\'t say" on answerable | on unanswerable |', "|---|---|---|"]
    lines += [
        f"| {p['threshold']} | {p['false_absent']:.3f} | {p['absent_on_unanswerable']:.3f} |" for p in result["curve"]
    ]
    exit_ = result.get("exit_before_generation")
    if exit_:
        lines += [
            "",
            '## Saying "don\'t say" before generation (`absent_before_generation`)',
            "",
            f"The {exit_['below']} dev items below the threshold, answered in full today (no early exit):",
            "",
            f"- answerable: {exit_['answerable_below']}, of which answered right now: "
            f"**{exit_['answerable_right_now']}** (what the exit would lose)",
            f"- unanswerable: {exit_['unanswerable_below']}, of which answered now (wrongly): "
            f"**{exit_['unanswerable_answered_now']}** (what the exit would mend)",
            f"- seconds per question now: {exit_['seconds_per_question_now']} (the exit answers after retrieval)",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
