"""Human-readable views of a run: a terminal table, report.md and scores.png."""

from __future__ import annotations

import json
from pathlib import Path

HEADLINE = [
    ("answer_accuracy", "answer accuracy"),
    ("abstention_accuracy", "abstention accuracy"),
    ("false_abstention_rate", "false abstention rate"),
    ("false_absent_rate", '"don\'t say" on answerable'),
    ("absent_on_unanswerable", '"don\'t say" on unanswerable'),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("retrieval_recall_at_5", "retrieval recall@5"),
    ("latency_p50_s", "latency p50 (s)"),
    ("latency_p95_s", "latency p95 (s)"),
    ("ttft_p50_s", "time to first token p50 (s)"),
]


def outcomes_line(report: dict, which: str) -> str:
    """ "answered 30, unverified 5, absent 2" for one side of the gold set ("n/a" for old reports)."""
    counts = report.get(f"outcomes_{which}")
    return ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "n/a"


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(report: dict, title: str) -> None:
    print(f"\n{title}: {report['n']} items ({report['n_answerable']} answerable, {report['n_unanswerable']} not)")
    for key, label in HEADLINE:
        print(f"  {label:<30} {_fmt(report.get(key))}")
        if key == "abstention_accuracy":
            print(f"  {'outcomes, answerable':<30} {outcomes_line(report, 'answerable')}")
            print(f"  {'outcomes, unanswerable':<30} {outcomes_line(report, 'unanswerable')}")


def write_markdown(out: Path, report: dict, title: str) -> None:
    lines = [f"# {title}", "", f"{report['n']} items: {report['n_answerable']} answerable, "
             f"{report['n_unanswerable']} unanswerable. Model: {report.get('llm_model', '?')} "
             f"({report.get('llm_backend', '?')}); date {report.get('date', '?')}.", "",
             "| Metric | Value |", "|---|---|"]  # fmt: skip
    for key, label in HEADLINE:
        lines.append(f"| {label} | {_fmt(report.get(key))} |")
        if key == "abstention_accuracy":
            lines.append(f"| outcomes on answerable items | {outcomes_line(report, 'answerable')} |")
            lines.append(f"| outcomes on unanswerable items | {outcomes_line(report, 'unanswerable')} |")
    lines += ["", "## By category", "", "| Category | Score |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in report.get("accuracy_by_category", {}).items()]
    lines += ["", "Answerable categories score answer accuracy; unanswerable ones score abstention.", ""]
    failures = []
    items_path = out / "items.jsonl"
    if items_path.exists():
        for line in items_path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            s = rec["scores"]
            if not (s["correct"] or s["abstention_correct"]):
                gold = ", ".join(rec["gold_answers"]) or "(abstain)"
                failures.append(
                    f"- **{rec['id']}** ({rec['category']}): {rec['question']}  \n"
                    f"  answer: {rec['answer'][:300]}  \n  gold: {gold}"
                )
    lines += ["## Misses", "", *(failures or ["none"]), ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def write_plot(out: Path, report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latencies = []
    items_path = out / "items.jsonl"
    if items_path.exists():
        for line in items_path.read_text(encoding="utf-8").splitlines():
            total = (json.loads(line).get("timings") or {}).get("total_s")
            if total is not None:
                latencies.append(total)
    cats = report.get("accuracy_by_category", {})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(cats)
    ax1.barh(names, [cats[n] or 0 for n in names], color="#3b6ea5")
    ax1.set_xlim(0, 1)
    ax1.set_title("Score by category")
    ax1.invert_yaxis()
    ax2.hist(latencies, bins=20, color="#a55b3b")
    ax2.set_title("Answer latency (s)")
    ax2.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=100)
    plt.close(fig)
