"""Helpers the eval modules share: the repository's paths, percentiles, the text
normalisation of the scores and the judges, and running ``python -m app`` (or any module)
in a child process, including a served app polled until it is ready."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BBC = SHARED / "benchmarks" / "bbc"
SEED_CORPUS = REPO / "corpus"
BBC_GOLD = REPO / "eval" / "gold" / "bbc.jsonl"
SEED_GOLD = REPO / "eval" / "gold" / "seed.jsonl"

# Every child: output unbuffered (its log is read while it runs), no downloads, no telemetry.
BASE_CHILD_ENV = {
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
}
CLEAN_ENV = {**BASE_CHILD_ENV, "TOKENIZERS_PARALLELISM": "false"}


def logger(name: str) -> Callable[[str], None]:
    """A progress log on stderr whose lines read ``[name HH:MM:SS] message``."""

    def log(msg: str) -> None:
        print(f"[{name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    return log


# --- figures ------------------------------------------------------------------------------


def percentile(values: list[float], q: float, method: Literal["linear", "nearest"] = "linear") -> float | None:
    """The q-th percentile (0-100); None for no values.

    ``linear`` interpolates between the two nearest ranks (numpy's default; the benchmark's
    and the reliability suite's figures). ``nearest`` is the value at rank
    ``round(q / 100 * (n - 1))``, unrounded (the gold scores' latencies)."""
    if not values:
        return None
    if method == "nearest":
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
    return float(np.percentile(np.asarray(values, dtype=float), q))


_NUM_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30",
    "hundred": "100", "thousand": "1000",
}  # fmt: skip


def normalise(text: str, *, keep_punctuation: bool = False) -> str:
    """Text as the scores compare it: lowercase, straight quotes, no punctuation, numbers
    without separators (and number words as digits).

    With ``keep_punctuation`` (the reliability judges, which look for quoted markers such
    as "4.5%" in answers): only lowercase, the right single quote and the dashes unified,
    thousands commas between digits dropped, single spaces."""
    if not keep_punctuation:
        text = unicodedata.normalize("NFKC", text)
    text = text.lower().replace("\u2019", "'")
    if keep_punctuation:
        text = text.replace("\u2013", "-").replace("\u2014", "-")
        text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
        return re.sub(r"\s+", " ", text).strip()
    text = text.replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"(?<=\d)[,\u00a0 ](?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r"(?<=\d)\.0+\b", "", text)  # 5.0 -> 5
    text = re.sub(r"\s*\b(?:per ?cent|percent)\b", "%", text)
    text = re.sub(r"[^\w%$£€.]+", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points only
    words = [_NUM_WORDS.get(w, w) for w in text.split()]
    return " ".join(words)


# --- child processes ----------------------------------------------------------------------


def child_env(**newsrag: str) -> dict[str, str]:
    """Environment of a child ``python -m app`` process: offline, our NEWSRAG_* settings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(CLEAN_ENV)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if newsrag.get("llm_backend") == "fake":  # the fitted answer model judges the real model's picks
        newsrag.setdefault("answer_model", "none")
    env.update({f"NEWSRAG_{k.upper()}": str(v) for k, v in newsrag.items()})
    return env


def run_app(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def stop_process(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """Stop a child we started (by its pid): SIGTERM, then SIGKILL after a grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)


def python_json(module_args: list[str], env: dict[str, str], timeout: float = 300) -> dict:
    """Run ``python -m MODULE ARGS...`` in a fresh interpreter (a reader that shares no
    Chroma state with us); it prints one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-m", *module_args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"child failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tail(path: Path, n: int = 2000) -> str:
    """The last ``n`` characters of a log file ("" if it cannot be read)."""
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-n:]
    return ""


class ServedApp:
    """``python -m app serve`` in a child process on 127.0.0.1, stopped by pid on exit.

    Entering starts it and polls ``/api/health`` every ``poll_s`` until it answers 200 with
    a ready body; ``ready_s`` is the time from process start to then (the cold start) and
    ``health`` that body. The index is ``index_dir`` if given, else the env's settings."""

    def __init__(
        self,
        index_dir: Path | None,
        env: dict[str, str],
        log_path: Path,
        start_timeout: float = 300.0,
        *,
        poll_s: float = 0.3,
        request_timeout_s: float = 2.0,
    ):
        from app.adapters.server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.index_dir = index_dir
        self.env = env
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.poll_s = poll_s
        self.request_timeout_s = request_timeout_s
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None
        self.health: dict = {}

    def __enter__(self) -> ServedApp:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.index_dir is not None:
            args += ["--index-dir", str(self.index_dir)]
        with open(self.log_path, "wb") as log_fh:
            started = time.perf_counter()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", *args], env=self.env, cwd=REPO, stdout=log_fh, stderr=subprocess.STDOUT
            )
        try:
            self.ready_s = self._wait_ready(started)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, started: float) -> float:
        import httpx

        with httpx.Client(timeout=self.request_timeout_s) as client:
            while time.perf_counter() - started < self.start_timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}: {tail(self.log_path)}")
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    r = client.get(self.url + "/api/health")
                    if r.status_code == 200:
                        health = r.json()
                        if health.get("ready") is True or health.get("status") == "ok":
                            self.health = health
                            return time.perf_counter() - started
                time.sleep(self.poll_s)
        raise TimeoutError(f"the server was not ready within {self.start_timeout:.0f} s: {tail(self.log_path)}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process(self.proc)
