"""The Corpus tab's "Add articles" panel: page URLs, feed URLs and file uploads go into
the corpus and the index; the new articles are citable as soon as it finishes.

Adding is an admin action (app/services/admin.py): allowed from this machine, or with
the admin token typed in the panel; anyone else is told why not, and nothing is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from app.adapters.ui.render import esc
from app.services.admin import admin_refusal
from app.services.web_ingest import AddReport
from app.wiring import Services

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".md", ".txt", ".html", ".htm", ".jsonl"]
MAX_URLS = 200


@dataclass
class AddPanel:
    urls: gr.Textbox
    feeds: gr.Textbox
    files: gr.File
    token: gr.Textbox
    add: gr.Button
    result: gr.HTML


def add_panel() -> AddPanel:
    with gr.Accordion("Add articles (admin)", open=False, elem_id="nr-add"):
        gr.Markdown(
            "Fetch article pages or every entry of an RSS/Atom feed, or upload files (.md, .txt, .html, .jsonl). "
            "They are stored in the corpus folder and indexed; each failure is listed with its reason."
        )
        with gr.Row():
            urls = gr.Textbox(label="Article URLs (one per line)", lines=3, elem_id="nr-add-urls", scale=1)
            feeds = gr.Textbox(label="Feed URLs (one per line)", lines=3, elem_id="nr-add-feeds", scale=1)
        with gr.Row():
            files = gr.File(
                label="Files",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                type="filepath",
                elem_id="nr-add-files",
                scale=2,
            )
            with gr.Column(scale=1):
                token = gr.Textbox(
                    label="Admin token (only needed from another machine)", type="password", elem_id="nr-add-token"
                )
                add = gr.Button("Add articles", variant="primary", elem_id="nr-add-button")
        result = gr.HTML(elem_id="nr-add-result", js_on_load=None)
    return AddPanel(urls, feeds, files, token, add, result)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()][:MAX_URLS]


class AddHandler:
    def __init__(self, services: Services):
        self.services = services

    def add(self, urls: str, feeds: str, files, token: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Check the admin rule, fetch or store, ingest; return the summary as HTML."""
        client = request.client.host if request is not None and request.client else ""
        refusal = admin_refusal(self.services.settings, client, (token or "").strip())
        if refusal:
            return _box("refused", esc(refusal))
        pages, feed_urls = _lines(urls), _lines(feeds)
        uploads = [Path(f) for f in (files or [])]
        if not (pages or feed_urls or uploads):
            return _box("refused", "Give a page URL, a feed URL or a file to add.")

        def say(message: str) -> None:
            progress(None, desc=message)

        reports = []
        try:
            if pages or feed_urls:
                reports.append(self.services.adder.from_web(pages, feed_urls, progress=say))
            if uploads:
                payload = [(p.name, p.read_bytes()) for p in uploads]
                reports.append(self.services.adder.from_files(payload, progress=say))
        except Exception as exc:  # the summary says what went wrong; what was stored stays stored
            log.warning("adding articles failed", exc_info=exc)
            return _box("refused", esc(f"Adding stopped: {exc}"))
        return "".join(render_report(r) for r in reports)


def render_report(report: AddReport) -> str:
    rows = "".join(
        f"<li><b>{esc(s['outcome'])}</b> {esc(s['title'])} <span class='nr-meta'>({esc(s['path'])})</span></li>"
        for s in report.stored
    )
    failed = "".join(f"<li><b>failed</b> {esc(src)}: {esc(reason)}</li>" for src, reason in report.failures)
    feeds = "".join(f"<li>feed {esc(f['title'])}: {f['entries']} entries</li>" for f in report.feeds)
    ingest = report.ingest
    indexed = (
        f"<p>Index: {ingest.docs_added} added, {ingest.docs_updated} updated, {ingest.chunks_total} chunks in all; "
        "the new articles can be cited now.</p>"
        if ingest is not None
        else ""
    )
    kind = "done" if not report.failures else ("partial" if report.stored else "refused")
    return _box(kind, f"<ul>{feeds}{rows}{failed}</ul>{indexed}")


def _box(kind: str, inner: str) -> str:
    return f"<div class='nr-add-report nr-add-{kind}'>{inner}</div>"


def wire_add_panel(panel: AddPanel, handler: AddHandler, refresh: tuple) -> None:
    """The Add button runs in its own queue group; the corpus list refreshes after it."""
    inputs = [panel.urls, panel.feeds, panel.files, panel.token]
    event = panel.add.click(
        handler.add, inputs, [panel.result], api_visibility="private", concurrency_id="adding", concurrency_limit=1
    )
    event.then(*refresh, api_visibility="private")
