"""The articles of the index as users see them: listings, one article, outlets, counts."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import yaml

from app.domain import Article, Filters, IndexVersion
from app.index.retrieval import HybridRetriever
from app.services.overview import CorpusOverview, build_overview

log = logging.getLogger(__name__)

EXAMPLES_FILE = "_examples.yaml"  # beside the articles; discovery skips names starting with "_"


@dataclass(frozen=True)
class Examples:
    """Example questions and claims the UI offers for this corpus."""

    questions: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)


class ArticleService:
    """Read-only views of the indexed articles (they follow the index as it changes)."""

    def __init__(self, retriever: HybridRetriever, corpus_dir: Path | None = None, nlp=None):
        self._retriever = retriever
        self._corpus_dir = Path(corpus_dir) if corpus_dir else None
        self._nlp = nlp  # the shared spaCy pipeline (app.text.nlp.Nlp); None: the card names no topics
        self._overview: tuple[IndexVersion, CorpusOverview] | None = None

    def list(self, filters: Filters | None = None) -> list[Article]:
        """The indexed articles that pass the filters, newest first."""
        self._retriever.refresh()
        filters = filters or Filters()
        return [a for a in self._retriever.articles() if filters.admits(a.outlet, a.published)]

    def get(self, doc_id: str) -> Article | None:
        self._retriever.refresh()
        return self._retriever.article(doc_id)

    def outlets(self) -> list[str]:
        self._retriever.refresh()
        return self._retriever.outlets()

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        self._retriever.refresh()
        return len(self._retriever.articles()), self._retriever.size

    def updated(self) -> str:
        """When an ingest last changed the index (UTC, ISO 8601; "" when unknown)."""
        self._retriever.refresh()
        return self._retriever.updated

    def index_version(self) -> IndexVersion:
        """Which index the articles are read from (what an export of an answer records)."""
        self._retriever.refresh()
        retriever = self._retriever
        return IndexVersion(
            retriever.store.chunks_name, retriever.version, retriever.updated, len(retriever.articles())
        )

    def newest_date(self) -> dt.date | None:
        return self._retriever.newest_date()

    def overview(self) -> CorpusOverview:
        """The corpus card (``app.services.overview``), recomputed when the index changes."""
        version = self.index_version()
        if self._overview is None or self._overview[0] != version:
            parse_many = self._nlp.parse_many if self._nlp is not None else _no_names
            self._overview = (version, build_overview(self._retriever.articles(), parse_many))
        return self._overview[1]

    def examples(self) -> Examples:
        """The corpus's own examples (``questions:`` and ``claims:`` lists in
        ``<corpus>/_examples.yaml``); questions it does not list are asked in plain words about
        the names of the newest articles (``overview``)."""
        questions: list[str] = []
        claims: list[str] = []
        path = self._corpus_dir / EXAMPLES_FILE if self._corpus_dir else None
        if path is not None and path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                questions, claims = _strings(data.get("questions")), _strings(data.get("claims"))
            except (OSError, ValueError, yaml.YAMLError, AttributeError) as exc:
                log.warning("ignoring %s: %s", path, exc)
        return Examples(questions or list(self.overview().questions), claims)


def _strings(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(v).strip() for v in values if isinstance(v, (str, int, float)) and str(v).strip()]


def _no_names(texts: list[str]) -> list:
    """A parse with no entities, for a service built without the pipeline."""
    return [SimpleNamespace(ents=()) for _ in texts]
