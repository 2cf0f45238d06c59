"""Part 3 of the benchmark: answers. ``python -m app serve`` on a seed-corpus index (or,
without a server, the worker of eval/bench/worker.py): cold start, time to first token,
total time and per-stage timings of gold questions, the serving process's RSS."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from eval.bench.base import loadavg, log, make_settings, proc_status_mb, rounded
from eval.common import BASE_CHILD_ENV, REPO, ServedApp, percentile, stop_process, tail


def pick_questions(gold_path: Path, n: int, seed: int) -> list:
    """n gold items, about 70 % answerable and 30 % not (fixed seed)."""
    from eval.gold import load_gold

    items = load_gold(gold_path)
    rng = random.Random(seed)
    yes = [i for i in items if i.answerable]
    no = [i for i in items if not i.answerable]
    rng.shuffle(yes)
    rng.shuffle(no)
    n_no = min(len(no), max(1, round(n * 0.3))) if n > 1 else 0
    picked = no[:n_no] + yes[: n - n_no]
    picked += [i for i in no[n_no:] + yes[n - n_no :]][: n - len(picked)]
    rng.shuffle(picked)
    return picked


def _server_available() -> bool:
    import importlib.util

    try:
        from app.adapters.cli import build_parser

        build_parser().parse_args(["serve", "--port", "1"])
    except (ImportError, SystemExit):
        return False
    return importlib.util.find_spec("app.adapters.server") is not None


def _child_env(index_dir: Path, corpus: Path) -> dict:
    """The environment's settings (NEWSRAG_*: what is benchmarked) without the Chroma host, on our index."""
    env = {k: v for k, v in os.environ.items() if k != "NEWSRAG_CHROMA_HOST"}
    env.update(NEWSRAG_INDEX_DIR=str(index_dir), NEWSRAG_CORPUS_DIR=str(corpus), **BASE_CHILD_ENV)
    # the bench times answers being written: no cache hits, no per-client limit on its one client
    env.update(NEWSRAG_ANSWER_CACHE_ENTRIES="0", NEWSRAG_ANSWER_RATE_PER_MINUTE="0")
    return env


FOLLOWUPS = Path(__file__).resolve().parents[1] / "gold" / "followups_seed.jsonl"


def ask_streamed(client, url: str, question: str, history: list) -> dict:
    """One question over /api/ask/stream: the first stage the server names (``rewriting`` only
    when it sends the conversation to the model), the time to the first text a user sees (the
    first streamed token, or the final answer when nothing streams) and to the final answer."""
    t = time.perf_counter()
    row: dict = {"question": question, "history_turns": len(history), "stages": []}
    with client.stream("POST", url + "/api/ask/stream", json={"question": question, "history": history}) as r:
        if r.status_code != 200:
            r.read()
            return {**row, "error": f"HTTP {r.status_code}: {r.text[:200]}"}
        for line in r.iter_lines():
            if not line.strip():
                continue
            event = json.loads(line)
            kind = event.get("event")
            if kind == "stage":
                row["stages"].append(event.get("name"))
            elif kind in ("token", "final") and "first_text_s" not in row:
                row["first_text_s"] = time.perf_counter() - t
            if kind == "final":
                answer = event["answer"]
                row.update(answer=answer.get("answer", "")[:300], outcome=answer.get("outcome"),
                           timings=answer.get("timings", {}))  # fmt: skip
            elif kind == "error":
                row["error"] = event.get("message")
    row["total_s"] = time.perf_counter() - t
    row["rewritten"] = "rewriting" in row["stages"]
    return row


