"""Ingest on real Chroma with the fast hashing embedder: idempotence, edits, deletes,
bad files, manifest checks and recovery from an interrupted run."""

import pytest

from app.errors import IndexMismatchError
from app.index.store import VectorStore
from app.services.ingest import ingest
from tests.conftest import make_settings, write_article


def snapshot(settings):
    store = VectorStore(settings).open()
    chunks = store.get_all(store.chunks, include=["metadatas", "documents"])
    arts = store.get_all(store.articles, include=["metadatas", "documents"])
    return store, chunks, arts


def test_offsets_map_back_to_the_cleaned_article(settings, seed_corpus):
    report = ingest(settings, seed_corpus, progress=False)
    assert report.docs_added == 2 and report.failures == []
    _, chunks, arts = snapshot(settings)
    texts = dict(zip(arts["ids"], arts["documents"], strict=True))
    assert len(chunks["ids"]) == report.chunks_total > 4
    for doc, meta in zip(chunks["documents"], chunks["metadatas"], strict=True):
        assert texts[meta["doc_id"]][meta["start"] : meta["end"]] == doc
        assert meta["outlet"] and meta["published"] and meta["title"]


def test_reingest_unchanged_corpus_adds_nothing(settings, seed_corpus):
    first = ingest(settings, seed_corpus, progress=False)
    ids_before = sorted(snapshot(settings)[1]["ids"])
    second = ingest(settings, seed_corpus, progress=False)
    assert second.chunks_added == 0 and second.chunks_removed == 0
    assert second.docs_unchanged == 2
    assert second.chunks_total == first.chunks_total
    assert sorted(snapshot(settings)[1]["ids"]) == ids_before


def test_edit_replaces_and_delete_removes(settings):
    corpus = settings.corpus_dir
    a = write_article(corpus, "a.md", "Alpha", "The mayor opened a bridge in Springfield. " * 30)
    write_article(corpus, "b.md", "Beta", "A storm hit the coast on Tuesday. " * 30)
    ingest(settings, corpus, progress=False)
    _, chunks, _ = snapshot(settings)
    old_a = {i for i, m in zip(chunks["ids"], chunks["metadatas"], strict=True) if m["doc_id"] == "a"}

    write_article(corpus, "a.md", "Alpha", "The mayor closed the old tunnel in Shelbyville. " * 30)
    report = ingest(settings, corpus, progress=False)
    assert report.docs_updated == 1 and report.docs_unchanged == 1
    _, chunks, arts = snapshot(settings)
    new_a = {i for i, m in zip(chunks["ids"], chunks["metadatas"], strict=True) if m["doc_id"] == "a"}
    assert new_a and not (new_a & old_a)
    assert all(
        "Shelbyville" in d for d, m in zip(chunks["documents"], chunks["metadatas"], strict=True) if m["doc_id"] == "a"
    )

    a.unlink()
    report = ingest(settings, corpus, progress=False)
    assert report.docs_removed == 1
    _, chunks, arts = snapshot(settings)
    assert {m["doc_id"] for m in chunks["metadatas"]} == {"b"}
    assert arts["ids"] == ["b"]


def test_bad_file_is_skipped_and_reported_others_indexed(settings):
    corpus = settings.corpus_dir
    write_article(corpus, "good.md", "Good", "Grain prices fell sharply in May.")
    (corpus / "broken.md").write_bytes(b'---\ntitle: "Broken"\npublished: someday\n---\nText.\n')
    (corpus / "feed.jsonl").write_text('{"title": "F", "text": "Fine line."}\n{oops\n')
    report = ingest(settings, corpus, progress=False)
    reasons = dict(report.failures)
    assert "not an ISO date" in reasons["broken.md"]
    assert "malformed JSON" in reasons["feed.jsonl:2"]
    assert report.docs_added == 2
    _, _, arts = snapshot(settings)
    assert sorted(arts["ids"]) == ["feed/1", "good"]
    assert "FAILED     broken.md" in report.summary()


def test_article_whose_file_breaks_keeps_its_indexed_version(settings):
    corpus = settings.corpus_dir
    path = write_article(corpus, "kept.md", "Kept", "The harbour reopened after repairs.")
    ingest(settings, corpus, progress=False)
    path.write_bytes(b"\x00\x01\x02binary garbage")
    report = ingest(settings, corpus, progress=False)
    assert [s for s, _ in report.failures] == ["kept.md"]
    assert report.docs_removed == 0 and report.chunks_removed == 0
    _, chunks, arts = snapshot(settings)
    assert arts["ids"] == ["kept"] and chunks["ids"]


def test_manifest_mismatch_is_refused(settings, seed_corpus):
    ingest(settings, seed_corpus, progress=False)
    other = make_settings(settings.index_dir.parent, chunk_tokens=200)
    with pytest.raises(IndexMismatchError, match="chunk_tokens: index has 120, settings say 200"):
        ingest(other, seed_corpus, progress=False)
    # --rebuild is the way out
    report = ingest(other, seed_corpus, progress=False, rebuild=True)
    assert report.docs_added == 2


def test_interrupted_ingest_converges(settings, tmp_path):
    settings = settings.model_copy(update={"ingest_batch_chunks": 10})  # the kill lands inside an article
    corpus = settings.corpus_dir
    for i in range(30):
        write_article(corpus, f"n{i:02}.md", f"Story {i}", f"Story {i} says item {i} rose. " * 40)
    clean = make_settings(tmp_path / "clean")
    expected = ingest(clean, corpus, progress=False)

    class Killed(Exception):
        pass

    def die(_added):
        raise Killed

    with pytest.raises(Killed):
        ingest(settings, corpus, progress=False, on_batch=die)
    partial = VectorStore(settings).open().chunks.count()
    assert 0 < partial < expected.chunks_total
    report = ingest(settings, corpus, progress=False)
    assert report.docs_unchanged == 2  # the two articles completed before the kill
    assert report.chunks_skipped == 2  # chunks of the half-done third are reused, not redone
    _, chunks, arts = snapshot(settings)
    assert len(chunks["ids"]) == len(set(chunks["ids"])) == expected.chunks_total
    assert sorted(chunks["ids"]) == sorted(snapshot(clean)[1]["ids"])
    assert len(arts["ids"]) == 30
