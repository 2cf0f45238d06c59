"""Turn raw article text into the cleaned text that is indexed and quoted.

The cleaned text is the reference for every citation: chunk offsets and quote
offsets point into it, so cleaning must be deterministic (same input, same output)
and versioned (``CLEANER_VERSION`` is part of the index manifest).
"""

from __future__ import annotations

import re
import unicodedata

CLEANER_VERSION = "clean-v1"

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
# Spaces of every width become a plain space; zero-width characters go.
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MULTI_SPACE = re.compile(r" {2,}")

# Publisher furniture that is not part of the story. Matched against whole lines.
BOILERPLATE_PATTERNS = [
    r"download the .{0,40}\bapp\b.*",
    r"point (your )?phone('s)? camera here\.?",
    r"scan (the|this) qr code.*",
    r"(sign up|subscribe) (for|to) (our|the) .{0,40}newsletter.*",
    r"(share|email|print) this (article|story)\.?",
    r"(follow us|like us) on .{0,60}",
    r"advertisement\.?",
    r"(story|article) continues below( advertisement)?\.?",
    r"click here to .{0,80}",
    r"(read|see) more:.{0,200}",
    r"related (articles|stories|coverage):?",
    r"copyright \d{4}.{0,100}",
    r"all rights reserved\.?",
]
_BOILERPLATE = re.compile(r"^(?:" + "|".join(BOILERPLATE_PATTERNS) + r")$", re.IGNORECASE)


def normalise_inline(text: str) -> str:
    """Normalise characters inside one line: unicode form, quotes, spaces, controls."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_QUOTES)
    text = _ZERO_WIDTH.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    return _MULTI_SPACE.sub(" ", text).strip()


# A straight double quote that opens: at the start, after a space or an opening bracket.
_OPENING_QUOTE = re.compile(r'(?<![^\s(\[{])"')


def quotation(text: str) -> str:
    """The text as a quotation to paste: in typographic double quotes, its own double quotes
    (straight or typographic) made single, ``He said "no"`` -> ``“He said ‘no’”``."""
    inner = _OPENING_QUOTE.sub("\u2018", text.replace("\u201c", "\u2018").replace("\u201d", "\u2019"))
    return "\u201c" + inner.replace('"', "\u2019") + "\u201d"


_TYPED_INVALID = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def typed_line(text: str) -> str:
    """Text a user typed (a question, a claim) as one line: control characters and lone
    surrogates (invalid unicode) become spaces, runs of whitespace one space."""
    text = _TYPED_INVALID.sub(" ", text).encode("utf-8", "ignore").decode("utf-8")
    return re.sub(r"\s+", " ", text).strip()


def is_boilerplate(line: str) -> bool:
    """True for a line that is publisher furniture (app promos, QR prompts, ...)."""
    return bool(_BOILERPLATE.match(line.strip()))


def clean_paragraphs(paragraphs: list[str]) -> str:
    """Join paragraphs into the cleaned article text.

    Each paragraph is normalised; empty and boilerplate paragraphs are dropped;
    the rest are separated by one blank line.
    """
    kept = []
    for para in paragraphs:
        para = normalise_inline(para)
        if para and not is_boilerplate(para):
            kept.append(para)
    return "\n\n".join(kept)


def paragraphs_from_lines(text: str) -> list[str]:
    """Plain text: every non-empty line is a paragraph."""
    return [line for line in text.splitlines() if line.strip()]


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)(]|\([^)]*\))*\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_BLOCK_START = re.compile(r"^\s{0,3}(#{1,6}\s|[-*+]\s|\d+[.)]\s|>)")
_MD_LIST_OR_QUOTE = re.compile(r"^\s{0,3}(?:[-*+]\s+|\d+[.)]\s+|>\s?)")


def markdown_to_paragraphs(text: str) -> list[str]:
    """Markdown body to plain paragraphs.

    Headings, list items and quotes start paragraphs of their own; wrapped lines are
    joined. Images are dropped entirely (never rendered, never fetched), links keep
    only their text.
    """
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in text.splitlines():
        if not raw.strip():
            flush()
            continue
        if _MD_BLOCK_START.match(raw):
            flush()
        heading = _MD_HEADING.match(raw)
        line = heading.group(1) if heading else _MD_LIST_OR_QUOTE.sub("", raw)
        line = _MD_IMAGE.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_AUTOLINK.sub(r"\1", line)
        line = _MD_EMPHASIS.sub(r"\2", line)
        current.append(line.strip())
        if heading:
            flush()
    flush()
    return paragraphs
