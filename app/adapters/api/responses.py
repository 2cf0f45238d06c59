"""The helpers the route decorators document responses with (``responses=ok(...) |
errors(...)``): each example kept as examples.py wrote it, and the JSON error of each status."""

import json
from typing import Any

from pydantic import BaseModel

# FastAPI drops every null from the OpenAPI document, the examples' nulls too (fastapi/fastapi#5559):
# the helpers below keep each example as written, found again by its JSON without nulls.
_WRITTEN: dict[str, Any] = {}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return [_without_nulls(v) for v in value] if isinstance(value, list | tuple) else value


def _key(value: Any) -> str:
    return json.dumps(_without_nulls(value), sort_keys=True, default=str)


def written(value: Any) -> Any:
    """Remember an example as written (nulls and all); returns it."""
    _WRITTEN[_key(value)] = value
    return value


def as_written(value: Any) -> Any:
    """The example as written, for one FastAPI stripped of its nulls (else value itself)."""
    return _WRITTEN.get(_key(value), value)


_ERRORS = {
    400: (
        "Bad input: no words to ask or check, or a bad date filter",
        "bad_question",
        "The question has no words in it. Type a question about the news articles.",
    ),
    403: (
        "Not allowed to add articles",
        "forbidden",
        "Adding articles is an admin action, allowed only from the machine the app runs on "
        "(or set NEWSRAG_ADMIN_TOKEN on the server and send it).",
    ),
    404: ("No such article", "not_found", "No indexed article has the id '2025-03/no-such-article'."),
    409: (
        "An ingest is already running, or a rebuild was asked of the serving app",
        "conflict",
        "Stop the app to rebuild its index (python -m app ingest --rebuild).",
    ),
    413: ("A file is too large", "too_large", "scan.html: larger than NEWSRAG_MAX_FILE_MB."),
    422: (
        "The request does not fit the schema",
        "invalid_request",
        "question: String should have at least 1 character",
    ),
    429: (
        "Too many questions: ask again after `retry_after_s` seconds (also sent as `Retry-After`)",
        "too_many_rate",
        "You have asked 10 questions in the last minute, the most one user may ask (10); "
        "please wait about 12 s before the next.",
    ),
    503: (
        "The language model or the index is unavailable",
        "backend_unavailable",
        "GGUF model file qwen2.5-coder-1.5b-instruct-q4_k_m.gguf does not exist (NEWSRAG_LLM_MODEL_PATH)",
    ),
}


def response(status: int, description: str, example: Any, media_type: str = "application/json") -> dict:
    """One documented response of a route, with its example."""
    return {status: {"description": description, "content": {media_type: {"example": written(example)}}}}


def ok(example: Any, media_type: str = "application/json", also: dict[str, Any] | None = None) -> dict:
    """The 200 response of a route with its example (``also``: the examples of other media types)."""
    content = {m: {"example": written(e)} for m, e in {media_type: example, **(also or {})}.items()}
    return {200: {"description": "Successful Response", "content": content}}


def ok_each(**named: tuple[str, Any]) -> dict:
    """The 200 response of a route with several named examples: ``name=(summary, value)``."""
    examples = {name: {"summary": summary, "value": written(value)} for name, (summary, value) in named.items()}
    return {200: {"description": "Successful Response", "content": {"application/json": {"examples": examples}}}}


def errors(*statuses: int, openai: bool = False, say: dict[int, str | tuple[str, str]] | None = None) -> dict:
    """The error responses of a route, each with an example body (OpenAI's shape under /v1);
    ``say`` gives a route's own message (or code and message) for a status."""
    out = {}
    for status in statuses:
        description, code, message = _ERRORS[status]
        own = (say or {}).get(status, message)
        code, message = own if isinstance(own, tuple) else (code, own)
        body: dict = {"error": code, "message": message, "status": status}
        if status == 422:
            body["details"] = [{"field": "question", "message": "String should have at least 1 character"}]
        if status == 429:
            body["retry_after_s"] = 12
        if openai:
            kind = "rate_limit_error" if status == 429 else "invalid_request_error" if status < 500 else "server_error"
            body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        out[status] = {"description": description, "content": {"application/json": {"example": written(body)}}}
    return out


def json_body(model: type[BaseModel], examples: dict) -> dict:
    """``openapi_extra`` for a route that reads its JSON body itself: the model's schema (its
    ``$defs`` inlined) and named examples."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if str(node.get("$ref", "")).startswith("#/$defs/"):
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        return [resolve(v) for v in node] if isinstance(node, list) else node

    named = {name: {**example, "value": written(example["value"])} for name, example in examples.items()}
    content = {"application/json": {"schema": resolve(schema), "examples": named}}
    return {"requestBody": {"required": True, "content": content}}


def param_example(value: Any, summary: str = "Example") -> dict:
    """``openapi_examples`` of a query or path parameter."""
    return {"example": {"summary": summary, "value": written(value)}}


# --- request bodies (the models' json_schema_extra) ------------------------------------------
