"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's own
(``python -m llama_cpp.server``) serving the packaged GGUF with the in-process backend's
context, threads, batch, chat format and seed, asked over HTTP with ChatOpenAI. Greedy
decoding then writes the same tokens with the same log-probabilities, so both backends
give the same answers, abstentions and citations."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from app.adapters.server import free_port
from app.answer.reply import Final, Token
from app.llm.llamacpp import ChatLlamaCpp
from app.llm.models import ensure_model
from app.services.ingest import ingest
from app.wiring import build_answer_service
from tests.conftest import SEED_CORPUS, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.llm]

QUESTIONS = [
    "Where are talks involving Ukrainian, U.S. and European officials set to continue?",
    "Who heads the Kremlin delegation, according to Al Jazeera?",
    "On which platform did Trump write that he hoped both sides would agree this week?",
    "How many prisoners have been exchanged?",  # two sources, two model calls
    "Who won the 2022 FIFA World Cup final?",  # the corpus cannot answer
]
READY_S = 120  # the server loads a 1 GB model: seconds on this machine
N_BATCH = 512  # as ChatLlamaCpp.load


def server_command(settings, gguf: str, port: int) -> list[str]:
    """llama_cpp.server with the llama.cpp settings of ChatLlamaCpp (app/llm/llamacpp.py)."""
    from llama_cpp import Llama

    # the chat format the in-process model picks from the GGUF metadata (its chat template)
    chat_format = Llama(model_path=gguf, vocab_only=True, verbose=False).chat_format
    threads = settings.llm_threads or os.cpu_count() or 2
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(settings.llm_context_window), "--n_batch", str(N_BATCH), "--n_ubatch", str(N_BATCH),
        "--n_threads", str(threads), "--n_threads_batch", str(multiprocessing.cpu_count()),
        "--seed", str(ChatLlamaCpp.model_fields["seed"].default), "--chat_format", chat_format,
        "--logits_all", "True",  # the server returns logprobs only with it (the in-process model reads the last logits)
        "--use_mlock", "False",
    ]  # fmt: skip


def wait_until_ready(proc: subprocess.Popen, base_url: str, log_path) -> None:
    deadline = time.monotonic() + READY_S
    for _attempt in range(READY_S * 4):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    stop_server(proc)
    log = log_path.read_text(errors="replace")[-6000:]
    pytest.fail(f"llama_cpp.server did not start (exit code {proc.returncode}); its log:\n{log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def base_settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("openai-backend")
    settings = make_settings(root, corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2", llm_backend="llamacpp")
    ingest(settings, SEED_CORPUS, progress=False)
    return settings


@pytest.fixture(scope="module")
def server_url(base_settings, tmp_path_factory):
    gguf = str(base_settings.llm_model_path or ensure_model(base_settings.llm_model, base_settings.model_cache_dir))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(server_command(base_settings, gguf, port), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        wait_until_ready(proc, base_url, log_path)
        yield base_url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def local(base_settings):
    return build_answer_service(base_settings)


@pytest.fixture(scope="module")
def remote(base_settings, server_url, local):
    settings = make_settings(
        base_settings.index_dir.parent,
        corpus_dir=SEED_CORPUS,
        embedding_model="all-MiniLM-L6-v2",
        llm_backend="openai",
        openai_base_url=server_url,
        # llama-cpp-python's server: a JSON schema goes in json_object; it reads max_tokens (not
        # max_completion_tokens, which ChatOpenAI sends) and its repeat_penalty defaults to 1.1
        openai_json_mode="json_object",
        openai_extra_body={"max_tokens": base_settings.llm_max_tokens, "repeat_penalty": 1.0},
        answer_model=base_settings.answer_model,  # the fitted answer model, as with the local LLM
    )
    assert settings.index_dir == base_settings.index_dir
    return build_answer_service(settings, embedder=local.retriever.embedder)


def outcome(answer) -> dict:
    """What the user sees and what the model wrote, without timings."""
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "draft": answer.draft,  # the model's raw JSON replies: the same tokens
        "citations": [(c.n, c.quote.doc_id, c.quote.start, c.quote.end, c.quote.text) for c in answer.citations],
        "closest": [(q.doc_id, q.start, q.end, q.text) for q in answer.closest],
        "sentences": [(s.text, s.supported, s.code, s.shown, s.citations) for s in answer.sentences],
    }


def assert_quotes_are_the_articles(service, answer) -> None:
    for quote in [c.quote for c in answer.citations] + list(answer.closest):
        article = service.retriever.article(quote.doc_id)
        assert article is not None and article.text[quote.start : quote.end] == quote.text, quote


@pytest.fixture(scope="module")
def seen() -> dict[str, dict]:
    """The answers of the openai backend by question, for the tests after the comparison."""
    return {}


@pytest.mark.parametrize("question", QUESTIONS)
def test_openai_backend_answers_as_the_in_process_model(local, remote, seen, question):
    mine, theirs = local.ask(question), remote.ask(question)
    seen[question] = outcome(theirs)
    assert outcome(theirs) == outcome(mine)
    # the server's log-probabilities reach the answer check (float32 there, float64 in process)
    for a, b in zip(theirs.sentences, mine.sentences, strict=True):
        assert a.coverage == pytest.approx(b.coverage, rel=1e-5, abs=1e-9)
        assert a.features == pytest.approx(b.features, rel=1e-5, abs=1e-9)
    assert_quotes_are_the_articles(remote, theirs)
    assert_quotes_are_the_articles(local, mine)
    assert theirs.model == remote.settings.llm_model


def test_the_comparison_saw_answers_and_abstentions(seen):
    assert {o["abstained"] for o in seen.values()} == {False, True}, seen


def test_openai_backend_streams_the_same_answer(remote, seen):
    question = QUESTIONS[0]
    events = list(remote.stream(question))
    finals = [e.answer for e in events if isinstance(e, Final)]
    assert len(finals) == 1 and isinstance(events[-1], Final)
    expected = seen.get(question) or outcome(remote.ask(question))  # as asked (and as in process) above
    assert outcome(finals[0]) == expected
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert not finals[0].abstained and streamed.strip(), events
