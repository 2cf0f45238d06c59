"""JSON errors of the HTTP API, never a stack trace: ``{"error": code, "message": text,
"status": n}``. 400 for a question that cannot be asked (empty after cleaning, bad
filter), 422 for a request that does not fit the schema (missing or oversized
question), 404 for an unknown article, 409 when an ingest is already running, 503 when
the language model or the index fails, 500 with a generic message for anything else
(the details go to the server log). No message shows a path of the server's files."""

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    BackendError,
    BadQuestionError,
    CorpusError,
    IndexBusyError,
    ModelError,
    NewsragError,
    without_paths,
)
from app.services.admission import AdmissionRefused

log = logging.getLogger(__name__)

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
    """The JSON error a domain exception stands for (never its traceback, nor a path of the
    server's files: a model file or the index folder is named by its last part only)."""
    message = without_paths(str(exc))
    if isinstance(exc, BadQuestionError):
        return error_response(400, "bad_question", message)
    if isinstance(exc, AdmissionRefused):
        response = error_response(429, f"too_many_{exc.reason}", message, retry_after_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, CorpusError):
        return error_response(400, "bad_corpus", message)
    if isinstance(exc, IndexBusyError):
        return error_response(409, "conflict", message)
    if isinstance(exc, (BackendError, ModelError)):
        return error_response(503, "backend_unavailable", message)
    if isinstance(exc, NewsragError):
        return error_response(503, "service_unavailable", message)
    log.error("request failed", exc_info=exc)
    return error_response(500, "internal_error", GENERIC_500)


def _shaped(request: Request, response: JSONResponse) -> JSONResponse:
    """Under /v1 (the OpenAI-compatible API) errors take OpenAI's shape."""
    return openai_shape(response) if request.url.path.startswith("/v1/") else response


def openai_shape(response: JSONResponse) -> JSONResponse:
    """One of our JSON errors as OpenAI's ``{"error": {"message", "type", "param", "code"}}``."""
    body = json.loads(response.body)
    kind = {429: "rate_limit_error"}.get(response.status_code) or (
        "invalid_request_error" if response.status_code < 500 else "server_error"
    )
    error = {"message": body.get("message", "error"), "type": kind, "param": None, "code": body.get("error")}
    retry = {"Retry-After": response.headers["retry-after"]} if "retry-after" in response.headers else None
    return JSONResponse({"error": error}, status_code=response.status_code, headers=retry)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for validation failures, HTTP errors and anything unexpected."""

    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the offending input is not echoed back (it may be megabytes long)
        details = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
        return _shaped(request, error_response(422, "invalid_request", message, details=details))

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _shaped(request, error_response(exc.status_code, code, str(exc.detail)))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _shaped(request, error_for(exc))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NewsragError, unexpected)
    app.add_exception_handler(Exception, unexpected)
