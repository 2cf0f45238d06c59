"""Articles from the web into the corpus folder: a fetched page becomes a Markdown file in
the house format (front matter with title, outlet, date, author and URL), one folder per
site, so the corpus folder stays the one source of truth of the index.

A page's file is named after its canonical URL, so fetching it again finds the same file:
an unchanged page leaves the file as it is (the ingest then skips it), a changed page
rewrites it (the ingest replaces its chunks).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from app.corpus.fetch import FetchError

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class FeedEntry:
    """A feed item: its link, and what the feed says of it (used when the page does not)."""

    link: str
    title: str | None = None
    published: str | None = None
    author: str | None = None


def feed_entries(xml: bytes, url: str, limit: int) -> tuple[str, list[FeedEntry]]:
    """The feed's title and its first ``limit`` entries with a link (RSS 2.0, Atom, RDF)."""
    import feedparser

    parsed = feedparser.parse(xml, sanitize_html=False, resolve_relative_uris=False)
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or next((lk.get("href") for lk in entry.get("links", []) if lk.get("href")), None)
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = time.strftime("%Y-%m-%d", stamp) if stamp else None
        entries.append(FeedEntry(link.strip(), entry.get("title"), published, entry.get("author")))
        if len(entries) >= limit:
            break
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        error = parsed.get("bozo_exception")
        reason = str(error.args[0] if error is not None and error.args else "no RSS or Atom elements")
        raise FetchError(url, f"not an RSS or Atom feed ({reason})")
    return parsed.feed.get("title") or url, entries


def site_folder(url: str) -> str:
    """The folder of a site: its host without ``www.`` (and the port, if any)."""
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    name = host if parts.port is None else f"{host}_{parts.port}"
    return re.sub(r"[^a-z0-9._-]", "_", name)


def article_path(corpus_dir: Path, url: str) -> Path:
    """Where the article of a URL lives in the corpus: ``<site>/<slug>-<hash>.md``; the
    hash of the whole URL keeps two pages with the same last path segment apart."""
    parts = urlsplit(url)
    segment = parts.path.rstrip("/").rpartition("/")[2].rsplit(".", 1)[0]
    slug = _SLUG.sub("-", segment.lower()).strip("-")[:60] or "index"
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return Path(corpus_dir) / "web" / site_folder(url) / f"{slug}-{digest}.md"


def house_markdown(fields: dict) -> str:
    """The article as the corpus's Markdown: front matter, then paragraphs."""
    meta = {
        key: fields[key]
        for key in ("title", "outlet", "published", "author", "url")
        if fields.get(key)  # an unknown field is left out, not written as empty
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000).strip()
    return f"---\n{front}\n---\n\n{fields['body']}\n"


def save_article(path: Path, text: str) -> str:
    """Write the file if it is new or changed: ``added``, ``updated`` or ``unchanged``."""
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return "unchanged"
        outcome = "updated"
    else:
        outcome = "added"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return outcome
