"""Find the articles of a corpus folder: one per file (Markdown, text, HTML), or one
per line of a JSONL file. A document's id is its path relative to the corpus root
without extension (``bbc/business/001``); a JSONL article adds its ``id`` field or
line number (``feeds/wire/17``).

Discovery is cheap (read bytes, hash); parsing happens only for articles whose hash
changed, so re-ingesting an unchanged corpus does not re-parse it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from app.errors import CorpusError
from app.text.cleaning import CLEANER_VERSION

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".jsonl"}
# Files in a corpus folder that are about the corpus, not articles in it.
_IGNORED_NAMES = re.compile(r"^(readme|license|licence|changelog)(\..*)?$", re.IGNORECASE)


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

    @property
    def file_stem(self) -> str:
        """The name of the article's file without folders and suffix (``2025-07-putin-talks``;
        for a line of ``feeds/wire.jsonl``, ``wire``)."""
        path = self.source.rsplit(":", 1)[0] if self.line_no is not None else self.source
        return PurePosixPath(path).stem


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


def check_textual(text: str, source: str) -> None:
    sample = text[:20000]
    if not sample:
        return
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t") or 0xFFF0 <= ord(ch) <= 0xFFFF)
    if bad / len(sample) > 0.02:
        raise CorpusError(source, "binary file (too many control characters), not text")
