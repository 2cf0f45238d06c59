"""The follow-up rewrite: which questions lean on the conversation (decided from their parse,
not from words), and the LLM call that rewrites them, bounded in tokens and time.

The decision's unit tests read frozen parses of invented questions (the real pipeline's
output, written down), so they run without loading spaCy; one slow test reads the same
questions with the real pipeline."""

from __future__ import annotations

import re
import threading
import time

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field, PrivateAttr
from spacy.tokens import Doc
from spacy.vocab import Vocab

from app.answer.conversation import follow_up_reason, needs_rewrite, standalone_question
from app.config import Settings
from app.testing.fakes import FakeChatModel

HISTORY = [("Why did the Harlow bridge close?", "Engineers found cracks in two supports. [1]")]

# question -> its parse, one token a line: text POS TAG dep head morph entity
PARSES = {
    "What did the minister say that surprised MPs?": (
        "What PRON WP dobj 4 _ O",
        "did AUX VBD aux 4 Tense=Past|VerbForm=Fin O",
        "the DET DT det 3 Definite=Def|PronType=Art O",
        "minister NOUN NN nsubj 4 Number=Sing O",
        "say VERB VB ROOT 4 VerbForm=Inf O",
        "that SCONJ IN dobj 4 _ O",
        "surprised ADJ JJ amod 7 Degree=Pos O",
        "MPs NOUN NNS pobj 5 Number=Plur O",
        "? PUNCT . punct 4 PunctType=Peri O",
    ),
    "Is there a deal?": (
        "Is AUX VBZ ROOT 0 Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin O",
        "there PRON EX expl 0 _ O",
        "a DET DT det 3 Definite=Ind|PronType=Art O",
        "deal NOUN NN attr 0 Number=Sing O",
        "? PUNCT . punct 0 PunctType=Peri O",
    ),
    "How long will it take to rebuild the bridge?": (
        "How SCONJ WRB advmod 1 _ O",
        "long ADV RB advmod 4 _ O",
        "will AUX MD aux 4 VerbForm=Fin O",
        "it PRON PRP nsubj 4 Case=Nom|Gender=Neut|Number=Sing|Person=3|PronType=Prs O",
        "take VERB VB ROOT 4 VerbForm=Inf O",
        "to PART TO aux 6 _ O",
        "rebuild VERB VB xcomp 4 VerbForm=Inf O",
        "the DET DT det 8 Definite=Def|PronType=Art O",
        "bridge NOUN NN dobj 6 Number=Sing O",
        "? PUNCT . punct 4 PunctType=Peri O",
    ),
    "Which company said its profits fell?": (
        "Which DET WDT det 1 _ O",
        "company NOUN NN nsubj 2 Number=Sing O",
        "said VERB VBD ROOT 2 Tense=Past|VerbForm=Fin O",
        "its PRON PRP$ poss 4 Gender=Neut|Number=Sing|Person=3|Poss=Yes|PronType=Prs O",
        "profits NOUN NNS nsubj 5 Number=Plur O",
        "fell VERB VBD ccomp 2 Tense=Past|VerbForm=Fin O",
        "? PUNCT . punct 2 PunctType=Peri O",
    ),
    "What happened this week?": (
        "What PRON WP nsubj 1 _ O",
        "happened VERB VBD ROOT 1 Tense=Past|VerbForm=Fin O",
        "this DET DT det 3 Number=Sing|PronType=Dem B-DATE",
        "week NOUN NN npadvmod 1 Number=Sing I-DATE",
        "? PUNCT . punct 1 PunctType=Peri O",
    ),
    "Before she resigned, what did the minister announce?": (
        "Before SCONJ IN mark 2 _ O",
        "she PRON PRP nsubj 2 Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs O",
        "resigned VERB VBD advcl 8 Tense=Past|VerbForm=Fin O",
        ", PUNCT , punct 8 PunctType=Comm O",
        "what PRON WP dobj 8 _ O",
        "did AUX VBD aux 8 Tense=Past|VerbForm=Fin O",
        "the DET DT det 7 Definite=Def|PronType=Art O",
        "minister PROPN NNP nsubj 8 Number=Sing O",
        "announce NOUN NN ROOT 8 Number=Sing O",
        "? PUNCT . punct 8 PunctType=Peri O",
    ),
    "What did he say about the budget?": (
        "What PRON WP dobj 3 _ O",
        "did AUX VBD aux 3 Tense=Past|VerbForm=Fin O",
        "he PRON PRP nsubj 3 Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs O",
        "say VERB VB ROOT 3 VerbForm=Inf O",
        "about ADP IN prep 3 _ O",
        "the DET DT det 6 Definite=Def|PronType=Art O",
        "budget NOUN NN pobj 4 Number=Sing O",
        "? PUNCT . punct 3 PunctType=Peri O",
    ),
    "Why did that happen?": (
        "Why SCONJ WRB advmod 3 _ O",
        "did AUX VBD aux 3 Tense=Past|VerbForm=Fin O",
        "that PRON DT nsubj 3 Number=Sing|PronType=Dem O",
        "happen VERB VB ROOT 3 VerbForm=Inf O",
        "? PUNCT . punct 3 PunctType=Peri O",
    ),
    "What does this deal include?": (
        "What PRON WP dobj 4 _ O",
        "does AUX VBZ aux 4 Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin O",
        "this DET DT det 3 Number=Sing|PronType=Dem O",
        "deal NOUN NN nsubj 4 Number=Sing O",
        "include VERB VB ROOT 4 VerbForm=Inf O",
        "? PUNCT . punct 4 PunctType=Peri O",
    ),
    "And the second?": (
        "And CCONJ CC cc 2 ConjType=Cmp O",
        "the DET DT det 2 Definite=Def|PronType=Art O",
        "second ADJ JJ ROOT 2 Degree=Pos B-ORDINAL",
        "? PUNCT . punct 2 PunctType=Peri O",
    ),
    "What about the unions?": (
        "What PRON WP dep 1 _ O",
        "about ADP IN ROOT 1 _ O",
        "the DET DT det 3 Definite=Def|PronType=Art O",
        "unions NOUN NNS pobj 1 Number=Plur O",
        "? PUNCT . punct 1 PunctType=Peri O",
    ),
    "What did the report say about them?": (
        "What PRON WP dobj 4 _ O",
        "did AUX VBD aux 4 Tense=Past|VerbForm=Fin O",
        "the DET DT det 3 Definite=Def|PronType=Art O",
        "report NOUN NN nsubj 4 Number=Sing O",
        "say VERB VB ROOT 4 VerbForm=Inf O",
        "about ADP IN prep 4 _ O",
        "them PRON PRP pobj 5 Case=Acc|Number=Plur|Person=3|PronType=Prs O",
        "? PUNCT . punct 4 PunctType=Peri O",
    ),
    "Who won?": (
        "Who PRON WP nsubj 1 _ O",
        "won VERB VBD ROOT 1 Tense=Past|VerbForm=Fin O",
        "? PUNCT . punct 1 PunctType=Peri O",
    ),
}
STANDALONE = [
    "What did the minister say that surprised MPs?",  # "that" joins a clause
    "Is there a deal?",  # expletive "there"
    "How long will it take to rebuild the bridge?",  # "it" stands for the clause after it
    "Which company said its profits fell?",  # "its": the company
    "What happened this week?",  # a date, not a pointer back
    "Before she resigned, what did the minister announce?",  # "she": the minister, further on
]
FOLLOW_UPS = {
    "What did he say about the budget?": "pronoun",
    "Why did that happen?": "demonstrative",
    "What does this deal include?": "demonstrative",
    "And the second?": "leading link",
    "What about the unions?": "fragment",
    "What did the report say about them?": "pronoun",  # the clause's own subject cannot be "them"
    "Who won?": "no content",
}


