"""An OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions``, so
Open WebUI, LibreChat or any script on the ``openai`` SDK can ask newsrag.

The last user message is the question and the earlier user/assistant turns its history;
system messages are ignored (newsrag's instructions are its own). The reply's message
content is the verified answer with its ``[n]`` markers; beside ``choices`` the response
carries ``citations`` (the citation objects: ``n``, ``quote``, ``title``, ``outlet``,
``published``, ``url``, ``doc_id``, ``start``, ``end``) and ``abstained``, as Perplexity's
API adds ``citations``. Filters go in the request body as ``outlets``, ``date_from`` and
``date_to`` (the SDK's ``extra_body``).

With ``stream: true`` the reply is server-sent events in OpenAI's chunk format: the
guarded draft as it is written, in ``delta.reasoning_content`` (shown as the model's
thinking by clients that know the field, ignored by the rest), then the verified answer
in ``delta.content``, then a last chunk with ``finish_reason``, ``citations`` and
``abstained``, then ``data: [DONE]``. The streamed content adds up to the non-streamed one.

Errors are OpenAI-shaped: ``{"error": {"message", "type", "param", "code"}}``.
"""

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.adapters.api.examples import CHAT_COMPLETION, CHAT_REQUESTS, CHAT_STREAM, MODEL, MODEL_NOT_FOUND, MODELS
from app.adapters.api.http_errors import error_for, openai_shape
from app.adapters.api.responses import errors, json_body, ok, response
from app.adapters.api.routes import client_of
from app.adapters.api.schemas import ModelIdPath
from app.answer.reply import Final, Token
from app.domain import Filters
from app.errors import BadQuestionError
from app.wiring import Services

MODEL_ID = "newsrag"
MAX_MESSAGES = 200


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's request; sampling parameters (temperature, max_tokens, ...) are accepted and
    ignored: newsrag's answers come from its own settings."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[Message] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    outlets: list[str] = Field(default_factory=list, max_length=100)
    date_from: str | None = None
    date_to: str | None = None


def openai_error(status: int, message: str, kind: str, code: str | None = None, param: str | None = None):
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def build_openai_api(services: Services) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
    created = int(time.time())

    @router.get(
        "/models",
        summary="The models this server answers as (one: newsrag)",
        description="What the `openai` SDK's `client.models.list()` reads.",
        responses=ok(MODELS),
    )
    def models() -> dict:
        return {"object": "list", "data": [_model(created)]}

    @router.get(
        "/models/{model_id}", summary="One model", responses=ok(MODEL) | response(404, "No such model", MODEL_NOT_FOUND)
    )
    def model(model_id: ModelIdPath):
        if model_id != MODEL_ID:
            return openai_error(
                404,
                f"The model '{model_id}' does not exist; use '{MODEL_ID}'.",
                "invalid_request_error",
                "model_not_found",
                "model",
            )
        return _model(created)

    @router.post(
        "/chat/completions",
        summary="Answer the last user message with verified citations (OpenAI chat completion)",
        description="Body: OpenAI's chat completion request (`model`: `newsrag`, `messages`, `stream`), plus optional "
        "`outlets`, `date_from`, `date_to`. The response adds `citations` and `abstained` beside `choices`; "
        "with `stream: true` it is server-sent events in OpenAI's chunk format, ending with `data: [DONE]`.",
        openapi_extra=json_body(ChatRequest, CHAT_REQUESTS),
        responses=ok(CHAT_COMPLETION, also={"text/event-stream": CHAT_STREAM})
        | response(404, "No such model", MODEL_NOT_FOUND)
        | errors(400, 429, 503, openai=True),
    )
    async def chat(http: Request):
        try:
            payload = await http.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return openai_error(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json")
        parsed = _parse(payload, services)
        if isinstance(parsed, JSONResponse):
            return parsed
        return await _answer(services, client_of(http), *parsed)

    return router


async def _answer(services: Services, client: str, request, question: str, history, filters):
    """The chat completion of a parsed request: streamed as server-sent events, or whole."""
    from starlette.concurrency import run_in_threadpool

    if request.stream:
        events = services.serving.stream(question, history, filters, client=client)
        try:  # a refusal is an HTTP error (429), not a stream that fails
            first = await run_in_threadpool(next, events)
        except Exception as exc:
            return openai_shape(error_for(exc))
        return StreamingResponse(
            _sse(itertools.chain([first], events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        answer = await run_in_threadpool(lambda: services.serving.ask(question, history, filters, client=client))
    except Exception as exc:
        return openai_shape(error_for(exc))
    return _completion(answer)


def _model(created: int) -> dict:
    return {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "newsrag"}


def _parse(payload: Any, services: Services):
    """(request, question, history, filters), or the OpenAI-shaped error response."""
    if not isinstance(payload, dict):
        return openai_error(400, "The request body must be a JSON object.", "invalid_request_error", "invalid_body")
    try:
        request = ChatRequest.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        return openai_error(
            400, f"{param}: {first.get('msg', 'invalid')}", "invalid_request_error", "invalid_request", param
        )
    if request.model != MODEL_ID:
        return openai_error(
            404,
            f"The model '{request.model}' does not exist; use '{MODEL_ID}'.",
            "invalid_request_error",
            "model_not_found",
            "model",
        )
    turns = [m for m in request.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        return openai_error(
            400,
            "The last message must be a user message with the question.",
            "invalid_request_error",
            "no_question",
            "messages",
        )
    history, pending = [], None
    for m in turns[:-1]:
        if m.role == "user":
            pending = m.text()
        elif pending is not None:
            history.append((pending, m.text()))
            pending = None
    try:
        question = services.serving.clean(turns[-1].text())
        filters = Filters.parse(request.outlets, request.date_from, request.date_to)
    except BadQuestionError as exc:
        return openai_error(400, str(exc), "invalid_request_error", "bad_question", "messages")
    return request, question, history[-services.settings.max_request_turns :], filters


def _extras(answer) -> dict:
    return {
        "citations": [c.as_dict() for c in answer.citations],
        "abstained": answer.abstained,
        "outcome": answer.outcome,
        "closest": [q.as_dict() for q in answer.closest],
    }


def _completion(answer) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_extras(answer),
    }


def _sse(events) -> Iterator[str]:
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [choice],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in events:
            if isinstance(event, Token) and event.text:
                yield chunk({"reasoning_content": event.text})
            elif isinstance(event, Final):
                yield chunk({"content": event.answer.answer})
                yield chunk({}, "stop", **_extras(event.answer))
    except Exception as exc:
        error = json.loads(openai_shape(error_for(exc)).body)
        yield f"data: {json.dumps(error, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
