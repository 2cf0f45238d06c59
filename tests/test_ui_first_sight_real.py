"""The chat at first sight and while it writes, in Debian's Chromium against the app with the
real parts (MiniLM, Chroma, the 1.5B model) on the seed corpus:

* on a phone (390 x 844): the corpus card, the input and Ask on the first screen; an
  answer's sources show the quotes and the Export buttons, not the export text; the corpus
  tab lists the articles as cards (no letter-by-letter wrapping) and opens one into view;
  the JSON export names no path of the server;
* while five questions are answered, every draft state shows only the stage and a sentence
  of the articles marked "checking", never the model's unchecked words;
* Stop says "Stopped" within a second, the model itself stops within that second (llama.cpp's
  abort callback), and it is free for the next question.

Screenshots go to docs/screenshots/ (first-sight-phone.png, corpus-phone.png, checking.png)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_ui_browser import GRADIO_WARNINGS, PHONE, SCREENSHOTS, Tab, assert_untouched, browser, real_app

__all__ = ["browser", "real_app"]  # the fixtures, shared with test_ui_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.llm, *GRADIO_WARNINGS]
STOP_LIMIT_S = 1.0

# every state of the newest bot message until it is final: its HTML pieces, as the reader sees them
RECORDER = """
() => {
  window.__states = [];
  const seen = new Set();
  new MutationObserver(() => {
    const rows = document.querySelectorAll('#nr-chat .message-row.bot-row');
    const last = rows[rows.length - 1];
    if (!last || last.querySelector('.nr-answer, .nr-abstain, .nr-error, .nr-refused')) return;
    const quote = last.querySelector('.nr-considered blockquote, .nr-considered');
    const rest = last.cloneNode(true);  // what is shown besides the stage, the queue note and the quote
    rest.querySelectorAll('.nr-note, .nr-pending, .nr-considered').forEach((el) => el.remove());
    const state = {
      considered: quote ? quote.textContent : null,
      drafts: last.querySelectorAll('.nr-draft-text').length,
      rest: rest.textContent.trim(),
    };
    const key = JSON.stringify(state);
    if (!seen.has(key)) { seen.add(key); window.__states.push(state); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def _in_view(box: dict | None, height: int) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_phone_first_screen_sources_corpus_and_export(browser, real_app):
    url, service = real_app
    tab = Tab(browser, url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = tab.page
    try:
        card = page.locator("#nr-index-status .nr-card")
        card.filter(has_text="articles").wait_for()
        text = card.inner_text()
        assert "2 articles from" in text and "Straight Arrow News" in text, text
        assert "22 April 2025 to 22 July 2025" in text and "About: " in text and "Putin" in text, text
        for part in (card, page.locator("#nr-question textarea"), page.locator("#nr-ask")):
            assert _in_view(part.bounding_box(), PHONE["height"]), f"{part} is not on the first screen"
        # the example questions are short and in plain words, not copied from the articles
        examples = page.locator("button.nr-example").all_inner_texts()
        texts = [a.text for a in service.retriever.articles()]
        assert examples and all(len(q.split()) <= 8 and not any(q[:-1] in t for t in texts) for q in examples)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "first-sight-phone.png"))

        # an answer's sources under it: quotes and Export buttons, not the export text
        tab.ask("Where are talks involving Ukrainian, U.S. and European officials set to continue?")
        answer = tab.wait_answer(1)
        sources = answer.locator("details.nr-inline-sources")
        sources.locator("summary").click()
        assert sources.locator(".nr-source mark.nr-quote").first.is_visible()
        assert sources.locator("button.nr-export-btn").first.is_visible()
        assert not sources.locator("pre.nr-export-data").first.is_visible()
        shown = sources.inner_text()
        assert '"newsrag_export"' not in shown and "### Sources" not in shown, shown[:300]
        with page.expect_download() as download:
            sources.locator("button.nr-export-btn.nr-kind-json").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        data = json.loads(exported)
        assert data["model"] and "/" not in data["model"], data["model"]
        assert data["index"]["articles"] == 2 and data["index"]["updated"], data["index"]
        for path in (str(Path.home()), os.path.join(str(Path.home()), ".cache"), str(REPO)):
            assert path not in exported, f"the export holds a path of the server: {path}"

        # the corpus tab on a phone: cards, readable; a tap opens the article into view
        page.get_by_role("tab", name="Corpus").click()
        items = page.locator("button.nr-open")
        items.first.wait_for()
        assert items.count() == 2 and not page.locator("#nr-corpus").is_visible()
        for i in range(items.count()):
            title = items.nth(i).locator(".nr-doc-title")
            assert title.bounding_box()["width"] > 200, "the title is squeezed into a narrow column"
        items.filter(has_text="Straight Arrow News").first.click()
        reader = page.locator("#nr-reader .nr-reader")
        reader.wait_for()
        page.wait_for_timeout(1000)  # the smooth scroll
        top = reader.bounding_box()["y"]
        assert -2 <= top < PHONE["height"] / 2, f"the article opened at {top}px, off screen"
        assert "Straight Arrow News" in reader.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "corpus-phone.png"))
        assert_untouched(tab)
    finally:
        tab.close()


FIVE_QUESTIONS = [
    "Which city are the talks set to continue in?",
    "What does Russia insist on?",
    "Who leads the Kremlin's delegation?",
    "Why did Putin resist a ceasefire?",
    "How many prisoners did the July article say were swapped?",
]


def test_the_draft_never_shows_unchecked_words_and_stop_acts_at_once(browser, real_app):
    url, service = real_app
    tab = Tab(browser, url)
    page = tab.page
    texts = [a.text for a in service.retriever.articles()]
    try:
        # on a laptop the corpus card, the input and the example questions fit the first screen
        height = page.viewport_size["height"]
        page.locator("#nr-index-status .nr-card").filter(has_text="articles").wait_for()
        for part in ("#nr-index-status .nr-card", "#nr-question textarea", "#nr-ask", "button.nr-example"):
            assert _in_view(page.locator(part).first.bounding_box(), height), f"{part} is below the first screen"
        page.evaluate(RECORDER)
        for n, question in enumerate(FIVE_QUESTIONS, start=1):
            page.evaluate("window.__states = []")
            tab.ask(question)
            if n == 2:  # the draft as a reader sees it: the stage and the sentence being checked
                page.locator("#nr-chat .nr-considered").first.wait_for()
                page.screenshot(path=str(SCREENSHOTS / "checking.png"))
            tab.wait_answer(n)
            states = page.evaluate("window.__states")
            assert states, f"no state was shown while {question!r} was answered"
            for state in states:
                # besides the stage and the sentence being checked, a draft shows nothing
                assert state["drafts"] == 0 and state["rest"] == "", (question, state)
                if state["considered"] is not None:
                    quote = state["considered"].strip().removeprefix("checking").strip()
                    said = quote.split("\u201d")[0].lstrip("\u201c")
                    assert said and any(said in t for t in texts), f"the checking quote is not an article's: {said!r}"

        assert_untouched(tab)
    finally:
        tab.close()
    # Stop: said at once, even while the model reads the prompt; the model is then free. A new
    # tab, a new session: the first one has used its questions for the minute
    tab = Tab(browser, url)
    page = tab.page
    try:
        fresh = f"What did Zelenskyy propose about the talks in Istanbul ({time.time():.0f})?"  # no cached reply
        tab.ask(fresh)
        page.locator("#nr-stop").wait_for(state="visible")
        page.locator("#nr-chat .nr-considered, #nr-chat .nr-checking").first.wait_for()
        model = service.llm
        waited = time.perf_counter()
        while not model.busy and time.perf_counter() - waited < 10:  # the stage is shown just before
            time.sleep(0.01)
        assert model.busy  # the model is reading the prompt or writing the reply
        started = time.perf_counter()
        page.locator("#nr-stop").click()
        page.get_by_text("Stopped.").wait_for(timeout=10_000)
        took = time.perf_counter() - started
        while model.busy and time.perf_counter() - started < 10:
            time.sleep(0.02)
        freed = time.perf_counter() - started
        print(f"\nbrowser, real model: Stop said 'Stopped' after {took:.2f} s; the model stopped after {freed:.2f} s")
        assert took <= STOP_LIMIT_S, f"Stop took {took:.2f} s"
        assert freed <= STOP_LIMIT_S, f"the model went on for {freed:.2f} s after Stop"
        page.locator("#nr-ask").wait_for(state="visible")
        asked = time.perf_counter()
        tab.ask("Who leads the Kremlin's delegation?")  # the stopped question left no turn behind
        assert "Medinsky" in tab.wait_answer(1).inner_text()
        print(f"browser, real model: the next question answered {time.perf_counter() - asked:.1f} s after it was asked")
        assert tab.bot_messages().count() == 1
        assert_untouched(tab)
    finally:
        tab.close()
