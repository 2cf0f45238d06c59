"""Adding articles: pages and feeds from the web, and uploaded files, go into the corpus
folder first (the one source of truth of the index), then the usual incremental ingest
makes them citable.

Every URL, feed entry and file succeeds or fails on its own: a failure is recorded with
its reason and the rest go on. Nothing half-read is written to the corpus.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from app.config import Settings
from app.corpus.discover import SUPPORTED_SUFFIXES, discover
from app.corpus.fetch import Fetcher, check_url
from app.corpus.fields import url_site
from app.corpus.html import html_fields
from app.corpus.readers import load_article
from app.corpus.web import FeedEntry, article_path, feed_entries, house_markdown, save_article
from app.errors import CorpusError
from app.services.ingest import IngestReport, IngestService

UPLOAD_FOLDER = "uploads"
Progress = Callable[[str], None]


@dataclass
class AddReport:
    """What adding did: each article stored (``added``, ``updated``, ``unchanged``), each
    failure with its reason, each feed read, and the ingest that followed."""

    stored: list[dict] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    feeds: list[dict] = field(default_factory=list)
    ingest: IngestReport | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.stored if s["outcome"] == outcome)

    def as_dict(self) -> dict:
        return {
            "stored": self.stored,
            "failures": [{"source": s, "reason": r} for s, r in self.failures],
            "feeds": self.feeds,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        lines = [f"feed {f['url']}: {f['entries']} entries ({f['title']})" for f in self.feeds]
        lines.append(
            f"articles:  {self.count('added')} added, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged, {len(self.failures)} failed"
        )
        lines += [f"FAILED     {source}: {reason}" for source, reason in self.failures]
        if self.ingest is not None:
            lines.append(self.ingest.summary())
        return "\n".join(lines)


class ArticleAdder:
    """Fetches pages and feeds, or takes uploaded files, into the corpus, then ingests."""

    def __init__(self, settings: Settings, ingest: IngestService | None = None):
        self.settings = settings
        self.ingest = ingest or IngestService(settings)

    def from_web(
        self,
        urls: list[str] = (),
        feeds: list[str] = (),
        corpus_dir: Path | None = None,
        *,
        index: bool = True,
        progress: Progress | None = None,
        transport=None,
    ) -> AddReport:
        """Fetch every URL and every feed's entries into the corpus; then ingest it."""
        corpus_dir = Path(corpus_dir or self.settings.corpus_dir)
        report = AddReport()
        with Fetcher(self.settings, transport=transport) as fetcher:
            targets: list[tuple[str, FeedEntry | None]] = [(url, None) for url in urls]
            for feed_url in feeds:
                targets += self._feed_targets(fetcher, feed_url, report)
            seen: set[str] = set()
            for i, (url, entry) in enumerate(targets, start=1):
                if url in seen:
                    continue
                seen.add(url)
                if progress:
                    progress(f"fetching {i}/{len(targets)}: {url}")
                try:
                    report.stored.append(self._store_page(fetcher, url, entry, corpus_dir))
                except CorpusError as exc:
                    report.failures.append((exc.path, exc.reason))
        return self._index(report, corpus_dir, index, progress)

    def from_files(
        self,
        files: list[tuple[str, bytes]],
        corpus_dir: Path | None = None,
        *,
        index: bool = True,
        progress: Progress | None = None,
    ) -> AddReport:
        """Store uploaded files (name, bytes) under ``uploads/`` if every article in them
        reads; a file that does not is refused with the reasons and not stored."""
        corpus_dir = Path(corpus_dir or self.settings.corpus_dir)
        report = AddReport()
        for name, raw in files:
            try:
                report.stored.append(self._store_upload(name, raw, corpus_dir))
            except CorpusError as exc:
                report.failures.append((exc.path, exc.reason))
        return self._index(report, corpus_dir, index, progress)

    def _index(self, report: AddReport, corpus_dir: Path, index: bool, progress: Progress | None) -> AddReport:
        if index and report.stored:
            if progress:
                progress("indexing")
            report.ingest = self.ingest.run(corpus_dir, wait=True)
        return report

    def _feed_targets(self, fetcher: Fetcher, feed_url: str, report: AddReport) -> list[tuple[str, FeedEntry]]:
        try:
            fetched = fetcher.feed(feed_url)
            title, entries = feed_entries(fetched.body, feed_url, self.settings.feed_max_entries)
        except CorpusError as exc:
            report.failures.append((exc.path, exc.reason))
            return []
        report.feeds.append({"url": feed_url, "title": title, "entries": len(entries)})
        return [(urljoin(fetched.final_url, e.link), e) for e in entries]

    def _store_page(self, fetcher: Fetcher, url: str, entry: FeedEntry | None, corpus_dir: Path) -> dict:
        page = fetcher.page(url)
        fields = html_fields(page.text(), url, url=page.final_url)
        fields["url"] = _canonical(fields.get("url"), page.final_url)
        if entry is not None:  # what the feed says fills what the page does not
            fields["title"] = fields.get("title") or entry.title
            fields["published"] = fields.get("published") or entry.published or ""
            fields["author"] = fields.get("author") or entry.author
        fields["outlet"] = fields.get("outlet") or url_site(fields["url"]) or None  # apnews.com, not www.apnews.com
        n_words = len(fields["body"].split())
        if n_words < self.settings.web_min_words:
            raise CorpusError(
                url,
                f"not an article: {n_words} words of text (at least "
                f"{self.settings.web_min_words} expected, NEWSRAG_WEB_MIN_WORDS)",
            )
        if not fields.get("title"):
            raise CorpusError(url, "not an article: the page has no title")
        path = article_path(corpus_dir, fields["url"])
        outcome = save_article(path, house_markdown(fields))
        return {
            "source": url,
            "url": fields["url"],
            "path": path.relative_to(corpus_dir).as_posix(),
            "title": fields["title"],
            "published": fields.get("published") or "",
            "outcome": outcome,
        }

    def _store_upload(self, name: str, raw: bytes, corpus_dir: Path) -> dict:
        safe = Path(name or "").name.strip()
        suffix = Path(safe).suffix.lower()
        if not safe or safe.startswith((".", "_")):
            raise CorpusError(name or "(no name)", "the file has no usable name")
        if suffix not in SUPPORTED_SUFFIXES:
            raise CorpusError(safe, f"not an article file: use {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / safe).write_bytes(raw)
            found = discover(Path(tmp), int(self.settings.max_file_mb * 1_000_000))
            problems = [f"{f.path}: {f.reason}" for f in found.failures]
            titles = []
            for unit in found.units:
                try:
                    titles.append(load_article(unit, self.settings.default_outlet).title)
                except CorpusError as exc:
                    problems.append(f"{exc.path}: {exc.reason}")
            if problems or not titles:
                raise CorpusError(safe, "not stored: " + ("; ".join(problems) or "no article in the file"))
            target = corpus_dir / UPLOAD_FOLDER / safe
            outcome = (
                "unchanged"
                if target.exists() and target.read_bytes() == raw
                else ("updated" if target.exists() else "added")
            )
            if outcome != "unchanged":
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / safe, target.with_suffix(suffix + ".part"))
                target.with_suffix(suffix + ".part").replace(target)
        return {
            "source": safe,
            "path": target.relative_to(corpus_dir).as_posix(),
            "title": "; ".join(titles),
            "articles": len(titles),
            "outcome": outcome,
        }


def _canonical(declared: str | None, final_url: str) -> str:
    """The page's canonical URL when it is an absolute http(s) URL, else where it was fetched."""
    if declared:
        try:
            return check_url(urljoin(final_url, declared))
        except CorpusError:
            pass
    return final_url
