"""Answers written side by side: llama.cpp's own server (llama-server, built from the pinned
llama-cpp-python sources by scripts/build_llama_server.sh) with two parallel slots, the
packaged GGUF, newsrag's openai backend and ``answer_slots=2``. Two questions asked at once
are both in the server's batch at the same moment, and both come back verified and cited
(real MiniLM, real Chroma, the real 1.5B model)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from app.llm.models import ensure_model
from app.services.ingest import ingest
from app.wiring import build_services
from eval.batching import LlamaServer, build_server
from tests.conftest import SEED_CORPUS, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.llm]

QUESTIONS = [
    "Which country mediated the talks on sparing energy infrastructure last summer?",
    "On which platform did Trump write that he hoped both sides would agree this week?",
]


def test_two_answers_share_the_server_batch_and_both_are_verified(tmp_path):
    binary = build_server()  # cached after the first build (scripts/test.sh builds it up front)
    settings = make_settings(tmp_path, corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2")
    model = ensure_model(settings.llm_model, settings.model_cache_dir)
    with LlamaServer(binary, model, parallel=2, threads=2, log_path=tmp_path / "llama-server.log") as server:
        settings = make_settings(
            tmp_path, corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2", llm_backend="openai",
            openai_base_url=server.url + "/v1", answer_slots=2, answer_rate_per_minute=0, answer_cache_entries=0,
            openai_extra_body={"repeat_penalty": 1.0}, answer_model=None,
        )  # fmt: skip
        ingest(settings, SEED_CORPUS, progress=False)
        services = build_services(settings)
        answers: dict[str, object] = {}

        def ask(question: str) -> None:
            answers[question] = services.serving.ask(question, client=question, session=question)

        threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS]
        for t in threads:
            t.start()
        busy_slots, gate_answering = 0, 0
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=5) as http:
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                gate_answering = max(gate_answering, services.serving.gate.stats()["answering"])
                slots = http.get(server.url + "/slots").json()
                busy_slots = max(busy_slots, sum(bool(s.get("is_processing")) for s in slots))
                time.sleep(0.05)
        for t in threads:
            t.join(30)
    assert gate_answering == 2, "the gate let both questions reach the model"
    assert busy_slots == 2, "llama-server decoded both answers in one batch"
    for question in QUESTIONS:
        answer = answers[question]
        assert answer.outcome == "answered" and answer.citations, (question, answer.answer)
        for c in answer.citations:  # each quote is the exact span of its article it says it is
            article = services.answers.retriever.article(c.quote.doc_id)
            assert article.text[c.quote.start : c.quote.end] == c.quote.text
    assert "Qatar" in answers[QUESTIONS[0]].answer and "Truth Social" in answers[QUESTIONS[1]].answer
