"""The HTTP API on the same app as the UI: /api/ask (the JSON of ask --json), streaming,
claims, articles, health, and errors as JSON with a status code, never a traceback.
Fast tests use the fake LLM; the last one runs the real embedding model, a persistent
Chroma index and the real local LLM behind a real server on 127.0.0.1."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient

from app.adapters.server import ServerThread, create_app
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.wiring import build_services
from tests.conftest import SEED_CORPUS, make_settings, write_article

# Invented articles (no gold item of any set is copied into a unit test).
TALKS = (
    "Talks between the dock workers' union and the port authority are set to continue in Aberdeen. "
    "The mediator Lena Ford is expected to return to Dundee this week."
)
APRIL = "A recent auction saw more than 500 shipping containers sold. The sale took place at the harbour gate."
JULY = "The port agreed to sell another 1,000 shipping containers. A final contract is still elusive."
QUESTION = "Where are the port talks set to continue?"


@pytest.fixture
def services(settings):
    corpus = settings.corpus_dir
    write_article(corpus, "april/talks.md", "Port talks to continue", TALKS, outlet="Wire A", published="2025-04-22")
    write_article(corpus, "april/swap.md", "Container sale", APRIL, outlet="Wire A", published="2025-04-22")
    write_article(corpus, "july/swap.md", "Second sale", JULY, outlet="Wire B", published="2025-07-22")
    ingest(settings, corpus, progress=False)
    return build_services(settings, llm=FakeChatModel(), embedder=HashingEmbedder())


@pytest.fixture
def service(services):
    return services.answers


@pytest.fixture
def client(services):
    # raise_server_exceptions=False: the client sees what a browser would (no exception re-raised)
    with TestClient(create_app(services), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as c:
        yield c


def assert_exact_quotes(service, data: dict) -> None:
    assert data["citations"], data
    for c in data["citations"]:
        assert service.retriever.article(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]
        assert c["title"] and c["outlet"] and c["published"]


def assert_no_traceback(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_ask_returns_the_json_of_ask_json(client, service):
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    data = response.json()
    assert not data["abstained"] and "Aberdeen" in data["answer"] and "[1]" in data["answer"]
    assert_exact_quotes(service, data)
    assert set(data) == set(service.ask(QUESTION).as_dict()), "same keys as ask --json"
    assert {"retrieval_s", "first_token_s", "total_s"} <= set(data["timings"])
    assert data["citations"][0]["n"] == 1 and data["retrieved"][0]["doc_id"] == "april/talks"


def test_abstention(client):
    response = client.post("/api/ask", json={"question": "Who won the 2022 football World Cup final in Qatar?"})
    assert response.status_code == 200
    data = response.json()
    assert data["abstained"] is True and data["citations"] == []
    assert data["answer"].startswith("The articles don't say")


def test_empty_question_is_a_4xx_with_a_message(client):
    response = client.post("/api/ask", json={"question": ""})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request" and "question" in response.json()["message"]
    response = client.post("/api/ask", json={"question": "  \n\t "})
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_question",
        "message": "The question is empty. Type a question about the news articles.",
        "status": 400,
    }
    response = client.post("/api/ask", json={})
    assert response.status_code == 422 and "question" in response.json()["message"]


def test_invalid_unicode_in_a_question_is_dropped_not_fatal(client):
    headers = {"content-type": "application/json"}
    body = b'{"question": "Where are the port \\ud800 talks set to continue?"}'
    response = client.post("/api/ask", content=body, headers=headers)
    assert response.status_code == 200 and "Aberdeen" in response.json()["answer"]
    response = client.post("/api/ask", content=b'{"question": "\\ud800"}', headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "bad_question"
    response = client.post("/api/ask", content=b'{"question": "talks \xff\xfe"}', headers=headers)
    assert 400 <= response.status_code < 500 and response.json()["message"]


def test_oversized_question_is_a_4xx_with_a_message(client):
    response = client.post("/api/ask", json={"question": "Where are the talks? " * 200})
    assert response.status_code == 422
    body = response.json()
    assert "2000 characters" in body["message"]
    assert "Where are the talks" not in response.text, "the oversized input is not echoed back"
    assert_no_traceback(response)


def test_backend_failure_is_a_503_and_the_app_keeps_working(client, service):
    working = service.llm
    service.llm = FakeChatModel(fail_with="connection refused by the model server")
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 503
    assert response.json()["error"] == "backend_unavailable"
    assert "connection refused" in response.json()["message"]
    assert_no_traceback(response)
    service.llm = working
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200 and "Aberdeen" in response.json()["answer"]


def test_unexpected_error_is_a_generic_500(client, service, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail /srv/keys")

    monkeypatch.setattr(service, "stream_cleaned", broken)
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret" not in response.text
    assert_no_traceback(response)
    monkeypatch.undo()
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200


def test_follow_up_uses_history(client, service):
    service.llm = FakeChatModel(responses=["How many shipping containers did the port agree to sell in July?"])
    history = [["How many shipping containers were sold in April?", "More than 500 were sold. [1]"]]
    response = client.post("/api/ask", json={"question": "And in July?", "history": history})
    assert response.status_code == 200
    data = response.json()
    assert data["standalone_question"] == "How many shipping containers did the port agree to sell in July?"
    assert "1,000" in data["answer"]
    assert_exact_quotes(service, data)


def test_filters(client):
    question = "How many shipping containers were sold?"
    response = client.post("/api/ask", json={"question": question, "outlets": ["Wire B"]})
    assert response.status_code == 200
    assert {c["outlet"] for c in response.json()["citations"]} == {"Wire B"}
    response = client.post(
        "/api/ask",
        json={"question": question, "date_from": "2025-05-01", "date_to": "2025-08-01"},
    )
    assert {c["published"] for c in response.json()["citations"]} == {"2025-07-22"}
    assert all(p["published"] == "2025-07-22" for p in response.json()["retrieved"])
    response = client.post("/api/ask", json={"question": "Q?", "date_from": "2025-09-01", "date_to": "2025-01-01"})
    assert response.status_code == 400 and "after" in response.json()["message"]
    response = client.post("/api/ask", json={"question": "Q?", "date_from": "April"})
    assert response.status_code == 422 and "date_from" in response.json()["message"]


def test_stream_sends_tokens_then_the_final_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "stage" and kinds[-1] == "final" and "token" in kinds
    assert kinds.index("token") < kinds.index("final")
    assert "Aberdeen" in events[-1]["answer"]["answer"]
    response = client.post("/api/ask/stream", json={"question": "   "})
    assert response.status_code == 400 and response.json()["error"] == "bad_question"


def test_claims_endpoint(client):
    response = client.post("/api/claims", json={"claim": "700 shipping containers were sold"})
    assert response.status_code == 200
    data = response.json()
    assert data["verdict"] == "contradicted" and data["contradicting"][0]["outlet"] == "Wire A"
    assert client.post("/api/claims", json={"claim": " "}).status_code == 400


def test_articles_and_one_article(client, service):
    data = client.get("/api/articles").json()
    assert data["count"] == 3
    assert [a["published"] for a in data["articles"]] == sorted(
        (a["published"] for a in data["articles"]), reverse=True
    )
    assert {"doc_id", "title", "outlet", "published", "n_chunks"} <= set(data["articles"][0])
    assert client.get("/api/articles", params={"outlet": "Wire B"}).json()["count"] == 1
    article = client.get("/api/articles/april/talks").json()
    assert article["text"] == service.retriever.article("april/talks").text
    missing = client.get("/api/articles/nope/none")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_health_reports_index_and_model(client, service):
    response = client.get("/api/health")
    assert response.status_code == 200
    data = response.json()
    assert data["ready"] is True and data["status"] == "ok"
    assert data["index"]["chunks"] == service.retriever.size > 0
    assert data["index"]["articles"] == 3
    assert data["model"] == {"backend": service.settings.llm_backend, "name": "fake", "ready": True}


def test_health_is_503_when_the_model_file_is_missing(services, settings):
    class MissingModel(FakeChatModel):
        model_path: str = "/nonexistent/model.gguf"

    missing = build_services(settings, llm=MissingModel(), embedder=HashingEmbedder())
    with TestClient(create_app(missing, ui=False), client=("127.0.0.1", 50000)) as c:
        response = c.get("/api/health")
    assert response.status_code == 503
    assert response.json()["ready"] is False and response.json()["model"]["ready"] is False


def test_openapi_and_offline_docs(client, service):
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/api/claims", "/api/articles", "/api/health"} <= set(schema["paths"])
    ask_request = schema["components"]["schemas"]["AskRequest"]
    assert ask_request["properties"]["question"]["maxLength"] == service.settings.max_question_chars
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/ask" in docs.text
    assert "http://" not in docs.text and "https://" not in docs.text, "no CDN: the docs work offline"


def test_ui_is_served_beside_the_api(client):
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/api/nothing-here").status_code == 404


@pytest.mark.slow
@pytest.mark.llm
def test_real_parts_behind_a_real_server(tmp_path):
    """all-MiniLM-L6-v2, persistent Chroma and the local llama.cpp model, over HTTP on 127.0.0.1."""
    settings = make_settings(
        tmp_path, corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2", llm_backend="llamacpp"
    )
    ingest(settings, SEED_CORPUS, progress=False)
    services = build_services(settings)
    service = services.answers
    with ServerThread(create_app(services)) as url, httpx.Client(base_url=url, timeout=120) as http:
        health = http.get("/api/health").json()
        assert health["ready"] and health["model"]["backend"] == "llamacpp" and health["index"]["articles"] == 2
        question = "Where are talks involving Ukrainian, U.S. and European officials set to continue?"
        data = http.post("/api/ask", json={"question": question}).json()
        assert not data["abstained"] and "London" in data["answer"], data
        assert_exact_quotes(service, data)
        assert data["model"].endswith(".gguf")
        data = http.post("/api/ask", json={"question": "Who won the 2022 FIFA World Cup final?"}).json()
        assert data["abstained"] and data["answer"].startswith("The articles don't say")
        assert http.post("/api/ask", json={"question": ""}).status_code == 422
