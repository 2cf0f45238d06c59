"""The whole BBC benchmark (2,225 files, one of them not UTF-8) ingests completely."""

import pytest

from app.index.store import VectorStore
from app.services.ingest import ingest

pytestmark = pytest.mark.slow


def test_bbc_ingest_completes_and_decodes_the_odd_file(bbc_index):
    settings, report = bbc_index
    assert report.docs_seen == 2225
    assert report.failures == []
    assert report.warnings == ["sport/199.txt: not UTF-8; decoded as Windows-1252"]
    assert report.ignored_files == ["README.TXT"]
    assert report.chunks_total == report.chunks_added > 9000
    store = VectorStore(settings).open()
    odd = store.articles.get(ids=["sport/199"], include=["documents"])
    assert "\u00a315.8m signing" in odd["documents"][0]
    print(f"\nBBC ingest: {report.seconds:.1f} s, {report.chunks_added} chunks, {report.chunks_per_s:.1f} chunks/s")


def test_bbc_reingest_is_a_fast_noop(bbc_index):
    settings, first = bbc_index
    again = ingest(settings, settings.corpus_dir, progress=False)
    assert again.chunks_added == again.chunks_removed == 0
    assert again.docs_unchanged == 2225
    assert again.chunks_total == first.chunks_total
