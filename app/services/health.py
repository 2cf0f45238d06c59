"""Whether the index and the language model are ready to answer (``/api/health``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from app.config import Settings
from app.errors import NewsragError, without_paths
from app.index.retrieval import HybridRetriever

log = logging.getLogger(__name__)


def model_status(settings: Settings, llm: BaseChatModel, name: str) -> dict[str, Any]:
    """The language model's backend, name, file (its name, not where it is) and load state."""
    status: dict[str, Any] = {"backend": settings.llm_backend, "name": name}
    path = getattr(llm, "model_path", None)
    if path is not None:  # in-process llama.cpp
        status["file"] = os.path.basename(path)
        status["loaded"] = bool(getattr(llm, "loaded", False))
        status["ready"] = os.path.isfile(path)
    else:  # remote or fake backends answer (or fail) per request
        status["ready"] = True
    return status


class HealthService:
    def __init__(self, settings: Settings, retriever: HybridRetriever, llm: BaseChatModel, model_name: str):
        self.settings = settings
        self._retriever = retriever
        self._llm = llm
        self._model_name = model_name

    def check(self) -> dict[str, Any]:
        """``{"status", "ready", "index": {...}, "model": {...}}``; never raises."""
        index: dict[str, Any] = {
            "collection": self.settings.collection,
            "embedding_model": self.settings.embedding_model,
        }
        try:
            self._retriever.refresh()
            size = self._retriever.size
            index.update(
                chunks=size, articles=len(self._retriever.articles()), ready=size > 0, updated=self._retriever.updated
            )
        except Exception as exc:  # the store went away
            log.warning("health: index unavailable: %s", exc)
            index.update(
                chunks=0,
                articles=0,
                ready=False,
                message=without_paths(str(exc)) if isinstance(exc, NewsragError) else "",
            )
        model = model_status(self.settings, self._llm, self._model_name)
        ready = bool(index["ready"] and model["ready"])
        return {"status": "ok" if ready else "unavailable", "ready": ready, "index": index, "model": model}
