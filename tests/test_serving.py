"""Serving the public: the answer cache (hits, no collisions across history or filters,
invalidation by ingest, persistence, the LRU bound) and the admission gate (one queued
question per session, the per-client rate limit, the queue cap, waits estimated from the
measured service time; refusals as 429 with Retry-After; light requests pass a full queue)."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from app.adapters.server import ServerThread, create_app
from app.answer.reply import Final
from app.domain import Filters
from app.services.admission import AdmissionRefused, AnswerGate
from app.services.answer_cache import settings_fingerprint
from app.services.ingest import ingest
from app.services.serving import ServingService, generation_slots
from app.testing.fakes import HashingEmbedder
from app.wiring import build_services
from tests.conftest import write_article
from tests.test_ui_concurrency import SlowFakeChatModel

FERRY = (
    "The ferry to the island of Brekka will sail again from Monday after a hull repair. "
    "The repair took three months and cost the operator 2.4 million pounds."
)
BRIDGE = "The new footbridge over the river opened on Tuesday. It cost 4.2 million pounds to build."
QUESTION = "How much did the hull repair cost?"


def build(settings, **overrides):
    settings = settings.model_copy(update=overrides)
    write_article(settings.corpus_dir, "coast/ferry.md", "Island ferry returns", FERRY, outlet="Coast Wire",
                  published="2025-04-07")  # fmt: skip
    write_article(settings.corpus_dir, "city/bridge.md", "Footbridge opens", BRIDGE, outlet="City Wire",
                  published="2025-05-02")  # fmt: skip
    ingest(settings, settings.corpus_dir, progress=False)
    llm = SlowFakeChatModel()
    return build_services(settings, llm=llm, embedder=HashingEmbedder()), llm


# --- the answer cache ------------------------------------------------------------------------------


def test_a_repeat_is_served_from_the_cache_with_the_same_citations(settings):
    services, llm = build(settings)
    first = services.serving.ask(QUESTION, client="a")
    calls = llm.replies
    again = services.serving.ask("  how much did the HULL repair cost ", client="b")
    assert llm.replies == calls, "the model was asked again"
    assert again.answer == first.answer and again.citations == first.citations and not again.abstained
    assert again.timings["cache_hit"] == 1.0 and again.question == "how much did the HULL repair cost"
    streamed = list(services.serving.stream(QUESTION, client="c"))
    assert len(streamed) == 1 and isinstance(streamed[0], Final), "a streamed repeat is the answer at once"
    assert services.serving.cached(QUESTION).citations == first.citations


def test_no_collision_across_histories_or_filters(settings):
    services, llm = build(settings)
    serving = services.serving
    serving.ask(QUESTION)
    calls = llm.replies
    serving.ask(QUESTION, [("Which ferry sails again?", "The Brekka ferry. [1]")])
    assert llm.replies > calls, "a follow-up of another conversation is answered afresh"
    calls = llm.replies
    serving.ask(QUESTION, filters=Filters.parse(["Coast Wire"]))
    assert llm.replies > calls, "other filters, another answer"
    calls = llm.replies
    serving.ask(QUESTION, filters=Filters.parse(["Coast Wire"]))
    serving.ask(QUESTION, [("Which ferry sails again?", "The Brekka ferry. [1]")])
    assert llm.replies == calls, "each of them is cached under its own key"


def test_an_ingest_that_changes_the_index_invalidates_the_cache(settings):
    services, llm = build(settings)
    services.serving.ask(QUESTION)
    calls = llm.replies
    services.ingest.run(settings.corpus_dir)  # nothing changed: the index version stays
    services.serving.ask(QUESTION)
    assert llm.replies == calls
    write_article(settings.corpus_dir, "coast/update.md", "Ferry repair bill revised", "The hull repair cost "
                  "2.6 million pounds in the end, the operator said.", published="2025-06-01")  # fmt: skip
    services.ingest.run(settings.corpus_dir)
    services.serving.ask(QUESTION)
    assert llm.replies > calls, "after an ingest that changed the index the question is answered again"


def test_other_answer_settings_make_other_keys(settings):
    assert settings_fingerprint(settings, "m") == settings_fingerprint(settings.model_copy(), "m")
    assert settings_fingerprint(settings, "m") != settings_fingerprint(settings, "other model")
    changed = settings.model_copy(update={"context_sentences": settings.context_sentences + 1})
    assert settings_fingerprint(settings, "m") != settings_fingerprint(changed, "m")
    limits = settings.model_copy(update={"answer_rate_per_minute": 99, "answer_queue_max": 3})
    assert settings_fingerprint(settings, "m") == settings_fingerprint(limits, "m"), "admission does not"


def test_a_changed_prompt_or_refitted_answer_model_makes_other_keys(settings, monkeypatch):
    """The key carries the answer service's fingerprint: every prompt of the answer path and the
    fitted answer model, so a new prompt or a refit never serves an answer written before it."""
    from app.answer import prompts
    from app.answer.check.decide import Decider
    from app.services.serving import ServingService

    services, _llm = build(settings)
    answers = services.answers
    before = ServingService(answers).key(QUESTION, [], None)
    assert ServingService(answers).key(QUESTION, [], None) == before
    monkeypatch.setattr(prompts, "READER_SYSTEM", prompts.READER_SYSTEM + " Be brief.")
    assert ServingService(answers).key(QUESTION, [], None) != before
    monkeypatch.undo()
    assert ServingService(answers).key(QUESTION, [], None) == before
    answers.decider = Decider({"q_cover": 1.0}, -1.0, 0.5)
    assert ServingService(answers).key(QUESTION, [], None) != before


def test_the_cache_persists_beside_the_index_and_is_bounded(settings):
    services, llm = build(settings, answer_cache_persist=True, answer_cache_entries=2)
    first = services.serving.ask(QUESTION)
    assert (settings.index_dir / "answer-cache.jsonl").exists()
    restarted = ServingService(services.answers)  # a new process reads the file back
    calls = llm.replies
    again = restarted.ask(QUESTION)
    assert llm.replies == calls and again.as_dict()["citations"] == first.as_dict()["citations"]
    assert again.sentences == first.sentences and again.retrieved == first.retrieved
    restarted.ask("When does the ferry sail again?")
    restarted.ask("What did the footbridge cost?")
    assert len(restarted.cache) == 2
    calls = llm.replies
    restarted.ask(QUESTION)  # the least recently used entry went out
    assert llm.replies > calls


# --- admission ---------------------------------------------------------------------------------------


def test_one_queued_question_per_session(settings):
    gate = AnswerGate(settings)
    ticket = gate.enter("ui:s1", "s1")
    with pytest.raises(AdmissionRefused, match="still being answered") as refused:
        gate.enter("ui:s1", "s1")
    assert refused.value.reason == "session"
    other = gate.enter("ui:s2", "s2")
    gate.leave(ticket)
    gate.leave(other)
    gate.leave(gate.enter("ui:s1", "s1"))  # answered: the session may ask again


def test_a_stopped_question_lets_its_session_ask_again_behind_it(settings):
    gate = AnswerGate(settings)
    stopped = gate.enter("ui:s1", "s1")
    list(gate.wait(stopped))  # it holds the model
    assert gate.abandon("s1") == 1 and gate.abandon("nobody") == 0
    again = gate.enter("ui:s1", "s1")  # not refused: the stopped one is no longer theirs
    assert next(gate.wait(again))[0] == 1, "it still waits for the model to finish its step"
    gate.leave(stopped)
    assert list(gate.wait(again)) == []  # now it holds the model
    gate.leave(again)


def test_rate_limit_per_client_says_when_to_ask_again(settings):
    gate = AnswerGate(settings.model_copy(update={"answer_rate_per_minute": 2}))
    for _ in range(2):
        gate.leave(gate.enter("ip:1"))
    with pytest.raises(AdmissionRefused) as refused:
        gate.enter("ip:1")
    assert refused.value.reason == "rate" and 1 <= refused.value.retry_after_s <= 60
    assert "2 questions in the last minute" in str(refused.value) and "wait about" in str(refused.value)
    gate.leave(gate.enter("ip:2"))  # another client is not limited by the first
    assert gate.stats()["refused"] == {"rate": 1}


def test_queue_cap_refuses_with_the_expected_wait_from_measured_answers(settings):
    gate = AnswerGate(settings.model_copy(update={"answer_queue_max": 1, "answer_service_estimate_s": 30.0}))
    running = gate.enter("a")
    assert list(gate.wait(running)) == []  # the slot was free
    waiting = gate.enter("b")
    position, expected = next(gate.wait(waiting))
    assert position == 1 and 25 < expected <= 30  # the running answer's remaining time
    with pytest.raises(AdmissionRefused, match="1 questions are waiting") as refused:
        gate.enter("c")
    assert refused.value.reason == "queue" and refused.value.retry_after_s >= 25
    gate.leave(running)
    assert gate.service_s < 30.0, "a measured answer moves the estimate"
    gate.leave(waiting)


def test_refusals_are_429_with_retry_after_on_both_apis(settings):
    services, _llm = build(settings, answer_rate_per_minute=1)
    with TestClient(create_app(services, ui=False), client=("127.0.0.1", 5000)) as c:
        assert c.post("/api/ask", json={"question": QUESTION}).status_code == 200
        assert c.post("/api/ask", json={"question": QUESTION}).status_code == 200, "a cache hit is not limited"
        refused = c.post("/api/ask", json={"question": "When does the ferry sail again?"})
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_rate"
        assert int(refused.headers["retry-after"]) >= 1 and "in the last minute" in refused.json()["message"]
        stream = c.post("/api/ask/stream", json={"question": "What did the footbridge cost?"})
        assert stream.status_code == 429
    with ServerThread(create_app(services, ui=False)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": "Who runs it?"}])
        assert limited.value.body["type"] == "rate_limit_error" and "minute" in limited.value.body["message"]


def test_light_requests_pass_a_full_queue(settings):
    services, llm = build(settings, answer_queue_max=2, answer_rate_per_minute=0)
    llm.delay = 1.0
    questions = ["When does the ferry sail again?", "What did the footbridge cost?", "Who runs the ferry?",
                 "When did the footbridge open?"]  # fmt: skip
    with ServerThread(create_app(services)) as url:
        results: dict[str, int] = {}

        def ask(q: str) -> None:
            results[q] = httpx.post(url + "/api/ask", json={"question": q}, timeout=120).status_code

        threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
        for t in threads:
            t.start()
            time.sleep(0.1)
        deadline = time.monotonic() + 30
        while llm.active == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert llm.active == 1, "the model is writing an answer"
        assert httpx.get(url + "/api/articles", timeout=10).json()["count"] == 2
        assert httpx.get(url + "/api/health", timeout=10).status_code == 200
        assert httpx.get(url + "/", timeout=10).status_code == 200
        assert llm.active == 1 and services.serving.gate.stats()["waiting"] >= 1, "still busy: they did not wait"
        for t in threads:
            t.join(120)
    assert sorted(results.values()) == [200, 200, 200, 429], results  # one over the cap of 2 waiting


def test_answer_slots_follow_the_backend(settings):
    """One in-process llama.cpp context writes one answer at a time whatever the setting says
    (its class says it holds one sequence); a server's parallel slots are the setting."""
    from app.llm.llamacpp import ChatLlamaCpp
    from app.llm.ollama_chat import build_chat_model as ollama
    from app.llm.openai_chat import build_chat_model as openai

    four = settings.model_copy(update={"answer_slots": 4})
    assert generation_slots(four, ChatLlamaCpp(model_path="unused.gguf")) == 1
    assert generation_slots(four, openai(four)) == 4
    assert generation_slots(settings, ollama(settings)) == 1  # the default
    assert generation_slots(four, SlowFakeChatModel()) == 4  # the fake stands in for a server


@pytest.mark.parametrize("slots", [1, 3])
def test_the_gate_gives_the_model_as_many_answers_at_once_as_it_has_slots(settings, slots):
    # a backend other than the in-process context (the fake model stands in for a server)
    services, llm = build(settings, llm_backend="fake", answer_slots=slots, answer_rate_per_minute=0,
                          answer_cache_entries=0)  # fmt: skip
    assert services.serving.gate.slots == slots
    llm.delay = 0.5
    questions = ["When does the ferry sail again?", "What did the footbridge cost?", "How long did the repair take?"]
    threads = [threading.Thread(target=services.serving.ask, args=(q,), kwargs={"client": q, "session": q})
               for q in questions]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert llm.replies >= 3 and llm.peak == slots
