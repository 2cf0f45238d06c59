"""Metadata fields of an article file: dates and text values, with the file's name in
every error."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.errors import CorpusError
from app.text.cleaning import normalise_inline
from app.text.dates import parse_iso_date


def parse_date(value: object, source: str, field_name: str = "published") -> str:
    """An ISO date (``2025-04-22``) or datetime as ISO text ("" when absent); anything
    else is a CorpusError naming the file."""
    try:
        day = parse_iso_date(value)
    except ValueError as exc:
        raise CorpusError(source, f"{field_name} {value!r} is not an ISO date (YYYY-MM-DD)") from exc
    return day.isoformat() if day else ""


def meta_str(meta: dict, key: str, source: str) -> str | None:
    """A text field of front matter or a JSON object, normalised; None when absent."""
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise CorpusError(source, f"front matter field {key!r} must be text")
    text = normalise_inline(str(value))
    return text or None


def url_site(url: str | None) -> str:
    """The site of an http(s) URL, its host without ``www.`` (``https://www.apnews.com/a`` ->
    ``apnews.com``); "" when there is no such URL."""
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname or ""
    except ValueError:  # a malformed URL (a bad port, brackets) names no site
        return ""
    return host.removeprefix("www.") if parts.scheme.lower() in ("http", "https") else ""
