"""Embeddings from a server: the OpenAI ``/v1/embeddings`` protocol of the bundled server,
the OpenAIEmbedder client, and the manifest rule (an index of the local model and one of a
server serving the same model are interchangeable; another model is refused).

Fast tests serve the hashing fake; the slow ones serve the real all-MiniLM-L6-v2 from
``python -m app.testing.embedding_server`` on 127.0.0.1 and compare two real indexes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from app.adapters.server import ServerThread, free_port
from app.config import Settings
from app.errors import IndexMismatchError, ModelError
from app.index.embeddings import OpenAIEmbedder, make_embedder
from app.index.retrieval import HybridRetriever
from app.index.store import VectorStore, expected_manifest
from app.services.ingest import ingest
from app.testing.embedding_server import create_app
from app.testing.fakes import HashingEmbedder
from tests.conftest import REPO, SEED_CORPUS, make_settings, write_article

QUESTIONS = [
    "Where are talks involving Ukrainian, U.S. and European officials set to continue?",
    "How many prisoners were returned in the recent exchange?",
    "Who heads the Kremlin delegation?",
    "When is the third round of negotiations in Istanbul scheduled?",
]


class OtherModel(HashingEmbedder):
    """Another model under the same name and dimension: the hashing vectors, permuted."""

    def _vector(self, text: str) -> np.ndarray:
        return np.roll(super()._vector(text), 1)


class Broken(HashingEmbedder):
    """A server-side model that returns one vector too few."""

    def encode(self, texts: list[str]) -> np.ndarray:
        return super().encode(texts)[1:]


class Counting(HashingEmbedder):
    """The hashing fake, counting the batches it is asked for and scaling its vectors
    (servers need not normalise; the client does)."""

    def __init__(self):
        super().__init__()
        self.batches: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.batches.append(len(texts))
        return 3.0 * super().encode(texts)


@pytest.fixture(scope="module")
def hashing_url():
    with ServerThread(create_app(HashingEmbedder())) as url:
        yield url + "/v1"


def remote_settings(tmp_path, url: str, **overrides) -> Settings:
    values = {"embedding_backend": "openai", "embedding_base_url": url, "embedding_model": "hashing-384"}
    return make_settings(tmp_path, **{**values, **overrides})


# --- the server's protocol -----------------------------------------------------------------


def test_server_answers_the_openai_request_shapes(hashing_url):
    fake = HashingEmbedder()
    texts = ["Talks resume in Istanbul", "Prisoners were exchanged"]
    r = httpx.post(f"{hashing_url}/embeddings", json={"input": texts, "model": "hashing-384"}, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and body["model"] == "hashing-384"
    assert [d["index"] for d in body["data"]] == [0, 1] and {d["object"] for d in body["data"]} == {"embedding"}
    assert np.allclose([d["embedding"] for d in body["data"]], fake.encode(texts), atol=1e-6)
    assert body["usage"] == {"prompt_tokens": 7, "total_tokens": 7}
    one = httpx.post(f"{hashing_url}/embeddings", json={"input": "Talks resume in Istanbul"}, timeout=10).json()
    assert len(one["data"]) == 1 and np.allclose(one["data"][0]["embedding"], fake.encode_query(texts[0]), atol=1e-6)
    models = httpx.get(f"{hashing_url}/models", timeout=10).json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["hashing-384"]


def test_the_openai_client_reads_the_default_base64_answer(hashing_url):
    """The openai SDK asks for base64 unless told otherwise; the server gives float32 base64."""
    import openai

    client = openai.OpenAI(base_url=hashing_url, api_key="not-needed", max_retries=0)
    out = client.embeddings.create(input=["Grain left Odesa"], model="hashing-384")
    assert np.allclose(out.data[0].embedding, HashingEmbedder().encode_query("Grain left Odesa"), atol=1e-6)


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"input": [101, 2023, 102]}, 400, "invalid_value", "input"),  # token ids
        ({"input": []}, 400, "invalid_value", "input"),
        ({"model": "hashing-384"}, 400, "invalid_value", "input"),
        ({"input": "x", "model": "text-embedding-3-small"}, 404, "model_not_found", "model"),
        ({"input": "x", "dimensions": 64}, 400, "invalid_value", "dimensions"),
        ({"input": ["x"] * 2049}, 400, "invalid_value", "input"),
    ],
)
def test_bad_requests_get_openai_shaped_errors(hashing_url, body, status, code, param):
    r = httpx.post(f"{hashing_url}/embeddings", json=body, timeout=10)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code and error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"]


def test_unknown_routes_and_failing_models_answer_in_the_same_shape():
    with ServerThread(create_app(HashingEmbedder())) as url:
        r = httpx.get(f"{url}/v1/nothing", timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        not_json = httpx.post(f"{url}/v1/embeddings", content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 400 and not_json.json()["error"]["type"] == "invalid_request_error"


def test_the_module_runs_as_a_server(tmp_path):
    """``python -m app.testing.embedding_server`` serves on 127.0.0.1 (the fake model: fast)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.testing.embedding_server", "--host", "127.0.0.1", "--port", str(port),
         "--model", "hashing"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = wait_ready(proc, f"http://127.0.0.1:{port}", seconds=60)
        r = httpx.post(f"{url}/v1/embeddings", json={"input": "Talks resume", "model": "hashing"}, timeout=10)
        assert r.status_code == 200 and len(r.json()["data"][0]["embedding"]) == 384
    finally:
        stop(proc)


