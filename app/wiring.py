"""The one place that builds the services an adapter (CLI, server, UI, API, eval) uses.

Adapters call ``build_services`` and talk only to what it returns: they never touch the
store, the retriever or the model directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models.chat_models import BaseChatModel

from app.answer.service import AnswerService
from app.claims.checker import ClaimChecker
from app.config import Settings, offline_environment
from app.index.embeddings import Embedder, make_embedder
from app.index.retrieval import HybridRetriever
from app.llm.backends import make_chat_model
from app.services.articles import ArticleService
from app.services.health import HealthService
from app.services.ingest import IngestService
from app.services.serving import ServingService
from app.services.web_ingest import ArticleAdder


@dataclass
class Services:
    """Everything an adapter may call."""

    settings: Settings
    answers: AnswerService
    serving: ServingService
    claims: ClaimChecker
    articles: ArticleService
    ingest: IngestService
    adder: ArticleAdder
    health: HealthService

    def warm_up(self, prompt: bool = True) -> None:
        """Load the models now rather than at the first question (see AnswerService.warm_up)."""
        self.answers.warm_up(prompt)


def build_services(
    settings: Settings, *, llm: BaseChatModel | None = None, embedder: Embedder | None = None
) -> Services:
    """Open the index (checking its manifest), warm the retriever, attach the LLM, and
    build every service on them."""
    offline_environment()
    embedder = embedder or make_embedder(settings)
    retriever = HybridRetriever(settings, embedder).load()
    llm = llm or make_chat_model(settings)
    answers = AnswerService(settings, retriever, llm)
    ingest = IngestService(settings, retriever.store, embedder, on_change=lambda: retriever.refresh(force=True))
    return Services(
        settings=settings,
        answers=answers,
        serving=ServingService(answers),
        claims=ClaimChecker(retriever, settings),
        articles=ArticleService(retriever, settings.corpus_dir, answers.nlp),
        ingest=ingest,
        adder=ArticleAdder(settings, ingest),
        health=HealthService(settings, retriever, llm, str(answers.model_name)),
    )


def build_answer_service(
    settings: Settings, *, llm: BaseChatModel | None = None, embedder: Embedder | None = None
) -> AnswerService:
    """Only the answer service (the eval and the benchmark need no more)."""
    return build_services(settings, llm=llm, embedder=embedder).answers
