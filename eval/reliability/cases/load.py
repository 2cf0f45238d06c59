"""Case 4: concurrent chat sessions through gradio_client against the served app; errors,
wait and answer times, admissions refused (with their message), and the latency of light
requests while the model is busy.

Scenarios: ``distinct`` (the answer cache off, so every question is written by the model:
the throughput of the one model context) at each session count, and ``repeat`` (the cache
on, every other question one of a few popular ones): cache-hit latency, timed on the
server's side of HTTP by a prober asking the popular questions over /api/ask."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.common import SEED_CORPUS, ServedApp, child_env, percentile, run_app
from eval.reliability.base import figure, ingest_in_process, log, rounded
from eval.reliability.fixtures import LOAD_QUESTIONS

# Counts: (reduced, as in CI) and --full.
LOAD_SESSIONS = ((4,), (10, 25))
LOAD_DURATION_S = (20.0, 60.0)
POPULAR = 2  # the repeat scenario's popular questions: the first ones of LOAD_QUESTIONS
FAKE_DELAY_S = 0.5  # the reduced load run's fake model sleeps this long per answer
LIGHT_EVERY_S = 1.0


def _delayed_fake_model(delay: float):
    from app.testing.fakes import FakeChatModel

    class DelayedFakeChatModel(FakeChatModel):
        """The extractive fake LLM, slowed down to a real model's pace."""

        def _reply(self, messages, json_schema=None):
            time.sleep(delay)
            return super()._reply(messages, json_schema)

    return DelayedFakeChatModel()


def run_sessions(url: str, sessions: int, duration_s: float, answer_timeout_s: float, repeat: bool = False) -> dict:
    """``sessions`` users, each asking one question after another for ``duration_s``; a
    prober asks the light requests (GET /api/articles, the Gradio corpus event) meanwhile."""
    import httpx
    from gradio_client import Client

    run = _LoadRun(
        duration_s,
        answer_timeout_s,
        ui_client=lambda: Client(url + "/", verbose=False, analytics_enabled=False, download_files=False),
        http_client=lambda: httpx.Client(base_url=url, timeout=60),
        repeat=repeat,
    )
    threads = [threading.Thread(target=run.session, args=(i,), name=f"session-{i}") for i in range(sessions)]
    threads.append(threading.Thread(target=run.prober, name="light-prober"))
    if repeat:
        threads.append(threading.Thread(target=run.hit_prober, name="cache-prober"))
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + answer_timeout_s + 60)
    hung = sum(t.is_alive() for t in threads)
    return run.stats(sessions, hung)


