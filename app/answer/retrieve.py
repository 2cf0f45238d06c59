"""Stage 3 of a question's path: the retrieval call. The index state is refreshed once, the
question's time words are resolved against the newest article ("latest", "in April"), and
the hybrid retriever returns the ranked chunks."""

from __future__ import annotations

from dataclasses import dataclass

from app.answer.question import QuestionFrame
from app.config import Settings
from app.domain import Filters
from app.index.retrieval import HybridRetriever, Retrieval
from app.text.timewords import TimeIntent, resolve


@dataclass
class Retrieved:
    """The chunks retrieved for a question, and the time window its words name."""

    result: Retrieval
    intent: TimeIntent


def retrieve(
    retriever: HybridRetriever, frame: QuestionFrame, settings: Settings, filters: Filters | None
) -> Retrieved:
    """The chunks for the question, with the settings' arms, weights and sizes."""
    retriever.refresh()
    intent = resolve(frame.text, retriever.newest_date())
    result = retriever.search(
        frame.text,
        k=settings.retrieval_k,
        filters=filters,
        mode=settings.retrieval_mode,
        candidates=settings.retrieval_candidates,
        refresh=False,
    )
    return Retrieved(result, intent)
