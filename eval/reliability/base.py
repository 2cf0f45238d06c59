"""Small helpers every reliability case uses: the progress log, rounding, shares, the
figure record each case reports, and an in-process ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.common import logger

log = logger("reliability")


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def share(n: int, d: int) -> float | None:
    return None if d == 0 else n / d


def figure(key: str, label: str, value: Any, target: str = "", ok: bool | None = None) -> dict:
    """One reported figure: ``ok`` is None when the figure has no pass/fail target."""
    return {"key": key, "label": label, "value": value, "target": target, "ok": ok}


def ingest_in_process(settings, corpus: Path):
    from app.services.ingest import ingest

    return ingest(settings, corpus, progress=False)
