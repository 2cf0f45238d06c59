"""Part 4 of the benchmark: our time to first token beside llama.cpp's own, for the same prompt.

In this process: the answer service on the seed index, its ``llama_cpp.Llama`` recording the
calls the reader makes. For every question our answer is timed (``first_token_s``: from the
question to the model's first token, through the rewrite decision, retrieval and the prompt
build), and the exact request our reader sent (messages, JSON schema, sampling) is sent
again to the same ``Llama`` object directly, streamed, and its first token timed: llama.cpp's
own time to first token for that prompt, prompt evaluation and the grammar included.

The two are interleaved one question behind (ours q2, raw q1, ours q3, raw q2, ...): llama.cpp
reuses the KV cache of the previous prompt's common prefix, so every timed call follows the
prompt of a *different* question and both share only the fixed template prefix, as in serving.
A raw call right after ours on the same prompt would find it all cached.
"""

from __future__ import annotations

import time
from pathlib import Path

from eval.bench.base import log, make_settings, rounded
from eval.common import percentile


def _raw_first_token(create, request: dict, llama) -> tuple[float, int]:
    """(seconds to the first content token, tokens in the context at that token)."""
    t = time.perf_counter()
    stream = create(**{**request, "stream": True})
    try:
        for part in stream:
            if part["choices"][0]["delta"].get("content"):
                return time.perf_counter() - t, int(llama.n_tokens)
    finally:
        stream.close()
    return time.perf_counter() - t, int(llama.n_tokens)


def bench_ttft(seed_corpus: Path, index_dir: Path, questions: list[str]) -> dict:
    """Our first token and llama.cpp's first token for the same prompts, interleaved."""
    from app.answer.prompts import READER_SYSTEM
    from app.wiring import build_answer_service

    settings = make_settings(seed_corpus, index_dir)
    if settings.llm_backend != "llamacpp":
        return {"ttft_raw_skipped": f"the {settings.llm_backend} backend: no in-process llama.cpp to compare with"}
    service = build_answer_service(settings)
    service.warm_up()
    llama = service.llm.load()._llm
    create = llama.create_chat_completion
    calls: list[dict] = []

    def recording(**request):
        calls.append(request)
        return create(**request)

    llama.create_chat_completion = recording
    ours: list[float] = []
    raw: list[float] = []
    tokens: list[int] = []
    items: list[dict] = []
    pending: tuple[int, dict] | None = None  # (item, request) whose raw run comes after the next question
    try:
        for i, question in enumerate([*questions, None]):
            if question is not None:
                calls.clear()
                answer = service.ask(question)
                request = next((c for c in calls if c["messages"][0]["content"] == READER_SYSTEM), None)
                first = answer.timings.get("first_token_s")
                items.append({"question": question, "ours_s": first, "outcome": answer.outcome})
                if request is None or first is None:  # answered without the reader (nothing retrieved)
                    items[-1]["raw_s"] = None
                else:
                    ours.append(first)
            if pending is not None:
                j, req = pending
                seconds, n = _raw_first_token(create, req, llama)
                raw.append(seconds)
                tokens.append(n)
                items[j].update(raw_s=seconds, prompt_tokens=n)
            pending = (i, request) if question is not None and request is not None and first is not None else None
    finally:
        llama.create_chat_completion = create
    pairs = [(it["ours_s"], it["raw_s"]) for it in items if it.get("raw_s") and it.get("ours_s")]
    log(f"ttft: ours p50 {percentile(ours, 50)} s, llama.cpp p50 {percentile(raw, 50)} s over {len(pairs)} prompts")
    ours_p50, raw_p50 = percentile([p[0] for p in pairs], 50), percentile([p[1] for p in pairs], 50)
    return {
        "ttft_raw_method": "the reader's recorded request sent again to the same llama_cpp.Llama, streamed, "
        "interleaved one question behind",
        "ttft_pairs": len(pairs),
        "ttft_ours_p50_s": rounded(ours_p50),
        "ttft_raw_p50_s": rounded(raw_p50),
        "ttft_raw_p95_s": rounded(percentile([p[1] for p in pairs], 95)),
        "ttft_vs_raw": rounded(ours_p50 / raw_p50, 3) if ours_p50 and raw_p50 else None,
        "ttft_vs_raw_median_of_ratios": rounded(percentile([a / b for a, b in pairs], 50), 3) if pairs else None,
        "prompt_tokens_p50": percentile(tokens, 50) if tokens else None,
        "prompt_tokens_max": max(tokens) if tokens else None,
        "ttft_items": [{k: (rounded(v, 4) if isinstance(v, float) else v) for k, v in it.items()} for it in items],
    }
