"""What a journalist needs of the chat, in a real browser (Debian's Chromium) against the
app on 127.0.0.1 with the fake LLM: the input locked and Stop while an answer is written,
stages with their seconds, an answer exported as Markdown and JSON, the index's date in
the header, the Sources panel scoped to one answer, and the phone layout (390 x 844):
input and the latest answer on the first screen, sources under the answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_ui_browser import (
    CHROMIUM_ARGS,
    GRADIO_WARNINGS,
    PHONE,
    SCREENSHOTS,
    TIMEOUT_MS,
    Tab,
    assert_untouched,
    browser,
    fake_app,
)

__all__ = ["browser", "fake_app"]  # the fixtures, shared with test_ui_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, *GRADIO_WARNINGS]
assert CHROMIUM_ARGS  # the same launch flags (the browser fixture)


def test_input_locked_while_answering_and_stop_cancels(browser, fake_app):
    url, _, llm = fake_app
    tab = Tab(browser, url)
    page = tab.page
    box = page.locator("#nr-question textarea")
    llm.delay = 4.0
    try:
        tab.ask("How many prisoners have been exchanged?")
        page.locator("#nr-stop").wait_for(state="visible")
        assert box.is_disabled() and not page.locator("#nr-ask").is_visible()
        # the stage and its seconds are shown, and keep counting
        elapsed = page.locator("#nr-chat .nr-elapsed").first
        elapsed.wait_for()
        first = int(elapsed.inner_text().split()[0])
        page.wait_for_timeout(1600)
        assert int(page.locator("#nr-chat .nr-elapsed").first.inner_text().split()[0]) > first
        page.locator("#nr-stop").click()
        page.get_by_text("Stopped. No answer was written").wait_for()
        page.locator("#nr-ask").wait_for(state="visible")
        assert box.is_enabled() and box.input_value() == "How many prisoners have been exchanged?"
        assert page.locator("#nr-chat .nr-answer").count() == 0, "the stopped answer must not appear"
        llm.delay = 0.0
        # the gate was freed: the next question is answered
        tab.ask("Who heads the Kremlin delegation, according to Al Jazeera?")
        assert "Medinsky" in tab.wait_answer(1).inner_text()
        # the unlock is the event after the answer (one update: input, Ask and Stop together)
        page.locator("#nr-ask").wait_for(state="visible")
        assert box.is_enabled() and not page.locator("#nr-stop").is_visible()
    finally:
        llm.delay = 0.0
        tab.close()


def test_export_header_and_sources_scoped_to_one_answer(browser, fake_app):
    url, service, _ = fake_app
    tab = Tab(browser, url)
    page = tab.page
    try:
        status = page.locator("#nr-index-status")
        status.filter(has_text="articles").wait_for()
        assert "Index updated" in status.inner_text() and "UTC" in status.inner_text()
        assert status.locator("a[href='/docs']").count() == 1  # our API docs, not Gradio's page
        tab.ask("Who heads the Kremlin delegation, according to Al Jazeera?")
        tab.wait_answer(1)
        tab.ask("How many prisoners have been exchanged?")
        tab.wait_answer(2)
        sections = page.locator("#nr-sources section.nr-turn")
        assert sections.count() == 2
        visible = page.locator("#nr-sources section.nr-turn:not([hidden])")
        assert visible.count() == 1 and "answer 2" in visible.inner_text()
        # a marker of the first answer switches the panel to the first answer's sources
        tab.bot_messages().nth(0).locator("a.nr-cite").first.click()
        page.locator("#nr-sources section.nr-turn[data-turn='1']:not([hidden])").wait_for()
        assert page.locator("#nr-sources section.nr-turn:not([hidden])").count() == 1
        with page.expect_download() as download:
            page.locator("#nr-sources section.nr-turn[data-turn='1'] button.nr-export-btn.nr-kind-json").click()
        data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert data["question"] == "Who heads the Kremlin delegation, according to Al Jazeera?"
        assert data["outcome"] == "answered" and data["asked_at"] and data["citations"]
        for c in data["citations"]:
            assert service.retriever.article(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]
            assert c["outlet"] and c["published"] and c["title"]
        with page.expect_download() as download:
            page.locator("#nr-sources section.nr-turn[data-turn='1'] button.nr-export-btn.nr-kind-md").click()
        assert download.value.suggested_filename == "newsrag-answer-1.md"
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert markdown.startswith("## Who heads the Kremlin delegation") and "### Sources" in markdown
        assert_untouched(tab)
    finally:
        tab.close()


def test_phone_first_screen_has_the_input_and_the_latest_answer(browser, fake_app):
    url, _, _ = fake_app
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(url)
        box = page.locator("#nr-question textarea")
        box.wait_for()
        assert box.bounding_box()["y"] + box.bounding_box()["height"] <= PHONE["height"], "input below the fold"
        box.fill("Who heads the Kremlin delegation, according to Al Jazeera?")
        page.locator("#nr-ask").click()
        answer = page.locator("#nr-chat .message-row.bot-row .nr-answer").first
        answer.wait_for()
        top = answer.bounding_box()["y"]
        assert 0 <= top < PHONE["height"], f"the answer starts at {top}px, off the first screen"
        assert not page.locator("#nr-sources-col").is_visible(), "the side panel is hidden on a phone"
        inline = page.locator("#nr-chat .nr-inline-sources").first
        assert inline.is_visible()
        # a marker opens the answer's own sources, under it
        page.locator("#nr-chat a.nr-cite").first.click()
        page.locator("#nr-chat .nr-inline-sources[open] .nr-source.nr-active").wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "phone.png"))
    finally:
        context.close()
