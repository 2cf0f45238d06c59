"""``python -m eval.rescore RUN --gold GOLD``: score a finished run again with the current
scorer (after a scorer change), without asking the model anything.

Reads RUN/items.jsonl, writes RUN/report.json and report.md afresh. ``--range`` keeps
only the items at those positions of the gold file (RGB dev 0-49, test 50-99).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.gold import load_gold
from eval.report import print_table, write_markdown
from eval.scoring import aggregate, score_item


def rescore(run: Path, gold_items: list, keep: set[str] | None = None) -> dict:
    by_id = {item.id: item for item in gold_items}
    records = [json.loads(line) for line in (run / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [r for r in records if r["id"] in by_id and (keep is None or r["id"] in keep)]
    items = [by_id[r["id"]] for r in records]
    scores = [score_item(item, r) for item, r in zip(items, records, strict=True)]
    return aggregate(items, scores, [r.get("timings") or {} for r in records])


def _gold(path: Path, rgb: bool, answerable: bool):
    if not rgb:
        return load_gold(path)
    from eval.rgb import gold_items, load_rgb

    return gold_items(load_rgb(path), answerable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run folder holding items.jsonl")
    parser.add_argument("--gold", required=True)
    parser.add_argument("--format", choices=["gold", "rgb-answer", "rgb-negative"], default="gold")
    parser.add_argument("--range", help="only the gold items at these positions, e.g. 50-99")
    parser.add_argument("--out", help="write report.json here instead of into RUN")
    args = parser.parse_args(argv)
    items = _gold(Path(args.gold), args.format != "gold", args.format == "rgb-answer")
    if args.range:
        from eval.run import _select

        items = _select(items, args.range, None)
    report = rescore(Path(args.run), items)
    out = Path(args.out or args.run)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if out == Path(args.run):
        write_markdown(out, report, f"{Path(args.gold).name} (rescored)")
    print_table(report, f"{args.run} rescored")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
