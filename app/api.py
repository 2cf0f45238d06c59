"""The HTTP API: ``/api/ask`` (the JSON of ``ask --json``), ``/api/ask/stream``,
``/api/claims``, ``/api/articles``, ``/api/health``; OpenAPI at ``/openapi.json`` and
an offline docs page at ``/docs``.

Errors are JSON ``{"error": code, "message": text, "status": n}``, never a stack trace:
400 for a question that cannot be asked (empty after cleaning, bad filter), 422 for a
request that does not fit the schema (missing or oversized question), 404 for an unknown
article, 503 when the language model or the index fails, 500 with a generic message
for anything else (the details go to the server log).
"""

# No ``from __future__ import annotations``: FastAPI resolves the request models defined
# inside ``build_api`` from the real annotations.

import contextlib
import datetime as dt
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.chain import AnswerService, Final, Stage, Token, clean_question
from app.claims import ClaimChecker
from app.errors import BackendError, BadQuestionError, ModelError, NewsragError
from app.retrieval import Article, Filters

log = logging.getLogger(__name__)

MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 20_000
MAX_OUTLETS = 100
_SURROGATES = re.compile("[\ud800-\udfff]")
GENERIC_500 = "Internal error: the request could not be completed. It has been logged on the server."


def drop_surrogates(value: Any) -> Any:
    """Lone surrogates (invalid unicode a JSON body can still carry as ``\\ud800``) become
    spaces, so a question with one stray bad character is answered rather than refused."""
    if isinstance(value, str):
        return _SURROGATES.sub(" ", value)
    return value


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "status": status, **extra}, status_code=status)


