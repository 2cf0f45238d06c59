"""The HTTP API adapter: routes under /api, the OpenAI-compatible routes under /v1, JSON
errors, and the offline /docs page."""

from app.adapters.api.docs import install_docs
from app.adapters.api.http_errors import install_error_handlers
from app.adapters.api.openai_compat import build_openai_api
from app.adapters.api.routes import build_api

__all__ = ["build_api", "build_openai_api", "install_docs", "install_error_handlers"]
