"""The journalist's checks on a phone (390 x 844, touch), in Debian's Chromium against the app
with the real parts (MiniLM, Chroma, the 1.5B model) on the seed corpus: the header's index
status; an answer on the first screen with its sources under it (outlet, date) and Export;
a follow-up answered from the conversation, its time to first text printed; an off-corpus
question told "the articles don't say" and nothing else; the claim check reading an explicit
negation as a contradiction, with its reason in a plain sentence. The screenshot goes to
docs/screenshots/phone-real.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_ui_browser import GRADIO_WARNINGS, PHONE, SCREENSHOTS, Tab, assert_untouched, browser, real_app

__all__ = ["browser", "real_app"]  # the fixtures, shared with test_ui_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.llm, *GRADIO_WARNINGS]

# seconds from Ask to the first words of the answer (streamed draft or final) in the new bot row
FIRST_TEXT = """
() => new Promise(resolve => {
  const start = performance.now();
  const before = document.querySelectorAll('#nr-chat .message-row.bot-row').length;
  new MutationObserver((_, observer) => {
    const rows = document.querySelectorAll('#nr-chat .message-row.bot-row');
    const last = rows[rows.length - 1];
    const text = last && last.querySelector('.nr-considered, .nr-answer, .nr-abstain');
    if (rows.length > before && text && text.textContent.trim()) {
      observer.disconnect();
      resolve((performance.now() - start) / 1000);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  document.querySelector('#nr-ask').click();
})
"""


def test_phone_journalist_checks_with_the_real_model(browser, real_app):
    url, _ = real_app
    tab = Tab(browser, url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = tab.page
    try:
        status_box = page.locator("#nr-index-status")
        status_box.filter(has_text="articles").wait_for()  # filled by the page's load event
        status = status_box.inner_text()
        assert "2 articles" in status and "updated" in status.lower(), status

        # an answer on the first screen, its sources under it with outlet and date, and Export
        page.locator("#nr-question textarea").fill(
            "Where are talks involving Ukrainian, U.S. and European officials set to continue?"
        )
        page.locator("#nr-ask").click()
        first = tab.wait_answer(1)
        assert "London" in first.locator(".nr-answer").inner_text()
        top = first.locator(".nr-answer").bounding_box()["y"]
        assert 0 <= top < PHONE["height"], f"the answer starts at {top}px, off the first screen"
        assert not page.locator("#nr-sources-col").is_visible()
        page.locator("#nr-chat a.nr-cite").first.click()
        card = page.locator("#nr-chat .nr-inline-sources[open] .nr-source.nr-active").first
        card.wait_for()
        assert "Straight Arrow News" in card.inner_text() and "22 April 2025" in card.inner_text()
        # Export sits in the sources under the answer (the side panel is hidden on a phone)
        with page.expect_download() as download:
            first.locator(".nr-inline-sources button.nr-export-btn.nr-kind-json").click()
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert exported["outcome"] == "answered" and "London" in exported["answer"], exported
        assert exported["citations"] and exported["citations"][0]["outlet"] == "Straight Arrow News"

        # a follow-up that leans on the conversation; the time to its first text is printed
        page.locator("#nr-question textarea").fill(
            "How many prisoners were returned in the recent exchange, according to the April article?"
        )
        page.locator("#nr-ask").click()
        assert "500" in tab.wait_answer(2).inner_text()
        page.locator("#nr-question textarea").fill("And according to the July article?")
        first_text_s = page.evaluate(FIRST_TEXT)
        follow_up = tab.wait_answer(3).inner_text()
        print(f"\nphone, real model: follow-up's first text after {first_text_s:.1f} s")
        assert "1,000" in follow_up, follow_up

        # off the corpus: "the articles don't say", with no passages offered as if they answered
        page.locator("#nr-question textarea").fill("Who won the 2022 FIFA World Cup final?")
        page.locator("#nr-ask").click()
        absent = tab.wait_answer(4).locator(".nr-abstain")
        # the chat's sanitiser drops data-* attributes; the outcome's class stays
        assert "nr-outcome-absent" in (absent.get_attribute("class") or ""), absent.inner_text()
        assert "don't say" in absent.inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "phone-real.png"))

        # the claim check: an explicit negation in the articles contradicts the claim
        page.get_by_role("tab", name="Claim check").click()
        page.locator("#nr-claim textarea").fill("Russia and Ukraine have held direct peace talks since 2022")
        page.locator("#nr-check").click()
        verdict = page.locator("#nr-claim-result .nr-verdict")
        verdict.wait_for()
        assert "nr-verdict-contradicted" in verdict.get_attribute("class"), verdict.inner_text()
        reason = page.locator("#nr-claim-result .nr-contradicts .nr-reason").first.inner_text()
        assert reason.startswith("Straight Arrow News, 22 April 2025, says") and "not" in reason, reason
        assert_untouched(tab)
    finally:
        tab.close()
