"""The command line: ingest and ask (JSON contract), errors as messages and exit codes."""

import json

import pytest

from app.adapters.cli import main
from tests.conftest import write_article


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSRAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("NEWSRAG_LLM_BACKEND", "fake")
    monkeypatch.setenv("NEWSRAG_ANSWER_MODEL", "none")  # the fitted model judges the real model's picks
    corpus = tmp_path / "corpus"
    write_article(corpus, "a.md", "Talks to continue",
                  "Talks involving Ukrainian, U.S. and European officials are set to continue in London.",
                  outlet="Wire A", published="2025-04-22")  # fmt: skip
    return corpus, tmp_path / "index"


def test_ingest_then_ask_json(fake_env, capsys):
    corpus, index = fake_env
    assert main(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["docs_added"] == 1 and report["failures"] == []
    code = main(["ask", "Where are talks involving European officials set to continue?", "--index-dir",
                 str(index), "--json"])  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert {"answer", "abstained", "citations", "retrieved", "timings"} <= set(answer)
    assert answer["abstained"] is False and "London" in answer["answer"]
    citation = answer["citations"][0]
    assert {"n", "doc_id", "title", "outlet", "published", "quote", "start", "end"} <= set(citation)
    assert {"retrieval_s", "first_token_s", "total_s"} <= set(answer["timings"])
    assert answer["retrieved"][0]["score"] > 0 and answer["retrieved"][0]["id"]


def test_ask_without_an_index_says_how_to_build_it(fake_env, capsys):
    _, index = fake_env
    assert main(["ask", "Anything?", "--index-dir", str(index)]) == 2
    assert "python -m app ingest" in capsys.readouterr().err


def test_empty_question_is_a_clear_error(fake_env, capsys):
    corpus, index = fake_env
    main(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q"])
    capsys.readouterr()
    assert main(["ask", "   ", "--index-dir", str(index)]) == 2
    assert "The question is empty" in capsys.readouterr().err


def test_bad_date_filter_is_a_clear_error(fake_env, capsys):
    corpus, index = fake_env
    main(["ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q"])
    capsys.readouterr()
    assert main(["ask", "Talks?", "--index-dir", str(index), "--from", "April"]) == 2
    assert "is not a date: use YYYY-MM-DD" in capsys.readouterr().err
