"""``python -m eval.context_oracle``: how often the sentence that answers a dev question is
among the sentences shown to the model (the oracle: the best any reader could do), for
several context sizes, and what each costs in prompt tokens (time to first token grows with
them). Retrieval and context only, no generation.

    python -m eval.context_oracle --split seed=eval/gold/seed.jsonl:corpus \\
        --split bbc_dev=eval/gold/bbc_dev.jsonl:../shared/benchmarks/bbc --index-root /work/evalrun/index

Dev splits only. Prints a table and writes eval/results/context_oracle.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from tiktoken import get_encoding

from app.config import Settings
from app.services.ingest import ingest
from eval.gold import contains_answer, load_gold
from eval.scoring import overlaps

SIZES = (3, 5, 8, 12)
TOKENS_PER_SENTENCE = 90  # the budget grows with the count (260 tokens for 3 today)


def shown_hits(service, items, size: int) -> dict:
    """Answerable items whose evidence (or gold answer) is in a shown sentence, at ``size``."""
    builder = service.context_builder
    builder.max_sentences, builder.budget = size, max(service.settings.context_tokens, size * TOKENS_PER_SENTENCE)
    enc = get_encoding(service.settings.tokenizer)
    hits, tokens = 0, []
    answerable = [i for i in items if i.answerable]
    for item in answerable:
        prepared = service._prepare(item.question, [], None, {})
        shown = [s for c in prepared.contexts for s in c.shown]
        tokens.append(sum(len(enc.encode_ordinary(s.text)) + 1 for s in shown))
        hits += any(
            any(overlaps(s.text, e) for e in item.evidence) or any(contains_answer(s.text, a) for a in item.answers)
            for s in shown
        )
    n = len(answerable)
    return {"size": size, "n": n, "oracle": round(hits / n, 4) if n else None,
            "mean_tokens": round(sum(tokens) / n, 1) if n else None}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from app.wiring import build_answer_service

    parser = argparse.ArgumentParser(prog="python -m eval.context_oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", action="append", required=True, help="NAME=GOLD.jsonl:CORPUS_DIR (dev only)")
    parser.add_argument("--index-root", default="eval/runs/oracle", help="an index per split under it")
    parser.add_argument("--out", default="eval/results/context_oracle.json")
    args = parser.parse_args(argv)
    result = {"date": dt.date.today().isoformat(), "tokens_per_sentence": TOKENS_PER_SENTENCE, "splits": {}}
    for spec in args.split:
        name, _, rest = spec.partition("=")
        gold, _, corpus = rest.partition(":")
        if "test" in gold or "heldout" in gold:
            parser.error(f"{gold}: dev splits only")
        settings = Settings(corpus_dir=Path(corpus), index_dir=Path(args.index_root) / name)
        ingest(settings, Path(corpus), progress=False)
        service = build_answer_service(settings)
        items = load_gold(Path(gold))
        rows = [shown_hits(service, items, size) for size in SIZES]
        result["splits"][name] = {"gold": gold, "rows": rows}
        for r in rows:
            print(f"{name:10s} {r['size']:3d} sentences: oracle {r['oracle']}  mean tokens {r['mean_tokens']}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # written after each split
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
