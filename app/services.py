"""Wiring: build the services an edge (CLI, UI, API, eval) needs from the settings."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from app.chain import AnswerService
from app.config import Settings
from app.embeddings import Embedder, make_embedder
from app.llm import make_chat_model
from app.retrieval import HybridRetriever


def build_answer_service(
    settings: Settings, *, llm: BaseChatModel | None = None, embedder: Embedder | None = None
) -> AnswerService:
    """Open the index (checking its manifest), warm the retriever, and attach the LLM."""
    embedder = embedder or make_embedder(settings)
    retriever = HybridRetriever(settings, embedder).load()
    return AnswerService(settings, retriever, llm or make_chat_model(settings))
