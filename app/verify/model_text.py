"""What the model wrote, made safe and cut into sentences before it is checked."""

from __future__ import annotations

import re

from app.text.chunking import split_sentences

_ABSTAIN = re.compile(
    r"\bnot\s+found\b|\b(do|does|did)\s+not\s+(say|mention|contain|provide|specify|state|include|address|answer|"
    r"give|indicate|discuss)\b|\bno\s+(information|mention|details?|data)\b|\bnot\s+(mentioned|specified|provided|"
    r"stated|available|given|included|clear|indicated)\b|\bcannot\s+(answer|determine|find|be determined)\b|"
    r"\b(i\s+)?(don't|do not)\s+know\b|\bunable\s+to\s+(answer|determine|find)\b|\bthere\s+is\s+no\b.*\b(excerpt|"
    r"article|information|mention)",
    re.I,
)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_HTML = re.compile(r"<[^>]{0,200}>")
_MARKERS = re.compile(r"\[(?:\d+|source\s*\d+|[^\]]{0,40}\d{4})\]|\((?:source|excerpt)\s*\d+\)", re.I)
_LEAD = re.compile(r"^\s*(answer|response|final answer)\s*:\s*", re.I)


def clean_model_text(text: str) -> str:
    """Strip what must never reach a reader from model output: markup that a browser
    would fetch or run, invented citation markers, answer labels."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _HTML.sub("", text)
    text = _URL.sub("", text)
    text = _MARKERS.sub("", text)
    text = text.replace("**", "").replace("__", "")
    text = "\n".join(_LEAD.sub("", line) for line in text.splitlines())
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return text.strip()


def is_abstention(text: str) -> bool:
    return bool(_ABSTAIN.search(text))


def split_answer(text: str) -> list[str]:
    """Answer sentences; list bullets and line breaks separate sentences too."""
    text = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", text, flags=re.M)
    return [text[s.start : s.end].strip() for s in split_sentences(text) if text[s.start : s.end].strip()]
