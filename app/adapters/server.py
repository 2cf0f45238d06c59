"""The server: one FastAPI app with the HTTP API under /api, offline docs at /docs, and
the Gradio UI mounted at /; run by uvicorn (``python -m app serve``).

``create_app(services)`` builds it from the services of app/wiring.py (tests build them
with a fake or slow model); ``serve(settings, host, port)`` opens the index, loads the
models, and serves until interrupted. ``ServerThread`` runs an app on 127.0.0.1 in a
background thread (tests, benchmarks).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI

from app.adapters.api import build_api, build_openai_api, install_docs, install_error_handlers
from app.adapters.ui import UI_CSS, UI_HEAD, build_ui
from app.config import Settings
from app.services.locks import serving_lock
from app.wiring import Services, build_services

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Ask questions about a corpus of news articles and get answers whose every sentence is cited with an exact "
    "quote (title, outlet, date, offsets) from the indexed articles."
)


class GenericFont(gr.themes.Font):
    """A CSS generic family (``system-ui``, ``ui-monospace``): unquoted, as CSS requires
    (Gradio quotes every name but the five classic generics, and a quoted one is no generic)."""

    def __str__(self) -> str:
        return self.name


def ui_theme() -> gr.themes.Base:
    """Gradio's default theme with the system fonts: the theme's own Source Sans Pro semibold
    file is a 55-glyph subset (space, A, B, some Cyrillic), so semibold text mixed two faces."""
    return gr.themes.Default(
        font=[
            GenericFont("system-ui"),
            GenericFont("-apple-system"),
            "Segoe UI",
            "Roboto",
            "Helvetica Neue",
            "Arial",
            "sans-serif",
        ],
        font_mono=[GenericFont("ui-monospace"), "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"],
    )


def create_app(services: Services, *, ui: bool = True) -> FastAPI:
    """The FastAPI app: the API routes first, then the UI mounted at / (it catches the rest)."""
    app = FastAPI(title="newsrag", description=DESCRIPTION, version="0.1.0", docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.include_router(build_api(services))
    app.include_router(build_openai_api(services))
    install_docs(app)
    if ui:
        app = gr.mount_gradio_app(
            app,
            build_ui(services),
            path="/",
            theme=ui_theme(),
            css=UI_CSS,
            head=UI_HEAD,
            # no footer: its "Use via API" page documents Gradio's internal endpoints, not our API (/docs);
            # Gradio 6 renders only its four built-in links, so a link to /docs cannot go there
            footer_links=[],
            run_history=False,
            ssr_mode=False,
            mcp_server=False,
            show_error=False,  # errors are shown in the chat, not as modal tracebacks
        )
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Serve until interrupted; the one writer of an embedded index while it runs."""
    with serving_lock(settings, host, port):
        services = build_services(settings)
        print("newsrag: loading the embedding model and the LLM…", flush=True)
        services.warm_up()
        app = create_app(services)
        articles, chunks = services.articles.counts()
        print(
            f"newsrag: {articles} articles, {chunks} chunks, model {services.answers.model_name}\n"
            f"newsrag: serving the UI on http://{host}:{port}/ (HTTP API under /api, OpenAI-compatible API under /v1, "
            "docs at /docs)",
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
