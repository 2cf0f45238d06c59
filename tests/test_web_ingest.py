"""Articles from the web: pages and feeds served by ``python -m http.server`` on 127.0.0.1,
fetched into the corpus folder in the house format and indexed (fake embedder; the real
parts are in test_openai_api.py). Every bad URL gets its own reason and stops nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.adapters.server import free_port
from app.corpus.readers import split_front_matter
from app.index.store import VectorStore
from app.services.ingest import IngestService, ingest
from app.services.web_ingest import ArticleAdder
from tests.conftest import make_settings

NAV = "Home World Business Sport Weather Sign in"
COOKIE = "We keep small files on your device to count visits and choose adverts. Accept or manage your choices."
NEWSLETTER = "Get our evening roundup in your inbox. Sign up free, unsubscribe at any time."


def page(title: str, paragraphs: list[str], date: str, author: str = "Ana Ortiz", canonical: str = "") -> str:
    """A news page with furniture around and inside the story (our own words)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs[:2])
    body += f"<div class='newsletter-box'><p>{NEWSLETTER}</p><button>Sign up</button></div>"
    body += "".join(f"<p>{p}</p>" for p in paragraphs[2:])
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title} | Valley Herald</title>"
        f"<meta property='og:title' content='{title}'><meta property='og:site_name' content='Valley Herald'>"
        f"<meta property='article:published_time' content='{date}T09:00:00Z'><meta name='author' content='{author}'>"
        f"{link}<script>var tracker = 1;</script></head><body>"
        f"<div class='cookie-consent'><p>{COOKIE}</p><button>Accept</button></div>"
        f"<header><nav>{' '.join(f'<a href=/{w}>{w}</a>' for w in NAV.split())}</nav></header>"
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        f"<footer><p>Valley Herald, all rights reserved. Contact and terms.</p></footer></body></html>"
    )


STORIES = {
    "river-bridge.html": ("New river bridge opens to cyclists", "2025-03-04", [
        "A footbridge over the river Lune opened to walkers and cyclists on Monday, two years after the old crossing was closed.",  # noqa: E501
        "The council said the bridge cost 4.2 million pounds and was paid for by a regional transport grant.",
        "Local cycling groups had campaigned for a new crossing since the old one was found to be unsafe in 2023.",
        "About 1,500 people crossed the bridge on its first day, according to a counter installed at its east end.",
    ]),
    "school-meals.html": ("Free school meals extended to all primary pupils", "2025-03-05", [
        "Every primary school pupil in the district will get a free lunch from September, the education board said.",
        "The scheme will cost about 9 million pounds a year and replaces a means-tested programme.",
        "Head teachers welcomed the decision but warned that some kitchens would need new equipment first.",
        "Parents will not need to apply; schools will order meals based on their pupil numbers.",
    ]),
    "orchestra.html": ("City orchestra names its first woman conductor", "2025-03-06", [
        "The city orchestra has appointed Mira Kowalczyk as its principal conductor, the first woman to hold the post in its 90-year history.",  # noqa: E501
        "She will take up the role in January and conduct at least 20 concerts a season.",
        "Kowalczyk, 41, has led the orchestra's youth programme for the past six years.",
        "The orchestra said ticket sales for its next season had risen by 12% on the last.",
    ]),
}  # fmt: skip


