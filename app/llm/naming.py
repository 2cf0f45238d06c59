"""How a chat model is named where users see it (answers, exports, ``/api/health``): a local
model file by its name alone, never by the folders it sits in on the server; and how it is
told apart from another model of the same name (the answer cache's fingerprint)."""

from __future__ import annotations

import os


def display_name(llm: object) -> str:
    """A local model file's name without its folders (``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``),
    else the model name a server backend was configured with, else the backend's type."""
    path = getattr(llm, "model_path", None)
    if path:
        return os.path.basename(str(path))
    name = getattr(llm, "model_name", None) or getattr(llm, "model", None)
    return str(name or getattr(llm, "_llm_type", "") or type(llm).__name__)


def model_identity(llm: object) -> str:
    """``display_name`` and, for a local model file, its size and modification time: another
    file of the same name (a replaced or re-assembled model) is another model."""
    name = display_name(llm)
    path = getattr(llm, "model_path", None)
    if path:
        try:
            stat = os.stat(path)
        except OSError:
            return name
        return f"{name} {stat.st_size} {stat.st_mtime_ns}"
    return name
