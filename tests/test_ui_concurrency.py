"""The UI's queue, driven with gradio_client against a real server on 127.0.0.1: five
users ask at once, the model serves one generation at a time, waiting users are told
their queue position, light requests are not stuck behind the generations, and a
failing backend or a bad question gives a readable message while the app keeps serving.

The fake LLM sleeps before each reply so that requests really queue."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest
from gradio_client import Client
from pydantic import PrivateAttr

from app.adapters.server import ServerThread, create_app
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.wiring import build_services
from tests.conftest import JULY_OUTLET, SEED_CORPUS, make_settings

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

DELAY_S = 0.8
QUESTIONS = [
    "Where are talks involving Ukrainian, U.S. and European officials set to continue?",
    "How many prisoners have been exchanged?",
    "Who heads the Kremlin delegation, according to Al Jazeera?",
    "On which platform did Trump write that he hoped both sides would agree this week?",
    "When is the third round of negotiations in Istanbul scheduled?",
]


GATE_TIMEOUT = 60.0


class SlowFakeChatModel(FakeChatModel):
    """The extractive fake LLM, slowed down, counting its replies and how many run at once.
    With ``gate`` set, each reply waits until the gate is opened (at most ``GATE_TIMEOUT`` s):
    a test holds the model for exactly as long as it needs, whatever the machine's load."""

    delay: float = 0.0
    gate: Any = None  # a threading.Event
    active: int = 0
    peak: int = 0
    replies: int = 0
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _reply(self, messages, json_schema=None):
        with self._lock:
            self.replies += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.gate is not None:
                self.gate.wait(GATE_TIMEOUT)
            time.sleep(self.delay)
            return super()._reply(messages, json_schema)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-queue")
    settings = make_settings(root, corpus_dir=SEED_CORPUS, llm_backend="fake")
    ingest(settings, SEED_CORPUS, progress=False)
    llm = SlowFakeChatModel()
    services = build_services(settings, llm=llm, embedder=HashingEmbedder())
    with ServerThread(create_app(services)) as url:
        yield url, llm


def client(url: str) -> Client:
    return Client(url + "/", verbose=False, analytics_enabled=False, download_files=False)


def queue_positions(outputs) -> list[int]:
    """The queue positions shown in a job's intermediate chat outputs ("Queued: position 3")."""
    found = []
    for output in outputs:
        chat = output[0] if output else []
        if chat and chat[-1]["role"] == "assistant":
            found += [int(n) for n in re.findall(r"Queued: position (\d+)", chat[-1]["content"][0]["text"])]
    return found


def last_reply(result) -> str:
    """The text of the last assistant message of the chat endpoint's result."""
    chat = result[0]
    assert chat[-1]["role"] == "assistant"
    return chat[-1]["content"][0]["text"]


def test_five_concurrent_questions_queue_one_generation_at_a_time(server):
    url, llm = server
    llm.delay, llm.peak = DELAY_S, 0
    users = [client(url) for _ in QUESTIONS]  # five browsers: five sessions
    started = time.monotonic()
    jobs = [u.submit(q, [], "", "", api_name="/chat") for u, q in zip(users, QUESTIONS, strict=True)]

    # light requests while the questions queue: the HTTP API and the UI's corpus event
    t = time.monotonic()
    assert httpx.get(url + "/api/articles", timeout=10).json()["count"] == 2
    light_api_s = time.monotonic() - t
    t = time.monotonic()
    summary, _table = users[0].predict([], "", "", api_name="/corpus")
    light_ui_s = time.monotonic() - t
    light_done_at = time.monotonic()
    assert "2</b> articles" in summary

    best_rank = 0  # the queue position a waiting user is shown (in the chat, by the answer gate)
    deadline = time.monotonic() + 60
    while not all(j.done() for j in jobs) and time.monotonic() < deadline:
        for job in jobs:
            best_rank = max([best_rank, *queue_positions(job.outputs())])
        time.sleep(0.02)
    results = [j.result(timeout=30) for j in jobs]
    elapsed = time.monotonic() - started

    assert llm.peak == 1, "the model served more than one generation at once"
    assert elapsed >= len(QUESTIONS) * DELAY_S * 0.95, "the questions did not queue"
    assert best_rank >= 1, "no waiting user was told a queue position"
    assert light_ui_s < 2 * DELAY_S and light_api_s < 2 * DELAY_S, (light_ui_s, light_api_s)
    assert light_done_at - started < elapsed / 2, "the light requests waited behind the generations"
    for question, result in zip(QUESTIONS, results, strict=True):
        chat = result[0]
        assert chat[0]["content"][0]["text"] == question.replace("'", "&#x27;")
        reply = last_reply(result)
        assert 'class="nr-cite"' in reply and "Queued" not in reply and "nr-draft" not in reply, reply
        assert 'class="nr-source"' in result[1], "the sources panel lists the cited quotes"
    print(f"\n5 concurrent questions: {elapsed:.1f} s; light request {light_ui_s:.2f} s; best queue rank {best_rank}")


def test_backend_failure_is_shown_and_the_app_keeps_serving(server):
    url, llm = server
    llm.delay = 0.0
    user = client(url)
    question = "Where, according to the articles, are the talks with European officials set to continue?"
    llm.fail_with = "the model server is unreachable"
    try:
        reply = last_reply(user.predict(question, [], "", "", api_name="/chat"))
    finally:
        llm.fail_with = None
    assert "The language model failed" in reply and "unreachable" in reply
    assert "Traceback" not in reply
    reply = last_reply(user.predict(question, [], "", "", api_name="/chat"))  # a failure is not cached
    assert "London" in reply and 'class="nr-cite"' in reply


def test_bad_question_and_bad_filter_say_what_is_wrong(server):
    url, _ = server
    user = client(url)
    chat, _sources, _box = user.predict("   ", [], "", "", api_name="/chat")
    assert chat == [], "a blank question is not sent: no bubble, no error turn"
    result = user.predict(QUESTIONS[1], [], "April", "", api_name="/chat")
    assert "is not a date" in last_reply(result) and result[2] == QUESTIONS[1], "the question is kept to fix it"


def test_filters_are_respected_by_the_chat(server):
    url, _ = server
    user = client(url)
    result = user.predict(QUESTIONS[1], [JULY_OUTLET], "", "", api_name="/chat")
    reply, sources = last_reply(result), result[1]
    assert "1,000" in reply and "500" not in reply
    assert JULY_OUTLET in sources and "Straight Arrow News" not in sources
    reply = last_reply(user.predict(QUESTIONS[1], [], "2025-07-01", "2025-12-31", api_name="/chat"))
    assert "1,000" in reply and "500" not in reply
