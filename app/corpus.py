"""Read articles from a corpus folder.

One article per file: Markdown with YAML front matter (the house format), plain
``.txt`` (first non-empty line is the title), ``.html``, or ``.jsonl`` (one article
object per line). A document's id is its path relative to the corpus root without
extension (``bbc/business/001``); a JSONL article adds its ``id`` field or line
number (``feeds/wire/17``).

Discovery is cheap (read bytes, hash); parsing happens only for articles whose hash
changed, so re-ingesting an unchanged corpus does not re-parse it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.cleaning import (
    CLEANER_VERSION,
    clean_paragraphs,
    markdown_to_paragraphs,
    normalise_inline,
    paragraphs_from_lines,
)
from app.errors import CorpusError

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".jsonl"}
# Files in a corpus folder that are about the corpus, not articles in it.
_IGNORED_NAMES = re.compile(r"^(readme|license|licence|changelog)(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Article:
    """One cleaned article, ready to chunk. ``text`` is what citations quote."""

    doc_id: str
    title: str
    outlet: str
    published: dt.date | None
    text: str
    source: str
    url: str | None = None
    author: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class SourceUnit:
    """Raw bytes that become one article: a file, or one line of a JSONL file."""

    doc_id: str
    source: str  # path relative to the corpus root, plus ":LINE" for JSONL
    suffix: str
    raw: bytes
    content_hash: str
    line_no: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Discovery:
    """The result of scanning a corpus folder."""

    units: list[SourceUnit]
    failures: list[CorpusError]
    ignored: list[str]


def content_hash(raw: bytes) -> str:
    """Stable hash of an article's raw bytes and of the cleaner that will read them."""
    return hashlib.sha256(CLEANER_VERSION.encode() + b"\0" + raw).hexdigest()[:32]


