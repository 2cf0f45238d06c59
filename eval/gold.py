"""Gold Q&A items: loading, validation and the whole-word containment the scores use
(after the normalisation of eval/common.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.common import normalise


@dataclass
class GoldItem:
    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    answerable: bool
    category: str = "uncategorised"
    doc_ids: list[str] = field(default_factory=list)
    all_of: list[list[str]] = field(default_factory=list)  # every group must be matched (one alias of each)
    outlet: str | None = None  # RGB: ask over this outlet's passages only
    rule: str = "alias"  # "alias": contains_answer; "rgb": RGB's own substring rule


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold JSONL file; a malformed line is an error naming its line."""
    items = []
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            item = GoldItem(
                id=str(obj["id"]),
                question=str(obj["question"]),
                answers=[str(a) for a in obj.get("answers", [])],
                evidence=[str(e) for e in obj.get("evidence", [])],
                answerable=bool(obj["answerable"]),
                category=str(obj.get("category") or ("unanswerable" if not obj["answerable"] else "uncategorised")),
                doc_ids=[str(d) for d in obj.get("doc_ids", [])],
                all_of=[[str(a) for a in group] for group in obj.get("all_of", [])],
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{line_no}: not a gold item ({exc})") from exc
        if item.answerable and not item.answers:
            raise ValueError(f"{path}:{line_no}: answerable item without answers")
        items.append(item)
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate ids")
    return items


def contains(haystack: str, needle: str) -> bool:
    """Whole-word containment after normalisation."""
    h, n = f" {normalise(haystack)} ", f" {normalise(needle)} "
    return n.strip() != "" and n in h


def contains_answer(answer: str, alias: str) -> bool:
    """Whether an answer states a gold alias. An alias with numbers is matched as values
    with their unit and scale (app/text/numbers.py, the verifier's own reader): "£51.6m"
    states "51.6", "March 24" states "24 March", "$327bn" does not state "$327m". Its
    other words must be in the answer as whole words. An alias without numbers is
    whole-word containment."""
    from app.text.numbers import quantities, same_quantity

    wanted = quantities(alias)
    if not wanted:
        return contains(answer, alias)
    if contains(answer, alias):
        return True
    said = quantities(answer)
    if not all(any(same_quantity(w, q, lenient=True) for q in said) for w in wanted):
        return False
    rest = alias
    for w in sorted(wanted, key=lambda q: -q.start):
        rest = rest[: w.start] + " " + rest[w.end :]
    return all(contains(answer, word) for word in normalise(rest).split())