class _LoadRun:
    """One load run: its clock, the chat sessions' rows and the light requests' rows."""

    def __init__(self, duration_s: float, answer_timeout_s: float, ui_client: Callable, http_client: Callable,
                 repeat: bool = False):  # fmt: skip
        self.repeat = repeat
        self.hits: list[float] = []
        self.duration_s = duration_s
        self.answer_timeout_s = answer_timeout_s
        self.ui_client = ui_client
        self.http_client = http_client
        self.results: list[dict] = []
        self.light: list[dict] = []
        self.lock = threading.Lock()
        self.busy_since = threading.Event()
        self.start = time.monotonic()
        self.end = self.start + duration_s

    def session(self, i: int) -> None:
        user = self.ui_client()
        n = 0
        while time.monotonic() < self.end:
            if self.repeat and n % 2:  # every other question a popular one
                question = LOAD_QUESTIONS[(i + n) % POPULAR]
            else:
                question = LOAD_QUESTIONS[(i + n) % len(LOAD_QUESTIONS)]
            n += 1
            row = self._ask(user, i, question)
            with self.lock:
                self.results.append(row)
            if row.get("refused"):  # a user told to wait does, then asks again
                wait = re.search(r"about (\d+) s", row["refused"])
                time.sleep(min(float(wait.group(1)) if wait else 5.0, max(0.0, self.end - time.monotonic())))

    def _ask(self, user, i: int, question: str) -> dict:
        """One chat question: its queue positions shown, the wait until the model starts on it
        (or the answer or refusal arrives), the answer time."""
        t0 = time.monotonic()
        row: dict[str, Any] = {"session": i, "question": question, "error": None, "max_rank": None}
        try:
            job = user.submit(question, [], "", "", api_name="/chat")
            first = None
            deadline = t0 + self.answer_timeout_s
            while not job.done() and time.monotonic() < deadline:
                text = _latest_reply(job.outputs())
                ranks = [int(r) for r in re.findall(r"Queued: position (\d+)", text)]
                if ranks:
                    row["max_rank"] = max([row["max_rank"] or 0, *ranks])
                if first is None and re.search(r"Reading \d+ article|nr-answer|nr-abstain|nr-refused", text):
                    first = time.monotonic()
                    self.busy_since.set()
                time.sleep(0.05)
            if not job.done():
                job.cancel()
                raise TimeoutError(f"no answer in {self.answer_timeout_s:.0f} s")
            chat = job.result(timeout=30)[0]
            done = time.monotonic()
            reply = chat[-1]["content"][0]["text"] if chat and chat[-1]["role"] == "assistant" else ""
            if "nr-refused" in reply:
                row["refused"] = re.sub(r"<[^>]+>", "", reply)
            elif "nr-error" in reply or not re.search(r"nr-answer|nr-abstain", reply):
                row["error"] = "bad reply: " + re.sub(r"<[^>]+>", "", reply)[:200]
            row["abstained"] = "nr-abstain" in reply
            first = first or done
            row.update(wait_s=first - t0, answer_s=done - t0, started_at=t0 - self.start)
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
        return row

    def hit_prober(self) -> None:
        """Ask the popular questions over /api/ask once answered; time the cache hits."""
        http = self.http_client()
        self.busy_since.wait(timeout=self.duration_s)
        k = 0
        while time.monotonic() < self.end:
            question = LOAD_QUESTIONS[k % POPULAR]
            k += 1
            t0 = time.monotonic()
            try:
                r = http.post("/api/ask", json={"question": question})
                took = time.monotonic() - t0
                if r.status_code == 200 and r.json()["timings"].get("cache_hit"):
                    self.hits.append(took)
            except Exception as exc:  # a failed probe is a light error
                self.light.append({"kind": "cache", "seconds": 0.0, "error": repr(exc), "at": t0 - self.start})
            time.sleep(0.5)
        http.close()

    def prober(self) -> None:
        ui = self.ui_client()
        http = self.http_client()
        self.busy_since.wait(timeout=self.duration_s)
        k = 0
        while time.monotonic() < self.end:
            k += 1
            kind = "api" if k % 2 else "ui"
            t0 = time.monotonic()
            err = None
            try:
                if kind == "api":
                    r = http.get("/api/articles")
                    if r.status_code != 200 or r.json().get("count", 0) < 1:
                        err = f"HTTP {r.status_code}"
                else:
                    summary, _table = ui.predict([], "", "", api_name="/corpus")
                    if "articles" not in summary:
                        err = "no corpus summary"
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
            self.light.append({"kind": kind, "seconds": time.monotonic() - t0, "error": err, "at": t0 - self.start})
            time.sleep(LIGHT_EVERY_S)
        http.close()

    def stats(self, sessions: int, hung: int) -> dict:
        results, light = self.results, self.light
        elapsed = time.monotonic() - self.start
        ok_rows = [r for r in results if not r["error"] and not r.get("refused")]
        refused = [r["refused"] for r in results if r.get("refused")]
        waits = [r["wait_s"] for r in ok_rows]
        answers = [r["answer_s"] for r in ok_rows]
        light_ok = [x["seconds"] for x in light if not x["error"]]
        return {
            "sessions": sessions,
            "duration_s": self.duration_s,
            "elapsed_s": round(elapsed, 1),
            "requests": len(results),
            "answered": len(ok_rows),
            "abstained": sum(bool(r.get("abstained")) for r in ok_rows),
            "errors": [r["error"] for r in results if r["error"]] + [f"{hung} threads still running"] * bool(hung),
            "wait_p50_s": rounded(percentile(waits, 50)),
            "wait_p95_s": rounded(percentile(waits, 95)),
            "answer_p50_s": rounded(percentile(answers, 50)),
            "answer_p95_s": rounded(percentile(answers, 95)),
            "answers_per_min": rounded(len(ok_rows) / elapsed * 60, 1),
            "max_queue_rank": max((r["max_rank"] or 0 for r in results), default=0),
            "refused": len(refused),
            "refused_messages": sorted(set(re.sub(r"\d+", "N", m) for m in refused))[:5],
            "cache_hits": len(self.hits),
            "cache_hit_p50_ms": rounded(percentile([h * 1000 for h in self.hits], 50), 1),
            "cache_hit_p95_ms": rounded(percentile([h * 1000 for h in self.hits], 95), 1),
            "light_requests": len(light),
            "light_errors": [x["error"] for x in light if x["error"]],
            "light_p50_s": rounded(percentile(light_ok, 50), 3),
            "light_p95_s": rounded(percentile(light_ok, 95), 3),
            "light_max_s": rounded(max(light_ok, default=None), 3),
            "light_api_p50_s": rounded(
                percentile([x["seconds"] for x in light if x["kind"] == "api" and not x["error"]], 50), 3
            ),
            "light_ui_p50_s": rounded(
                percentile([x["seconds"] for x in light if x["kind"] == "ui" and not x["error"]], 50), 3
            ),
            "rows": results,
            "light": light,
        }


def _latest_reply(outputs) -> str:
    """The text of the last assistant message of a job's latest output ("" if none)."""
    if not outputs or not outputs[-1]:
        return ""
    chat = outputs[-1][0]
    return chat[-1]["content"][0]["text"] if chat and chat[-1]["role"] == "assistant" else ""


