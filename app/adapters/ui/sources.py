"""The Sources panel: one section per answer, only the selected one shown (the latest, or
the one whose marker was clicked; the page script switches), each with its cited quotes
or closest passages and its Export buttons (Markdown and JSON, built on the server and
downloaded by the page script)."""

from __future__ import annotations

from app.adapters.ui.render import EMPTY_SOURCES, ArticleLookup, esc, export_buttons, marker_id, source_card


def _cards(t: dict, lookup: ArticleLookup) -> tuple[str, str]:
    """(title, cards) of one turn's section; ("", "") when it has nothing to show."""
    if t.get("citations"):
        cards = "".join(source_card(marker_id(t["turn"], c.n), f"[{c.n}]", c.quote, lookup) for c in t["citations"])
        return f"Sources of answer {t['turn']}", cards
    if t.get("closest"):
        cards = "".join(
            source_card(f"nr-close-{t['turn']}-{i}", f"{i}.", q, lookup) for i, q in enumerate(t["closest"], 1)
        )
        return f"Closest passages to question {t['turn']} (no checked answer)", cards
    return "", ""


def _export(t: dict) -> str:
    return export_buttons(t["turn"], t.get("export_md", ""), t.get("export_json", ""))


def render_sources(turns: list[dict], lookup: ArticleLookup, selected: int | None = None) -> str:
    """Every answer's section, newest first; all but the selected one (default: the latest
    with sources) hidden, so the panel's heading always names the answer it shows."""
    sections = []
    for t in reversed(turns):
        title, cards = _cards(t, lookup)
        if not cards and not t.get("export_md"):
            continue
        sections.append((t, title or f"Answer {t['turn']}", cards))
    if not sections:
        return EMPTY_SOURCES
    chosen = selected if any(t["turn"] == selected for t, _, _ in sections) else sections[0][0]["turn"]
    blocks = []
    for t, title, cards in sections:
        question = t["question"] if len(t["question"]) <= 90 else t["question"][:87] + "…"
        heading = f'<h4>{esc(title)} <span class="nr-q">“{esc(question)}”</span></h4>'
        hidden = "" if t["turn"] == chosen else " hidden"
        blocks.append(
            f'<section class="nr-turn" data-turn="{t["turn"]}"{hidden}>{heading}{_export(t)}{cards}</section>'
        )
    others = len(blocks) - 1
    switch = (
        f'<div class="nr-note nr-scope">Showing one answer\'s sources; click a marker [n] in an earlier answer '
        f"to see its own ({others} earlier).</div>"
        if others
        else ""
    )
    return switch + "".join(blocks)