# --- the client ----------------------------------------------------------------------------


def test_client_learns_the_dimension_and_matches_the_served_vectors(hashing_url):
    served = OpenAIEmbedder(hashing_url, name="hashing-384", batch_size=3)
    fake = HashingEmbedder()
    texts = [f"Shipment {i} left the port of Odesa on Tuesday" for i in range(7)]
    assert served.dim == 384
    vectors = served.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (7, 384)
    assert np.allclose(vectors, fake.encode(texts), atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert served.encode([]).shape == (0, 384)
    assert np.allclose(served.embed_documents(texts[:2]), fake.embed_documents(texts[:2]), atol=1e-6)
    assert np.allclose(served.embed_query(texts[0]), fake.embed_query(texts[0]), atol=1e-6)


def test_client_batches_normalises_and_caches_queries():
    counting = Counting()
    with ServerThread(create_app(counting)) as url:
        served = OpenAIEmbedder(url + "/v1", name="hashing-384", batch_size=4).load()
        counting.batches.clear()
        vectors = served.encode([f"text {i}" for i in range(10)])
        assert counting.batches == [4, 4, 2]
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # the server's were of length 3
        first = served.encode_query("Who heads the delegation?")
        again = served.encode_query("Who heads the delegation?")
        assert first is again and counting.batches == [4, 4, 2, 1]


def test_fingerprint_names_the_served_model_not_only_its_name():
    with ServerThread(create_app(HashingEmbedder())) as same, ServerThread(create_app(OtherModel())) as other:
        a = OpenAIEmbedder(same + "/v1", name="hashing-384")
        b = OpenAIEmbedder(same + "/v1", name="hashing-384")
        c = OpenAIEmbedder(other + "/v1", name="hashing-384")
        assert a.fingerprint == b.fingerprint != c.fingerprint
        assert a.dim == c.dim == 384


def test_make_embedder_picks_the_server_backend(tmp_path, hashing_url):
    settings = remote_settings(tmp_path, hashing_url, embedding_batch_size=16)
    embedder = make_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder) and embedder is make_embedder(settings)
    assert embedder.base_url == hashing_url and embedder.batch_size == 16 and embedder.name == "hashing-384"
    local = make_embedder(make_settings(tmp_path))
    assert not isinstance(local, OpenAIEmbedder)


