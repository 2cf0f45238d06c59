"""LLM factory and the local model cache: backends by configuration, pinned sha256."""

import hashlib
import sys

import pytest

from app.errors import BackendError, ConfigError, ModelError
from app.llm.backends import make_chat_model
from app.llm.llamacpp import ChatLlamaCpp
from app.llm.models import MODELS, ModelSpec, ensure_model, verify
from app.testing.fakes import FakeChatModel
from tests.conftest import make_settings


def test_factory_builds_each_backend_without_calling_out(tmp_path):
    from langchain_ollama import ChatOllama
    from langchain_openai import ChatOpenAI

    fake = make_chat_model(make_settings(tmp_path, llm_backend="fake"))
    assert isinstance(fake, FakeChatModel)
    openai = make_chat_model(
        make_settings(tmp_path, llm_backend="openai", llm_model="qwen2.5", openai_base_url="http://127.0.0.1:9/v1")
    )
    assert isinstance(openai, ChatOpenAI) and openai.model_name == "qwen2.5"
    assert str(openai.openai_api_base) == "http://127.0.0.1:9/v1"
    ollama = make_chat_model(make_settings(tmp_path, llm_backend="ollama", llm_model="qwen2.5:1.5b"))
    assert isinstance(ollama, ChatOllama) and ollama.model == "qwen2.5:1.5b"


def test_llamacpp_backend_with_an_explicit_gguf_path(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    model = make_chat_model(make_settings(tmp_path, llm_backend="llamacpp", llm_model_path=gguf))
    assert isinstance(model, ChatLlamaCpp) and model.model_path == str(gguf)
    with pytest.raises(ModelError, match="does not exist"):
        make_chat_model(make_settings(tmp_path, llm_backend="llamacpp", llm_model_path=tmp_path / "missing.gguf"))


def test_unknown_backend_and_model_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown LLM backend 'gpt-magic': use llamacpp, openai, ollama, fake"):
        make_chat_model(make_settings(tmp_path, llm_backend="gpt-magic"))
    with pytest.raises(ModelError, match="unknown model"):
        ensure_model("no-such-model", tmp_path)


def test_unreachable_server_is_a_clear_backend_error(settings):
    """An OpenAI-compatible server that is down: the chain says so, it does not crash."""
    from app.answer.service import AnswerService
    from app.index.retrieval import HybridRetriever
    from app.services.ingest import ingest
    from app.testing.fakes import HashingEmbedder
    from tests.conftest import write_article

    write_article(settings.corpus_dir, "a.md", "Talks", "Talks between the unions resume in Geneva next week.")
    ingest(settings, settings.corpus_dir, progress=False)
    down = settings.model_copy(
        update={"llm_backend": "openai", "openai_base_url": "http://127.0.0.1:9/v1", "llm_timeout_s": 3}
    )
    service = AnswerService(down, HybridRetriever(down, HashingEmbedder()).load(), make_chat_model(down))
    with pytest.raises(BackendError, match="language model failed"):
        service.ask("Where do the union talks resume?")


def test_cached_model_is_checked_against_its_pinned_sha256(tmp_path):
    payload = b"GGUF" + b"\0" * 60
    spec = ModelSpec("tiny", "test", (), hashlib.sha256(payload).hexdigest(), len(payload))
    path = tmp_path / spec.filename
    path.write_bytes(payload)
    verify(path, spec)
    path.write_bytes(payload[:-1] + b"\1")  # same size, one byte flipped
    with pytest.raises(ModelError, match="refusing to load"):
        verify(path, spec)
    path.write_bytes(payload[:10])
    with pytest.raises(ModelError, match="truncated"):
        verify(path, spec)


def test_packaged_models_are_pinned():
    for spec in MODELS.values():
        assert len(spec.sha256) == 64 and spec.size > 100_000_000
        assert all("==" in p for p in spec.packages)


def test_missing_optional_backend_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openai(name, *args, **kwargs):
        if name == "langchain_openai":
            raise ImportError("no module")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openai)
    monkeypatch.delitem(sys.modules, "app.llm.openai_chat", raising=False)  # imported afresh, without it
    with pytest.raises(ConfigError, match="pip install langchain-openai"):
        make_chat_model(make_settings(tmp_path, llm_backend="openai"))


def test_each_backend_declares_how_it_replies_in_json(tmp_path):
    """Capabilities live on the backend's class: the answer path asks the model object, and a
    wrapper (the eval's reply cache) answers as the model it wraps."""
    from app.llm.capabilities import json_reply_kwargs, writes_one_at_a_time
    from eval.llm_cache import CachedChatModel

    schema = {"type": "object"}
    llama = ChatLlamaCpp(model_path="unused.gguf")
    assert json_reply_kwargs(llama, schema)["response_format"] == {"type": "json_object", "schema": schema}
    assert llama.supports_logprobs and llama.supports_prefix_snapshots and writes_one_at_a_time(llama)
    openai = make_chat_model(make_settings(tmp_path, llm_backend="openai"))
    assert json_reply_kwargs(openai, schema)["response_format"]["json_schema"]["schema"] == schema
    as_object = make_chat_model(make_settings(tmp_path, llm_backend="openai", openai_json_mode="json_object"))
    assert json_reply_kwargs(as_object, schema)["response_format"] == {"type": "json_object", "schema": schema}
    assert not writes_one_at_a_time(openai)
    ollama = make_chat_model(make_settings(tmp_path, llm_backend="ollama"))
    assert json_reply_kwargs(ollama, schema) == {"format": schema}
    assert json_reply_kwargs(FakeChatModel(), schema) == {"json_schema": schema}
    wrapped = CachedChatModel(inner=llama, path=str(tmp_path / "cache.db"))
    assert json_reply_kwargs(wrapped, schema) == json_reply_kwargs(llama, schema) and writes_one_at_a_time(wrapped)