def frozen_doc(question: str) -> Doc:
    rows = [line.split(" ") for line in PARSES[question]]
    return Doc(
        Vocab(),
        words=[r[0] for r in rows],
        spaces=[i + 1 < len(rows) and rows[i + 1][1] != "PUNCT" for i in range(len(rows))],
        pos=[r[1] for r in rows],
        tags=[r[2] for r in rows],
        deps=[r[3] for r in rows],
        heads=[int(r[4]) for r in rows],
        morphs=["" if r[5] == "_" else r[5] for r in rows],
        ents=[r[6] for r in rows],
    )


class FrozenNlp:
    """The pipeline's ``parse``, answered from the frozen parses, counting its calls."""

    def __init__(self):
        self.parsed: list[str] = []

    def parse(self, text: str) -> Doc:
        self.parsed.append(text)
        return frozen_doc(text)


class RecordingChatModel(FakeChatModel):
    """The fake LLM, streaming one word every ``per_word`` seconds behind a lock as llama.cpp
    does, recording the call's arguments, the words it yielded and whether its stream closed."""

    per_word: float = 0.0
    kwargs: dict = Field(default_factory=dict)
    kwargs_seen: list[dict] = Field(default_factory=list)
    yielded: int = 0
    closed: bool = False
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.kwargs = kwargs
        self.kwargs_seen.append(kwargs)
        with self._lock:
            try:
                for piece in re.findall(r"\S+\s*", self._reply(messages)):
                    time.sleep(self.per_word)
                    self.yielded += 1
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            finally:
                self.closed = True

    def lock_is_free(self) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        return True


def ask(question: str, llm, nlp=None, max_tokens: int | None = None, timeout_s: float | None = None) -> str:
    """The question made standalone with the default settings' bounds unless told otherwise."""
    defaults = Settings()
    return standalone_question(
        question,
        HISTORY,
        llm,
        nlp=nlp or FrozenNlp(),
        max_tokens=defaults.rewrite_max_tokens if max_tokens is None else max_tokens,
        timeout_s=defaults.rewrite_timeout_s if timeout_s is None else timeout_s,
    )


@pytest.mark.parametrize("question", STANDALONE)
def test_questions_that_stand_alone_are_not_rewritten(question):
    assert follow_up_reason(frozen_doc(question)) is None
    nlp, llm = FrozenNlp(), RecordingChatModel(responses=["Should not be asked?"])
    assert ask(question, llm, nlp) == question
    assert nlp.parsed == [question] and llm.calls == []  # decided by the parse, no LLM call


