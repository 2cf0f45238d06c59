"""The in-process model keeps each kind of prompt's cached prefix (real llama.cpp, real GGUF).

A follow-up runs the rewrite (one system prompt) and then the reader (another); with one
KV cache, each would make the other evaluate its fixed instructions again. These tests
count the tokens llama.cpp evaluates, and check that a reply does not change."""

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from app.llm.llamacpp import build_chat_model
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.llm]

RULES = [
    "Answer with the shortest phrase that answers the question, and nothing else.",
    "Use only the passage given with the question; do not add facts from memory.",
    "If the passage gives a number, copy the number and its unit as written.",
    "If the passage names a person, give the name as the passage spells it.",
    "If the passage gives a date, give the day, the month and the year when it says them.",
    "Never explain the answer, never apologise, and never repeat the question.",
]
READING = SystemMessage("You read short news passages for a reader.\n" + "\n".join(RULES * 3))
TIDYING = SystemMessage(
    "You rewrite a user's message so that it reads as one plain English sentence.\n"
    + "\n".join(r.replace("Answer with", "Reply with") for r in RULES * 3)
)
PASSAGE = "The harbour bridge, which opened in 1932, carries 160,000 vehicles a day, the city council said on Monday."


def ask(question: str) -> list:
    return [READING, HumanMessage(f"Passage: {PASSAGE}\nQuestion: {question}")]


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("prefix"), llm_backend="llamacpp", llm_max_tokens=8)
    return build_chat_model(settings).load()


@pytest.fixture
def evaluated(chat, monkeypatch):
    """The number of tokens llama.cpp evaluates, prompt and reply, since the last reset."""
    counts: list[int] = []
    original = chat._llm.eval

    def counting_eval(tokens):
        counts.append(len(tokens))
        return original(tokens)

    monkeypatch.setattr(chat._llm, "eval", counting_eval)
    return counts


def call(chat, messages, counts) -> tuple[str, int]:
    counts.clear()
    reply = chat.invoke(messages).content
    return reply, sum(counts)


def test_another_kind_of_call_leaves_the_readers_prefix_cached(chat, evaluated):
    chat.prefix_snapshots = 4
    chat._llm.reset()
    first, full = call(chat, ask("When did the bridge open?"), evaluated)
    _, same_kind = call(chat, ask("How many vehicles does the bridge carry a day?"), evaluated)
    assert same_kind < full / 2, (same_kind, full)  # the instructions came from the cache

    call(chat, [TIDYING, HumanMessage("bridge open when??")], evaluated)
    again, after_other = call(chat, ask("When did the bridge open?"), evaluated)
    assert again == first  # the restored cache gives the same reply
    print(f"\nevaluated: {full} fresh, {same_kind} same kind, {after_other} after another kind")
    assert after_other <= same_kind + 16, (after_other, same_kind)
    assert after_other < full / 2


def test_without_snapshots_the_other_kind_evicts_the_prefix(chat, evaluated):
    chat.prefix_snapshots = 0
    chat._llm.reset()  # an empty cache: the first call evaluates its whole prompt
    try:
        _, full = call(chat, ask("When did the bridge open?"), evaluated)
        call(chat, [TIDYING, HumanMessage("bridge open when??")], evaluated)
        _, after_other = call(chat, ask("How many vehicles does the bridge carry a day?"), evaluated)
        # only the shared chat template survives: the reading instructions are evaluated again
        print(f"\nevaluated without snapshots: {full} fresh, {after_other} after another kind")
        assert after_other > full / 2, (after_other, full)
    finally:
        chat.prefix_snapshots = 4


def test_stop_ends_a_generation_while_its_prompt_is_read_and_the_next_reply_is_unchanged(chat):
    import threading
    import time

    long_question = [READING, HumanMessage(f"Passages: {' '.join([PASSAGE] * 50)}\nQuestion: When did it open?")]
    chat._llm.reset()
    before = "".join(c.text for c in chat.stream(ask("When did the bridge open?")))
    # the long prompt shares the instructions with the one before (read from the cache), so
    # the step abandoned is past them: llama.cpp must drop that step alone, not the cache
    pieces: list[str] = []
    finished = threading.Event()

    def write() -> None:
        pieces.extend(c.text for c in chat.stream(long_question))
        finished.set()

    threading.Thread(target=write, daemon=True).start()
    time.sleep(1.0)  # the prompt (about 1,600 tokens, four slices) takes about 16 s to read
    assert not finished.is_set()
    stopped = time.perf_counter()
    chat.cancel()
    assert finished.wait(5)
    took = time.perf_counter() - stopped
    print(f"\nllama.cpp: a prompt being read stopped {took:.2f} s after cancel")
    # within the slice being read (llama.cpp's abort callback), not at its end (about 5 s) or the prompt's
    assert took < 1.0 and "".join(pieces) == "", (took, pieces)
    # the cache a stopped prompt leaves behind (its cached instructions) gives the same reply
    assert chat._llm.n_tokens > 0
    assert "".join(c.text for c in chat.stream(ask("When did the bridge open?"))) == before