def error_for(exc: Exception) -> JSONResponse:
    """The JSON error a domain exception stands for (never its traceback)."""
    if isinstance(exc, BadQuestionError):
        return error_response(400, "bad_question", str(exc))
    if isinstance(exc, (BackendError, ModelError)):
        return error_response(503, "backend_unavailable", str(exc))
    if isinstance(exc, NewsragError):
        return error_response(503, "service_unavailable", str(exc))
    log.error("request failed", exc_info=exc)
    return error_response(500, "internal_error", GENERIC_500)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for validation failures, HTTP errors and anything unexpected."""

    async def validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the offending input is not echoed back (it may be megabytes long)
        details = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
        return error_response(422, "invalid_request", message, details=details)

    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return error_for(exc)

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NewsragError, unexpected)
    app.add_exception_handler(Exception, unexpected)


def article_summary(article: Article) -> dict:
    return {
        "doc_id": article.doc_id,
        "title": article.title,
        "outlet": article.outlet,
        "published": article.published,
        "n_chunks": article.n_chunks,
        "url": article.url,
    }


def article_matches(article: Article, filters: Filters) -> bool:
    """Whether an article passes the outlet and date filters."""
    if filters.outlets and article.outlet not in filters.outlets:
        return False
    day = dt.date.fromisoformat(article.published) if article.published else None
    if filters.date_from and (day is None or day < filters.date_from):
        return False
    return not (filters.date_to and (day is None or day > filters.date_to))


def make_filters(outlets: list[str], date_from: dt.date | None, date_to: dt.date | None) -> Filters:
    if date_from and date_to and date_from > date_to:
        raise BadQuestionError(f"date_from ({date_from}) is after date_to ({date_to}).")
    return Filters(outlets=tuple(o for o in outlets if o), date_from=date_from, date_to=date_to)


def model_status(service: AnswerService) -> dict:
    """Whether the language model can answer: its backend, name, file and load state."""
    settings = service.settings
    llm = service.llm
    status: dict[str, Any] = {"backend": settings.llm_backend, "name": str(service.model_name)}
    path = getattr(llm, "model_path", None)
    if path is not None:  # in-process llama.cpp
        import os

        status["file"] = os.path.basename(path)
        status["loaded"] = getattr(llm, "_llm", None) is not None
        status["ready"] = os.path.isfile(path)
    else:  # remote or fake backends answer (or fail) per request
        status["ready"] = True
    return status


def build_api(service: AnswerService, checker: ClaimChecker | None = None) -> APIRouter:
    """The /api routes, bound to one answer service."""
    settings = service.settings
    retriever = service.retriever
    checker = checker or ClaimChecker(retriever, settings)
    max_chars = settings.max_question_chars
    router = APIRouter(prefix="/api")

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
            max_length=MAX_HISTORY_TURNS,
            description="Earlier turns, oldest first, as [question, answer] pairs (for follow-up questions).",
        )

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {"question": "Where are talks involving Ukrainian, U.S. and European officials set to continue?"}
                ]
            },
        )

    class ClaimRequest(FilterFields):
        claim: Text = Field(
            ..., min_length=1, max_length=max_chars, description=f"The claim to check (at most {max_chars:,} chars)."
        )

    def run(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # domain errors -> 400/503; anything else -> generic 500
            return error_for(exc)

    @router.post(
        "/ask",
        summary="Answer a question with verified citations",
        description="Returns the same JSON as `python -m app ask --json`: `answer`, `abstained`, `citations` "
        "(each with `n`, `doc_id`, `title`, `outlet`, `published`, `quote`, `start`, `end`), `sentences`, "
        "`unsupported`, `retrieved`, `timings`, `standalone_question`, `time_intent`.",
        responses={
            400: {"description": "Bad question"},
            422: {"description": "Invalid request"},
            503: {"description": "Language model or index unavailable"},
        },
    )
    def ask(request: AskRequest) -> dict:
        def answer() -> dict:
            filters = make_filters(request.outlets, request.date_from, request.date_to)
            history = [(q, a) for q, a in request.history]
            return service.ask(request.question, history=history, filters=filters).as_dict()

        return run(answer)

    @router.post(
        "/ask/stream",
        summary="Answer a question, streamed as NDJSON events",
        description='One JSON object per line: `{"event": "stage", "name": ...}`, `{"event": "token", "text": ...}`, '
        'then `{"event": "final", "answer": {...}}` (the JSON of /api/ask), or `{"event": "error", ...}`.',
    )
    def ask_stream(request: AskRequest):
        try:
            clean_question(request.question, max_chars)
            filters = make_filters(request.outlets, request.date_from, request.date_to)
        except Exception as exc:
            return error_for(exc)
        history = [(q, a) for q, a in request.history]

        def events() -> Iterator[str]:
            try:
                for event in service.stream(request.question, history, filters):
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

        return StreamingResponse(events(), media_type="application/x-ndjson")

    @router.post("/claims", summary="Check a claim against the articles")
    def claims(request: ClaimRequest) -> dict:
        def check() -> dict:
            filters = make_filters(request.outlets, request.date_from, request.date_to)
            return checker.check(request.claim, filters).as_dict()

        return run(check)

    @router.get("/articles", summary="List the indexed articles (newest first)")
    def articles(
        outlet: Annotated[list[str] | None, Query(description="Only these outlets (repeatable).")] = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> dict:
        def listing() -> dict:
            retriever.refresh()
            filters = make_filters(outlet or [], date_from, date_to)
            items = [article_summary(a) for a in retriever.articles() if article_matches(a, filters)]
            return {"count": len(items), "articles": items}

        return run(listing)

    @router.get("/articles/{doc_id:path}", summary="One article in full (its cleaned text)")
    def article(doc_id: str) -> dict:
        def read() -> Any:
            retriever.refresh()
            found = retriever.article(doc_id)
            if found is None:
                return error_response(404, "not_found", f"No indexed article has the id {doc_id!r}.")
            return {**article_summary(found), "text": found.text}

        return run(read)

    @router.get("/health", summary="Whether the index and the model are ready")
    def health() -> JSONResponse:
        index: dict[str, Any] = {"collection": settings.collection, "embedding_model": settings.embedding_model}
        try:
            retriever.refresh()
            index.update(chunks=retriever.size, articles=len(retriever.articles()), ready=retriever.size > 0)
        except Exception as exc:  # the store went away
            log.warning("health: index unavailable: %s", exc)
            index.update(chunks=0, articles=0, ready=False, message=str(exc) if isinstance(exc, NewsragError) else "")
        model = model_status(service)
        ready = bool(index["ready"] and model["ready"])
        body = {"status": "ok" if ready else "unavailable", "ready": ready, "index": index, "model": model}
        return JSONResponse(body, status_code=200 if ready else 503)

    ingest_lock = threading.Lock()

    class IngestRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        corpus: str = Field(..., max_length=4096, description="Corpus folder on this machine (absolute path).")
        rebuild: bool = Field(False, description="Refused while serving: stop the app to rebuild.")

    @router.post("/ingest", summary="Index a corpus folder into the served index (from this machine only)")
    def ingest_corpus(request: IngestRequest, http: Request) -> JSONResponse:
        """The serving app is the one writer of its embedded index: ``python -m app ingest``
        hands the work here, and the new articles are searchable as soon as it finishes."""
        from app.ingest import ingest
        from app.locks import IndexLocks

        client = http.client.host if http.client else ""
        if client not in ("127.0.0.1", "::1", "localhost", "testclient"):
            return error_response(403, "forbidden", "Ingest is only accepted from this machine.")
        if request.rebuild:
            return error_response(
                409, "conflict", "Stop the app to rebuild its index (python -m app ingest --rebuild)."
            )
        if not ingest_lock.acquire(blocking=False):
            return error_response(409, "conflict", "An ingest is already running in the app; wait for it to finish.")
        try:
            locks = IndexLocks(settings.index_dir)
            with contextlib.nullcontext() if settings.server_mode else locks.writing():
                report = ingest(
                    settings,
                    Path(request.corpus),
                    store=retriever.store,
                    embedder=retriever.embedder,
                    progress=False,
                )
            retriever.refresh(force=True)
        except NewsragError as exc:
            return error_for(exc)
        finally:
            ingest_lock.release()
        return JSONResponse({**report.as_dict(), "summary": report.summary()})

    return router


def docs_page(openapi: dict) -> str:
    """A self-contained HTML page of the OpenAPI schema (no CDN: this machine may be offline)."""
    esc = html.escape
    rows = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            params = op.get("parameters", [])
            parts = [f"<h3><code>{esc(method.upper())} {esc(path)}</code> {esc(op.get('summary', ''))}</h3>"]
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            if params:
                items = "".join(
                    f"<li><code>{esc(p['name'])}</code> ({esc(p.get('in', ''))}) {esc(p.get('description', ''))}</li>"
                    for p in params
                )
                parts.append(f"<p>Parameters:</p><ul>{items}</ul>")
            if body:
                ref = body.get("$ref", "").rsplit("/", 1)[-1]
                schema = openapi.get("components", {}).get("schemas", {}).get(ref, body)
                parts.append(f"<p>Request body (JSON):</p><pre>{esc(json.dumps(schema, indent=2))}</pre>")
            responses = op.get("responses", {}).items()
            codes = ", ".join(f"{esc(code)} {esc(r.get('description', ''))}" for code, r in responses)
            parts.append(f"<p>Responses: {codes}</p>")
            rows.append("<section>" + "".join(parts) + "</section>")
    info = openapi.get("info", {})
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "pre{background:#f4f4f5;padding:.6em;overflow:auto}section{border-top:1px solid #ddd}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(info.get('title', 'API'))} API</title>"
        f"<style>{style}</style></head><body><h1>{esc(info.get('title', 'API'))} HTTP API</h1>"
        f"<p>{esc(info.get('description', ''))}</p><p>Machine-readable schema: <code>/openapi.json</code>. Errors are "
        'JSON <code>{"error": code, "message": text, "status": n}</code>.</p>'
        f"{''.join(rows)}</body></html>"
    )


def install_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))
