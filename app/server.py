"""The server: one FastAPI app with the HTTP API under /api, offline docs at /docs, and
the Gradio UI mounted at /; run by uvicorn (``python -m app serve``).

``create_app(service)`` builds it from an ``AnswerService`` (tests pass one with a fake
or slow model); ``serve(settings, host, port)`` opens the index, loads the models, and
serves until interrupted. ``ServerThread`` runs an app on 127.0.0.1 in a background
thread (tests, benchmarks).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI

from app.api import build_api, install_docs, install_error_handlers
from app.chain import AnswerService
from app.claims import ClaimChecker
from app.config import Settings
from app.ui import UI_CSS, UI_HEAD, build_ui

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Ask questions about a corpus of news articles and get answers whose every sentence is cited with an exact "
    "quote (title, outlet, date, offsets) from the indexed articles."
)


def create_app(service: AnswerService, checker: ClaimChecker | None = None, *, ui: bool = True) -> FastAPI:
    """The FastAPI app: the API routes first, then the UI mounted at / (it catches the rest)."""
    checker = checker or ClaimChecker(service.retriever, service.settings)
    app = FastAPI(title="newsrag", description=DESCRIPTION, version="0.1.0", docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.include_router(build_api(service, checker))
    install_docs(app)
    if ui:
        demo = build_ui(service, checker)
        app = gr.mount_gradio_app(
            app,
            demo,
            path="/",
            css=UI_CSS,
            head=UI_HEAD,
            footer_links=["api"],
            run_history=False,
            ssr_mode=False,
            mcp_server=False,
            show_error=False,  # errors are shown in the chat, not as modal tracebacks
        )
    return app


def warm_up(service: AnswerService, prompt: bool = True) -> None:
    """Load the embedding model and the local LLM now, not at the first question; with
    ``prompt``, run the answer prompt once so llama.cpp caches its fixed prefix (the
    system prompt and worked examples) and the first user waits only for their own part."""
    started = time.perf_counter()
    embedder = service.retriever.embedder
    if hasattr(embedder, "load"):
        embedder.load()
    embedder.encode_query("warm up")
    if hasattr(service.llm, "load"):
        service.llm.load()
        if prompt:
            from app.chain import build_prompt

            context = "[Newsrag, 1 January 2025: Start-up]\nThe service started."
            (build_prompt() | service.llm).invoke({"context": context, "question": "Did the service start?"})
    log.info("models loaded in %.1f s", time.perf_counter() - started)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    from app.locks import IndexLocks
    from app.services import build_answer_service

    if settings.server_mode:
        return _serve(settings, host, port, build_answer_service)
    locks = IndexLocks(settings.index_dir)
    with locks.serving(host, port):
        # an ingest started before us finishes first; later ones are handed to us
        with locks.writing(wait_s=INGEST_WAIT_S):
            pass
        return _serve(settings, host, port, build_answer_service)


INGEST_WAIT_S = 1800.0


def _serve(settings: Settings, host: str, port: int, build_answer_service) -> int:
    service = build_answer_service(settings)
    print("newsrag: loading the embedding model and the LLM…", flush=True)
    warm_up(service)
    app = create_app(service)
    articles, chunks = len(service.retriever.articles()), service.retriever.size
    print(
        f"newsrag: {articles} articles, {chunks} chunks, model {service.model_name}\n"
        f"newsrag: serving the UI on http://{host}:{port}/ (HTTP API under /api, docs at /docs)",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerThread:
    """Serve an app on 127.0.0.1 in a daemon thread: ``with ServerThread(app) as url: ...``."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int | None = None, start_timeout: float = 60.0):
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout = start_timeout
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server on port {self.port} did not start in {self.start_timeout:.0f} s")
            time.sleep(0.05)
        return self.url

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
