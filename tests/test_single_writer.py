"""Ingest while the app serves the same embedded index: the app is the one writer.

`python -m app ingest` hands the work to the serving app (its HTTP API, loopback), so the
index is never written by two processes, users keep getting answers during the ingest,
and the new article is searchable when it finishes. A second concurrent ingest is refused.
"""

import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from app.adapters.server import free_port
from app.errors import IndexBusyError, NewsragError
from app.services.locks import IndexLocks
from tests.conftest import REPO, write_article

pytestmark = pytest.mark.reliability

ENV = {**os.environ, "NEWSRAG_EMBEDDING_MODEL": "hashing", "NEWSRAG_LLM_BACKEND": "fake", "PYTHONPATH": str(REPO)}


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "app", *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)  # fmt: skip


@pytest.fixture
def served(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_article(corpus, "a.md", "Harbour", "The harbour in Odesa reopened after repairs in May.")
    assert _run("ingest", "--corpus", str(corpus), "--index-dir", str(index), "-q").returncode == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--index-dir", str(index)],
                            env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"serve exited: {proc.stdout.read()}")
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the app did not become ready in 90 s")
    yield corpus, index, url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_ingest_while_serving_goes_through_the_app(served):
    corpus, index, url = served
    assert IndexLocks(index).live_server() is not None
    for i in range(40):
        write_article(corpus, f"new/{i:02}.md", f"Grain {i}", f"Grain shipment {i} left Odesa port on Tuesday. " * 20)
    answers, errors, stop = [], [], threading.Event()

    def ask_while_ingesting():
        while not stop.is_set() and len(answers) < 200:
            try:
                r = httpx.post(url + "/api/ask", json={"question": "When did the harbour in Odesa reopen?"}, timeout=30)
                (answers if r.status_code == 200 else errors).append(r.status_code)
            except httpx.HTTPError as exc:
                errors.append(repr(exc))

    asker = threading.Thread(target=ask_while_ingesting)
    asker.start()
    try:
        result = _run("ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json")
    finally:
        stop.set()
        asker.join(60)
    assert result.returncode == 0, result.stderr
    assert "runs the ingest" in result.stderr
    report = json.loads(result.stdout)
    assert report["docs_added"] == 40 and report["failures"] == []
    assert errors == [] and len(answers) >= 1  # users were never locked out
    listed = httpx.get(url + "/api/articles", timeout=10).json()
    assert len(listed["articles"]) == 41  # picked up as soon as the ingest finished
    ask = httpx.post(url + "/api/ask", json={"question": "When did grain shipment 7 leave Odesa port?"}, timeout=30)
    # the new articles are searched (whether the answer is then shown is the answer check's call,
    # and 40 articles that differ by one number make that call load-dependent)
    assert ask.status_code == 200 and any(p["doc_id"].startswith("new/") for p in ask.json()["retrieved"])
    # the index on disk is consistent: re-running changes nothing
    again = json.loads(_run("ingest", "--corpus", str(corpus), "--index-dir", str(index), "--json").stdout)
    assert again["chunks_added"] == again["chunks_removed"] == 0 and again["docs_unchanged"] == 41


def test_rebuild_while_serving_is_refused_with_a_message(served):
    corpus, index, _ = served
    result = _run("ingest", "--corpus", str(corpus), "--index-dir", str(index), "--rebuild")
    assert result.returncode == 2 and "Stop the app to rebuild" in result.stderr


def test_second_writer_is_refused(tmp_path):
    locks = IndexLocks(tmp_path)
    with locks.writing():
        child = subprocess.run(
            [sys.executable, "-c", "from app.services.locks import IndexLocks; import sys;"
             "IndexLocks(sys.argv[1]).writing().__enter__()", str(tmp_path)],
            env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert child.returncode != 0 and "another ingest" in child.stderr
    with locks.writing():  # released: free again
        pass
    assert issubclass(IndexBusyError, NewsragError)


def test_a_second_app_on_the_same_index_is_refused(served):
    _, index, _ = served
    with pytest.raises(IndexBusyError, match="already serves"), IndexLocks(index).serving("127.0.0.1", 1):
        pass
