"""The answer cache: a verified answer is kept under everything that changes an answer, so
a question asked again is served in milliseconds with the same citations.

The key hashes the normalised question, the conversation it follows (the turns the
follow-up rewrite reads), the filters, the index version (any ingest that changes the
index changes it, so older answers are never served again) and a fingerprint of every
answer setting and of the model. Entries are kept in memory, least recently used out
first; with ``answer_cache_persist`` they are also appended to a JSON Lines file beside the
index and read back at start.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
import threading
import types
import typing
from collections import OrderedDict
from pathlib import Path
from typing import Any

from app.answer.reply import Answer
from app.config import Settings
from app.domain import Filters

log = logging.getLogger(__name__)

_NOT_ANSWER_SETTINGS = {
    "admin_token",
    "openai_api_key",
    "embedding_api_key",
    "answer_cache_entries",
    "answer_cache_persist",
    "answer_queue_max",
    "answer_rate_per_minute",
    "answer_service_estimate_s",
}


def settings_fingerprint(settings: Settings, model: str, answer_path: str = "") -> str:
    """A hash of every setting that may change an answer, of ``model`` (the model's name and,
    for a local file, its identity: ``AnswerService.model_identity``) and of ``answer_path``:
    the answer service's own fingerprint (its prompts and fitted answer model)."""
    values = settings.model_dump(mode="json", exclude=_NOT_ANSWER_SETTINGS)
    blob = json.dumps({"settings": values, "model": model, "path": answer_path}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def normalise(text: str) -> str:
    """Case, spacing and end punctuation do not make another question."""
    return " ".join(text.casefold().split()).rstrip(" ?!.")


def cache_key(
    question: str, history: list[tuple[str, str]], filters: Filters | None, index_version: str, fingerprint: str
) -> str:
    filters = filters or Filters()
    parts = {
        "q": normalise(question),
        "h": [[normalise(q), normalise(a)] for q, a in history],
        "f": [sorted(filters.outlets), str(filters.date_from or ""), str(filters.date_to or "")],
        "v": index_version,
        "s": fingerprint,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class AnswerCache:
    """A bounded LRU of verified answers, optionally persisted (JSON Lines)."""

    def __init__(self, max_entries: int, path: Path | None = None):
        self.max_entries = max_entries
        self.path = path
        self._entries: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        if path is not None and path.exists():
            self._load(path)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Answer | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: str, answer: Answer) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = answer
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            if self.path is not None:
                self._append(key, answer)

    def _append(self, key: str, answer: Answer) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"key": key, "answer": to_jsonable(answer)}, ensure_ascii=False) + "\n")
        except OSError as exc:  # the cache is an optimisation: a full disk does not fail the answer
            log.warning("answer cache not written to %s: %s", self.path, exc)

    def _load(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines[-self.max_entries * 2 :]:
            try:
                item = json.loads(line)
                self._entries[item["key"]] = from_jsonable(Answer, item["answer"])
                self._entries.move_to_end(item["key"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipped a bad line of %s: %s", path, exc)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        if len(lines) > self.max_entries * 2:  # compact: keep what is loaded
            tmp = path.with_suffix(".tmp")
            lines = [
                json.dumps({"key": k, "answer": to_jsonable(a)}, ensure_ascii=False) for k, a in self._entries.items()
            ]
            tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            tmp.replace(path)


# --- dataclasses to JSON and back, by their type hints ------------------------------------------


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` that ``to_jsonable`` turned into ``data``."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return from_jsonable(options[0], data)
    if origin in (list, tuple):
        (inner, *_rest) = typing.get_args(kind) or (Any,)
        items = [from_jsonable(inner, v) for v in data]
        return items if origin is list else tuple(items)
    if origin is dict:
        _k, inner = typing.get_args(kind)
        return {k: from_jsonable(inner, v) for k, v in data.items()}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        given = [f.name for f in dataclasses.fields(kind) if f.name in data]
        return kind(**{name: from_jsonable(hints[name], data[name]) for name in given})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return data