@pytest.mark.parametrize("question", FOLLOW_UPS)
def test_follow_ups_are_rewritten(question):
    assert follow_up_reason(frozen_doc(question)) == FOLLOW_UPS[question]
    assert needs_rewrite(question, HISTORY, FrozenNlp())


def test_without_history_nothing_is_parsed_or_rewritten():
    nlp = FrozenNlp()
    assert not needs_rewrite("What did he say about the budget?", [], nlp)
    assert nlp.parsed == []


def test_the_rewrite_is_asked_with_the_token_bound_and_used():
    llm = RecordingChatModel(responses=["What did the transport minister say about the Harlow bridge budget?"])
    out = ask("What did he say about the budget?", llm, max_tokens=24)
    assert out == "What did the transport minister say about the Harlow bridge budget?"
    assert llm.kwargs["max_tokens"] == 24


def test_reading_stops_at_the_end_of_the_question():
    llm = RecordingChatModel(responses=["Who won the Harlow bridge repair contract? It was awarded in May to a firm."])
    out = ask("Who won?", llm)
    assert out == "Who won the Harlow bridge repair contract?"
    assert llm.yielded == 7 and llm.closed and llm.lock_is_free()  # the explanation was never generated


def test_a_slow_model_gives_way_to_the_fallback_within_the_bound():
    good = "Why did the closure of the Harlow bridge happen after engineers found cracks in two supports last year?"
    llm = RecordingChatModel(per_word=0.1, responses=[good])  # 18 words: 1.8 s to write in full
    t = time.perf_counter()
    out = ask("Why did that happen?", llm, timeout_s=0.35)
    elapsed = time.perf_counter() - t
    assert out == "Why did that happen? (Why did the Harlow bridge close)"  # the previous question's words
    assert elapsed < 0.35 + 0.1 + 0.25  # the bound, one token, slack
    assert llm.yielded <= 5  # the generation stopped with the fallback ...
    assert llm.closed and llm.lock_is_free()  # ... and holds no lock behind it


def test_the_same_model_given_time_rewrites():
    good = "Why did the closure of the Harlow bridge happen?"
    llm = RecordingChatModel(per_word=0.02, responses=[good])
    assert ask("Why did that happen?", llm, timeout_s=5) == good


def test_a_model_late_to_start_gives_the_fallback():
    from tests.test_ui_concurrency import SlowFakeChatModel

    llm = SlowFakeChatModel(delay=0.3, responses=["Why did the closure of the Harlow bridge happen?"])
    out = ask("Why did that happen?", llm, timeout_s=0.1)
    assert out == "Why did that happen? (Why did the Harlow bridge close)"


def test_a_failing_model_gives_the_fallback():
    llm = RecordingChatModel(fail_with="backend down")
    out = ask("And the second?", llm)
    assert out == "Why did the Harlow bridge close: And the second?"


def test_the_bounds_come_from_the_settings_passed_down(tmp_path):
    """The answer service hands its own settings' bounds to the rewrite (no defaults read from
    the Settings class behind its back)."""
    from app.answer.service import AnswerService
    from app.index.retrieval import HybridRetriever
    from app.services.ingest import ingest
    from app.testing.fakes import HashingEmbedder
    from tests.conftest import make_settings, write_article

    settings = make_settings(tmp_path, rewrite_max_tokens=17, llm_backend="fake")
    llm = RecordingChatModel(responses=["Who won the Harlow bridge repair contract?", "{}"])
    write_article(settings.corpus_dir, "a.md", "Bridge", "Harlow Works won the bridge repair contract in May.")
    ingest(settings, settings.corpus_dir, progress=False)
    service = AnswerService(settings, HybridRetriever(settings, HashingEmbedder()).load(), llm)
    service.ask("Who won?", HISTORY)
    assert llm.kwargs_seen[0]["max_tokens"] == 17


def test_without_spacy_the_word_pattern_decides():
    assert needs_rewrite("Is there a deal?", HISTORY, None)  # the pattern's over-firing, kept only here
    assert not needs_rewrite("Where are the Harlow bridge talks held next week?", HISTORY, None)


@pytest.mark.slow
def test_the_real_pipeline_decides_the_same(nlp):
    for question in STANDALONE:
        assert not needs_rewrite(question, HISTORY, nlp), question
    for question, reason in FOLLOW_UPS.items():
        assert follow_up_reason(nlp.parse(question)) == reason, question
    assert not needs_rewrite("Did Ilse Marden say she would stand again, and then resign?", HISTORY, nlp)
    assert needs_rewrite("How did his lawyers react?", HISTORY, nlp)


def test_the_fallback_keeps_the_follow_ups_own_question_word_first():
    from app.answer.conversation import _fallback

    history = [("Where will the harbour talks continue?", "In Leeds. [1]")]
    assert (
        _fallback("Who will attend them?", history) == "Who will attend them? (Where will the harbour talks continue)"
    )
    assert _fallback("And the second?", history) == "Where will the harbour talks continue: And the second?"
