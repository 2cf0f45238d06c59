"""Constants and small helpers every part of the benchmark uses: the k of the retrieval
figures, rounding, the machine's load and memory, and the settings of a benchmark index."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

from eval.common import logger

K = 5  # recall@5 and the k both retrievers are asked for

log = logger("bench")


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return []


def machine_info() -> dict:
    """nproc, CPU model, RAM, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(Exception):
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info


def proc_status_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A memory figure of a process from /proc/<pid>/status, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def clear_query_cache(embedder) -> None:
    """Forget cached query vectors so every timed search embeds its query."""
    cache = getattr(embedder, "_query_cache", None)
    if cache is not None:
        cache.clear()


def make_settings(corpus: Path, index_dir: Path):
    """The environment's settings (NEWSRAG_*), in an embedded index of our own."""
    from app.config import Settings

    return Settings(corpus_dir=corpus, index_dir=index_dir, chroma_host=None)
