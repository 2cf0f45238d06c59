"""No path of the server's file system reaches a user: not the model file's folders (a GGUF
under the user's cache), not the index or corpus folders, in any JSON the APIs answer (errors
included) nor in the exports of an answer. The fake model stands in for the in-process
llama.cpp backend: it carries a ``model_path`` as ChatLlamaCpp does. Invented articles only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.adapters.api import examples
from app.adapters.server import create_app
from app.errors import IndexNotFoundError, without_paths
from app.services.export import asked_now, export_dict, export_markdown
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.wiring import build_services
from tests.conftest import make_settings, write_article

TALKS = (
    "Talks between the dock workers' union and the port authority are set to continue in Aberdeen. "
    "The mediator Lena Ford is expected to return to Dundee this week."
)
QUESTION = "Where are the port talks set to continue?"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class LocalFileModel(FakeChatModel):
    """The fake model with a local model file, as the llama.cpp backend has one."""

    model_path: str


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """A home folder with the model in its cache, and the corpus and index folders."""
    home = tmp_path / "home" / "newsrag-operator"
    cache = home / ".cache" / "newsrag" / "models"
    cache.mkdir(parents=True)
    (cache / MODEL_FILE).write_bytes(b"GGUF")
    return {
        "tmp": tmp_path,
        "home": home,
        "cache": cache,
        "model": cache / MODEL_FILE,
        "corpus": home / "news" / "corpus",
        "index": tmp_path / "srv" / "newsrag-index",
    }


@pytest.fixture
def services(place):
    settings = make_settings(
        place["tmp"],
        corpus_dir=place["corpus"],
        index_dir=place["index"],
        model_cache_dir=place["cache"],
        llm_model_path=place["model"],
    )
    write_article(settings.corpus_dir, "april/talks.md", "Port talks to continue", TALKS, outlet="Wire A")
    (settings.corpus_dir / "april" / "no-outlet.txt").write_text("Harbour fees rise\n\nThe harbour fees rise in May.\n")
    ingest(settings, settings.corpus_dir, progress=False)
    return build_services(settings, llm=LocalFileModel(model_path=str(place["model"])), embedder=HashingEmbedder())


@pytest.fixture
def client(services):
    with TestClient(create_app(services, ui=False), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as c:
        yield c


def assert_no_paths(text: str, place: dict[str, Path], what: str) -> None:
    """No folder of the server shows, nor the model file's path (its name may)."""
    for name, path in place.items():
        assert str(path) not in text, f"{what} shows the {name} path {path}: {text[:2000]}"


def test_no_json_response_carries_a_server_path(client, services, place):
    chat = {"model": "newsrag", "messages": [{"role": "user", "content": QUESTION}]}
    upload = {
        "content": examples.UPLOAD_BODY.encode(),
        "headers": {"Content-Type": "multipart/form-data; boundary=newsrag"},
    }
    calls = [
        ("get", "/api/health", {}),
        ("post", "/api/ask", {"json": {"question": QUESTION}}),
        ("post", "/api/ask", {"json": {"question": "Who won the 1966 World Cup final?"}}),  # abstains
        ("post", "/api/ask/stream", {"json": {"question": QUESTION}}),
        ("post", "/api/claims", {"json": {"claim": "The port talks continue in Aberdeen."}}),
        ("get", "/api/articles", {}),
        ("get", "/api/articles/april/talks", {}),
        ("get", "/api/articles/april/no-outlet", {}),
        ("get", "/api/articles/no/such-article", {}),
        ("post", "/api/ingest", {"json": {"corpus": str(place["corpus"])}}),
        ("post", "/api/ingest", {"json": {"corpus": str(place["home"] / "no-such-folder")}}),
        ("post", "/api/ingest/files", upload),
        ("get", "/v1/models", {}),
        ("get", "/v1/models/newsrag", {}),
        ("post", "/v1/chat/completions", {"json": chat}),
        ("post", "/v1/chat/completions", {"json": {**chat, "stream": True}}),
    ]
    seen = set()
    for method, url, request in calls:
        response = client.request(method, url, **request)
        assert response.status_code < 500, f"{method} {url}: {response.text[:300]}"
        assert_no_paths(response.text, place, f"{method} {url}")
        seen.add(response.status_code)
    assert {200, 400, 404} <= seen
    ask = client.post("/api/ask", json={"question": QUESTION}).json()
    assert ask["model"] == MODEL_FILE and not ask["abstained"]
    assert client.get("/api/health").json()["model"]["name"] == MODEL_FILE


def test_errors_do_not_echo_server_paths(client, services, place, monkeypatch):
    """A model that fails to load and an index that went away: the message says what, not where."""
    services.answers.llm.fail_with = f"llama.cpp could not load {place['model']}: failed to read the file"
    for url, body in (("/api/ask", {"question": QUESTION}), ("/v1/chat/completions", None)):
        body = body or {"model": "newsrag", "messages": [{"role": "user", "content": "Where do the port talks go on?"}]}
        response = client.post(url, json=body)
        assert response.status_code == 503, response.text
        assert MODEL_FILE in response.text, "the message still names the file"
        assert_no_paths(response.text, place, url)
    stream = client.post("/api/ask/stream", json={"question": "Where will port talks continue next?"})
    assert '"event": "error"' in stream.text
    assert_no_paths(stream.text, place, "/api/ask/stream")

    store = services.answers.retriever.store

    def gone(*_args, **_kwargs):
        raise IndexNotFoundError(store._missing_message())

    monkeypatch.setattr(services.answers.retriever, "refresh", gone)
    health = client.get("/api/health")
    assert health.status_code == 503 and health.json()["index"]["message"]
    assert_no_paths(health.text, place, "/api/health with the index gone")


def test_exports_carry_the_model_name_and_the_index_version(services, place):
    answer = services.serving.ask(QUESTION)
    articles = services.articles
    for data in (
        json.dumps(export_dict(answer, asked_now(), articles.updated())),  # what the chat's Export buttons pass
        json.dumps(export_dict(answer, asked_now(), index=articles.index_version())),
        export_markdown(answer, asked_now(), articles.updated()),
        export_markdown(answer, asked_now(), index=articles.index_version()),
    ):
        assert_no_paths(data, place, "an export")
        assert MODEL_FILE in data.replace("\\_", "_")
    data = export_dict(answer, asked_now(), index=articles.index_version())
    assert data["model"] == MODEL_FILE and data["index_updated"] == articles.updated() != ""
    index = data["index"]
    assert index["collection"] == services.settings.collection and index["articles"] == 2
    assert index["updated"] == articles.updated() and index["version"] == services.answers.retriever.version
    markdown = export_markdown(answer, asked_now(), index=articles.index_version())
    assert f"{services.settings.collection}, 2 articles" in markdown.replace("\\_", "_")


def test_paths_are_cut_to_their_last_part_and_urls_kept():
    assert without_paths("could not load /home/u/.cache/m.gguf: bad magic") == "could not load m.gguf: bad magic"
    assert without_paths("No index in /srv/newsrag/index. Build it") == "No index in index. Build it"
    assert without_paths("see ~/.cache/newsrag/models/m.gguf") == "see m.gguf"
    assert without_paths("/data/feeds/wire.jsonl:17: bad line") == "wire.jsonl:17: bad line"
    for kept in ("the server at http://127.0.0.1:8080/v1/embeddings failed", "5 km/h, 2025/04/22, and/or a / b",
                 "./corpus/a.md is relative"):  # fmt: skip
        assert without_paths(kept) == kept
