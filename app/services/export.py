"""An answer as a journalist files it: the question and when it was asked, the answer and
its outcome, each quote with title, outlet, date, byline, URL and offsets, and what gave it:
the model (by its name, never where its file is) and the index (collection, version, when it
was updated, how many articles); as JSON (``export_dict``) and as Markdown
(``export_markdown``). The UI's Export buttons and ``ask --export`` use these."""

from __future__ import annotations

import datetime as dt

from app.answer.reply import Answer
from app.domain import IndexVersion, Quote
from app.text.dates import format_date

EXPORT_VERSION = 1


def asked_now() -> str:
    """The current time as the export records it (UTC, ISO 8601, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _quote(q: Quote, n: int | None = None) -> dict:
    out = {"n": n} if n is not None else {}
    return {**out, **q.as_dict()}


def export_dict(answer: Answer, asked_at: str, index_updated: str = "", *, index: IndexVersion | None = None) -> dict:
    """The answer with everything needed to check it, JSON-ready. ``index``: the index it was
    given from (``ArticleService.index_version``); without it, only ``index_updated`` is known."""
    index = index or IndexVersion(updated=index_updated)
    return {
        "newsrag_export": EXPORT_VERSION,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "asked_at": asked_at,
        "index_updated": index.updated,
        "index": index.as_dict(),
        "outcome": answer.outcome,
        "answer": answer.answer,
        "citations": [_quote(c.quote, c.n) for c in answer.citations],
        "closest": [_quote(q) for q in answer.closest],
        "model": answer.model,
    }


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def _md_index(index: dict) -> str:
    """ "Index: newsrag, 12 articles, version 3f9c…" (the parts known), or ""."""
    parts = [_md_escape(index["collection"])] if index["collection"] else []
    if index["articles"] is not None:
        parts.append(f"{index['articles']} article" + ("" if index["articles"] == 1 else "s"))
    if index["version"]:
        parts.append(f"version {index['version']}")
    return "Index: " + ", ".join(parts) if parts else ""


def _md_source(label: str, q: dict) -> list[str]:
    where = f"{q['doc_id']}, characters {q['start']}-{q['end']}"
    head = f"{label} *{_md_escape(q['title'])}*, {_md_escape(q['outlet'])}, {format_date(q['published'])}"
    lines = [f"{head} ({where})"]
    if q.get("url"):
        lines.append(f"   <{q['url']}>")
    lines.append("   > " + _md_escape(q["quote"]).replace("\n", " "))
    return lines


def export_markdown(
    answer: Answer, asked_at: str, index_updated: str = "", *, index: IndexVersion | None = None
) -> str:
    """The same as ``export_dict``, for pasting into notes or a story file."""
    data = export_dict(answer, asked_at, index_updated, index=index)
    lines = [f"## {_md_escape(data['question'])}", "", f"Asked {asked_at}"]
    if data["index_updated"]:
        lines[-1] += f"; index updated {data['index_updated']}"
    if line := _md_index(data["index"]):
        lines.append(line)
    if data["model"]:
        lines.append(f"Model: {_md_escape(data['model'])}")
    lines += [f"Outcome: {data['outcome']}", "", _md_escape(data["answer"]), ""]
    if data["citations"]:
        lines.append("### Sources")
        for q in data["citations"]:
            lines += _md_source(f"{q['n']}.", q)
    if data["closest"]:
        lines.append("### Closest passages (not a verified answer)")
        for i, q in enumerate(data["closest"], 1):
            lines += _md_source(f"{i}.", q)
    return "\n".join(lines).rstrip() + "\n"
