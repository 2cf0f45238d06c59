"""``python -m eval.context_oracle``: how often the sentence that answers a dev question is
among the sentences shown to the model (the oracle: the best any reader could do), for
several context sizes, and what each costs in prompt tokens (time to first token grows with
them). Retrieval and context only, no generation.

    python -m eval.context_oracle --split seed=eval/gold/seed.jsonl:corpus \\
        --split bbc_dev=eval/gold/bbc_dev.jsonl:../shared/benchmarks/bbc --index-root /work/evalrun/index

With ``--open`` it varies the context of statement, reason, list and yes/no questions instead
(``context_sentences_open``: the best sentences, each with its neighbours as the budget allows):

    python -m eval.context_oracle --open --out eval/results/context_oracle_open.json \
        --split bbc=eval/gold/bbc_shapes_dev.jsonl:../shared/benchmarks/bbc --index-root /work/evalrun/index

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
OPEN_SIZES = (4, 6, 8, 12)
TOKENS_PER_SENTENCE = 90  # the budget grows with the count (260 tokens for 3 today)
OPEN_TOKENS_PER_SENTENCE = 130  # a best sentence with its neighbours (520 tokens for 4 today)


def shown_hits(service, items, size: int, open_shapes: bool = False) -> dict:
    """Answerable items whose evidence (or gold answer) is in a shown sentence, at ``size``
    (of the span questions' context, or with ``open_shapes`` of the other shapes')."""
    builder = service.context_builder
    if open_shapes:
        budget = max(service.settings.context_tokens_open, size * OPEN_TOKENS_PER_SENTENCE)
        service.settings = service.settings.model_copy(
            update={"context_sentences_open": size, "context_tokens_open": budget}
        )
    else:
        builder.max_sentences = size
        builder.budget = max(service.settings.context_tokens, size * TOKENS_PER_SENTENCE)
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
    parser.add_argument("--open", action="store_true", help="vary the statement/reason/list/yes-no context")
    args = parser.parse_args(argv)
    per = OPEN_TOKENS_PER_SENTENCE if args.open else TOKENS_PER_SENTENCE
    result = {"date": dt.date.today().isoformat(), "open_shapes": args.open, "tokens_per_sentence": per, "splits": {}}
    for spec in args.split:
        name, _, rest = spec.partition("=")
        gold, _, corpus = rest.partition(":")
        if "test" in gold or "heldout" in gold:
            parser.error(f"{gold}: dev splits only")
        settings = Settings(corpus_dir=Path(corpus), index_dir=Path(args.index_root) / name)
        ingest(settings, Path(corpus), progress=False)
        service = build_answer_service(settings)
        items = load_gold(Path(gold))
        rows = [shown_hits(service, items, size, args.open) for size in (OPEN_SIZES if args.open else SIZES)]
        result["splits"][name] = {"gold": gold, "rows": rows}
        for r in rows:
            print(f"{name:10s} {r['size']:3d} sentences: oracle {r['oracle']}  mean tokens {r['mean_tokens']}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # written after each split
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
