"""Request schemas of the HTTP API (their limits come from the settings) and its query and
path parameters; their examples are in examples.py."""

# No ``from __future__ import annotations``: pydantic and FastAPI read the real annotations.

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.adapters.api.examples import ASK_REQUESTS, CLAIM_REQUESTS, DOC_ID
from app.adapters.api.http_errors import drop_surrogates
from app.adapters.api.responses import param_example
from app.config import Settings

MAX_TURN_CHARS = 20_000
MAX_OUTLETS = 100

# --- parameters -------------------------------------------------------------------------------

OutletsQuery = Annotated[
    list[str] | None,
    Query(
        description="Only these outlets (repeatable).",
        openapi_examples=param_example(["Example Gazette"], "One outlet"),
    ),
]
DateFromQuery = Annotated[
    dt.date | None,
    Query(
        description="Only articles published on or after this ISO date.", openapi_examples=param_example("2025-03-01")
    ),
]
DateToQuery = Annotated[
    dt.date | None,
    Query(
        description="Only articles published on or before this ISO date.", openapi_examples=param_example("2025-03-31")
    ),
]
DocIdPath = Annotated[
    str,
    Path(description="The article's id (its path in the corpus, no suffix).", openapi_examples=param_example(DOC_ID)),
]
ModelIdPath = Annotated[str, Path(description="The model's id.", openapi_examples=param_example("newsrag"))]


@dataclass(frozen=True)
class Schemas:
    AskRequest: type[BaseModel]
    ClaimRequest: type[BaseModel]


def make_schemas(settings: Settings) -> Schemas:
    """The request models, with the question length and history limits of the settings."""
    max_chars = settings.max_question_chars
    max_turns = settings.max_request_turns
    Text = Annotated[str, BeforeValidator(drop_surrogates)]
    Turn = Annotated[Text, Field(max_length=MAX_TURN_CHARS)]
    Outlet = Annotated[str, Field(max_length=200)]

    class FilterFields(BaseModel):
        model_config = ConfigDict(extra="forbid")

        outlets: list[Outlet] = Field(
            default_factory=list, max_length=MAX_OUTLETS, description="Only articles of these outlets (empty: all)."
        )
        date_from: dt.date | None = Field(None, description="Only articles published on or after this ISO date.")
        date_to: dt.date | None = Field(None, description="Only articles published on or before this ISO date.")

    class AskRequest(FilterFields):
        question: Text = Field(
            ..., min_length=1, max_length=max_chars, description=f"The question (at most {max_chars:,} characters)."
        )
        history: list[tuple[Turn, Turn]] = Field(
            default_factory=list,
            max_length=max_turns,
            description="Earlier turns, oldest first, as [question, answer] pairs (for follow-up questions).",
        )

        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": ASK_REQUESTS})

    class ClaimRequest(FilterFields):
        claim: Text = Field(
            ..., min_length=1, max_length=max_chars, description=f"The claim to check (at most {max_chars:,} chars)."
        )

        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": CLAIM_REQUESTS})

    return Schemas(AskRequest=AskRequest, ClaimRequest=ClaimRequest)
