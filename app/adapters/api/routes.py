"""The HTTP API: ``/api/ask`` (the JSON of ``ask --json``), ``/api/ask/stream``,
``/api/claims``, ``/api/articles``, ``/api/health`` and ``/api/ingest``; the request
schemas are in schemas.py, their documented examples in examples.py, the errors in errors.py.
"""

# No ``from __future__ import annotations``: FastAPI resolves the request models from the
# real annotations.

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.adapters.api.examples import (
    ADDED_FILES,
    ADDED_WEB,
    ARTICLE,
    ARTICLES,
    ASK_ANSWER,
    CLAIM_RESULT,
    HEALTH,
    HEALTH_DOWN,
    INGEST_REQUESTS,
    INGESTED,
    STREAM_EVENTS,
    UPLOAD_BODY,
)
from app.adapters.api.http_errors import error_for, error_response
from app.adapters.api.responses import errors, ok, ok_each, response
from app.adapters.api.schemas import DateFromQuery, DateToQuery, DocIdPath, OutletsQuery, Schemas, make_schemas
from app.answer.reply import Final, Stage, Token
from app.domain import Filters
from app.services.admin import admin_refusal, bearer_token
from app.wiring import Services


def run(fn: Callable[[], Any]) -> Any:
    """Call fn; domain errors become 400/409/503, anything else a generic 500."""
    try:
        return fn()
    except Exception as exc:
        return error_for(exc)


def client_of(http: Request) -> str:
    """Who asks, for the per-client rate limit: the caller's address."""
    return "ip:" + (http.client.host if http.client else "")


def make_filters(outlets: list[str], date_from: dt.date | None, date_to: dt.date | None) -> Filters:
    return Filters.parse(outlets, date_from, date_to)


def build_api(services: Services) -> APIRouter:
    """The /api routes, bound to the services."""
    router = APIRouter(prefix="/api")
    schemas = make_schemas(services.settings)
    _answer_routes(router, services, schemas)
    _claim_routes(router, services, schemas)
    _article_routes(router, services)
    _admin_routes(router, services)
    return router


def _answer_routes(router: APIRouter, services: Services, schemas: Schemas) -> None:
    AskRequest = schemas.AskRequest
    serving = services.serving

    @router.post(
        "/ask",
        summary="Answer a question with verified citations",
        description="Returns the same JSON as `python -m app ask --json`: `answer`, `abstained`, `citations` "
        "(each with `n`, `doc_id`, `title`, `outlet`, `published`, `quote`, `start`, `end`), `sentences`, "
        "`unsupported`, `retrieved`, `timings`, `standalone_question`, `time_intent`.",
        responses=ok(ASK_ANSWER) | errors(400, 422, 429, 503),
    )
    def ask(request: AskRequest, http: Request) -> dict:
        def answer() -> dict:
            filters = make_filters(request.outlets, request.date_from, request.date_to)
            history = [(q, a) for q, a in request.history]
            return serving.ask(request.question, history, filters, client=client_of(http)).as_dict()

        return run(answer)

    @router.post(
        "/ask/stream",
        summary="Answer a question, streamed as NDJSON events",
        description='One JSON object per line: `{"event": "stage", "name": ...}`, `{"event": "token", "text": ...}`, '
        'then `{"event": "final", "answer": {...}}` (the JSON of /api/ask), or `{"event": "error", ...}`.',
        response_class=StreamingResponse,
        responses=ok(STREAM_EVENTS, "application/x-ndjson") | errors(400, 422, 429, 503),
    )
    def ask_stream(request: AskRequest, http: Request):
        try:
            filters = make_filters(request.outlets, request.date_from, request.date_to)
            history = [(q, a) for q, a in request.history]
            events = serving.stream(request.question, history, filters, client=client_of(http))
            first = next(events)  # a refusal is an HTTP error, not a stream that fails
        except Exception as exc:
            return error_for(exc)
        return StreamingResponse(_events(itertools.chain([first], events)), media_type="application/x-ndjson")


def _events(stream) -> Iterator[str]:
    """The answer's events as NDJSON lines; an error ends the stream with an error event."""
    try:
        for event in stream:
            if isinstance(event, Stage):
                item = {"event": "stage", "name": event.name, **event.detail}
            elif isinstance(event, Token):
                item = {"event": "token", "text": event.text}
            elif isinstance(event, Final):
                item = {"event": "final", "answer": event.answer.as_dict()}
            else:
                continue
            yield json.dumps(item, ensure_ascii=False) + "\n"
    except Exception as exc:
        body = json.loads(error_for(exc).body)
        yield json.dumps({"event": "error", **body}, ensure_ascii=False) + "\n"


def _claim_routes(router: APIRouter, services: Services, schemas: Schemas) -> None:
    ClaimRequest = schemas.ClaimRequest

    @router.post(
        "/claims",
        summary="Check a claim against the articles",
        description="The `verdict` (`supported`, `contradicted`, `mixed` or `not_found`) with the passages that "
        "support, contradict or qualify the claim, each quoted exactly with its offsets in the article.",
        responses=ok(CLAIM_RESULT) | errors(400, 422, 503, say={400: "The claim has no words to check."}),
    )
    def claims(request: ClaimRequest) -> dict:
        def check() -> dict:
            filters = make_filters(request.outlets, request.date_from, request.date_to)
            return services.claims.check(request.claim, filters).as_dict()

        return run(check)


