"""A small OpenAI-compatible embeddings server over any embedder of ours, for the tests and
for users without TEI, vLLM or Infinity:

    python -m app.testing.embedding_server --host 127.0.0.1 --port 8081

serves the settings' local model (all-MiniLM-L6-v2 by default; NEWSRAG_EMBEDDING_MODEL_PATH
and the other NEWSRAG_ settings apply) at ``POST /v1/embeddings`` and ``GET /v1/models``.
Point newsrag at it with NEWSRAG_EMBEDDING_BACKEND=openai and
NEWSRAG_EMBEDDING_BASE_URL=http://127.0.0.1:8081/v1.

Bad requests get OpenAI-shaped errors: ``{"error": {"message", "type", "param", "code"}}``.
``usage`` counts words, not model tokens (nothing here needs the exact count).
"""

from __future__ import annotations

import argparse
import base64
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_INPUTS = 2048  # OpenAI's own limit of inputs per request
MAX_INPUT_CHARS = 100_000


class EmbeddingRequest(BaseModel):
    """The OpenAI embeddings request (token-id input is not supported: send strings)."""

    model_config = ConfigDict(extra="ignore")

    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, type_: str, code: str | None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def create_app(embedder, served_name: str | None = None) -> FastAPI:
    """The app serving ``embedder`` (anything with ``name``, ``dim`` and ``encode``) under
    ``served_name`` (default: its name). A request naming another model gets a 404, as
    from vLLM; one naming no model is served."""
    name = served_name or embedder.name
    app = FastAPI(title="newsrag embeddings", docs_url=None, redoc_url=None, openapi_url=None)
    _install_error_handlers(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "newsrag"}]}

    @app.post("/v1/embeddings")
    def embeddings(request: EmbeddingRequest) -> dict[str, Any]:
        texts = _checked_texts(request, name, int(embedder.dim))
        vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
        tokens = sum(len(text.split()) for text in texts)
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encoded(vector, request.encoding_format)}
                for i, vector in enumerate(vectors)
            ],
            "model": name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    return app


def _checked_texts(request: EmbeddingRequest, name: str, dim: int) -> list[str]:
    if request.model and request.model != name:
        raise OpenAIError(
            404,
            f"The model `{request.model}` does not exist; this server serves `{name}`.",
            "invalid_request_error",
            "model_not_found",
            "model",
        )
    if request.dimensions is not None and request.dimensions != dim:
        raise OpenAIError(
            400,
            f"`{name}` gives {dim}-dimensional vectors; dimensions={request.dimensions} is not supported.",
            "invalid_request_error",
            "invalid_value",
            "dimensions",
        )
    texts = [request.input] if isinstance(request.input, str) else list(request.input)
    if not texts:
        raise OpenAIError(400, "`input` must not be empty.", "invalid_request_error", "invalid_value", "input")
    if len(texts) > MAX_INPUTS:
        raise OpenAIError(
            400,
            f"`input` holds {len(texts)} texts; at most {MAX_INPUTS} are accepted per request.",
            "invalid_request_error",
            "invalid_value",
            "input",
        )
    if any(len(text) > MAX_INPUT_CHARS for text in texts):
        raise OpenAIError(
            400,
            f"An input is longer than {MAX_INPUT_CHARS} characters.",
            "invalid_request_error",
            "invalid_value",
            "input",
        )
    return texts


def _encoded(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":  # what the openai client asks for by default: float32, little-endian
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.tolist()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpenAIError)
    async def openai_error(_request: Request, exc: OpenAIError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.type, exc.code, exc.param), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = next((str(part) for part in first.get("loc", ()) if part != "body"), "")  # input, not input.str
        message = f"Invalid request: {where or 'body'}: {first.get('msg', 'malformed')}"
        if where.startswith("input"):
            message += " (`input` must be a string or a list of strings; token ids are not supported)"
        return JSONResponse(
            error_body(message, "invalid_request_error", "invalid_value", where or None), status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error", code), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def server_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(f"The embedder failed: {exc}", "server_error", None), status_code=500)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.testing.embedding_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    parser.add_argument("--model", default=None, help="embedding model name (default: NEWSRAG_EMBEDDING_MODEL)")
    parser.add_argument("--served-name", default=None, help="model name the server answers to (default: --model)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from app.config import Settings, offline_environment
    from app.plugins import load_object

    args = parse_args(argv)
    offline_environment()
    settings = Settings()
    # always the in-process model: a server serving what it would fetch from itself would hang
    update: dict[str, Any] = {"embedding_backend": "local"}
    if args.model:
        update["embedding_model"] = args.model
    settings = settings.model_copy(update=update)
    # chosen by name like every backend (app.index is a peer layer; plugins are how peers meet)
    embedder = load_object("app.index.embeddings:make_embedder")(settings)
    if hasattr(embedder, "load"):
        embedder.load()
    served = args.served_name or settings.embedding_model
    print(f"serving {served} ({embedder.dim} dimensions) at http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(create_app(embedder, served), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
