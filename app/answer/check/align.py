"""Where the model's answer words are in the sentence it chose.

The span reader copies words from a sentence; ``locate`` finds them (verbatim, or the
window of the sentence that shares most words with them and every figure they name) and ``complete`` widens the
span to the whole name or amount it cuts into ("6.5" -> "£6.5m", "Ruiz" -> "Ana
Ruiz"), so what the user reads is a unit of the source, at exact offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.text.numbers import quantities

_WORD = re.compile(r"\w+(?:[.,'’]\w+)*")
MIN_OVERLAP = 0.5  # share of words (F1) a window must have in common with the model's answer


@dataclass(frozen=True)
class Span:
    """``sentence[start:end]``, and how closely it matches what the model wrote."""

    start: int
    end: int
    exact: bool
    overlap: float


def _norm(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower().replace(",", ""), m.start(), m.end()) for m in _WORD.finditer(_norm(text))]


def locate(answer: str, sentence: str) -> Span | None:
    """The part of ``sentence`` the answer words come from, or None when too few are there."""
    answer = _norm(answer).strip().strip(".,;:!?\"'").strip()
    if not answer:
        return None
    at = _norm(sentence).lower().find(answer.lower())
    if at >= 0:
        return Span(at, at + len(answer), True, 1.0)
    wanted = [t for t, _, _ in _tokens(answer)]
    have = _tokens(sentence)
    if not wanted or not have:
        return None
    numbers = {w for w in wanted if w[0].isdigit()}  # a figure the model wrote must be the sentence's own
    best: tuple[float, int, int] | None = None
    for i in range(len(have)):
        for j in range(i + 1, min(len(have), i + len(wanted) + 3) + 1):
            window = [t for t, _, _ in have[i:j]]
            if not numbers <= set(window):
                continue
            common = sum(min(window.count(w), wanted.count(w)) for w in set(wanted))
            if not common:
                continue
            precision, recall = common / len(window), common / len(wanted)
            f1 = 2 * precision * recall / (precision + recall)
            if best is None or f1 > best[0]:
                best = (f1, have[i][1], have[j - 1][2])
    if best is None or best[0] < MIN_OVERLAP:
        return None
    return Span(best[1], best[2], False, best[0])


def complete(span: Span, sentence: str, entities: list[tuple[int, int]]) -> Span:
    """Widen a span to the entities and amounts it cuts into (``entities``: their offsets
    in the sentence)."""
    start, end = span.start, span.end
    units = list(entities) + [(q.start, q.end) for q in quantities(sentence)]
    changed = True
    while changed:
        changed = False
        for a, b in units:
            if a < end and b > start and (a < start or b > end):
                start, end, changed = min(a, start), max(b, end), True
    while start < end and sentence[start] in " ,;:":
        start += 1
    while end > start and sentence[end - 1] in " ,;:.":
        end -= 1
    return Span(start, end, span.exact and (start, end) == (span.start, span.end), span.overlap)