def discover(corpus_dir: Path, max_bytes: int) -> Discovery:
    """Find every article under ``corpus_dir``; unreadable files become failures."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(str(corpus_dir), "corpus folder does not exist")
    units: list[SourceUnit] = []
    failures: list[CorpusError] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(corpus_dir).as_posix()
        if any(part.startswith((".", "_")) for part in path.relative_to(corpus_dir).parts):
            continue
        if _IGNORED_NAMES.match(path.name) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            ignored.append(rel)
            continue
        suffix = path.suffix.lower()
        try:
            found = list(_read_units(path, rel, suffix, max_bytes))
        except CorpusError as exc:
            failures.append(exc)
            continue
        for unit in found:
            if isinstance(unit, CorpusError):
                failures.append(unit)
                continue
            if unit.doc_id in seen:
                failures.append(
                    CorpusError(unit.source, f"duplicate document id {unit.doc_id!r} (also {seen[unit.doc_id]})")
                )
                continue
            seen[unit.doc_id] = unit.source
            units.append(unit)
    return Discovery(units=units, failures=failures, ignored=ignored)


def _read_units(path: Path, rel: str, suffix: str, max_bytes: int) -> Iterator[SourceUnit | CorpusError]:
    doc_id = rel[: -len(path.suffix)] if path.suffix else rel
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorpusError(rel, f"cannot read file: {exc.strerror or exc}") from exc
    if suffix == ".jsonl":
        yield from _read_jsonl_units(path, rel, doc_id, max_bytes)
        return
    if size > max_bytes:
        raise CorpusError(
            rel, f"file is {size / 1e6:.1f} MB, above the {max_bytes / 1e6:.0f} MB limit (NEWSRAG_MAX_FILE_MB)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(rel, f"cannot read file: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise CorpusError(rel, "file is empty")
    yield SourceUnit(doc_id=doc_id, source=rel, suffix=suffix, raw=raw, content_hash=content_hash(raw))


def _read_jsonl_units(path: Path, rel: str, doc_id: str, max_bytes: int) -> Iterator[SourceUnit | CorpusError]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CorpusError(rel, f"cannot read file: {exc.strerror or exc}") from exc
    with handle:
        any_line = False
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            any_line = True
            where = f"{rel}:{line_no}"
            if len(line) > max_bytes:
                yield CorpusError(where, f"line is {len(line) / 1e6:.1f} MB, above the limit (NEWSRAG_MAX_FILE_MB)")
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield CorpusError(where, f"malformed JSON line: {exc}")
                continue
            if not isinstance(obj, dict):
                yield CorpusError(where, "JSON line is not an object")
                continue
            key = obj.get("id", line_no)
            if not isinstance(key, (str, int)) or not str(key).strip() or "/" in str(key):
                yield CorpusError(where, f"invalid article id {key!r}")
                continue
            yield SourceUnit(
                doc_id=f"{doc_id}/{str(key).strip()}",
                source=where,
                suffix=".jsonl",
                raw=line,
                content_hash=content_hash(line),
                line_no=line_no,
            )
        if not any_line:
            raise CorpusError(rel, "file is empty")


# --- decoding -------------------------------------------------------------------

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def decode_text(raw: bytes, source: str, warnings: list[str]) -> str:
    """Decode article bytes: UTF-8 (with or without BOM); a file with no UTF-8 at
    all is read as Windows-1252, which is what such old news files are."""
    if b"\x00" in raw[:65536]:
        raise CorpusError(source, "binary file (contains NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3:
            warnings.append(f"{source}: truncated UTF-8 character at the end was dropped")
            return raw[: exc.start].decode("utf-8-sig")
        if _UTF8_MULTIBYTE.search(raw):
            raise CorpusError(source, f"invalid UTF-8 at byte {exc.start} (mixed encodings)") from exc
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc2:
            raise CorpusError(source, f"not UTF-8 and not Windows-1252 (byte {exc2.start})") from exc2
        warnings.append(f"{source}: not UTF-8; decoded as Windows-1252")
        return text


def _check_textual(text: str, source: str) -> None:
    sample = text[:20000]
    if not sample:
        return
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t") or 0xFFF0 <= ord(ch) <= 0xFFFF)
    if bad / len(sample) > 0.02:
        raise CorpusError(source, "binary file (too many control characters), not text")


# --- metadata -------------------------------------------------------------------


def parse_date(value: object, source: str, field_name: str = "published") -> dt.date | None:
    """An ISO date (``2025-04-22``) or datetime; anything else is an error."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.match(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])", text):
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
    raise CorpusError(source, f"{field_name} {value!r} is not an ISO date (YYYY-MM-DD)")


def _meta_str(meta: dict, key: str, source: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise CorpusError(source, f"front matter field {key!r} must be text")
    text = normalise_inline(str(value))
    return text or None


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
        _check_textual(text, unit.source)
        if unit.suffix in (".md", ".markdown"):
            fields = _markdown_fields(text, unit.source)
        elif unit.suffix in (".html", ".htm"):
            from app.html_text import html_fields

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
        outlet=fields.get("outlet") or default_outlet,
        published=fields.get("published"),
        text=body,
        source=unit.source,
        url=fields.get("url"),
        author=fields.get("author"),
        warnings=tuple(unit.warnings + warnings),
    )


def _markdown_fields(text: str, source: str) -> dict:
    meta, body = split_front_matter(text, source)
    paragraphs = markdown_to_paragraphs(body)
    title = _meta_str(meta, "title", source)
    if not title and paragraphs:
        title, paragraphs = normalise_inline(paragraphs[0]), paragraphs[1:]
    return {
        "title": title,
        "outlet": _meta_str(meta, "outlet", source),
        "published": parse_date(meta.get("published", meta.get("date")), source),
        "url": _meta_str(meta, "url", source),
        "author": _meta_str(meta, "author", source),
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
        "title": _meta_str(obj, "title", source),
        "outlet": _meta_str(obj, "outlet", source),
        "published": parse_date(obj.get("published", obj.get("date")), source),
        "url": _meta_str(obj, "url", source),
        "author": _meta_str(obj, "author", source),
        "body": clean_paragraphs(paragraphs_from_lines(body)),
    }
