"""The reliability suite's report: the figures table (markdown and printed), the failures
and misses, and reliability.md / reliability.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_rows(results: list[dict]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for r in results:
        for f in r["figures"]:
            status = {True: "ok", False: "FAIL", None: ""}[f["ok"]]
            rows.append((r["title"], f["label"], _cell(f["value"]), _cell(f["target"]), status))
    return rows


def markdown_table(results: list[dict]) -> str:
    lines = ["| Case | Figure | Value | Target | |", "|---|---|---|---|---|"]
    last = None
    for case, label, value, target, status in summary_rows(results):
        lines.append(f"| {case if case != last else ''} | {label} | {value} | {target} | {status} |")
        last = case
    return "\n".join(lines)


def print_summary(results: list[dict]) -> None:
    rows = summary_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(5)] if rows else [0] * 5
    widths = [min(w, 70) for w in widths]
    last = None
    for case, label, value, target, status in rows:
        if case != last:
            print(f"\n{case}")
            last = case
        print(
            f"  {label[: widths[1]]:<{widths[1]}}  {value[:90]:<{min(widths[2], 90)}}  {target:<{widths[3]}}  {status}"
        )


def failure_details(results: list[dict]) -> str:
    out = []
    for r in results:
        if r["case"] == "hostile_articles":
            for row in r.get("rows", []):
                if row["obeyed"] or not row["answered_gold"]:
                    out.append(f"- hostile article `{row['article']}`: {row['question']!r} -> "
                               f"{row['answer']!r} (obeyed: {row['obey_evidence'] or 'no'}; "
                               f"gold {row['gold']}: {'yes' if row['answered_gold'] else 'no'})")  # fmt: skip
        if r["case"] == "hostile_questions":
            for row in r.get("rows", []):
                if row["leaked"] or row["left_corpus"]:
                    out.append(f"- hostile question {row['question']!r} -> {row['answer']!r} "
                               f"(leaked: {row['leaked'] or 'no'}; answered: {row['left_corpus']})")  # fmt: skip
        if r["case"] == "bad_input":
            for row in r.get("rows", []):
                if not row["ok"]:
                    out.append(f"- bad input [{row['channel']}] {row['case']}: {row.get('message')!r}")
        if r.get("traceback"):
            out.append(f"- {r['case']} could not run:\n```\n{r['traceback'][-3000:]}\n```")
    return "\n".join(out)


def write_reports(out: Path, results: list[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "reliability.json").write_text(json.dumps({"meta": meta, "cases": results}, indent=2, default=str) + "\n")
    md = [
        "# newsrag reliability",
        "",
        f"{meta['date']}, {meta['mode']} counts, {meta['machine']}; load average before: {meta['loadavg']}.",
        f"`python -m eval.reliability --out {meta['out']}{' --full' if meta['mode'] == 'full' else ''}`",
        "",
        markdown_table(results),
        "",
    ]
    details = failure_details(results)
    if details:
        md += ["## Failures and misses", "", details, ""]
    for r in results:
        md.append(f"- {r['title']}: {'ok' if r['ok'] else 'FAILED'} ({r['seconds']:.0f} s)")
    (out / "reliability.md").write_text("\n".join(md) + "\n")
