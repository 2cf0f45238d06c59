"""Backends chosen by name and imported only when chosen (``"package.module:attribute"``).

The LLM backends, the embedders and the fakes of the tests are all found this way, so a
missing optional dependency costs nothing until it is asked for, and then says what to
install.
"""

from __future__ import annotations

import importlib
from typing import Any

from app.errors import ConfigError


def load_object(target: str, install: str = "") -> Any:
    """The attribute named by ``"module:attribute"``; ConfigError if it cannot be imported."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f": pip install {install}" if install else ""
        raise ConfigError(f"{module_name} cannot be imported ({exc}){hint}") from exc
    return getattr(module, attribute)
