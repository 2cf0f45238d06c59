"""Fakes for the tests, registered like real backends: ``NEWSRAG_EMBEDDING_MODEL=hashing``
selects ``HashingEmbedder``, ``NEWSRAG_LLM_BACKEND=fake`` selects ``FakeChatModel``.

They mean something: the hashing embedder's vectors depend on the words (so ranking
tests are real), and the fake model answers with the context sentence that shares most
words with the question.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import ClassVar

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from app.errors import BackendError
from app.llm.capabilities import ChatCapabilities
from app.text.textmatch import terms

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embeddings):
    """Fake embedder for unit tests: hashed bag of words (and word pairs), unit length.

    Texts that share words get similar vectors, so ranking tests mean something, and it
    needs no model, no torch and no time.
    """

    def __init__(self, dim: int = 384):
        self.name = f"hashing-{dim}"
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        words = _WORD.findall(text.lower())
        for token in words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dim
            vec[index] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    @property
    def fingerprint(self) -> str:
        return self.name

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()


def extractive_fake_answer(messages: list[BaseMessage]) -> str:
    """Deterministic stand-in for an LLM: the context sentence sharing most content
    terms with the question, or NOT FOUND when none shares two."""
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


class FakeChatModel(ChatCapabilities, BaseChatModel):
    """A fake LLM for unit tests: scripted replies, a function, or extractive default.

    It streams word by word, so streaming code paths are exercised too.
    """

    supports_json_schema: ClassVar[bool] = True  # told the schema, it answers in JSON

    responses: list[str] = Field(default_factory=list)
    respond: Callable[[list[BaseMessage]], str] | None = None
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    fail_with: str | None = None

    @property
    def _llm_type(self) -> str:
        return "fake"

    def json_reply_kwargs(self, schema: dict) -> dict:
        return {"json_schema": schema}

    def _reply(self, messages: list[BaseMessage], json_schema: dict | None = None) -> str:
        self.calls.append(messages)
        if self.fail_with:
            raise BackendError(self.fail_with)
        if self.responses:
            return self.responses.pop(0)
        if self.respond is not None:
            return self.respond(messages)
        return extractive_fake_pick(messages) if json_schema else extractive_fake_answer(messages)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self._reply(messages, kwargs.get("json_schema"))):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        reply = self._reply(messages, kwargs.get("json_schema"))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])


def extractive_fake_pick(messages: list[BaseMessage]) -> str:
    """The span reader's reply of the fake: the numbered sentence sharing most content terms
    with the question (at least two), copied whole; else sentence 0."""
    prompt = str(messages[-1].content)
    body, _, question = prompt.rpartition("Question:")
    wanted = terms(question).all
    best, best_overlap = 0, 1
    for match in re.finditer(r"^\[(\d+)\] (.*)$", body, re.M):
        overlap = len(wanted & terms(match.group(2)).all)
        if overlap > best_overlap:
            best, best_overlap = int(match.group(1)), overlap
    answer = next((m.group(2) for m in re.finditer(r"^\[(\d+)\] (.*)$", body, re.M) if int(m.group(1)) == best), "")
    return json.dumps({"sentence": best, "answer": answer})


def pick_containing(words: str) -> Callable[[list[BaseMessage]], str]:
    """A scripted span-reader reply: the numbered sentence of the prompt that contains
    ``words``, with ``words`` as the answer; sentence 1 when none holds them (a model
    writing words the articles lack)."""

    def respond(messages: list[BaseMessage]) -> str:
        body = str(messages[-1].content).rpartition("Question:")[0]
        numbers = [int(m.group(1)) for m in re.finditer(r"^\[(\d+)\] (.*)$", body, re.M) if words in m.group(2)]
        return json.dumps({"sentence": numbers[0] if numbers else 1, "answer": words})

    return respond


def build_chat_model(_settings) -> FakeChatModel:
    """The factory the LLM backend registry calls for ``fake``."""
    return FakeChatModel()
