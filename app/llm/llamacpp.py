"""A LangChain chat model over llama.cpp (``llama-cpp-python``), in-process."""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from app.config import Settings
from app.errors import BackendError, ConfigError, ModelError
from app.llm.capabilities import ChatCapabilities

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def _to_openai_messages(messages: list[BaseMessage]) -> list[dict]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


class ChatLlamaCpp(ChatCapabilities, BaseChatModel):
    """A thin LangChain chat model over ``llama_cpp.Llama``, one generation at a time.

    llama.cpp keeps the KV cache of the previous prompt and reuses its longest common
    prefix, so the fixed system prompt is evaluated once, not per question. Calls of
    different kinds (the reader, the follow-up rewrite, arithmetic: told apart by their
    first message) would evict each other's prefix from that one cache, so the cache of
    the kind being left is copied aside and the next kind's copy put back
    (``prefix_snapshots`` kinds at most, least recently used dropped).
    """

    supports_json_schema: ClassVar[bool] = True  # llama.cpp turns the schema into a grammar
    supports_logprobs: ClassVar[bool] = True
    supports_prefix_snapshots: ClassVar[bool] = True
    single_sequence: ClassVar[bool] = True

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 0
    temperature: float = 0.0
    max_tokens: int = 160
    seed: int = 42
    prefix_snapshots: int = 4

    _llm: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _kind: str | None = PrivateAttr(default=None)
    _snapshots: OrderedDict = PrivateAttr(default_factory=OrderedDict)
    _cancel: _StopFlag = PrivateAttr(default_factory=lambda: _StopFlag())

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def json_reply_kwargs(self, schema: dict) -> dict:
        return {"response_format": {"type": "json_object", "schema": schema}, "logprobs": True, "top_logprobs": 8}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    @property
    def loaded(self) -> bool:
        return self._llm is not None

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
                    n_batch=CANCEL_SLICE,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, OSError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp could not load {self.model_path}: {exc}") from exc
            self._llm.eval = _cancellable(self._llm.eval, self._cancel)
            self._cancel.attach(self._llm.ctx)
        return self

    @property
    def busy(self) -> bool:
        """Whether a generation holds the model now."""
        return self._lock.locked()

    def cancel(self) -> None:
        """Stop the generation under way at once: llama.cpp abandons the step it is computing
        (its abort callback, read between the graph's operations), whether it is reading the
        prompt or writing a token. The stream then ends with what it has, and the model is
        free. Where the abort callback cannot be set (no C library found), it stops after the
        slice of the prompt being read (``CANCEL_SLICE`` tokens, up to about 5 s on 2 cores)."""
        self._cancel.set()

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self.load()
        with self._lock:
            self._cancel.clear()  # a Stop meant for an earlier generation
            try:
                self._switch_kind(messages)
                parts = self._llm.create_chat_completion(
                    messages=_to_openai_messages(messages),
                    stream=True,
                    temperature=kwargs.get("temperature", self.temperature),
                    max_tokens=kwargs.get("max_tokens", self.max_tokens),
                    stop=stop,
                    seed=self.seed,
                    response_format=kwargs.get("response_format"),
                )
                for part in parts:
                    if self._cancel.is_set():
                        parts.close()
                        yield _STOPPED
                        return
                    choice = part["choices"][0]
                    delta = choice["delta"].get("content")
                    if not delta:
                        continue
                    # token log-probabilities, in OpenAI's shape, when asked for (the span reader's confidence)
                    meta = (
                        {"logprobs": self._top_logprobs(int(kwargs.get("top_logprobs") or 5))}
                        if kwargs.get("logprobs")
                        else {}
                    )
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta, response_metadata=meta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
            except Cancelled:
                yield _STOPPED  # Stop pressed while the prompt was read: nothing was written
                return
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"llama.cpp generation failed: {exc}") from exc

    def _switch_kind(self, messages: list[BaseMessage]) -> None:
        """Before a call (lock held): when its kind differs from the last call's, keep the
        cache of the kind left and put back the one of the kind arrived at, if kept."""
        if self.prefix_snapshots <= 0 or not messages:
            self._kind = None
            self._snapshots.clear()
            return
        kind = hashlib.sha256(str(messages[0].content).encode()).hexdigest()
        if kind == self._kind:
            return
        if self._kind is not None:
            self._save_snapshot(self._kind)
        self._kind = kind
        if kind in self._snapshots:
            self._restore_snapshot(kind)

    def _save_snapshot(self, kind: str) -> None:
        import llama_cpp

        llm = self._llm
        n = int(llm.n_tokens)
        if n <= 0:
            return
        llm._ctx.kv_cache_seq_rm(0, n, -1)  # nothing past the tokens on record
        size = int(llama_cpp.llama_state_seq_get_size(llm.ctx, 0))
        buf = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(llm.ctx, buf, size, 0))
        if not 0 < written <= size:
            return  # not kept: the next call of this kind evaluates its prompt in full
        self._snapshots[kind] = (buf, written, llm.input_ids[:n].copy())
        self._snapshots.move_to_end(kind)
        while len(self._snapshots) > self.prefix_snapshots:
            self._snapshots.popitem(last=False)

    def _restore_snapshot(self, kind: str) -> None:
        import llama_cpp

        llm = self._llm
        buf, size, tokens = self._snapshots[kind]
        self._snapshots.move_to_end(kind)
        llm._ctx.kv_cache_seq_rm(0, -1, -1)
        if int(llama_cpp.llama_state_seq_set_data(llm.ctx, buf, size, 0)) == size:
            llm.input_ids[: len(tokens)] = tokens
            llm.n_tokens = len(tokens)
        else:  # an empty cache is always correct, only slower
            llm._ctx.kv_cache_seq_rm(0, -1, -1)
            llm.n_tokens = 0
            del self._snapshots[kind]
        llm._requires_eval = True  # the logits on hand belong to the other kind's last token

    def _top_logprobs(self, k: int) -> dict:
        """The distribution the last token was sampled from (before the grammar), as OpenAI's
        ``logprobs``: llama.cpp keeps the last logits even without ``logits_all``, which would
        store them for every prompt token (gigabytes at this vocabulary)."""
        import numpy as np

        n_vocab = self._llm.n_vocab()
        logits = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(n_vocab,)).astype(np.float64)
        logits -= logits.max()
        logp = logits - np.log(np.exp(logits).sum())
        top = np.argpartition(-logp, k)[:k]
        top = top[np.argsort(-logp[top])]
        alts = [
            {"token": self._llm.detokenize([int(i)]).decode("utf-8", "replace"), "logprob": float(logp[i])} for i in top
        ]
        return {"content": [{**alts[0], "top_logprobs": alts}]}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


