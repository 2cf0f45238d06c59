"""The UI in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium,
installed by scripts/install_browser.sh) against the app served on 127.0.0.1.

* the fast rendering helpers (escaping, quote context), without a browser;
* with the fake LLM: untrusted markup in articles is never run or fetched, errors are
  readable, a waiting user is told they are queued, filters, copying a citation;
* with the real parts (all-MiniLM-L6-v2, persistent Chroma, the local llama.cpp model on
  the seed corpus): a streamed, cited answer, the quote opened from its marker, a
  follow-up, a claim check and the corpus view; screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.adapters.server import ServerThread, create_app
from app.adapters.ui.render import esc, quote_in_context, render_answer
from app.services.ingest import ingest
from app.testing.fakes import HashingEmbedder
from app.text.cleaning import quotation
from app.wiring import build_services
from tests.conftest import JULY_OUTLET, REPO, SEED_CORPUS, make_settings
from tests.test_ui_concurrency import SlowFakeChatModel
from tests.test_web_ingest import site  # noqa: F401 (pages and feeds served on 127.0.0.1)

# Gradio's dataframe warnings, for every browser test module
GRADIO_WARNINGS = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
pytestmark = GRADIO_WARNINGS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-quic", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TIMEOUT_MS = 60_000

HARBOUR_MD = """---
title: 'Harbour <img src=x onerror="window.__pwned=3"> report'
outlet: 'Port <b>News</b>'
published: 2025-05-10
---

The harbour in Odesa was repaired in May <script>window.__pwned=1</script> after the storm.

Cranes returned to work at the harbour <img src=x onerror="window.__pwned=2"> on Monday morning.

