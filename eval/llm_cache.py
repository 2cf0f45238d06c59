"""A disk cache in front of the answer model, for eval runs only (``python -m eval --llm-cache DB``).

Tuning the verifier re-asks the same prompts hundreds of times; with the cache, a rerun
costs retrieval and checking only. The key is every message and every generation
argument, so a changed prompt, context or setting is a miss. Latency figures of a cached
run mean nothing: measure them without it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from app.llm.capabilities import ChatCapabilities, json_reply_kwargs, writes_one_at_a_time


class CachedChatModel(ChatCapabilities, BaseChatModel):
    """Wraps a chat model; replies are looked up in (and written to) a SQLite file. It can do
    what the model it wraps can: asked how to get JSON, it asks the inner model."""

    inner: BaseChatModel
    path: str
    hits: int = 0
    misses: int = 0
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _db: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return f"cached-{self.inner._llm_type}"

    @property
    def model_path(self) -> str | None:
        return getattr(self.inner, "model_path", None)

    @property
    def model_name(self) -> str | None:
        return getattr(self.inner, "model_name", None)

    def json_reply_kwargs(self, schema: dict) -> dict:
        return json_reply_kwargs(self.inner, schema)

    @property
    def single_sequence(self) -> bool:  # type: ignore[override]
        return writes_one_at_a_time(self.inner)

    def load(self) -> CachedChatModel:
        if hasattr(self.inner, "load"):
            self.inner.load()
        return self

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT)")
        return self._db

    def _key(self, messages: list[BaseMessage], stop, kwargs: dict) -> str:
        ident = getattr(self.inner, "_identifying_params", {})
        payload = {
            "model": {k: str(v) for k, v in ident.items()},
            "messages": [[m.type, str(m.content)] for m in messages],
            "stop": stop,
            "kwargs": {k: v for k, v in sorted(kwargs.items()) if k != "run_manager"},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def _lookup(self, key: str) -> str | None:
        with self._lock:
            row = self._conn().execute("SELECT text FROM replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _store(self, key: str, text: str) -> None:
        with self._lock:
            self._conn().execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, text))
            self._conn().commit()

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        key = self._key(messages, stop, kwargs)
        text = self._lookup(key)
        if text is None:
            self.misses += 1
            text = str(self.inner.invoke(messages, stop=stop, **kwargs).content)
            self._store(key, text)
        else:
            self.hits += 1
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        key = "stream:" + self._key(messages, stop, kwargs)
        stored = self._lookup(key)
        if stored is not None:  # the chunks as the model streamed them, with their metadata (log-probabilities)
            self.hits += 1
            for content, meta in json.loads(stored):
                yield ChatGenerationChunk(message=AIMessageChunk(content=content, response_metadata=meta))
            return
        self.misses += 1
        parts = []
        for chunk in self.inner.stream(messages, stop=stop, **kwargs):
            meta = dict(getattr(chunk, "response_metadata", {}) or {})
            parts.append([str(chunk.content), meta])
            yield ChatGenerationChunk(message=AIMessageChunk(content=str(chunk.content), response_metadata=meta))
        self._store(key, json.dumps(parts))
