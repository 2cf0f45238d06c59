"""The ollama backend: an Ollama server via langchain-ollama, with what it can do declared
on its class."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_ollama import ChatOllama

from app.config import Settings
from app.llm.capabilities import ChatCapabilities


class OllamaServerChat(ChatCapabilities, ChatOllama):
    """``ChatOllama`` taking a JSON schema as its ``format``."""

    supports_json_schema: ClassVar[bool] = True

    def json_reply_kwargs(self, schema: dict) -> dict:
        return {"format": schema}


def build_chat_model(settings: Settings) -> BaseChatModel:
    """An Ollama server via langchain-ollama."""
    return OllamaServerChat(
        base_url=settings.ollama_base_url,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
        client_kwargs={"timeout": settings.llm_timeout_s},
    )
