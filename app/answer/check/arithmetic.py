"""Arithmetic in code: a total, a difference or a time span over numbers the articles state.

The model names the numbers and the sentences they come from; code reads each number
with its unit (app/text/numbers.py), checks that it is in its sentence and counts what
the question counts, computes, and the answer cites every sentence it used. The model
never does the sum.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.answer.context import SourceSentence
from app.answer.prompts import MAX_ITEMS
from app.text.numbers import Quantity, quantities, same_quantity


@dataclass(frozen=True)
class Operand:
    sentence: SourceSentence
    quantity: Quantity  # as found in the sentence (offsets into it)


@dataclass(frozen=True)
class Computed:
    operation: str
    operands: list[Operand]
    value: float
    unit: str

    def text(self) -> str:
        parts = [o.quantity.text for o in self.operands]
        sign = {"sum": " + ", "difference": " - ", "span": " to "}[self.operation]
        result = _format(self.value, self.operands[0].quantity)
        if self.operation == "span":
            return f"{parts[0]}{sign}{parts[1]}: {result}"
        return f"{sign.join(parts)} = {result}"


def _format(value: float, like: Quantity) -> str:
    if like.kind == "year":
        return f"{value:g} years"
    scale = {1e3: "k", 1e6: "m", 1e9: "bn"}.get(like.scale, "")
    shown = value / like.scale if scale else value
    number = f"{shown:,.2f}".rstrip("0").rstrip(".") if not float(shown).is_integer() else f"{int(shown):,}"
    symbol = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥"}.get(like.unit, "")
    suffix = "%" if like.unit == "%" else ""
    return f"{symbol}{number}{scale}{suffix}"


def parse_items(reply: str) -> list[tuple[int, str]]:
    try:
        data = json.loads(reply)
        return [(int(i["sentence"]), str(i["value"])) for i in data.get("items", [])][:MAX_ITEMS]
    except (ValueError, TypeError, KeyError, AttributeError):
        return [(int(n), v) for n, v in re.findall(r'"sentence"\s*:\s*(\d+)\s*,\s*"value"\s*:\s*"([^"]*)"', reply)]


def counts_head(sentence_doc, quantity: Quantity, head: str) -> bool:
    """Whether the number counts the noun the question asks about ("1,000 prisoners" for
    "how many prisoners"): the noun it modifies, or the one after it, has that lemma."""
    if not head:
        return True
    for tok in sentence_doc:
        if quantity.start <= tok.idx < quantity.end:
            if tok.head.lemma_.lower() == head or any(t.lemma_.lower() == head for t in tok.subtree):
                return True
            nxt = sentence_doc[tok.i + 1 : tok.i + 4]
            if any(t.lemma_.lower() == head for t in nxt):
                return True
    return False


def compute(
    operation: str, picks: list[tuple[int, str]], shown: list[SourceSentence], head: str, nlp
) -> Computed | None:
    """The computed answer, or None when the numbers do not hold up: each must be in its
    sentence and count what the question counts, all of one unit, two of them at least."""
    operands: list[Operand] = []
    for number, value in picks:
        if not 1 <= number <= len(shown):
            return None
        sentence = shown[number - 1]
        wanted = quantities(value)
        found = [q for q in quantities(sentence.text) if wanted and same_quantity(wanted[0], q, lenient=True)]
        if not found or not counts_head(nlp.parse(sentence.text), found[0], head):
            return None
        if any(o.sentence is sentence and o.quantity == found[0] for o in operands):
            continue
        operands.append(Operand(sentence, found[0]))
    if len(operands) < 2 or len({o.quantity.unit for o in operands}) != 1:
        return None
    values = [o.quantity.value for o in operands]
    if operation == "sum":
        result = sum(values)
    elif operation in ("difference", "span") and len(values) == 2:
        result = abs(values[0] - values[1])
    else:
        return None
    return Computed(operation, operands, result, operands[0].quantity.unit)
