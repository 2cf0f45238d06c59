"""Loading articles in every supported format, and refusing bad input clearly."""

import json

import pytest

from app.corpus.discover import discover
from app.corpus.readers import load_article
from app.errors import CorpusError
from tests.conftest import SEED_CORPUS, write_article

LIMIT = 10_000_000


def _load_all(corpus):
    found = discover(corpus, LIMIT)
    articles, failures = [], [(f.path, f.reason) for f in found.failures]
    for unit in found.units:
        try:
            articles.append(load_article(unit, "Default Outlet"))
        except CorpusError as exc:
            failures.append((exc.path, exc.reason))
    return {a.doc_id: a for a in articles}, dict(failures)


def test_seed_corpus_has_clean_metadata_and_no_boilerplate():
    articles, failures = _load_all(SEED_CORPUS)
    assert failures == {}
    assert len(articles) == 2
    san = articles["seed/2025-04-22-san-putin-ceasefire-talks"]
    assert san.outlet == "Straight Arrow News"
    assert san.published == "2025-04-22"
    assert "SAN app" not in san.text and "Point phone camera" not in san.text
    assert "A recent exchange saw more than 500 prisoners returned." in san.text
    july = articles["seed/2025-07-22-zelenskyy-offer-istanbul-talks"]
    assert july.published == "2025-07-22"
    assert july.title.startswith("Ukraine-Russia Talks: Zelenskyy's Bold Offer")


def test_every_format(tmp_path):
    corpus = tmp_path / "c"
    write_article(corpus, "wire/one.md", "One", "Body of one.\n\nSecond paragraph.")
    (corpus / "plain.txt").write_text("Plain title\n\nPlain body line.\n")
    (corpus / "page.html").write_text(
        "<html><head><title>Page title</title><meta property='og:site_name' content='Page Times'>"
        "<meta property='article:published_time' content='2025-06-02T10:00:00Z'></head>"
        "<body><nav>Home | World</nav><article><h1>Page title</h1><p>First <b>para</b>.</p>"
        "<script>alert('x')</script><p>Second para.</p></article><footer>(c) Page Times</footer></body></html>"
    )
    (corpus / "feed.jsonl").write_text(
        json.dumps({"id": "a1", "title": "Feed A", "outlet": "Feed", "published": "2025-01-02", "text": "Alpha."})
        + "\n"
        + json.dumps({"title": "Feed B", "text": "Beta."})
        + "\n"
    )
    (corpus / "README.md").write_text("about this corpus")
    articles, failures = _load_all(corpus)
    assert failures == {}
    assert set(articles) == {"wire/one", "plain", "page", "feed/a1", "feed/2"}
    assert articles["wire/one"].text == "Body of one.\n\nSecond paragraph."
    assert articles["plain"].title == "Plain title" and articles["plain"].text == "Plain body line."
    page = articles["page"]
    assert (page.title, page.outlet, page.published) == ("Page title", "Page Times", "2025-06-02")
    assert page.text == "First para.\n\nSecond para."
    assert articles["feed/a1"].published == "2025-01-02"
    assert articles["feed/2"].outlet == "feed", "no outlet and no URL: the file's name"


def test_an_article_without_outlet_is_cited_by_its_site_or_file_name(tmp_path):
    """The outlet field; else the site of the article's URL; else its file's name; only then
    the default outlet."""
    corpus = tmp_path / "c"
    (corpus / "wire").mkdir(parents=True)
    (corpus / "wire" / "named.md").write_text(
        '---\ntitle: "Named"\noutlet: "Wire A"\nurl: https://www.apnews.com/a/1\n---\n\nBody.\n'
    )
    (corpus / "wire" / "linked.md").write_text('---\ntitle: "Linked"\nurl: https://www.apnews.com/a/2\n---\n\nBody.\n')
    (corpus / "wire" / "odd-link.md").write_text('---\ntitle: "Odd"\nurl: "ftp://files.example.org/x"\n---\n\nBody.\n')
    (corpus / "wire" / "2025-07-putin-talks.txt").write_text("Putin talks\n\nBody.\n")
    (corpus / "wire" / " .txt").write_text("Blank name\n\nBody.\n")
    (corpus / "wire" / "005.txt").write_text("Numbered\n\nBody.\n")
    (corpus / "wire" / "9b22f5fd41a3d035.txt").write_text("Hashed\n\nBody.\n")
    (corpus / "feeds.jsonl").write_text(
        json.dumps({"id": "a", "title": "A", "url": "http://news.example.org:8080/a", "text": "Alpha."})
        + "\n"
        + json.dumps({"id": "b", "title": "B", "text": "Beta."})
        + "\n"
    )
    articles, failures = _load_all(corpus)
    assert failures == {}
    outlets = {doc_id: a.outlet for doc_id, a in articles.items()}
    assert outlets == {
        "wire/named": "Wire A",
        "wire/linked": "apnews.com",
        "wire/odd-link": "odd-link",  # not a web address: the file's name
        "wire/2025-07-putin-talks": "2025-07-putin-talks",
        "feeds/a": "news.example.org",
        "feeds/b": "feeds",
        "wire/ ": "Default Outlet",  # a file's name that is blank names nothing
        "wire/005": "Default Outlet",  # nor one that is a number (the BBC set's files) or a hash
        "wire/9b22f5fd41a3d035": "Default Outlet",
    }


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.md", b"   \n\n", "file is empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" * 20, "binary file"),
        ("baddate.md", b'---\ntitle: "T"\npublished: 22 April 2025\n---\nText.\n', "not an ISO date"),
        ("impossible.md", b'---\ntitle: "T"\npublished: 2025-13-45\n---\nText.\n', "not an ISO date"),
        ("unclosed.md", b'---\ntitle: "T"\npublished: 2025-01-01\nText.\n', "front matter is not closed"),
        ("badyaml.md", b"---\ntitle: [unclosed\n---\nText.\n", "not valid YAML"),
        ("mixed.txt", "Title\nCaf\u00e9 ".encode() + b"\xff\xfe broken", "invalid UTF-8"),
        ("notext.md", b'---\ntitle: "T"\n---\n![img](http://x/y.png)\n', "no article text"),
    ],
)
def test_bad_file_is_reported_with_reason(tmp_path, name, content, reason):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / name).write_bytes(content)
    write_article(corpus, "good.md", "Good", "Good text.")
    articles, failures = _load_all(corpus)
    assert "good" in articles
    assert name in failures, failures
    assert reason in failures[name]


def test_malformed_jsonl_line_fails_alone(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "feed.jsonl").write_text(
        '{"title": "A", "text": "Alpha."}\n{not json\n{"title": "C", "text": "Gamma."}\n'
    )
    articles, failures = _load_all(corpus)
    assert set(articles) == {"feed/1", "feed/3"}
    assert "malformed JSON" in failures["feed.jsonl:2"]


def test_cp1252_file_is_decoded_with_a_warning(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "odd.txt").write_bytes(b"Transfer\n\nA \xa315.8m signing from Parma.\n")
    articles, failures = _load_all(corpus)
    assert failures == {}
    assert articles["odd"].text == "A \u00a315.8m signing from Parma."
    assert any("Windows-1252" in w for w in articles["odd"].warnings)


def test_oversized_file_is_refused(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "huge.txt").write_text("Title\n" + "x" * 2000)
    found = discover(corpus, 1000)
    assert [f.path for f in found.failures] == ["huge.txt"]
    assert "above the" in found.failures[0].reason
