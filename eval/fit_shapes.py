"""``python -m eval.fit_shapes RUN_DIR [RUN_DIR ...]``: fit ``sentence_min_subject``, the share
of a question's subject a sentence must hold to be quoted as the answer to a statement,
reason, list or yes/no question, and ``sentence_sure_probability``, the fitted answer model's
probability for the model's pick above which that share is not required.

The runs are eval runs of dev splits made with ``NEWSRAG_SENTENCE_MIN_SUBJECT=0`` (every
sentence the model gave that passes the subject check is kept, with its share recorded in
its features). For each threshold of the grid the answer is re-composed from the sentences
at or above it, and scored as a reader would: +1 for a right answer shown, -3 for a wrong
one shown (the stated cost: a wrong answer shown as checked costs three times a right one
withheld), 0 for one withheld, and 0 for a partial one (some of the item's key points, not
all: one item of a list, the first half of a statement; incomplete, not wrong). A yes/no
answer is read with its "Yes" / "No". The fit takes the threshold of the best total (the lowest on
ties: fewer right answers withheld).

Dev splits only. Writes eval/results/shapes.json (the threshold with the data it came from)
and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path

from eval.gold import GoldItem, contains_answer
from eval.scoring import answer_correct

GRID = [round(i * 0.05, 2) for i in range(21)]
SURE_GRID = [round(0.3 + i * 0.05, 2) for i in range(15)] + [1.01]
CHECKER_GRID = [round(0.2 + i * 0.1, 2) for i in range(8)] + [1.01]
WRONG_COST = 3.0
OUT = Path(__file__).parent / "results" / "shapes.json"


def _kept(result: dict, threshold: float, sure: float, checker: float = 1.01) -> list[dict]:
    """The sentences kept: those holding ``threshold`` of the subject, and the model's pick (the
    first, in a run of the reader's order) when the answer model gives it ``sure`` or the
    learned checker ``checker``."""
    shaped = [s for s in result.get("sentences", []) if s["supported"] and "subject_share" in s["features"]]
    first = shaped[0]["features"] if shaped else {}
    trusted = (
        shaped[:1]
        if shaped and (first.get("answer_model", 0.0) >= sure or first.get("checker", 0.0) >= checker)
        else []
    )
    return trusted + [s for s in shaped[len(trusted) :] if s["features"]["subject_share"] >= threshold]


def score(rows: list[dict], threshold: float, sure: float = 1.01, checker: float = 1.01) -> dict:
    """Right, wrong and withheld answers of the runs' items at ``threshold``, ``sure`` and ``checker``."""
    right = wrong = partial = withheld = 0
    for row in rows:
        kept = _kept(row, threshold, sure, checker)
        if not kept:
            withheld += bool(row["scores"]["answerable"])
            continue
        item = GoldItem(
            id=row["id"], question=row["question"], answers=row.get("gold_answers") or [], evidence=[],
            all_of=row.get("gold_all_of") or [], answerable=bool(row["scores"]["answerable"]),
        )  # fmt: skip
        text = " ".join([_lead(row, kept), *(s["text"] for s in kept)])
        if item.answerable and answer_correct(text, item):
            right += 1
        elif item.answerable and _partial(text, item):
            partial += 1
        else:
            wrong += 1
    return {"threshold": threshold, "sure": sure, "checker": checker, "right": right, "wrong": wrong,
            "partial": partial, "withheld": withheld, "utility": right - WRONG_COST * wrong}  # fmt: skip


def _lead(row: dict, kept: list[dict]) -> str:
    """The "Yes" / "No" shown before a yes/no answer's quote, as the reader sees it: the first
    kept sentence's (older runs: the answer's own, when that sentence leads the answer)."""
    first = kept[0]
    if "lead" in first:
        return first["lead"]
    lead = re.match(r"\*\*(Yes|No)\.\*\*", row.get("answer", ""))
    supported = [s for s in row.get("sentences", []) if s["supported"]]
    return lead.group(1) if lead and supported and supported[0] is first else ""


def _partial(text: str, item: GoldItem) -> bool:
    """An answer holding some of an item's key points but not all (one item of a list, the
    first half of a statement): incomplete, not wrong. It counts neither as a right answer
    nor as a wrong one shown as checked."""
    groups = item.all_of or []
    held = sum(any(contains_answer(text, alias) for alias in group) for group in groups)
    return len(groups) >= 2 and 0 < held < len(groups)


def sentence_rows(run_dirs: list[Path]) -> list[dict]:
    """The items of the runs that the sentence reader answered (a subject share recorded)."""
    rows = []
    for run in run_dirs:
        for line in (run / "items.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if any("subject_share" in s.get("features", {}) for s in row.get("sentences", [])):
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="eval output directories of dev runs")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = sentence_rows(args.runs)
    table = [score(rows, t, sure, c) for c in CHECKER_GRID for sure in SURE_GRID for t in GRID]
    # the best utility; on ties the fewest right answers withheld, the lowest share, the highest bars
    best = max(table, key=lambda r: (r["utility"], -r["withheld"], -r["threshold"], r["sure"], r["checker"]))
    print("threshold sure checker right wrong partial withheld utility")
    for r in table:
        if (r["sure"], r["checker"]) in ((best["sure"], best["checker"]), (1.01, 1.01)) or (
            r["threshold"] == best["threshold"] and (r["sure"] == best["sure"] or r["checker"] == best["checker"])
        ):
            print(f"{r['threshold']:9.2f} {r['sure']:4.2f} {r['checker']:7.2f} {r['right']:5d} {r['wrong']:5d} "
                  f"{r['partial']:7d} {r['withheld']:8d} {r['utility']:7.1f}")  # fmt: skip
    print(f"chosen: sentence_min_subject {best['threshold']}, sentence_sure_probability {best['sure']}, "
          f"sentence_checker_probability {best['checker']}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"sentence_min_subject": best["threshold"], "sentence_sure_probability": best["sure"],
              "sentence_checker_probability": best["checker"],
              "wrong_cost": WRONG_COST, "items": len(rows),
              "runs": [str(r) for r in args.runs], "date": dt.date.today().isoformat()}  # fmt: skip
    args.out.write_text(_dump(record, table), encoding="utf-8")


def _dump(record: dict, table: list[dict]) -> str:
    """The record, then the table as one row of values per line (thousands of rows stay readable)."""
    columns = list(table[0]) if table else []
    head = json.dumps({**record, "table_columns": columns}, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps([r[c] for c in columns]) for r in table)
    return f'{head},\n "table": [\n  {rows}\n ]\n}}\n'


if __name__ == "__main__":
    main()
