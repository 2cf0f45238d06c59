"""LLM backends behind one factory: llamacpp (default, in-process GGUF), openai
(any OpenAI-compatible server), ollama, and fake (deterministic, for tests).

Every backend is a LangChain ``BaseChatModel``, so the answer chain is one code path.
Each is imported only when chosen; a missing optional dependency is reported with what
to install.
"""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from app.config import Settings
from app.errors import ConfigError
from app.plugins import load_object

# name -> factory(settings); the fake of the tests is registered like the real backends
BACKENDS = {
    "llamacpp": "app.llm.llamacpp:build_chat_model",
    "openai": "app.llm.backends:openai_chat_model",
    "ollama": "app.llm.backends:ollama_chat_model",
    "fake": "app.testing.fakes:build_chat_model",
}
INSTALL = {"llamacpp": "llama-cpp-python", "openai": "langchain-openai", "ollama": "langchain-ollama"}


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for (not yet loaded)."""
    backend = settings.llm_backend
    if backend in BACKENDS:
        return load_object(BACKENDS[backend], install=INSTALL.get(backend, ""))(settings)
    raise ConfigError(f"unknown LLM backend {backend!r}: use {', '.join(BACKENDS)}")


def openai_chat_model(settings: Settings) -> BaseChatModel:
    """Any OpenAI-compatible server (vLLM, llama.cpp's server, OpenAI) via langchain-openai."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ConfigError("the openai backend needs langchain-openai: pip install langchain-openai") from exc
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        streaming=True,
        extra_body=dict(settings.openai_extra_body) or None,  # a server's own parameters (NEWSRAG_OPENAI_EXTRA_BODY)
    )


def ollama_chat_model(settings: Settings) -> BaseChatModel:
    """An Ollama server via langchain-ollama."""
    try:
        from langchain_ollama import ChatOllama
    except ImportError as exc:
        raise ConfigError("the ollama backend needs langchain-ollama: pip install langchain-ollama") from exc
    return ChatOllama(
        base_url=settings.ollama_base_url,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
        client_kwargs={"timeout": settings.llm_timeout_s},
    )


def json_reply_kwargs(llm: BaseChatModel, schema: dict, openai_json_mode: str = "json_schema") -> dict:
    """The call arguments that make a backend reply with JSON of ``schema``: a grammar for
    llama.cpp, structured outputs for OpenAI-compatible servers (``json_schema``, or, for
    llama-cpp-python's server, ``json_object`` with the schema), ``format`` for Ollama."""
    inner = getattr(llm, "inner", llm)  # a wrapper (the eval's reply cache) passes arguments through
    kind = getattr(inner, "_llm_type", "")
    if kind == "llamacpp":
        return {"response_format": {"type": "json_object", "schema": schema}, "logprobs": True, "top_logprobs": 8}
    if kind == "openai-chat" or type(inner).__name__ == "ChatOpenAI":
        if openai_json_mode == "json_object":
            return {"response_format": {"type": "json_object", "schema": schema}, "logprobs": True, "top_logprobs": 8}
        return {
            "response_format": {"type": "json_schema", "json_schema": {"name": "pick", "schema": schema}},
            "logprobs": True,
            "top_logprobs": 8,
        }
    if kind == "chat-ollama" or type(inner).__name__ == "ChatOllama":
        return {"format": schema}
    return {"json_schema": schema}  # the fake model of the tests answers in JSON when given one