More at http://203.0.113.7/story and [the port site](http://203.0.113.7/port) for harbour news.
"""
PHOTO_TXT = """Harbour photo ![x](http://203.0.113.7/title.png)

A photo of the harbour cranes ![x](http://203.0.113.7/leak.png) was published on Monday.

The cranes at the harbour were repaired by <a href="http://203.0.113.7/a">the port authority</a> in May.
"""


# --- rendering, no browser -----------------------------------------------------------------


def test_quote_is_escaped_and_marked_in_its_paragraph():
    text = "First paragraph.\n\nBefore <b>it</b>. The <script>x()</script> quote. After it.\n\nLast."
    start = text.index("The <script>")
    end = text.index("After") - 1
    html = quote_in_context(text, start, end)
    assert html == (
        'Before &lt;b&gt;it&lt;/b&gt;. <mark class="nr-quote">The &lt;script&gt;x()&lt;/script&gt; quote.</mark> '
        "After it."
    )
    assert quote_in_context(text, 5, 2) == ""


def test_answer_markers_link_only_real_citations():
    from app.answer.cited import Citation
    from app.answer.reply import Answer
    from app.domain import Quote

    c = Citation(1, Quote(doc_id="d", title="T <i>", outlet="O", published="2025-04-22", text="q", start=0, end=1))
    answer = Answer("q", "q", "It said <img src=x> so. [1] Also [7].", False, [c], [], [], {})
    html = render_answer(answer, 3)
    assert '<a class="nr-cite" href="#nr-src-3-1"' in html and "[7]" in html and "#nr-src-3-7" not in html
    assert "&lt;img src=x&gt;" in html and "<img" not in html
    assert esc('"x" <y>') == "&quot;x&quot; &lt;y&gt;"


def test_an_abstention_shows_the_closest_passages_escaped():
    from app.answer.reply import Answer, hedged
    from app.domain import Quote

    near = Quote(
        doc_id="d",
        title="Port <b>news</b>",
        outlet="Wire A",
        published="2025-04-22",
        text="Talks <i>may</i> resume.",
        start=0,
        end=24,
    )
    answer = Answer("q", "q", hedged(near), True, [], [], [], {}, closest=[near])
    html = render_answer(answer, 1)
    assert '<ul class="nr-closest">' in html and "Talks &lt;i&gt;may&lt;/i&gt; resume." in html
    assert "Wire A" in html and "22 April 2025" in html and "<i>" not in html
    assert "<strong>The articles may not answer this exactly;</strong> the closest they come: \u201cTalks" in html


# --- browser plumbing ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield chromium
        chromium.close()


class Tab:
    """A browser page that records every request it makes."""

    def __init__(self, browser, url: str, viewport: dict | None = None, **context_options):
        self.context = browser.new_context(viewport=viewport or VIEWPORT, permissions=["clipboard-read",
                                           "clipboard-write"], **context_options)  # fmt: skip
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(url)
        self.page.locator("#nr-question textarea").wait_for()

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                and urlparse(u).hostname not in LOCAL_HOSTS]  # fmt: skip

    def ask(self, question: str) -> None:
        self.page.locator("#nr-question textarea").fill(question)
        self.page.locator("#nr-ask").click()

    def bot_messages(self):
        return self.page.locator("#nr-chat .message-row.bot-row")

    def wait_answer(self, count: int):
        """The count-th bot message once it is final (no draft, no queue note left)."""
        message = self.bot_messages().nth(count - 1)
        message.locator(".nr-answer, .nr-abstain, .nr-error").first.wait_for()
        return message

    def close(self) -> None:
        self.context.close()


def assert_untouched(tab: Tab) -> None:
    assert tab.page.evaluate("typeof window.__pwned") == "undefined", "a script from an article ran"
    assert tab.outside_requests() == [], f"requests left 127.0.0.1: {tab.outside_requests()}"


# --- the app with the fake LLM ------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-fake")
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "port").mkdir()
    (corpus / "port" / "harbour.md").write_text(HARBOUR_MD)
    (corpus / "port" / "photo.txt").write_text(PHOTO_TXT)
    settings = make_settings(root, corpus_dir=corpus, llm_backend="fake")
    report = ingest(settings, corpus, progress=False)
    assert report.docs_added == 4 and not report.failures
    llm = SlowFakeChatModel()
    services = build_services(settings, llm=llm, embedder=HashingEmbedder())
    with ServerThread(create_app(services)) as url:
        yield url, services.answers, llm


@pytest.mark.browser
@pytest.mark.slow
def test_untrusted_markup_is_never_run_or_fetched(browser, fake_app):
    url, _, _ = fake_app
    tab = Tab(browser, url)
    page = tab.page
    try:
        tab.ask("When was the harbour in Odesa repaired?")
        answer = tab.wait_answer(1)
        assert "repaired in May" in answer.inner_text()
        page.locator("#nr-chat a.nr-cite").first.click()
        quote = page.locator("#nr-src-1-1 mark.nr-quote")
        # the markup is shown as text, not run: the reader sees exactly what the article says
        assert "<script>window.__pwned=1</script>" in quote.inner_text()
        tab.ask("When did cranes return to work at the harbour?")
        tab.wait_answer(2)
        assert 'onerror="window.__pwned=2"' in page.locator("#nr-sources").inner_text()
        tab.ask("Who repaired the cranes at the harbour?")
        tab.wait_answer(3)
        sources = page.locator("#nr-sources").inner_text()
        assert (
            '<a href="http://203.0.113.7/a">' in sources
            and "Harbour photo ![x](http://203.0.113.7/title.png)" in sources
        )

        page.get_by_role("tab", name="Claim check").click()
        page.locator("#nr-claim textarea").fill("The harbour in Odesa was repaired in May")
        page.locator("#nr-check").click()
        page.locator("#nr-claim-result .nr-verdict").wait_for()
        assert "Supported" in page.locator("#nr-claim-result .nr-verdict").inner_text()
        assert "<script>" in page.locator("#nr-claim-result").inner_text()

        page.get_by_role("tab", name="Corpus").click()
        for title in ("Harbour <img", "Harbour photo"):
            page.locator("#nr-corpus [data-testid^=cell-]").filter(has_text=title).first.click()
            page.locator("#nr-reader .nr-reader h3").filter(has_text=title).wait_for()
        reader = page.locator("#nr-reader").inner_text()
        # no outlet, no URL: the article is cited by its file's name
        assert "![x](http://203.0.113.7/leak.png)" in reader and "\nphoto · undated" in reader
        time.sleep(0.5)  # give any image or script the page might have been tricked into a moment to act
        assert page.locator("img[src*='203.0.113.7'], a[href*='203.0.113.7'], img[src='x']").count() == 0
        assert page.locator("#nr-chat script, #nr-sources script, #nr-reader script").count() == 0
        assert_untouched(tab)
    finally:
        tab.close()


@pytest.mark.browser
@pytest.mark.slow
def test_errors_are_readable_and_the_app_keeps_serving(browser, fake_app):
    url, _, llm = fake_app
    tab = Tab(browser, url)
    try:
        llm.fail_with = "the model server is unreachable"
        try:
            tab.ask("Where are talks involving Ukrainian, U.S. and European officials set to continue?")
            error = tab.wait_answer(1).locator(".nr-error")
            assert "The language model failed" in error.inner_text() and "unreachable" in error.inner_text()
        finally:
            llm.fail_with = None
        tab.page.locator("#nr-question textarea").press("Enter")  # the question was kept: ask it again
        assert "London" in tab.wait_answer(2).locator(".nr-answer").inner_text()
        tab.ask("   ")  # a blank question is not sent: no bubble, no error turn
        tab.page.locator("#nr-question textarea").press("Enter")
        tab.page.wait_for_timeout(1500)
        assert tab.bot_messages().count() == 2 and tab.page.locator("#nr-chat .message-row.user-row").count() == 2
        assert tab.page.locator("#nr-chat a.nr-cite").count() == 1
    finally:
        tab.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_waiting_user_is_told_they_are_queued(browser, fake_app):
    url, _, llm = fake_app
    first, second = Tab(browser, url), Tab(browser, url)
    llm.gate = threading.Event()  # the first answer holds the model until the second is seen queued
    try:
        first.ask("How many prisoners have been exchanged?")
        deadline = time.monotonic() + 30
        while llm.active < 1 and time.monotonic() < deadline:  # the first answer is being written
            time.sleep(0.05)
        assert llm.active == 1
        second.ask("Who heads the Kremlin delegation, according to Al Jazeera?")
        # the answer gate's own queue note: position and the expected wait from measured answers
        second.page.get_by_text(re.compile(r"Queued: position 1, about \d+ s")).first.wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        second.page.screenshot(path=str(SCREENSHOTS / "queued.png"))
        llm.gate.set()
        assert "Medinsky" in second.wait_answer(1).inner_text()
        assert first.wait_answer(1).locator("a.nr-cite").count() >= 1
    finally:
        llm.gate.set()
        llm.gate = None
        first.close()
        second.close()


@pytest.mark.browser
@pytest.mark.slow
def test_filters_and_copy_citation(browser, fake_app):
    url, service, _ = fake_app
    tab = Tab(browser, url)
    page = tab.page
    try:
        page.get_by_text("Filters: outlet and publication date").click()
        page.locator("#nr-from input, #nr-from textarea").first.fill("2025-07-01")
        tab.ask("How many prisoners have been exchanged?")
        answer = tab.wait_answer(1).inner_text()
        assert "1,000" in answer and "500" not in answer
        card = page.locator("#nr-src-1-1")
        assert JULY_OUTLET in card.inner_text() and "22 July 2025" in card.inner_text()
        card.locator("button.nr-copy").click()
        page.locator("#nr-src-1-1 button.nr-copy", has_text="Copied").wait_for()
        copied = page.evaluate("navigator.clipboard.readText()")
        quote = card.locator("mark.nr-quote").inner_text()
        article = next(a for a in service.retriever.articles() if a.published == "2025-07-22")
        assert copied == f"{quotation(quote)} ({article.title}, {JULY_OUTLET}, 22 July 2025)"
        assert quote in article.text
        page.get_by_role("tab", name="Corpus").click()
        summary = page.locator("#nr-corpus-summary")
        summary.filter(has_text="showing 1").wait_for()
        assert "published 1 July 2025 to today" in summary.inner_text()
    finally:
        tab.close()


@pytest.mark.browser
@pytest.mark.slow
def test_corpus_tab_adds_a_page_and_a_file_citable_at_once(browser, tmp_path, site):  # noqa: F811
    """Add articles from the UI (this machine: allowed): a served page and an uploaded file are
    stored, indexed and listed; a dead link is reported with its reason."""
    _root, base = site
    settings = make_settings(tmp_path, corpus_dir=tmp_path / "corpus", llm_backend="fake")
    shutil.copytree(SEED_CORPUS, settings.corpus_dir)
    ingest(settings, settings.corpus_dir, progress=False)
    services = build_services(settings, llm=SlowFakeChatModel(), embedder=HashingEmbedder())
    upload = tmp_path / "pier-notice.md"
    upload.write_text("---\ntitle: Pier reopens after storm repairs\noutlet: Coast Wire\npublished: 2025-05-02\n"
                      "---\n\nThe pier reopened on Friday after storm repairs that took six weeks.\n")  # fmt: skip
    with ServerThread(create_app(services)) as url:
        tab = Tab(browser, url)
        page = tab.page
        try:
            page.get_by_role("tab", name="Corpus").click()
            page.get_by_text("Add articles (admin)").click()
            page.locator("#nr-add-urls textarea").fill(f"{base}/river-bridge.html\n{base}/nope.html")
            page.locator("#nr-add-files input[type=file]").set_input_files(str(upload))
            page.locator("#nr-add-button").click()
            result = page.locator("#nr-add-result")
            result.filter(has_text="can be cited now").first.wait_for()
            text = result.inner_text()
            assert "New river bridge opens to cyclists" in text and "Pier reopens after storm repairs" in text
            assert "HTTP 404" in text
            page.locator("#nr-corpus").filter(has_text="New river bridge opens to cyclists").wait_for()
            page.locator("#nr-corpus").filter(has_text="Pier reopens after storm repairs").wait_for()
            assert_untouched_outside(tab, base)
        finally:
            tab.close()
    assert services.articles.get("uploads/pier-notice").outlet == "Coast Wire"
    assert any(a.url == f"{base}/river-bridge.html" for a in services.articles.list())


def assert_untouched_outside(tab: Tab, base: str) -> None:
    """The browser itself asked nothing of the page's site: the server fetched it."""
    assert tab.outside_requests() == []
    assert not any(u.startswith(base) for u in tab.requests)


# --- the real parts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_app(tmp_path_factory):
    from app.wiring import build_services

    root = tmp_path_factory.mktemp("ui-real")
    settings = make_settings(root, corpus_dir=SEED_CORPUS, embedding_model="all-MiniLM-L6-v2", llm_backend="llamacpp")
    ingest(settings, SEED_CORPUS, progress=False)
    services = build_services(settings)
    services.warm_up()
    with ServerThread(create_app(services)) as url:
        yield url, services.answers


OBSERVER = """
() => {
  window.__nr = {click: null, draft: null, final: null};
  document.addEventListener('click', () => { if (window.__nr.click === null) window.__nr.click = performance.now(); },
                            true);
  new MutationObserver(() => {
    const now = performance.now();
    const draft = document.querySelector('#nr-chat .nr-considered');
    if (window.__nr.draft === null && draft && draft.textContent.trim()) window.__nr.draft = now;
    if (window.__nr.final === null && document.querySelector('#nr-chat a.nr-cite')) window.__nr.final = now;
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.llm
def test_real_model_streamed_cited_answer_quote_claim_and_corpus(browser, real_app):
    url, service = real_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab = Tab(browser, url)
    page = tab.page
    try:
        # 1. a seed question: the sentence being checked shown while it is written, then the verified answer
        page.evaluate(OBSERVER)
        tab.ask("Where are talks involving Ukrainian, U.S. and European officials set to continue?")
        answer = tab.wait_answer(1)
        text = answer.locator(".nr-answer").inner_text()
        assert "London" in text and "[1]" in text
        timing = page.evaluate("window.__nr")
        assert timing["draft"] is not None, "no sentence was shown being checked before the final answer"
        assert timing["click"] < timing["draft"] < timing["final"]
        first_token_s = (timing["draft"] - timing["click"]) / 1000
        final_s = (timing["final"] - timing["click"]) / 1000
        print(f"\nbrowser, real model: first sentence checked {first_token_s:.2f} s, verified answer {final_s:.2f} s")
        page.screenshot(path=str(SCREENSHOTS / "chat.png"))

        # 2. clicking the marker brings its quote into view, highlighted in its paragraph
        page.locator("#nr-sources .nr-turn").wait_for()
        page.locator("#nr-chat a.nr-cite", has_text="[1]").first.click()
        card = page.locator("#nr-src-1-1")
        page.wait_for_function("document.querySelector('#nr-src-1-1').classList.contains('nr-active')")
        mark = card.locator("mark.nr-quote")
        from playwright.sync_api import expect

        expect(mark).to_be_in_viewport()
        assert mark.evaluate("m => getComputedStyle(m).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
        quote = mark.inner_text()
        assert "London" in quote
        article = next(a for a in service.retriever.articles() if quote in a.text)
        assert article.outlet in card.inner_text() and "22 April 2025" in card.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "source.png"))

        # 3. a follow-up uses the conversation
        tab.ask("How many prisoners were returned in the recent exchange, according to the April article?")
        assert "500" in tab.wait_answer(2).inner_text()
        tab.ask("And according to the July article?")
        follow_up = tab.wait_answer(3).inner_text()
        assert "1,000" in follow_up, follow_up

        # 4. claim check with the real embedding model
        page.get_by_role("tab", name="Claim check").click()
        page.locator("button.nr-example", has_text="1,000 prisoners were exchanged.").click()
        verdict = page.locator("#nr-claim-result .nr-verdict")
        verdict.wait_for()
        assert "Sources disagree" in verdict.inner_text()
        assert page.locator("#nr-claim-result .nr-supports mark.nr-quote").count() >= 1
        assert page.locator("#nr-claim-result .nr-contradicts mark.nr-quote").count() >= 1
        page.screenshot(path=str(SCREENSHOTS / "claim.png"))
        page.locator("#nr-claim textarea").fill("The talks were held in Paris.")
        page.locator("#nr-check").click()
        page.locator("#nr-claim-result .nr-verdict-not_found").wait_for()

        # 5. the corpus view lists the articles; one opens in full
        page.get_by_role("tab", name="Corpus").click()
        page.locator("#nr-corpus [data-testid^=cell-]").filter(has_text="Straight Arrow News").first.click()
        reader = page.locator("#nr-reader .nr-reader")
        reader.wait_for()
        assert "A recent exchange saw more than 500 prisoners returned." in reader.inner_text()
        assert "2</b> articles" in page.locator("#nr-corpus-summary").inner_html()
        page.screenshot(path=str(SCREENSHOTS / "corpus.png"))
        assert_untouched(tab)
    finally:
        tab.close()