def case_load(work: Path, full: bool, sessions: int | None = None, duration_s: float | None = None) -> dict:
    """Each session count with distinct questions (cache off), then the repeat scenario."""
    counts = (sessions,) if sessions else LOAD_SESSIONS[full]
    duration_s = duration_s or LOAD_DURATION_S[full]
    runs = [(n, False) for n in counts] + [(counts[0], True)]
    figures, stats = [], {}
    for n, repeat in runs:
        name = f"{'repeat' if repeat else 'distinct'}-{n}"
        got = _scenario(work, full, n, duration_s, repeat)
        stats[name] = got
        figures += _figures(name, got, n, duration_s, repeat, full)
    return {"figures": figures, "stats": stats}


def _scenario(work: Path, full: bool, sessions: int, duration_s: float, repeat: bool) -> dict:
    cache = {"answer_cache_entries": "1024" if repeat else "0"}
    if full:  # the real product: `python -m app serve` with the real model, its own process
        corpus, index = work / "load-corpus", work / "load-index"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(SEED_CORPUS, corpus, dirs_exist_ok=True)
        env = child_env(**cache)
        done = run_app(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q"], env, 900)
        if done.returncode != 0:
            raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
        with ServedApp(index, env, work / "load-serve.log") as app:
            log(f"load: app ready in {app.ready_s:.1f} s; {sessions} sessions for {duration_s:.0f} s (real model)")
            stats = run_sessions(app.url, sessions, duration_s, answer_timeout_s=600, repeat=repeat)
            stats["model"] = "real (python -m app serve)"
            stats["cold_start_s"] = rounded(app.ready_s, 1)
        return stats
    # CI: the app in-process with the fake model slowed down to queue like a real one
    from app.adapters.server import ServerThread, create_app
    from app.config import Settings
    from app.testing.fakes import HashingEmbedder
    from app.wiring import build_services

    settings = Settings(corpus_dir=SEED_CORPUS, index_dir=work / "load-index-fake", embedding_model="hashing",
                        chroma_host=None, llm_backend="fake", **cache)  # fmt: skip
    ingest_in_process(settings, SEED_CORPUS)
    services = build_services(settings, llm=_delayed_fake_model(FAKE_DELAY_S), embedder=HashingEmbedder())
    with ServerThread(create_app(services)) as url:
        log(f"load: {sessions} sessions for {duration_s:.0f} s (fake model, {FAKE_DELAY_S} s per answer)")
        stats = run_sessions(url, sessions, duration_s, answer_timeout_s=120, repeat=repeat)
        stats["model"] = f"fake, {FAKE_DELAY_S} s per answer (in-process app)"
    return stats


def _figures(name: str, stats: dict, sessions: int, duration_s: float, repeat: bool, full: bool) -> list[dict]:
    errors = len(stats["errors"]) + len(stats["light_errors"])
    light_limit = 5.0
    out = [
        figure(f"{name}/sessions", f"{name}: sessions x duration, model", f"{sessions} x {duration_s:.0f} s, "
               f"{stats['model']}", "", None),
        figure(f"{name}/requests", f"{name}: questions answered", stats["answered"], ">= sessions",
               stats["answered"] >= sessions),
        figure(f"{name}/errors", f"{name}: errors (questions and light requests)", errors, "0", errors == 0),
        figure(f"{name}/throughput", f"{name}: answers per minute", stats["answers_per_min"], "report", None),
        figure(f"{name}/wait", f"{name}: wait until the model starts p50 / p95 (s)",
               f"{stats['wait_p50_s']} / {stats['wait_p95_s']}", "report", None),
        figure(f"{name}/answer", f"{name}: answer time (submit to verified answer) p50 / p95 (s)",
               f"{stats['answer_p50_s']} / {stats['answer_p95_s']}", "report", None),
        figure(f"{name}/light", f"{name}: light request while the model is busy p50 / p95 / max (s)",
               f"{stats['light_p50_s']} / {stats['light_p95_s']} / {stats['light_max_s']} ({stats['light_requests']})",
               f"p95 < {light_limit:.0f} s",
               (stats["light_p95_s"] or 1e9) < light_limit and stats["light_requests"] > 0),
        figure(f"{name}/refused", f"{name}: admissions refused, with a message",
               f"{stats['refused']} {stats['refused_messages']}", "report", None),
        figure(f"{name}/queue_rank", f"{name}: largest queue position shown to a waiting user",
               stats["max_queue_rank"], "report", None),
    ]  # fmt: skip
    if repeat:
        # timed against a server of its own (--full); in the reduced run the load generator shares the
        # server's process and cores, so only that hits happen is checked there
        p95, hits = stats["cache_hit_p95_ms"], stats["cache_hits"]
        ok = hits > 0 and (not full or (p95 is not None and p95 <= 50))
        target = "p95 <= 50 ms" if full else "hits > 0 (latency: --full)"
        out.append(figure(f"{name}/cache_hit", f"{name}: cache hit over /api/ask p50 / p95 (ms)",
                          f"{stats['cache_hit_p50_ms']} / {p95} ({hits})", target, ok))  # fmt: skip
    return out
