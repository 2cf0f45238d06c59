"""``python -m eval.batching``: more verified answers per minute from the same cores?

One in-process llama.cpp context (the default: one answer at a time) against llama.cpp's
own server with continuous batching (``llama-server --parallel N``: N slots decoded in one
batch), reached through newsrag's openai backend with ``NEWSRAG_ANSWER_SLOTS=N``. Each
configuration runs behind ``python -m app serve`` on the seed-corpus index, the answer
cache and the per-client limit off; S sessions ask distinct questions over ``/api/ask``
for D seconds, taking the seed gold questions in one shared order, so every run answers
the same questions first. Per configuration and session count: answers per minute,
answer p50/p95, errors; the share answered right (scored against the gold set as the
eval scores it) and the share word for word the same as the in-process answer.

    python -m eval.batching --out DIR [--parallel 1,2,4] [--sessions 1,4,10] [--duration 60]

Needs llama-server (``scripts/build_llama_server.sh`` builds it from the llama.cpp sources
in the pinned llama-cpp-python release; ``--server-bin`` names another).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from eval.common import REPO, SEED_CORPUS, SEED_GOLD, ServedApp, child_env, logger, percentile, run_app, stop_process

log = logger("batching")
CTX_PER_SLOT = 2048  # the in-process context window, given to every server slot


def build_server() -> Path:
    done = subprocess.run(["bash", str(REPO / "scripts" / "build_llama_server.sh")], capture_output=True, text=True,
                          timeout=3600)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"building llama-server failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


class LlamaServer:
    """``llama-server`` on 127.0.0.1 with ``parallel`` slots, stopped on exit."""

    def __init__(self, binary: Path, model: Path, parallel: int, threads: int, log_path: Path):
        from app.adapters.server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                    "--parallel", str(parallel), "-c", str(CTX_PER_SLOT * parallel), "-t", str(threads),
                    "-tb", str(threads), "-b", "512", "--jinja", "--seed", "42"]  # fmt: skip
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> LlamaServer:
        import httpx

        with open(self.log_path, "wb") as fh:
            self.proc = subprocess.Popen(self.cmd, stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama-server exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.5)
        self.__exit__()
        raise TimeoutError("llama-server was not ready in 300 s")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def run_sessions(url: str, questions: list[str], sessions: int, duration_s: float, timeout_s: float) -> dict:
    """``sessions`` users asking one question after another over /api/ask for ``duration_s``
    (a question asked before the end is waited for), the questions taken in one shared order."""
    import httpx

    order = itertools.cycle(questions)
    take = threading.Lock()
    rows: list[dict] = []
    start = time.monotonic()
    end = start + duration_s

    def session(i: int) -> None:
        with httpx.Client(base_url=url, timeout=timeout_s) as http:
            while time.monotonic() < end:
                with take:
                    question = next(order)
                t0 = time.monotonic()
                row: dict = {"session": i, "question": question, "asked_at": t0 - start}
                try:
                    r = http.post("/api/ask", json={"question": question})
                    body = r.json()
                    if r.status_code == 200:
                        row["result"] = {k: body.get(k) for k in ("answer", "abstained", "outcome", "citations")}
                    else:
                        row["error"] = f"HTTP {r.status_code}: {body.get('message', '')[:200]}"
                except (httpx.HTTPError, ValueError) as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                row["answer_s"] = time.monotonic() - t0
                row["done_at"] = time.monotonic() - start
                rows.append(row)

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + timeout_s + 30)
    return summarise(rows, sessions, duration_s, hung=sum(t.is_alive() for t in threads))


def summarise(rows: list[dict], sessions: int, duration_s: float, hung: int = 0) -> dict:
    """Throughput and latency of one run: answers per minute over the time until the last
    answer came (the questions asked before the end are all waited for)."""
    ok = [r for r in rows if "result" in r]
    elapsed = max((r["done_at"] for r in rows), default=duration_s)
    times = [r["answer_s"] for r in ok]
    return {
        "sessions": sessions,
        "duration_s": duration_s,
        "elapsed_s": round(elapsed, 1),
        "answered": len(ok),
        "errors": [r["error"] for r in rows if "error" in r] + [f"{hung} sessions still running"] * bool(hung),
        "answers_per_min": round(len(ok) / elapsed * 60, 2) if elapsed > 0 else None,
        "answer_p50_s": _round(percentile(times, 50)),
        "answer_p95_s": _round(percentile(times, 95)),
        "rows": rows,
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def score_runs(runs: list[dict], gold: list, reference: dict[str, str]) -> None:
    """Add to each run the share answered right (answer accuracy on answerable questions,
    abstention on the others) and the share identical to the reference (in-process) answer."""
    from eval.scoring import score_item

    by_question = {item.question: item for item in gold}
    for run in runs:
        right, same, compared = [], 0, 0
        for row in run["rows"]:
            item = by_question.get(row["question"])
            if "result" not in row or item is None:
                continue
            s = score_item(item, row["result"])
            right.append(s["correct"] if item.answerable else s["abstention_correct"])
            if row["question"] in reference:
                compared += 1
                same += row["result"]["answer"] == reference[row["question"]]
        run["scored"] = len(right)
        run["right_share"] = round(sum(right) / len(right), 3) if right else None
        run["same_as_in_process"] = f"{same}/{compared}"


def write_report(out: Path, report: dict) -> None:
    (out / "batching.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    lines = [
        f"# Answers per minute: one in-process context vs llama-server --parallel N ({report['date']})",
        "",
        f"Machine: {_machine(report['machine'])}; llama.cpp threads {report.get('threads')}. "
        f"Seed corpus, questions of {report['gold']} in one shared order, "
        f"{report['duration_s']:.0f} s per run (questions asked before the end are waited for), answer cache "
        "and rate limit off.",
        "",
        "| Configuration | Sessions | Answered | Errors | Answers/min | Answer p50 / p95 (s) | Right "
        "| Same as in-process |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        lines.append(
            f"| {run['config']} | {run['sessions']} | {run['answered']} | {len(run['errors'])} | "
            f"{run['answers_per_min']} | {run['answer_p50_s']} / {run['answer_p95_s']} | "
            f"{run.get('right_share')} ({run.get('scored', 0)}) | {run.get('same_as_in_process', '')} |"
        )
    (out / "batching.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _machine(m) -> str:
    if isinstance(m, dict):
        return f"{m.get('nproc')} cores ({m.get('cpu')}), {m.get('ram_gib')} GiB"
    return str(m)


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas: {text!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.batching", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--parallel", type=_ints, default=[1, 2, 4], help="llama-server slot counts")
    p.add_argument("--sessions", type=_ints, default=[1, 4, 10], help="concurrent sessions per run")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of asking per run")
    p.add_argument("--timeout", type=float, default=600.0, help="bound of one answer (s)")
    p.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: one per core)")
    p.add_argument("--gold", type=Path, default=SEED_GOLD)
    p.add_argument("--server-bin", type=Path, help="llama-server binary (default: build it)")
    p.add_argument("--skip-in-process", action="store_true")
    args = p.parse_args(argv)

    import os

    from app.config import Settings
    from app.llm.models import ensure_model
    from eval.bench.base import machine_info
    from eval.gold import load_gold

    args.out.mkdir(parents=True, exist_ok=True)
    gold = load_gold(args.gold)
    questions = [item.question for item in gold]
    threads = args.threads or os.cpu_count() or 2
    settings = Settings()
    model = settings.llm_model_path or ensure_model(settings.llm_model, settings.model_cache_dir)
    binary = args.server_bin or build_server()
    work = Path(tempfile.mkdtemp(prefix="newsrag-batching-"))
    base = {"answer_cache_entries": "0", "answer_rate_per_minute": "0", "answer_queue_max": "10000",
            "llm_threads": str(threads)}  # fmt: skip
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine_info(),
              "gold": args.gold.name, "duration_s": args.duration, "threads": threads, "runs": []}  # fmt: skip
    try:
        index = work / "index"
        done = run_app(
            ["ingest", "--corpus", str(SEED_CORPUS), "--index-dir", str(index), "-q"], child_env(**base), 900
        )
        if done.returncode != 0:
            raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
        configs: list[tuple[str, int | None]] = [] if args.skip_in_process else [("in-process", None)]
        configs += [(f"llama-server --parallel {n}", n) for n in args.parallel]
        for name, parallel in configs:
            with contextlib.ExitStack() as stack:
                env = dict(base)
                if parallel is not None:
                    server = stack.enter_context(
                        LlamaServer(binary, model, parallel, threads, work / f"server-{parallel}.log")
                    )
                    env.update(llm_backend="openai", openai_base_url=server.url + "/v1", answer_slots=str(parallel),
                               openai_extra_body=json.dumps({"repeat_penalty": 1.0, "cache_prompt": True}))  # fmt: skip
                app = stack.enter_context(ServedApp(index, child_env(**env), work / f"app-{name[-1]}.log"))
                # every slot holds the fixed prompt prefix before the clock starts, as warm_up does in-process
                run_sessions(app.url, questions[-(parallel or 1) :], parallel or 1, 0.1, args.timeout)
                for n in args.sessions:
                    log(f"{name}: {n} sessions for {args.duration:.0f} s")
                    run = {
                        "config": name,
                        "parallel": parallel,
                        **run_sessions(app.url, questions, n, args.duration, args.timeout),
                    }
                    log(f"  {run['answered']} answered, {run['answers_per_min']}/min, p95 {run['answer_p95_s']} s, "
                        f"{len(run['errors'])} errors")  # fmt: skip
                    report["runs"].append(run)
        reference = {r["question"]: r["result"]["answer"] for run in report["runs"] if run["parallel"] is None
                     for r in run["rows"] if "result" in r}  # fmt: skip
        score_runs(report["runs"], gold, reference)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(args.out, report)
    print((args.out / "batching.md").read_text(encoding="utf-8"))
    return 1 if any(run["errors"] for run in report["runs"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
