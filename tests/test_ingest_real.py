"""Ingest with the real parts: all-MiniLM-L6-v2, persistent Chroma and a Chroma server."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.adapters.server import free_port
from app.errors import IndexMismatchError
from app.index.embeddings import make_embedder
from app.index.store import VectorStore
from app.services.ingest import ingest
from tests.conftest import make_settings, write_article

pytestmark = pytest.mark.slow


def _chunks(settings):
    store = VectorStore(settings).open()
    return store, store.get_all(store.chunks, include=["metadatas", "documents"])


def test_real_model_ingest_offsets_reingest_edit_delete(real_settings, seed_corpus):
    report = ingest(real_settings, seed_corpus, progress=False)
    assert report.failures == [] and report.docs_added == 2
    store, chunks = _chunks(real_settings)
    arts = store.get_all(store.articles, include=["documents"])
    texts = dict(zip(arts["ids"], arts["documents"], strict=True))
    for doc, meta in zip(chunks["documents"], chunks["metadatas"], strict=True):
        assert texts[meta["doc_id"]][meta["start"] : meta["end"]] == doc

    # the real model puts the prisoner-swap passage first for a paraphrased question
    embedder = make_embedder(real_settings)
    hit = store.chunks.query(
        query_embeddings=[embedder.encode_query("How many captives were swapped?")], n_results=1, include=["documents"]
    )
    assert "prisoners" in hit["documents"][0][0]
    # vectors are unit length (cosine space, normalised embeddings)
    got = store.chunks.get(ids=chunks["ids"][:3], include=["embeddings"])
    assert np.allclose(np.linalg.norm(np.asarray(got["embeddings"]), axis=1), 1.0, atol=1e-3)

    again = ingest(real_settings, seed_corpus, progress=False)
    assert again.chunks_added == 0 and again.chunks_total == report.chunks_total

    write_article(seed_corpus, "extra/new.md", "Grain deal", "Ukraine and Turkey signed a grain deal in Odesa.")
    added = ingest(real_settings, seed_corpus, progress=False)
    assert added.docs_added == 1 and added.chunks_added == 1
    (seed_corpus / "extra/new.md").unlink()
    removed = ingest(real_settings, seed_corpus, progress=False)
    assert removed.docs_removed == 1 and removed.chunks_total == report.chunks_total


def test_index_built_with_another_embedding_model_is_refused(tmp_path, seed_corpus):
    fake = make_settings(tmp_path)  # hashing embedder, dimension 384 too
    ingest(fake, seed_corpus, progress=False)
    real = make_settings(tmp_path, embedding_model="all-MiniLM-L6-v2")
    with pytest.raises(IndexMismatchError, match="embedding_model"):
        ingest(real, seed_corpus, progress=False)


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited early")
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start in 60 s")
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.chroma_server
def test_same_ingest_against_a_chroma_server(tmp_path, seed_corpus, chroma_server):
    embedded = make_settings(tmp_path / "embedded", embedding_model="all-MiniLM-L6-v2")
    server = make_settings(
        tmp_path / "client", embedding_model="all-MiniLM-L6-v2", chroma_host="127.0.0.1", chroma_port=chroma_server
    )
    local = ingest(embedded, seed_corpus, progress=False)
    remote = ingest(server, seed_corpus, progress=False)
    assert remote.chunks_added == local.chunks_added and remote.failures == []
    _, local_chunks = _chunks(embedded)
    _, remote_chunks = _chunks(server)
    assert sorted(remote_chunks["ids"]) == sorted(local_chunks["ids"])
    by_id = dict(zip(local_chunks["ids"], local_chunks["documents"], strict=True))
    assert all(by_id[i] == d for i, d in zip(remote_chunks["ids"], remote_chunks["documents"], strict=True))
    assert not (tmp_path / "client" / "index" / "chroma").exists()  # nothing embedded on the client side
    again = ingest(server, seed_corpus, progress=False)
    assert again.chunks_added == 0

    # a reader elsewhere picks up what another client ingests into the server
    from app.index.embeddings import make_embedder
    from app.index.retrieval import HybridRetriever

    reader = HybridRetriever(server, make_embedder(server)).load()
    before = reader.size
    write_article(seed_corpus, "extra/grain.md", "Grain deal", "Ukraine and Turkey signed a grain deal in Odesa.")
    other_client = make_settings(tmp_path / "client2", embedding_model="all-MiniLM-L6-v2",
                                 chroma_host="127.0.0.1", chroma_port=chroma_server)  # fmt: skip
    ingest(other_client, seed_corpus, progress=False)
    assert reader.refresh(force=True) and reader.size == before + 1
    assert reader.search("grain deal signed in Odesa", k=1).passages[0].doc_id == "extra/grain"


def test_fast_query_path_gives_the_same_vector_as_encode(real_settings):
    embedder = make_embedder(real_settings)
    for text in ["Where are the talks set to continue?", "x", "a long question about the budget " * 80]:
        fast, batch = embedder.encode_query(text), embedder.encode([text])[0]
        assert fast.shape == batch.shape == (384,)
        assert np.abs(fast - batch).max() < 1e-5
    assert embedder._plain_mean_pooling, "all-MiniLM-L6-v2 takes the fast path, not the encode() fallback"
