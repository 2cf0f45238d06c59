"""Read one article: Markdown with YAML front matter (the house format), plain ``.txt``
(first non-empty line is the title), ``.html``, or one ``.jsonl`` line."""

from __future__ import annotations

import json
import re

import yaml

from app.corpus.discover import SourceUnit, check_textual, decode_text
from app.corpus.fields import meta_str, parse_date, url_site
from app.corpus.html import html_fields
from app.domain import Article
from app.errors import CorpusError
from app.text.cleaning import clean_paragraphs, markdown_to_paragraphs, normalise_inline, paragraphs_from_lines


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date gets our message, not a crash."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)


def split_front_matter(text: str, source: str) -> tuple[dict, str]:
    """YAML front matter between ``---`` lines, and the body after it."""
    if not text.startswith("---"):
        return {}, text
    match = _FRONT_MATTER.match(text)
    if not match:
        raise CorpusError(source, "front matter is not closed by a '---' line")
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader) or {}
    except (yaml.YAMLError, ValueError) as exc:
        raise CorpusError(source, f"front matter is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(meta, dict):
        raise CorpusError(source, "front matter must be a mapping of fields")
    return meta, text[match.end() :]


# --- loaders --------------------------------------------------------------------


def load_article(unit: SourceUnit, default_outlet: str) -> Article:
    """Parse and clean one source unit; raises CorpusError with the reason."""
    warnings: list[str] = []
    if unit.suffix == ".jsonl":
        fields = _jsonl_fields(unit)
    else:
        text = decode_text(unit.raw, unit.source, warnings)
        check_textual(text, unit.source)
        if unit.suffix in (".md", ".markdown"):
            fields = _markdown_fields(text, unit.source)
        elif unit.suffix in (".html", ".htm"):
            fields = html_fields(text, unit.source)
        else:
            fields = _text_fields(text, unit.source)
    body = fields["body"]
    if not body:
        raise CorpusError(unit.source, "no article text after cleaning")
    title = fields.get("title") or ""
    if not title:
        raise CorpusError(unit.source, "article has no title")
    return Article(
        doc_id=unit.doc_id,
        title=title,
        outlet=fields.get("outlet") or unnamed_outlet(unit, fields.get("url"), default_outlet),
        published=fields.get("published") or "",
        text=body,
        source=unit.source,
        url=fields.get("url"),
        author=fields.get("author"),
        warnings=tuple(unit.warnings + warnings),
    )


def unnamed_outlet(unit: SourceUnit, url: str | None, default_outlet: str) -> str:
    """Who an article whose fields name no outlet is cited as: the site of its URL
    (``apnews.com``), else its file's name when that holds a word (``2025-07-putin-talks``; not
    a number or a hash such as ``005`` or ``9b22f5fd``), else ``default_outlet``."""
    stem = normalise_inline(unit.file_stem)
    return url_site(url) or (stem if _A_WORD.search(stem) else "") or default_outlet


_A_WORD = re.compile(r"[^\W\d_]{3}")  # three letters in a row


def _markdown_fields(text: str, source: str) -> dict:
    meta, body = split_front_matter(text, source)
    paragraphs = markdown_to_paragraphs(body)
    title = meta_str(meta, "title", source)
    if not title and paragraphs:
        title, paragraphs = normalise_inline(paragraphs[0]), paragraphs[1:]
    return {
        "title": title,
        "outlet": meta_str(meta, "outlet", source),
        "published": parse_date(meta.get("published", meta.get("date")), source),
        "url": meta_str(meta, "url", source),
        "author": meta_str(meta, "author", source),
        "body": clean_paragraphs(paragraphs),
    }


def _text_fields(text: str, source: str) -> dict:
    paragraphs = paragraphs_from_lines(text)
    if not paragraphs:
        raise CorpusError(source, "file has no text")
    return {"title": normalise_inline(paragraphs[0]), "body": clean_paragraphs(paragraphs[1:])}


_JSONL_BODY_KEYS = ("text", "body", "content")


def _jsonl_fields(unit: SourceUnit) -> dict:
    obj = json.loads(unit.raw)
    source = unit.source
    body = next((obj[k] for k in _JSONL_BODY_KEYS if k in obj), None)
    if not isinstance(body, str) or not body.strip():
        raise CorpusError(source, "article object has no 'text' (or 'body'/'content') string")
    return {
        "title": meta_str(obj, "title", source),
        "outlet": meta_str(obj, "outlet", source),
        "published": parse_date(obj.get("published", obj.get("date")), source),
        "url": meta_str(obj, "url", source),
        "author": meta_str(obj, "author", source),
        "body": clean_paragraphs(paragraphs_from_lines(body)),
    }
