"""Scores of one answered item and of a whole run. Pure functions of plain data, so
the scorer itself is tested with hand-made items whose scores are known."""

from __future__ import annotations

import statistics
from collections import defaultdict

from app.answer.reply import ABSENT, OUTCOMES, derive_outcome
from eval.common import normalise, percentile
from eval.gold import GoldItem, contains, contains_answer

MIN_SHARED_WORDS = 5  # a quote "overlaps" an evidence quote when they share this many consecutive words


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def overlaps(quote: str, evidence: str) -> bool:
    """True when one contains the other or they share a run of consecutive words."""
    q, e = normalise(quote), normalise(evidence)
    if not q or not e:
        return False
    if q in e or e in q:
        return True
    n = min(MIN_SHARED_WORDS, len(e.split()), len(q.split()))
    return bool(_shingles(quote, n) & _shingles(evidence, n))


def answer_correct(answer: str, item: GoldItem) -> bool:
    if item.rule == "rgb":
        from eval.rgb import rgb_correct

        return rgb_correct(answer, item.all_of)
    if item.all_of:
        return all(any(contains_answer(answer, alias) for alias in group) for group in item.all_of)
    return any(contains_answer(answer, alias) for alias in item.answers)


def score_item(item: GoldItem, result: dict) -> dict:
    """Per-item scores. ``result`` is the JSON of an answer (``Answer.as_dict()``). A span
    answer is scored on what it states (``short``: "London"), not on the sentence quoted after
    it, which may hold more than the answer."""
    answer = result.get("short") or result.get("answer", "")
    abstained = bool(result.get("abstained"))
    citations = result.get("citations", [])
    retrieved = result.get("retrieved", [])[:5]
    outcome = outcome_of(result)
    precise = [
        any(overlaps(c["quote"], e) for e in item.evidence) or any(contains_answer(c["quote"], a) for a in item.answers)
        for c in citations
    ]
    scores = {
        "answerable": item.answerable,
        "abstained": abstained,
        "correct": item.answerable and not abstained and answer_correct(answer, item),
        "abstention_correct": (not item.answerable) and abstained,
        "n_citations": len(citations),
        "n_precise_citations": sum(precise),
        "citation_hit": item.answerable and any(overlaps(c["quote"], e) for c in citations for e in item.evidence),
        "retrieval_hit_at_5": item.answerable and any(contains(p["text"], e) for p in retrieved for e in item.evidence),
        # "the articles don't say" said of a question they do answer
        "false_absent": item.answerable and outcome == ABSENT,
        "absent": outcome == ABSENT,
        "outcome": outcome,
    }
    return scores


def outcome_of(result: dict) -> str:
    """Which of the three outcomes a result was; results written before ``outcome`` existed
    are read as the app reads them (``derive_outcome``)."""
    outcome = result.get("outcome")
    if outcome in OUTCOMES:
        return outcome
    return derive_outcome(bool(result.get("abstained")), result.get("closest"))


def count_outcomes(scores: list[dict]) -> dict[str, int]:
    """How many items ended in each outcome (every outcome named, zeros included)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for s in scores:
        counts[s["outcome"]] += 1
    return counts


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest rank, 3 digits (q in 0-100)."""
    value = percentile(values, q, method="nearest")
    return None if value is None else round(value, 3)


def aggregate(items: list[GoldItem], scores: list[dict], timings: list[dict]) -> dict:
    """The report.json figures of a run."""
    answerable = [s for s in scores if s["answerable"]]
    unanswerable = [s for s in scores if not s["answerable"]]
    n_citations = sum(s["n_citations"] for s in scores)
    totals = [t["total_s"] for t in timings if "total_s" in t]
    ttfts = [t["first_token_s"] for t in timings if "first_token_s" in t]
    by_category: dict[str, list[bool]] = defaultdict(list)
    for item, s in zip(items, scores, strict=True):
        by_category[item.category].append(s["correct"] if item.answerable else s["abstention_correct"])
    return {
        "n": len(scores),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "answer_accuracy": _share([s["correct"] for s in answerable]),
        "abstention_accuracy": _share([s["abstention_correct"] for s in unanswerable]),
        "false_abstention_rate": _share([s["abstained"] for s in answerable]),
        "false_absent_rate": _share([s.get("false_absent", False) for s in answerable]),
        "absent_on_unanswerable": _share([s.get("absent", False) for s in unanswerable]),
        "citation_precision": round(sum(s["n_precise_citations"] for s in scores) / n_citations, 4)
        if n_citations
        else None,
        "citation_recall": _share([s["citation_hit"] for s in answerable]),
        "retrieval_recall_at_5": _share([s["retrieval_hit_at_5"] for s in answerable]),
        "latency_p50_s": _percentile(totals, 50),
        "latency_p95_s": _percentile(totals, 95),
        "latency_mean_s": round(statistics.fmean(totals), 3) if totals else None,
        "ttft_p50_s": _percentile(ttfts, 50),
        "n_citations": n_citations,
        "accuracy_by_category": {k: _share(v) for k, v in sorted(by_category.items())},
        # the three outcomes a user sees, on the questions the articles answer and on those they don't
        "outcomes_answerable": count_outcomes(answerable),
        "outcomes_unanswerable": count_outcomes(unanswerable),
    }
