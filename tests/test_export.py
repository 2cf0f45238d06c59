"""Exports of an answer (Markdown and JSON), the provenance shown on source cards, and the
Sources panel scoped to one answer. Invented articles only."""

from __future__ import annotations

import json

from app.adapters.ui.render import export_buttons, provenance, render_answer, safe_url, source_card
from app.adapters.ui.sources import render_sources
from app.answer.cited import Citation
from app.answer.reply import Answer
from app.domain import Article, IndexVersion, Quote
from app.services.export import export_dict, export_markdown

TEXT = "The ferry line reopened on Monday after a week of repairs. Tickets cost 4 pounds."
ARTICLE = Article("wire/ferry", "Ferry line reopens", "Wire A", "2025-03-04", TEXT, url="https://example.org/ferry",
                  author="Ada Reyes")  # fmt: skip


def quote(url: str | None = "https://example.org/ferry") -> Quote:
    end = TEXT.index(".") + 1
    return Quote(
        doc_id="wire/ferry",
        title=ARTICLE.title,
        outlet="Wire A",
        published="2025-03-04",
        text=TEXT[:end],
        start=0,
        end=end,
        url=url,
        author="Ada Reyes",
    )


def answered() -> Answer:
    return Answer("When did the ferry reopen?", "When did the ferry reopen?", "On Monday [1]", False,
                  [Citation(1, quote())], [], [], {})  # fmt: skip


def test_export_json_carries_question_time_quotes_and_offsets():
    data = export_dict(answered(), "2026-12-02T10:00:00+00:00", "2026-12-01T09:00:00+00:00")
    assert data["question"] == "When did the ferry reopen?" and data["asked_at"].startswith("2026-12-02")
    assert data["outcome"] == "answered" and data["index_updated"].startswith("2026-12-01")
    [c] = data["citations"]
    assert (c["n"], c["outlet"], c["published"], c["url"], c["author"]) == (
        1,
        "Wire A",
        "2025-03-04",
        "https://example.org/ferry",
        "Ada Reyes",
    )
    assert TEXT[c["start"] : c["end"]] == c["quote"]
    json.dumps(data)  # JSON-ready


def test_export_names_the_model_and_the_index():
    answer = answered()
    answer.model = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    index = IndexVersion("newsrag", "3f9c2a", "2026-12-01T09:00:00+00:00", 12)
    data = export_dict(answer, "2026-12-02T10:00:00+00:00", index=index)
    assert data["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert data["index"] == {"collection": "newsrag", "version": "3f9c2a", "updated": index.updated, "articles": 12}
    assert data["index_updated"] == index.updated
    md = export_markdown(answer, "2026-12-02T10:00:00+00:00", index=index)
    assert "Asked 2026-12-02T10:00:00+00:00; index updated 2026-12-01T09:00:00+00:00\n" in md
    assert "Index: newsrag, 12 articles, version 3f9c2a\nModel: qwen2.5-coder-1.5b-instruct-q4\\_k\\_m.gguf\n" in md
    only_updated = export_dict(answer, "2026-12-02T10:00:00+00:00", "2026-12-01T09:00:00+00:00")
    assert only_updated["index"] == {"collection": "", "version": "", "updated": index.updated, "articles": None}
    assert "Index:" not in export_markdown(answer, "2026-12-02T10:00:00+00:00", "2026-12-01T09:00:00+00:00")


def test_export_markdown_names_every_source():
    md = export_markdown(answered(), "2026-12-02T10:00:00+00:00")
    assert md.startswith("## When did the ferry reopen?")
    assert "Outcome: answered" in md and "On Monday [1]" in md
    assert "*Ferry line reopens*, Wire A, 4 March 2025 (wire/ferry, characters 0-" in md
    assert "<https://example.org/ferry>" in md and "> The ferry line reopened on Monday" in md


def test_only_http_links_are_made():
    assert safe_url("https://example.org/a") == "https://example.org/a"
    for bad in ("javascript:alert(1)", "data:text/html,x", "ftp://example.org/", "//example.org", "", None):
        assert safe_url(bad) == ""
    html = provenance("Wire A", "2025-03-04", "Ada Reyes", "https://example.org/ferry")
    assert 'target="_blank" rel="noopener noreferrer"' in html and "by Ada Reyes" in html
    assert "<a" not in provenance("Wire A", "2025-03-04", None, "javascript:alert(1)")


def test_source_card_shows_byline_and_link_from_the_article():
    card = source_card("c1", "[1]", quote(url=None), lambda _id: ARTICLE)
    assert "by Ada Reyes" in card and 'href="https://example.org/ferry"' in card


def test_inline_sources_under_each_answer():
    html = render_answer(answered(), 2, lookup=lambda _id: ARTICLE)
    assert 'class="nr-inline-sources"' in html and 'id="nr-src-2-1-in"' in html
    assert "nr-export" not in html  # Export only when the answer's files are given


def test_export_under_the_answer_for_narrow_screens():
    export = export_buttons(2, "## the question", '{"outcome": "answered"}')
    html = render_answer(answered(), 2, lookup=lambda _id: ARTICLE, export=export)
    inline = html[html.index('class="nr-inline-sources"') :]
    assert "nr-export-btn nr-kind-json" in inline and "nr-export-turn-2" in inline
    assert "&quot;outcome&quot;: &quot;answered&quot;" in inline  # the file's text, escaped
    assert export_buttons(2, "", "") == ""


def test_sources_panel_shows_only_the_selected_answer():
    turns = [
        {"turn": 1, "question": "q1", "citations": [Citation(1, quote())], "export_md": "m1", "export_json": "{}"},
        {"turn": 2, "question": "q2", "citations": [Citation(1, quote())], "export_md": "m2", "export_json": "{}"},
    ]
    html = render_sources(turns, lambda _id: ARTICLE)
    assert '<section class="nr-turn" data-turn="2">' in html  # the latest shown
    assert '<section class="nr-turn" data-turn="1" hidden>' in html
    assert "nr-export-btn nr-kind-md" in html and "nr-export-turn-2" in html and "1 earlier" in html
    html = render_sources(turns, lambda _id: ARTICLE, selected=1)
    assert '<section class="nr-turn" data-turn="1">' in html and 'data-turn="2" hidden' in html


def test_copy_citation_uses_typographic_quotes():
    """Outer “…”; the quote's own double quotes, straight or typographic, become ‘…’."""
    said = Quote(doc_id="d", start=0, end=1, text='He said "no" today', title="Title", outlet="Outlet",
                 published="2025-04-22")  # fmt: skip
    assert said.one_line() == "“He said ‘no’ today” (Title, Outlet, 22 April 2025)"
    for text, expected in [
        ('"No," he said.', "“‘No,’ he said.”"),
        ('The plan ("a truce") failed', "“The plan (‘a truce’) failed”"),
        ("It was “over”, she said", "“It was ‘over’, she said”"),
        ('Kyiv\'s "peace plan": a "non-starter".', "“Kyiv's ‘peace plan’: a ‘non-starter’.”"),
        ("No quotes here", "“No quotes here”"),
    ]:
        assert Quote(doc_id="d", start=0, end=1, text=text, title="T", outlet="O", published="").one_line() == (
            f"{expected} (T, O, undated)"
        )