def rss(base: str, names: list[str]) -> str:
    items = "".join(
        f"<item><title>{STORIES.get(n, ('A story gone',))[0]}</title><link>{base}/{n}</link>"
        f"<pubDate>Tue, 04 Mar 2025 09:00:00 GMT</pubDate></item>"
        for n in names
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Valley Herald</title>{items}</channel></rss>"


def atom(base: str, names: list[str]) -> str:
    entries = "".join(
        f"<entry><title>{STORIES[n][0]}</title><link href='{base}/{n}'/><id>{n}</id>"
        f"<updated>2025-03-06T09:00:00Z</updated></entry>"
        for n in names
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Valley Herald (Atom)</title><id>vh</id><updated>2025-03-06T09:00:00Z</updated>{entries}</feed>"
    )


@pytest.fixture
def site(tmp_path):
    """A folder of pages and feeds served by ``python -m http.server`` on 127.0.0.1."""
    root = tmp_path / "site"
    root.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for name, (title, date, paras) in STORIES.items():
        (root / name).write_text(page(title, paras, date))
    (root / "feed.xml").write_text(rss(base, ["river-bridge.html", "school-meals.html", "missing.html"]))
    (root / "atom.xml").write_text(atom(base, ["orchestra.html", "river-bridge.html"]))
    (root / "notes.txt").write_text("plain text, not a page\n")
    (root / "short.html").write_text("<html><head><title>Menu</title></head><body><p>Home. Sport.</p></body></html>")
    (root / "broken-feed.xml").write_text("<?xml version='1.0'?><rss><channel><item><title>x</ti")
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 20
    for _ in range(400):
        try:
            httpx.get(base + "/feed.xml", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("http.server did not start")
            time.sleep(0.05)
    try:
        yield root, base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def web_settings(tmp_path):
    (tmp_path / "corpus").mkdir()
    return make_settings(tmp_path, corpus_dir=tmp_path / "corpus", fetch_timeout_s=3)


def test_feed_is_stored_in_house_format_and_indexed_and_a_second_run_adds_nothing(site, web_settings):
    _root, base = site
    corpus = web_settings.corpus_dir
    first = ArticleAdder(web_settings).from_web(feeds=[base + "/feed.xml", base + "/atom.xml"])
    assert [f["entries"] for f in first.feeds] == [3, 2]
    assert sorted(s["outcome"] for s in first.stored) == ["added"] * 3  # river-bridge once, though in both feeds
    assert [f[0] for f in first.failures] == [base + "/missing.html"]  # the feed's dead link, reported
    assert first.ingest.docs_added == 3
    files = sorted(corpus.rglob("*.md"))
    assert len(files) == 3 and all(f.parent == corpus / "web" / f"127.0.0.1_{base.rsplit(':', 1)[1]}" for f in files)
    meta, body = split_front_matter(next(f for f in files if f.name.startswith("river")).read_text(), "river")
    assert meta == {"title": "New river bridge opens to cyclists", "outlet": "Valley Herald", "published": "2025-03-04",
                    "author": "Ana Ortiz", "url": base + "/river-bridge.html"}  # fmt: skip
    assert "4.2 million pounds" in body and "first day" in body

    second = ArticleAdder(web_settings).from_web(feeds=[base + "/feed.xml", base + "/atom.xml"])
    assert sorted(s["outcome"] for s in second.stored) == ["unchanged"] * 3
    assert not second.ingest.changed and second.ingest.chunks_added == 0 and second.ingest.docs_unchanged == 3


def test_furniture_is_dropped_and_every_paragraph_kept(site, web_settings):
    _root, base = site
    ArticleAdder(web_settings).from_web(urls=[base + "/school-meals.html"], index=False)
    (path,) = web_settings.corpus_dir.rglob("*.md")
    _meta, body = split_front_matter(path.read_text(), "x")
    for furniture in (COOKIE, NEWSLETTER, "Sign in", "all rights reserved", "tracker"):
        assert furniture not in body
    for paragraph in STORIES["school-meals.html"][2]:
        assert paragraph in body
    assert "Free school meals extended" not in body  # the headline is the title, not a paragraph


def test_a_changed_page_replaces_its_chunks(site, web_settings):
    root, base = site
    adder = ArticleAdder(web_settings)
    adder.from_web(urls=[base + "/orchestra.html"])
    title, date, paras = STORIES["orchestra.html"]
    (root / "orchestra.html").write_text(
        page(title, [*paras[:3], "Her first concert will open with a new work."], date)
    )
    report = adder.from_web(urls=[base + "/orchestra.html"])
    assert [s["outcome"] for s in report.stored] == ["updated"]
    assert report.ingest.docs_updated == 1 and report.ingest.chunks_removed >= 1
    store = VectorStore(web_settings)
    store.open()
    texts = store.get_all(store.chunks, include=["documents"])["documents"]
    assert any("new work" in t for t in texts) and not any("ticket sales" in t for t in texts)


def test_the_index_rebuilt_from_the_corpus_alone_is_the_same(site, web_settings, tmp_path):
    _root, base = site
    ArticleAdder(web_settings).from_web(feeds=[base + "/feed.xml", base + "/atom.xml"])
    store = VectorStore(web_settings)
    store.open()
    before = sorted(store.get_all(store.chunks, include=[])["ids"])
    again = make_settings(tmp_path / "again", corpus_dir=web_settings.corpus_dir)
    ingest(again, progress=False)
    rebuilt = VectorStore(again)
    rebuilt.open()
    assert sorted(rebuilt.get_all(rebuilt.chunks, include=[])["ids"]) == before


def test_each_bad_url_gets_its_reason_and_the_rest_are_stored(site, web_settings):
    _root, base = site
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        report = ArticleAdder(web_settings.model_copy(update={"fetch_timeout_s": 1.0})).from_web(
            urls=[
                base + "/nope.html",
                base + "/notes.txt",
                base + "/short.html",
                f"http://127.0.0.1:{silent.getsockname()[1]}/slow.html",
                "http://no-such-host.invalid/story.html",
                f"http://127.0.0.1:{free_port()}/closed.html",
                "ftp://127.0.0.1/file.html",
                "not a url",
                base + "/river-bridge.html",
            ],
            feeds=[base + "/broken-feed.xml", base + "/river-bridge.html"],
        )
    finally:
        silent.close()
    reasons = dict(report.failures)
    assert "HTTP 404" in reasons[base + "/nope.html"]
    assert "not an HTML page" in reasons[base + "/notes.txt"] and "text/plain" in reasons[base + "/notes.txt"]
    assert "not an article" in reasons[base + "/short.html"]
    assert "no answer within 1 s" in next(r for u, r in reasons.items() if u.endswith("/slow.html"))
    assert "could not be found" in reasons["http://no-such-host.invalid/story.html"]
    assert "refused" in next(r for u, r in reasons.items() if u.endswith("/closed.html"))
    assert "only http:// and https://" in reasons["ftp://127.0.0.1/file.html"]
    assert "only http:// and https://" in reasons["not a url"]
    assert "not an RSS or Atom feed" in reasons[base + "/broken-feed.xml"]
    assert "not an RSS or Atom feed" in reasons[base + "/river-bridge.html"]
    assert [s["source"] for s in report.stored] == [base + "/river-bridge.html"]
    assert report.ingest.docs_added == 1


def test_a_page_over_the_size_cap_is_refused(site, web_settings):
    _root, base = site
    report = ArticleAdder(web_settings.model_copy(update={"fetch_max_mb": 0.001})).from_web(
        urls=[base + "/orchestra.html"]
    )
    assert "larger than the 0.001 MB limit" in report.failures[0][1]
    assert not list(web_settings.corpus_dir.rglob("*.md"))


def test_redirects_are_limited(web_settings):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": f"/hop{int(request.url.path[4:] or 0) + 1}"})

    report = ArticleAdder(web_settings.model_copy(update={"fetch_max_redirects": 3})).from_web(
        urls=["http://127.0.0.1:9/hop0"], transport=httpx.MockTransport(handler)
    )
    assert report.failures == [("http://127.0.0.1:9/hop0", "more than 3 redirects")]


def test_uploads_that_read_are_stored_and_others_refused_with_reasons(web_settings):
    adder = ArticleAdder(web_settings, IngestService(web_settings))
    good = b"---\ntitle: Harbour reopens\noutlet: Coast News\npublished: 2025-02-01\n---\n\nThe harbour reopened.\n"
    report = adder.from_files([
        ("harbour.md", good),
        ("empty.md", b"   \n"),
        ("picture.png", b"\x89PNG"),
        ("../../escape.txt", b"Escaped title\n\nBody.\n"),
        ("lines.jsonl", b'{"title": "A", "text": "Alpha."}\n{"title": "B"}\n'),
    ])  # fmt: skip
    reasons = dict(report.failures)
    assert "file is empty" in reasons["empty.md"]
    assert "not an article file" in reasons["picture.png"]
    assert "no 'text'" in reasons["lines.jsonl"]
    stored = sorted(p.relative_to(web_settings.corpus_dir).as_posix() for p in web_settings.corpus_dir.rglob("*.*"))
    assert stored == ["uploads/escape.txt", "uploads/harbour.md"]  # the path part of a name is dropped
    assert report.ingest.docs_added == 2
    assert adder.from_files([("harbour.md", good)]).stored[0]["outcome"] == "unchanged"


def test_cli_ingests_a_feed_and_says_what_failed(site, web_settings, tmp_path):
    _root, base = site
    env = {"NEWSRAG_EMBEDDING_MODEL": "hashing", "NEWSRAG_LLM_BACKEND": "fake", "PATH": "/usr/bin:/bin"}
    args = [sys.executable, "-m", "app", "ingest", "--feed", base + "/feed.xml", "--corpus",
            str(web_settings.corpus_dir), "--index-dir", str(web_settings.index_dir), "-q"]  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parents[1])
    assert first.returncode == 1, first.stderr  # the feed's dead link
    assert "2 added" in first.stdout and "FAILED" in first.stdout and "missing.html" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parents[1])
    assert "0 added, 0 updated, 2 unchanged" in second.stdout
    assert "chunks:    0 added" in second.stdout
