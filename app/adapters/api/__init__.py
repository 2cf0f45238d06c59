"""The HTTP API adapter: routes under /api, JSON errors, and the offline /docs page."""

from app.adapters.api.docs import install_docs
from app.adapters.api.errors import install_error_handlers
from app.adapters.api.routes import build_api

__all__ = ["build_api", "install_docs", "install_error_handlers"]
