"""Gold Q&A items: loading, validation and the text normalisation the scores use."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GoldItem:
    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    answerable: bool
    category: str = "uncategorised"
    doc_ids: list[str] = field(default_factory=list)
    all_of: list[list[str]] = field(default_factory=list)  # RGB: every group must be matched
    outlet: str | None = None  # RGB: ask over this outlet's passages only


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


_NUM_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30",
    "hundred": "100", "thousand": "1000",
}  # fmt: skip


def normalise(text: str) -> str:
    """Lowercase, straight quotes, no punctuation, numbers without separators."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"(?<=\d)[,\u00a0 ](?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r"(?<=\d)\.0+\b", "", text)  # 5.0 -> 5
    text = re.sub(r"\s*\b(?:per ?cent|percent)\b", "%", text)
    text = re.sub(r"[^\w%$£€.]+", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points only
    words = [_NUM_WORDS.get(w, w) for w in text.split()]
    return " ".join(words)


def contains(haystack: str, needle: str) -> bool:
    """Whole-word containment after normalisation."""
    h, n = f" {normalise(haystack)} ", f" {normalise(needle)} "
    return n.strip() != "" and n in h
