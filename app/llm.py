"""LLM backends behind one factory: llamacpp (default, in-process GGUF), openai
(any OpenAI-compatible server), ollama, and fake (deterministic, for tests).

Every backend is a LangChain ``BaseChatModel``, so the answer chain is one code path.
Imports are lazy: a missing optional dependency is reported with what to install.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from app.config import Settings
from app.errors import BackendError, ConfigError, ModelError

log = logging.getLogger(__name__)

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def _to_openai_messages(messages: list[BaseMessage]) -> list[dict]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


class ChatLlamaCpp(BaseChatModel):
    """A thin LangChain chat model over ``llama_cpp.Llama``, one generation at a time.

    llama.cpp keeps the KV cache of the previous prompt and reuses its longest common
    prefix, so the fixed system prompt is evaluated once, not per question.
    """

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 0
    temperature: float = 0.0
    max_tokens: int = 160
    seed: int = 42

    _llm: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def load(self) -> ChatLlamaCpp:
        """Load the model now (it is otherwise loaded at the first call)."""
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - pinned dependency
                raise ConfigError("the llamacpp backend needs llama-cpp-python: pip install llama-cpp-python") from exc
            try:
                self._llm = Llama(
                    model_path=self.model_path,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads or os.cpu_count() or 2,
                    n_batch=512,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, OSError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp could not load {self.model_path}: {exc}") from exc
        return self

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self.load()
        with self._lock:
            try:
                parts = self._llm.create_chat_completion(
                    messages=_to_openai_messages(messages),
                    stream=True,
                    temperature=kwargs.get("temperature", self.temperature),
                    max_tokens=kwargs.get("max_tokens", self.max_tokens),
                    stop=stop,
                    seed=self.seed,
                )
                for part in parts:
                    delta = part["choices"][0]["delta"].get("content")
                    if not delta:
                        continue
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"llama.cpp generation failed: {exc}") from exc

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def extractive_fake_answer(messages: list[BaseMessage]) -> str:
    """Deterministic stand-in for an LLM: the context sentence sharing most content
    terms with the question, or NOT FOUND when none shares two."""
    from app.textmatch import terms

    prompt = str(messages[-1].content)
    body, _, question = prompt.rpartition("Question:")
    wanted = terms(question).all
    best, best_overlap = None, 0
    for line in body.splitlines():
        if line.startswith("["):  # the "[outlet, date: title]" header of an article
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            overlap = len(wanted & terms(sentence).all)
            if overlap > best_overlap:
                best, best_overlap = sentence.strip(), overlap
    return best if best and best_overlap >= 2 else "NOT FOUND"


class FakeChatModel(BaseChatModel):
    """A fake LLM for unit tests: scripted replies, a function, or extractive default.

    It streams word by word, so streaming code paths are exercised too.
    """

    responses: list[str] = Field(default_factory=list)
    respond: Callable[[list[BaseMessage]], str] | None = None
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    fail_with: str | None = None

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _reply(self, messages: list[BaseMessage]) -> str:
        self.calls.append(messages)
        if self.fail_with:
            raise BackendError(self.fail_with)
        if self.responses:
            return self.responses.pop(0)
        if self.respond is not None:
            return self.respond(messages)
        return extractive_fake_answer(messages)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self._reply(messages)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages)))])


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for (not yet loaded)."""
    backend = settings.llm_backend
    if backend == "fake":
        return FakeChatModel()
    if backend == "llamacpp":
        from app.models import ensure_model

        path = settings.llm_model_path or ensure_model(settings.llm_model, settings.model_cache_dir)
        if not os.path.isfile(path):
            raise ModelError(f"GGUF model file {path} does not exist (NEWSRAG_LLM_MODEL_PATH)")
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=settings.llm_context_window,
            n_threads=settings.llm_threads,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
        )
    if backend == "openai":
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
        )
    if backend == "ollama":
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
    raise ConfigError(f"unknown LLM backend {backend!r}: use llamacpp, openai, ollama or fake")