def run_followups(client, url: str, path: Path = FOLLOWUPS) -> list[dict]:
    """The follow-up conversations of ``path`` (seed corpus), each asked as a second turn."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        row = ask_streamed(client, url, item["question"], item["history"])
        answer = (row.get("answer") or "").lower()
        row.update(id=item["id"], needs_rewrite=item["needs_rewrite"],
                   correct=any(a.lower() in answer for a in item["answers"]))  # fmt: skip
        rows.append(row)
    return rows


def followup_figures(rows: list[dict], standalone: list[dict]) -> dict:
    """Follow-ups (second turns) and standalone questions: time to first text, rewrites run."""
    follow = [r for r in rows if r["needs_rewrite"] and "first_text_s" in r]
    return {
        "followup_questions": len(rows),
        "followup_first_text_p50_s": rounded(percentile([r["first_text_s"] for r in follow], 50)),
        "followup_first_text_max_s": rounded(max((r["first_text_s"] for r in follow), default=None)),
        "followup_total_p50_s": rounded(percentile([r["total_s"] for r in follow], 50)),
        "followup_rewrites": sum(r["rewritten"] for r in rows if r["needs_rewrite"]),
        "followup_leaning": sum(r["needs_rewrite"] for r in rows),
        # second turns that stand alone, and the gold questions asked without history: never rewritten
        "standalone_rewrites": sum(r["rewritten"] for r in rows if not r["needs_rewrite"])
        + sum(r["rewritten"] for r in standalone),
        "standalone_questions": sum(not r["needs_rewrite"] for r in rows) + len(standalone),
        "followup_correct": sum(r["correct"] for r in rows),
        "followup_errors": sum(1 for r in rows if r.get("error")),
        "followup_items": rows,
    }


def run_with_server(index_dir: Path, corpus: Path, questions: list[str], work: Path, timeout: float) -> dict:
    """Start ``python -m app serve``, wait for /api/health, ask over /api/ask, read the RSS."""
    import httpx

    # polled every 0.1 s: the cold start is a reported figure
    served = ServedApp(
        None, _child_env(index_dir, corpus), work / "server.log", timeout, poll_s=0.1, request_timeout_s=5.0
    )
    with served:
        cold = served.ready_s
        log(f"server ready in {cold:.1f} s; asking {len(questions)} questions ...")
        answers = []
        with httpx.Client(timeout=timeout) as client:
            for q in questions:
                t = time.perf_counter()
                r = client.post(served.url + "/api/ask", json={"question": q})
                wall = time.perf_counter() - t
                body = r.json()
                if r.status_code != 200:
                    answers.append({"question": q, "error": body, "wall_s": wall, "timings": {}})
                    continue
                answers.append(
                    {
                        "question": q,
                        "wall_s": wall,
                        "timings": body.get("timings", {}),
                        "abstained": body.get("abstained"),
                        "answer": body.get("answer", "")[:300],
                    }
                )
            # a standalone question streamed (its stages seen), then the follow-up conversations
            standalone = [ask_streamed(client, served.url, q, []) for q in questions[:3]]
            followups = run_followups(client, served.url)
        rss = proc_status_mb(served.proc.pid)
        hwm = proc_status_mb(served.proc.pid, "VmHWM")
        return {
            "method": "python -m app serve + GET /api/health; questions over POST /api/ask",
            "cold_start_s": cold,
            "health": served.health,
            "answers": answers,
            "rss_mb": rss,
            "peak_rss_mb": hwm,
            "followups": followup_figures(followups, standalone),
        }


def run_with_worker(index_dir: Path, corpus: Path, questions: list[str], work: Path, timeout: float) -> dict:
    """Fallback without a server: a subprocess builds the answer service, loads the models,
    prints "ready", then answers questions read from stdin (eval/bench/worker.py)."""
    import queue
    import threading

    log_path = work / "worker.log"
    with open(log_path, "wb") as err_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "eval.bench.worker"],
            cwd=REPO,
            env=_child_env(index_dir, corpus),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_fh,
            text=True,
        )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()

    def next_event(deadline: float) -> dict:
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.perf_counter()))
            except queue.Empty as exc:
                raise TimeoutError(f"the worker did not answer in time: {tail(log_path)}") from exc
            if line is None:
                raise RuntimeError(f"the worker exited with {proc.poll()}: {tail(log_path)}")
            with contextlib.suppress(ValueError):
                return json.loads(line)

    try:
        event = next_event(t0 + timeout)
        cold = time.perf_counter() - t0
        assert event.get("event") == "ready", event
        answers = []
        for q in questions:
            t = time.perf_counter()
            proc.stdin.write(json.dumps({"question": q}) + "\n")
            proc.stdin.flush()
            event = next_event(t + timeout)
            answers.append({"question": q, "wall_s": time.perf_counter() - t, **event})
        return {
            "method": "subprocess (eval/bench/worker.py): build_answer_service + load the models, then stdin questions",
            "cold_start_s": cold,
            "answers": answers,
            "rss_mb": proc_status_mb(proc.pid),
            "peak_rss_mb": proc_status_mb(proc.pid, "VmHWM"),
        }
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        stop_process(proc)


ANSWER_STAGES = [
    "rewrite_s",
    "embed_query_s",
    "dense_s",
    "lexical_s",
    "fusion_s",
    "retrieval_s",
    "prompt_build_s",
    "first_token_s",
    "first_shown_s",
    "generation_s",
    "verify_s",
    "total_s",
]


def bench_answers(seed_corpus: Path, gold_path: Path, n: int, work: Path, seed: int, timeout: float) -> dict:
    from app.services.ingest import ingest

    settings = make_settings(seed_corpus, work / "seed-index")
    if settings.llm_backend == "llamacpp" and settings.llm_model_path is None:
        from app.llm.models import ensure_model

        log("checking the cached LLM ...")
        ensure_model(settings.llm_model, settings.model_cache_dir)  # cached before the cold start is timed
    report = ingest(settings, seed_corpus, progress=False)
    items = pick_questions(gold_path, n, seed)
    questions = [i.question for i in items]
    load_before = loadavg()
    errors = []
    result = None
    if _server_available():
        try:
            result = run_with_server(settings.index_dir, seed_corpus, questions, work, timeout)
        except (RuntimeError, TimeoutError, OSError) as exc:
            errors.append(f"server: {exc}")
            log(f"server failed ({exc}); falling back to a worker subprocess")
    if result is None:
        result = run_with_worker(settings.index_dir, seed_corpus, questions, work, timeout)
    answers = result["answers"]
    timings = [a["timings"] for a in answers if a.get("timings")]
    stages = {}
    for key in ANSWER_STAGES:
        values = [t[key] for t in timings if key in t]
        if values:
            stages[key] = rounded(percentile(values, 50), 4)
    ttfts = [t["first_token_s"] for t in timings if "first_token_s" in t]
    # the first streamed text a user sees (after the stream guard); absent for abstentions
    shown = [t["first_shown_s"] for t in timings if "first_shown_s" in t]
    totals = [t["total_s"] for t in timings if "total_s" in t]
    return {
        "answer_corpus": str(seed_corpus),
        "answer_index_chunks": report.chunks_total,
        "answer_gold": str(gold_path),
        "answer_questions": len(questions),
        "answer_answerable": sum(1 for i in items if i.answerable),
        "answer_errors": sum(1 for a in answers if a.get("error")),
        "llm_backend": settings.llm_backend,
        "llm_model": settings.llm_model,
        "cold_start_method": result["method"],
        "cold_start_s": rounded(result["cold_start_s"], 2),
        "ttft_p50_s": rounded(percentile(ttfts, 50)),
        "ttft_p95_s": rounded(percentile(ttfts, 95)),
        "ttft_first_question_s": rounded(timings[0].get("first_token_s")) if timings else None,
        "first_shown_p50_s": rounded(percentile(shown, 50)),
        "first_shown_answers": len(shown),
        "answer_p50_s": rounded(percentile(totals, 50)),
        "answer_p95_s": rounded(percentile(totals, 95)),
        "answer_wall_p50_s": rounded(percentile([a["wall_s"] for a in answers], 50)),
        "rss_mb": result["rss_mb"],
        "peak_rss_mb": result["peak_rss_mb"],
        "answer_stages_p50_s": stages,
        "answer_items": [
            {k: a.get(k) for k in ("question", "abstained", "answer", "wall_s", "timings", "error") if k in a}
            for a in answers
        ],
        "answer_part_errors": errors,
        "answer_loadavg_before": load_before,
        "answer_loadavg_after": loadavg(),
        "health": result.get("health"),
        **result.get("followups", {}),
    }
