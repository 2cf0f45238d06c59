"""LLM backends behind one factory: llamacpp (default, in-process GGUF), openai
(any OpenAI-compatible server), ollama, and fake (deterministic, for tests).

Every backend is a LangChain ``BaseChatModel`` that declares what it can do
(``app/llm/capabilities.py``), so the answer chain is one code path. Each is imported only
when chosen; a missing optional dependency is reported with what to install.
"""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from app.config import Settings
from app.errors import ConfigError
from app.plugins import load_object

# name -> factory(settings); the fake of the tests is registered like the real backends
BACKENDS = {
    "llamacpp": "app.llm.llamacpp:build_chat_model",
    "openai": "app.llm.openai_chat:build_chat_model",
    "ollama": "app.llm.ollama_chat:build_chat_model",
    "fake": "app.testing.fakes:build_chat_model",
}
INSTALL = {"llamacpp": "llama-cpp-python", "openai": "langchain-openai", "ollama": "langchain-ollama"}


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for (not yet loaded)."""
    backend = settings.llm_backend
    if backend in BACKENDS:
        return load_object(BACKENDS[backend], install=INSTALL.get(backend, ""))(settings)
    raise ConfigError(f"unknown LLM backend {backend!r}: use {', '.join(BACKENDS)}")