def test_unreachable_server_is_a_model_error_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    embedder = OpenAIEmbedder(url, name="all-MiniLM-L6-v2", max_retries=0, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(ModelError, match="Cannot reach the embedding server at " + url):
        embedder.encode(["Talks resume"])
    assert time.monotonic() - started < 5


def test_unreachable_server_stops_the_ingest_with_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = remote_settings(tmp_path, url, embedding_timeout_s=5)
    with pytest.raises(ModelError, match=url):
        ingest(settings, SEED_CORPUS, progress=False)


def test_a_server_refusing_or_garbling_is_a_model_error(hashing_url):
    with pytest.raises(ModelError, match=r"refused to embed with 'text-embedding-3-small'.*does not exist"):
        OpenAIEmbedder(hashing_url, name="text-embedding-3-small", max_retries=0).load()
    with ServerThread(create_app(Broken())) as url, pytest.raises(ModelError, match=r"returned 1 vectors .* 2 texts"):
        OpenAIEmbedder(url + "/v1", name="hashing-384", max_retries=0).encode(["a b", "c d"])


# --- the manifest --------------------------------------------------------------------------


def manifest_file(settings: Settings) -> dict:
    return json.loads((settings.index_dir / "manifest.json").read_text())


def test_manifest_records_the_backend_and_the_local_index_serves_it(tmp_path, hashing_url):
    settings = remote_settings(tmp_path, hashing_url)
    report = ingest(settings, SEED_CORPUS, progress=False)
    assert report.docs_added == 2
    manifest = manifest_file(settings)
    assert manifest["embedding_backend"] == "openai" and manifest["embedding_base_url"] == hashing_url
    assert manifest["embedding_model"] == "hashing-384" and manifest["embedding_dim"] == 384
    assert manifest["embedding_probe"]
    # the same model run locally reads the server-built index, and the other way round
    local = make_settings(tmp_path, corpus_dir=SEED_CORPUS)
    retriever = HybridRetriever(local, HashingEmbedder()).load()
    served = HybridRetriever(settings, make_embedder(settings)).load()
    ids = [[p.id for p in r.search(QUESTIONS[2], k=4).passages] for r in (retriever, served)]
    assert ids[0] and ids[0] == ids[1]
    again = ingest(local, SEED_CORPUS, progress=False)
    assert not again.changed and manifest_file(local)["embedding_backend"] == "local"
    assert manifest_file(local)["embedding_base_url"] is None


def test_another_model_under_the_same_name_is_refused(tmp_path, hashing_url):
    ingest(make_settings(tmp_path), SEED_CORPUS, progress=False)  # built by the local hashing model
    with ServerThread(create_app(OtherModel())) as url:
        settings = remote_settings(tmp_path, url + "/v1")
        with pytest.raises(IndexMismatchError, match=r"embedding vectors: .*probe text differ \(cosine"):
            ingest(settings, SEED_CORPUS, progress=False)
        with pytest.raises(IndexMismatchError, match="Rebuild it"):
            HybridRetriever(settings, make_embedder(settings)).load()
    # the same model from the server is accepted
    assert not ingest(remote_settings(tmp_path, hashing_url), SEED_CORPUS, progress=False).changed


def test_another_dimension_or_name_is_refused_as_before(tmp_path):
    ingest(make_settings(tmp_path), SEED_CORPUS, progress=False)
    narrow = create_app(HashingEmbedder(dim=256), served_name="hashing-384")
    with (
        ServerThread(narrow) as url,
        pytest.raises(IndexMismatchError, match="embedding_dim: index has 384, settings say 256"),
    ):
        ingest(remote_settings(tmp_path, url + "/v1"), SEED_CORPUS, progress=False)
    renamed = create_app(HashingEmbedder(), served_name="minilm")
    wrong_name = "embedding_model: index has 'hashing-384', settings say 'minilm'"
    with ServerThread(renamed) as url, pytest.raises(IndexMismatchError, match=wrong_name):
        ingest(remote_settings(tmp_path, url + "/v1", embedding_model="minilm"), SEED_CORPUS, progress=False)


def test_an_index_from_before_the_probe_still_opens_locally(tmp_path, hashing_url):
    """Indexes built before the probe was recorded: the fingerprint decides, as before; a
    server then needs one local ingest to record the probe."""
    local = make_settings(tmp_path)
    write_article(local.corpus_dir, "a.md", "Harbour", "The harbour in Odesa reopened after repairs in May.")
    ingest(local, progress=False)
    store = VectorStore(local).open()
    old = {k: v for k, v in store.manifest().items() if not k.startswith(("embedding_probe", "embedding_b"))}
    store.write_manifest(old, changed=False)
    store.check_manifest(expected_manifest(local, HashingEmbedder()))  # local: fingerprint agrees
    remote = remote_settings(tmp_path, hashing_url)
    with pytest.raises(IndexMismatchError, match=r"embedding_fingerprint: .*record its probe vector"):
        store.check_manifest(expected_manifest(remote, make_embedder(remote)))
    ingest(local, progress=False)  # records the probe
    VectorStore(local).open().check_manifest(expected_manifest(remote, make_embedder(remote)))


# --- the real model ------------------------------------------------------------------------


def wait_ready(proc: subprocess.Popen, url: str, seconds: float) -> str:
    """Poll /health until the server answers: bounded in time and in tries."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.25) + 1):
        if proc.poll() is not None:
            pytest.fail(f"the embedding server exited: {proc.stdout.read()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    stop(proc)
    pytest.fail(f"the embedding server at {url} was not ready in {seconds:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def real_indexes(tmp_path_factory):
    """The seed corpus ingested with the local all-MiniLM-L6-v2 and, into another folder,
    through ``python -m app.testing.embedding_server`` serving the same model."""
    root = tmp_path_factory.mktemp("served-minilm")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.testing.embedding_server", "--port", str(port), "--model", "all-MiniLM-L6-v2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = wait_ready(proc, f"http://127.0.0.1:{port}", seconds=180) + "/v1"
        local = make_settings(root / "local", corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2")
        served = local.model_copy(
            update={"index_dir": root / "served" / "index", "embedding_backend": "openai", "embedding_base_url": url}
        )
        ingest(local, SEED_CORPUS, progress=False)
        ingest(served, SEED_CORPUS, progress=False)
        yield local, served
    finally:
        stop(proc)


def chunk_vectors(settings: Settings) -> dict[str, np.ndarray]:
    store = VectorStore(settings).open()
    got = store.get_all(store.chunks, include=["embeddings"])
    return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))


@pytest.mark.slow
def test_served_minilm_gives_the_local_vectors(real_indexes):
    local, served = real_indexes
    mine, theirs = chunk_vectors(local), chunk_vectors(served)
    assert mine and sorted(mine) == sorted(theirs)
    cosines = [float(mine[k] @ theirs[k]) for k in mine]
    assert min(cosines) > 0.999, min(cosines)
    a, b = manifest_file(local), manifest_file(served)
    assert (a["embedding_backend"], b["embedding_backend"]) == ("local", "openai")
    assert a["embedding_model"] == b["embedding_model"] == "all-MiniLM-L6-v2"
    assert a["embedding_dim"] == b["embedding_dim"] == 384


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_served_minilm_retrieves_the_same_chunks(real_indexes, mode):
    local, served = real_indexes
    mine = HybridRetriever(local, make_embedder(local)).load()
    theirs = HybridRetriever(served, make_embedder(served)).load()
    for question in QUESTIONS:
        expected = [p.id for p in mine.search(question, k=5, mode=mode).passages]
        assert [p.id for p in theirs.search(question, k=5, mode=mode).passages] == expected, question


@pytest.mark.slow
def test_the_two_real_indexes_are_interchangeable(real_indexes):
    """The local model opens the index the server built, and the server's client the local one."""
    local, served = real_indexes
    swapped_local = local.model_copy(update={"index_dir": served.index_dir})
    swapped_served = served.model_copy(update={"index_dir": local.index_dir})
    for settings in (swapped_local, swapped_served):
        retriever = HybridRetriever(settings, make_embedder(settings)).load()
        assert retriever.search(QUESTIONS[0], k=3).passages
