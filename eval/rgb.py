"""The RGB benchmark (Chen et al. 2023, en_fact.json) as a newsrag corpus and gold set.

Every item's passages become articles of one JSONL file whose outlet is the item's
own label, so each question is asked over exactly its own passages (RGB's protocol,
through newsrag's outlet filter). The answer run indexes positives and negatives;
the negative-rejection run indexes negatives only and scores abstention.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.gold import GoldItem


def _title(passage: str) -> str:
    words = passage.split()
    return " ".join(words[:10]) + ("..." if len(words) > 10 else "")


def load_rgb(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def outlet_of(item_id: str) -> str:
    return f"RGB item {item_id}"


def write_corpus(raw: list[dict], corpus_dir: Path, with_positives: bool) -> None:
    """One JSONL file per RGB item under corpus_dir (rewritten only when it changes)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for item in raw:
        lines = []
        passages = (item["positive"] if with_positives else []) + item["negative"]
        kinds = (["p"] * len(item["positive"]) if with_positives else []) + ["n"] * len(item["negative"])
        counts = {"p": 0, "n": 0}
        for kind, passage in zip(kinds, passages, strict=True):
            counts[kind] += 1
            lines.append(
                json.dumps(
                    {
                        "id": f"{kind}{counts[kind]}",
                        "title": _title(passage),
                        "outlet": outlet_of(str(item["id"])),
                        "text": passage,
                    },
                    ensure_ascii=False,
                )
            )
        target = corpus_dir / f"{int(item['id']):03d}.jsonl"
        content = "\n".join(lines) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            target.write_text(content, encoding="utf-8")


def gold_items(raw: list[dict], with_positives: bool) -> list[GoldItem]:
    """RGB answers: a string, or a list whose elements (strings or alias lists) must all appear."""
    items = []
    for item in raw:
        answer = item["answer"]
        groups = [[a] if isinstance(a, str) else list(a) for a in (answer if isinstance(answer, list) else [answer])]
        items.append(
            GoldItem(
                id=f"rgb{item['id']}",
                question=item["query"],
                answers=[alias for group in groups for alias in group] if with_positives else [],
                evidence=list(item["positive"]) if with_positives else [],
                answerable=with_positives,
                category="rgb" if with_positives else "rgb_negative_rejection",
                all_of=groups if with_positives else [],
                outlet=outlet_of(str(item["id"])),
                rule="rgb",
            )
        )
    return items


def rgb_correct(answer: str, groups: list[list[str]]) -> bool:
    """RGB's own rule (checkanswer in its evalue.py): every group has an alias that is a
    lowercase substring of the answer."""
    text = answer.lower()
    return all(any(alias.lower() in text for alias in group) for group in groups)