# prompt tokens read between looks at Stop: llama.cpp's own batch (n_batch), so a prompt is read
# in the very slices it was read in before and gives the same numbers (64-token slices stopped
# sooner, but changed the logits enough to change a pick: the openai-backend comparison test)
CANCEL_SLICE = 512


_STOPPED = ChatGenerationChunk(message=AIMessageChunk(content=""))  # the last chunk of a stopped stream


class Cancelled(Exception):
    """The generation was stopped (``ChatLlamaCpp.cancel``) while its prompt was read."""


class _StopFlag:
    """Stop, as a ``threading.Event`` for Python and as one byte for llama.cpp.

    llama.cpp calls its abort callback between the operations of every step it computes, from
    its compute threads. A Python callback would take the interpreter's lock hundreds of times a
    token, and wait for it whenever another thread holds it (the server, a parse). So the
    callback is the C library's own ``strlen`` over a two-byte buffer: ``"\\0\\0"`` reads 0
    (go on) and ``"\\1\\0"`` reads 1 (stop). Nothing runs in Python during a step."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._byte = ctypes.create_string_buffer(2)
        self._callback = None  # kept referenced while llama.cpp holds it

    def attach(self, ctx) -> bool:
        """Install the abort callback on a llama.cpp context; False when it cannot be."""
        try:
            import llama_cpp

            strlen = ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value
            self._callback = llama_cpp.ggml_abort_callback(strlen)
            llama_cpp.llama_set_abort_callback(ctx, self._callback, ctypes.cast(self._byte, ctypes.c_void_p))
        except (OSError, AttributeError, TypeError):  # no C library by that name: stop between slices
            self._callback = None
            return False
        return True

    def set(self) -> None:
        self._event.set()
        self._byte[0] = 1

    def clear(self) -> None:
        self._byte[0] = 0
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()


def _cancellable(evaluate, cancel: _StopFlag):
    """``Llama.eval`` reading the prompt in slices, looking at ``cancel`` between them (and
    within them, through llama.cpp's abort callback). A slice read is kept whole in the cache
    (its tokens count) and an abandoned one not at all (``Llama.eval`` drops what lies past the
    tokens on record before it reads more), so a stopped prompt leaves the cache as consistent
    as a finished one: the next prompt reuses what matches."""

    def eval_in_slices(tokens) -> None:
        for start in range(0, len(tokens), CANCEL_SLICE):
            if cancel.is_set():
                raise Cancelled
            try:
                evaluate(tokens[start : start + CANCEL_SLICE])
            except RuntimeError:
                if cancel.is_set():  # llama_decode abandoned by the abort callback (returns 2)
                    raise Cancelled from None
                raise

    return eval_in_slices


def build_chat_model(settings: Settings) -> ChatLlamaCpp:
    """The in-process model of the settings: a packaged GGUF (assembled and sha256-checked)
    or the file at ``llm_model_path``; not loaded yet."""
    from app.llm.models import ensure_model

    path = settings.llm_model_path or ensure_model(settings.llm_model, settings.model_cache_dir)
    if not os.path.isfile(path):
        raise ModelError(f"GGUF model file {path} does not exist (NEWSRAG_LLM_MODEL_PATH)")
    return ChatLlamaCpp(
        model_path=str(path),
        n_ctx=settings.llm_context_window,
        n_threads=settings.llm_threads,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        prefix_snapshots=settings.llm_prefix_snapshots,
    )
