"""The OpenAI-compatible API (/v1), asked with the official ``openai`` client against the
app on 127.0.0.1, streamed and not; OpenAI-shaped errors; the admin rule of adding
articles. The last test is the whole road on the real parts: a feed served on 127.0.0.1,
``python -m app ingest --feed`` from the CLI, and a cited answer about its articles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from app.adapters.server import ServerThread, create_app
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.wiring import build_services
from tests.conftest import make_settings, write_article
from tests.test_web_ingest import site  # noqa: F401 (the served pages and feeds)

REPO = Path(__file__).resolve().parents[1]
HARBOUR = (
    "The ferry to the island of Brekka will sail again from Monday after a hull repair. "
    "The repair took three months and cost the operator 2.4 million pounds."
)


@pytest.fixture
def services(settings):
    write_article(settings.corpus_dir, "coast/ferry.md", "Island ferry returns", HARBOUR, outlet="Coast Wire",
                  published="2025-04-07")  # fmt: skip
    ingest(settings, settings.corpus_dir, progress=False)
    return build_services(settings, llm=FakeChatModel(), embedder=HashingEmbedder())


@pytest.fixture
def served(services):
    with ServerThread(create_app(services, ui=False)) as url:
        yield url, openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_newsrag(served):
    _url, client = served
    assert [m.id for m in client.models.list()] == ["newsrag"]
    assert client.models.retrieve("newsrag").id == "newsrag"


def test_chat_completion_is_the_verified_answer_with_citations(served, services):
    _url, client = served
    reply = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": "How much did the hull repair cost?"}]
    )
    direct = services.answers.ask("How much did the hull repair cost?")
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == direct.answer and "[1]" in direct.answer
    extra = reply.model_extra
    assert extra["abstained"] is False
    assert extra["citations"] == [c.as_dict() for c in direct.citations]
    cited = extra["citations"][0]
    assert set(cited) >= {"n", "quote", "title", "outlet", "published", "url", "doc_id", "start", "end"}
    text = services.answers.retriever.article(cited["doc_id"]).text
    assert text[cited["start"] : cited["end"]] == cited["quote"]


def test_streamed_completion_adds_up_to_the_same_answer(served, services):
    _url, client = served
    question = "How much did the hull repair cost?"
    chunks = list(client.chat.completions.create(model="newsrag", stream=True,
                                                 messages=[{"role": "user", "content": question}]))  # fmt: skip
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    drafted = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks)
    direct = services.answers.ask(question)
    assert content == direct.answer
    assert drafted.strip(), "the draft streams before the verified answer"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (
        len(chunks) - 1
    )
    assert last.model_extra["citations"] == [c.as_dict() for c in direct.citations]
    assert last.model_extra["abstained"] is False


def test_stream_ends_with_done(served):
    url, _client = served
    body = {"model": "newsrag", "stream": True, "messages": [{"role": "user", "content": "Who runs the ferry?"}]}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_earlier_turns_become_the_history(served, services, monkeypatch):
    _url, client = served
    seen = {}
    original = services.answers.stream_cleaned

    def spy(question, history=None, filters=None):
        seen["args"] = (question, history)
        return original(question, history, filters)

    monkeypatch.setattr(services.answers, "stream_cleaned", spy)
    client.chat.completions.create(model="newsrag", messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Which ferry sails again?"},
        {"role": "assistant", "content": "The Brekka ferry. [1]"},
        {"role": "user", "content": [{"type": "text", "text": "How much did its repair cost?"}]},
    ])  # fmt: skip
    assert seen["args"] == ("How much did its repair cost?", [("Which ferry sails again?", "The Brekka ferry. [1]")])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, 404, "model_not_found"),
        ({"model": "newsrag", "messages": []}, 400, "invalid_request"),
        ({"model": "newsrag", "messages": [{"role": "assistant", "content": "hello"}]}, 400, "no_question"),
        ({"model": "newsrag", "messages": [{"role": "user", "content": "   "}]}, 400, "no_question"),
        ({"model": "newsrag", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "invalid_request"),
        ({"model": "newsrag", "date_from": "soon", "messages": [{"role": "user", "content": "hi?"}]}, 400,
         "bad_question"),
        ([1, 2], 400, "invalid_body"),
    ],
)  # fmt: skip
def test_bad_requests_get_openai_shaped_errors(served, body, status, code):
    url, _client = served
    response = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error" and error["message"]


def test_the_openai_client_raises_its_own_errors(served):
    url, client = served
    with pytest.raises(openai.NotFoundError) as wrong_model:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert wrong_model.value.code == "model_not_found"
    not_json = httpx.post(url + "/v1/chat/completions", content=b"{not json", timeout=30)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    unknown = httpx.get(url + "/v1/nothing-here", timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "invalid_request_error"


# --- the admin rule --------------------------------------------------------------------------


def test_adding_articles_is_refused_to_other_machines(services, tmp_path):
    # TestClient's client is "testclient": not this machine
    with TestClient(create_app(services, ui=False), raise_server_exceptions=False) as remote:
        response = remote.post("/api/ingest", json={"urls": ["http://127.0.0.1:9/x.html"]})
        assert response.status_code == 403 and "admin" in response.json()["message"]
        upload = remote.post("/api/ingest/files", files={"files": ("a.md", b"---\ntitle: A\n---\n\nText.\n")})
        assert upload.status_code == 403
    assert not (services.settings.corpus_dir / "uploads").exists()


def test_the_admin_token_lets_another_machine_add_articles(settings, tmp_path):
    secured = make_settings(tmp_path, admin_token="s3cret-token")
    write_article(secured.corpus_dir, "coast/ferry.md", "Island ferry returns", HARBOUR)
    ingest(secured, progress=False)
    services = build_services(secured, llm=FakeChatModel(), embedder=HashingEmbedder())
    with TestClient(create_app(services, ui=False), raise_server_exceptions=False) as remote:
        wrong = remote.post("/api/ingest/files", headers={"Authorization": "Bearer nope"},
                            files={"files": ("a.md", b"---\ntitle: A\n---\n\nText.\n")})  # fmt: skip
        assert wrong.status_code == 403 and "wrong" in wrong.json()["message"]
        missing = remote.post("/api/ingest", json={"corpus": str(secured.corpus_dir)})
        assert missing.status_code == 403 and "token" in missing.json()["message"]
        notice = b"---\ntitle: Harbour notice\n---\n\nThe harbour opens.\n"
        ok = remote.post("/api/ingest/files", headers={"Authorization": "Bearer s3cret-token"},
                         files={"files": ("a.md", notice)})  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert ok.json()["ingest"]["docs_added"] == 1
    assert services.articles.get("uploads/a").title == "Harbour notice"  # citable at once


def test_this_machine_adds_pages_through_the_api(services, site):  # noqa: F811
    _root, base = site
    with ServerThread(create_app(services, ui=False)) as url:
        response = httpx.post(url + "/api/ingest", json={"urls": [base + "/river-bridge.html", base + "/nope.html"]},
                              timeout=120)  # fmt: skip
    body = response.json()
    assert response.status_code == 200, body
    assert [s["outcome"] for s in body["stored"]] == ["added"] and "HTTP 404" in body["failures"][0]["reason"]
    assert any(a.title == "New river bridge opens to cyclists" for a in services.articles.list())


# --- the whole road on the real parts ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.llm
def test_feed_to_cited_answer_through_the_openai_client(site, tmp_path):  # noqa: F811
    """From the CLI on a fresh index to a cited answer through the official client."""
    _root, base = site
    settings = make_settings(tmp_path / "real", embedding_model="all-MiniLM-L6-v2", llm_backend="llamacpp")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "NEWSRAG_EMBEDDING_MODEL": "all-MiniLM-L6-v2"}
    args = [sys.executable, "-m", "app", "ingest", "--feed", base + "/feed.xml", "--feed", base + "/atom.xml",
            "--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir), "-q"]  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert "3 added" in first.stdout, first.stdout + first.stderr
    second = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert "0 added, 0 updated, 3 unchanged" in second.stdout and "chunks:    0 added" in second.stdout

    services = build_services(settings)
    question = "How much did the new footbridge over the river Lune cost?"
    with ServerThread(create_app(services, ui=False), start_timeout=120) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)
        reply = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": question}])
        chunks = list(client.chat.completions.create(model="newsrag", stream=True,
                                                     messages=[{"role": "user", "content": question}]))  # fmt: skip
    answer = reply.choices[0].message.content
    citations = reply.model_extra["citations"]
    assert reply.model_extra["abstained"] is False, reply.model_dump()
    assert "4.2 million" in answer and "[1]" in answer
    assert citations[0]["url"] == base + "/river-bridge.html" and citations[0]["outlet"] == "Valley Herald"
    assert citations[0]["published"] == "2025-03-04"
    article = services.articles.get(citations[0]["doc_id"])
    assert article.text[citations[0]["start"] : citations[0]["end"]] == citations[0]["quote"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer
    assert chunks[-1].model_extra["citations"] == citations


def test_the_corpus_tab_adds_files_here_and_refuses_other_machines(services, tmp_path):
    from types import SimpleNamespace

    from app.adapters.ui.adding import AddHandler

    upload = tmp_path / "notice.md"
    upload.write_text("---\ntitle: Pier notice\noutlet: Coast Wire\npublished: 2025-05-02\n---\n\nThe pier reopens.\n")
    handler = AddHandler(services)
    remote = SimpleNamespace(client=SimpleNamespace(host="203.0.113.7"))
    refused = handler.add("", "", [str(upload)], "", remote, progress=lambda *a, **k: None)
    assert "admin action" in refused and services.articles.get("uploads/notice") is None
    local = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"))
    done = handler.add("", "", [str(upload)], "", local, progress=lambda *a, **k: None)
    assert "added" in done and "can be cited now" in done
    assert services.articles.get("uploads/notice").title == "Pier notice"
    empty = handler.add(" ", "", [], "", local, progress=lambda *a, **k: None)
    assert "Give a page URL" in empty