def _article_routes(router: APIRouter, services: Services) -> None:
    articles = services.articles

    @router.get(
        "/articles",
        summary="List the indexed articles (newest first)",
        description="Each article's `doc_id` (for `/api/articles/{doc_id}`), title, outlet, date and chunk count.",
        responses=ok(ARTICLES) | errors(400, 422, say={400: "The 'from' date (2025-03-31) is after the 'to' date."}),
    )
    def listing(outlet: OutletsQuery = None, date_from: DateFromQuery = None, date_to: DateToQuery = None) -> dict:
        def items() -> dict:
            found = [a.summary() for a in articles.list(make_filters(outlet or [], date_from, date_to))]
            return {"count": len(found), "articles": found}

        return run(items)

    @router.get(
        "/articles/{doc_id:path}",
        summary="One article in full (its cleaned text)",
        description="The text that citations' `start` and `end` offsets index into.",
        responses=ok(ARTICLE) | errors(404),
    )
    def article(doc_id: DocIdPath) -> dict:
        def read() -> Any:
            found = articles.get(doc_id)
            if found is None:
                return error_response(404, "not_found", f"No indexed article has the id {doc_id!r}.")
            return {**found.summary(), "text": found.text}

        return run(read)

    @router.get(
        "/health",
        summary="Whether the index and the model are ready",
        description="200 when both are ready, else 503 with the same body saying which is not.",
        responses=ok(HEALTH) | response(503, "Not ready (the body says which part)", HEALTH_DOWN),
    )
    def health() -> JSONResponse:
        body = services.health.check()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)


def _admin_routes(router: APIRouter, services: Services) -> None:
    def refused(http: Request) -> JSONResponse | None:
        client = http.client.host if http.client else ""
        message = admin_refusal(services.settings, client, bearer_token(http.headers.get("authorization")))
        return error_response(403, "forbidden", message) if message else None

    _ingest_route(router, services, refused)
    _files_route(router, services, refused)


def _ingest_route(router: APIRouter, services: Services, refused) -> None:
    from pydantic import BaseModel, ConfigDict, Field

    URL = Annotated[str, Field(max_length=4096)]

    class IngestRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": INGEST_REQUESTS})
        corpus: str | None = Field(None, max_length=4096, description="Corpus folder on the server (absolute path).")
        urls: list[URL] = Field(default_factory=list, max_length=1000, description="Article pages to fetch.")
        feeds: list[URL] = Field(default_factory=list, max_length=100, description="RSS or Atom feeds to read.")
        rebuild: bool = Field(False, description="Refused while serving: stop the app to rebuild.")

    @router.post(
        "/ingest",
        summary="Add articles: fetch pages and feeds, or index a corpus folder (admin)",
        description="With `urls` and/or `feeds`, the pages are fetched into the served corpus folder and indexed; "
        "with `corpus`, that folder is indexed (what `python -m app ingest` sends when the app is running). "
        "Allowed from this machine, or with `Authorization: Bearer <NEWSRAG_ADMIN_TOKEN>`; others get 403.",
        responses=ok_each(corpus=("A corpus folder indexed", INGESTED), web=("Pages and feeds fetched", ADDED_WEB))
        | errors(
            400, 403, 409, 422, 503, say={400: ("bad_request", "Name a corpus folder, or urls or feeds to fetch.")}
        ),
    )
    def ingest_corpus(request: IngestRequest, http: Request) -> JSONResponse:
        """The serving app is the one writer of its embedded index: ``python -m app ingest``
        hands the work here, and the new articles are searchable as soon as it finishes."""
        if (denied := refused(http)) is not None:
            return denied
        if request.rebuild:
            return error_response(
                409, "conflict", "Stop the app to rebuild its index (python -m app ingest --rebuild)."
            )
        if not (request.corpus or request.urls or request.feeds):
            return error_response(400, "bad_request", "Name a corpus folder, or urls or feeds to fetch.")
        try:
            if request.urls or request.feeds:
                added = services.adder.from_web(request.urls, request.feeds)
                return JSONResponse(added.as_dict())
            report = services.ingest.run(Path(request.corpus))
        except Exception as exc:
            return error_for(exc)
        return JSONResponse({**report.as_dict(), "summary": report.summary()})


def _files_route(router: APIRouter, services: Services, refused) -> None:
    from fastapi import File, UploadFile

    @router.post(
        "/ingest/files",
        summary="Add article files (.md, .txt, .html, .jsonl) to the corpus and index them (admin)",
        description="Multipart upload (`files`). A file whose articles do not all read is refused with the "
        "reasons and not stored. Same admin rule as /api/ingest.",
        openapi_extra={"requestBody": {"content": {"multipart/form-data": {"example": UPLOAD_BODY}}}},
        responses=ok(ADDED_FILES) | errors(403, 413, 422, 503),
    )
    async def ingest_files(http: Request, files: Annotated[list[UploadFile], File()]) -> JSONResponse:
        if (denied := refused(http)) is not None:
            return denied
        limit = int(services.settings.max_file_mb * 1_000_000)
        payload = []
        for upload in files[:100]:
            raw = await upload.read(limit + 1)
            if len(raw) > limit:
                return error_response(413, "too_large", f"{upload.filename}: larger than NEWSRAG_MAX_FILE_MB.")
            payload.append((upload.filename or "", raw))
        try:
            from starlette.concurrency import run_in_threadpool

            added = await run_in_threadpool(services.adder.from_files, payload)
        except Exception as exc:
            return error_for(exc)
        return JSONResponse(added.as_dict())
