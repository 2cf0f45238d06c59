"""The openai backend: any OpenAI-compatible server (vLLM, llama.cpp's server, OpenAI) via
langchain-openai, with what it can do declared on its class."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_openai import ChatOpenAI

from app.config import Settings
from app.llm.capabilities import ChatCapabilities


class OpenAIServerChat(ChatCapabilities, ChatOpenAI):
    """``ChatOpenAI`` that knows how its server takes a JSON schema: ``json_schema`` structured
    output (OpenAI, vLLM) or, for llama-cpp-python's server, ``json_object`` with the schema."""

    supports_json_schema: ClassVar[bool] = True
    supports_logprobs: ClassVar[bool] = True
    json_mode: str = "json_schema"

    def json_reply_kwargs(self, schema: dict) -> dict:
        if self.json_mode == "json_object":
            return {"response_format": {"type": "json_object", "schema": schema}, "logprobs": True, "top_logprobs": 8}
        return {
            "response_format": {"type": "json_schema", "json_schema": {"name": "pick", "schema": schema}},
            "logprobs": True,
            "top_logprobs": 8,
        }


def build_chat_model(settings: Settings) -> BaseChatModel:
    """Any OpenAI-compatible server (vLLM, llama.cpp's server, OpenAI) via langchain-openai."""
    return OpenAIServerChat(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        streaming=True,
        extra_body=dict(settings.openai_extra_body) or None,  # a server's own parameters (NEWSRAG_OPENAI_EXTRA_BODY)
        json_mode=settings.openai_json_mode,
    )
