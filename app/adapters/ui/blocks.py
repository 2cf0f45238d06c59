"""The chat UI (Gradio): chat with verified citations, a sources panel, claim check and
the corpus view.

``build_ui(services)`` returns a ``gr.Blocks``; nothing happens at import time. The
server mounts it on the FastAPI app with the CSS and script of assets.py.

Concurrency: answering runs in the ``llm`` concurrency group (one generation at a time;
Gradio's queue shows a waiting user their position); the light events (echoing the
question, filters, the corpus list, reading an article) run in their own group so they
are never stuck behind a generation; claim checks (retrieval only) in a third.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import gradio as gr

from app.adapters.ui.adding import AddHandler, AddPanel, add_panel, wire_add_panel
from app.adapters.ui.handlers import Handlers
from app.adapters.ui.render import (
    CORPUS_HEADERS,
    EMPTY_SOURCES,
    render_article,
)
from app.wiring import Services

log = logging.getLogger(__name__)

LLM_GROUP = "llm"
LIGHT_GROUP = "light"
CLAIM_GROUP = "claims"
LIGHT_LIMIT = 8
CLAIM_LIMIT = 2
QUEUE_MAX_SIZE = 64


@dataclass
class Page:
    """The components the events connect."""

    turns: gr.State
    index_status: gr.HTML
    outlets: gr.Dropdown
    date_from: gr.Textbox
    date_to: gr.Textbox
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    stop: gr.Button
    example_buttons: list[gr.Button]
    clear: gr.Button
    sources: gr.HTML
    claim: gr.Textbox
    check: gr.Button
    claim_buttons: list[gr.Button]
    claim_out: gr.HTML
    corpus_tab: gr.Tab
    corpus_summary: gr.HTML
    corpus_table: gr.Dataframe
    reader: gr.HTML
    open_doc: tuple[gr.Textbox, gr.Button]
    add_panel: AddPanel


def build_ui(
    services: Services,
    *,
    examples: list[str] | None = None,
    claim_examples: list[str] | None = None,
    title: str = "newsrag: cited answers from news articles",
) -> gr.Blocks:
    """The whole UI, wired to the given services. Nothing is run until a user acts.
    Example questions and claims come from the corpus (``ArticleService.examples``)."""
    handlers = Handlers(services)
    found = services.articles.examples()
    examples = found.questions if examples is None else examples
    claim_examples = found.claims if claim_examples is None else claim_examples
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        limit = services.settings.max_question_chars
        page = _layout(services.articles.outlets(), examples, claim_examples, limit)
        _wire_chat(page, handlers, examples)
        _wire_claims(page, handlers, claim_examples)
        _wire_corpus(page, handlers, demo)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_MAX_SIZE)
    return demo


def _layout(outlet_choices: list[str], examples: list[str], claim_examples: list[str], limit: int) -> Page:
    turns = gr.State([])
    gr.Markdown(
        "## newsrag\nAsk about the indexed news articles in your own words. Every answer is checked against "
        "the articles and cited with an exact quote.",
        elem_id="nr-intro",
    )
    # the corpus card: what the articles are, from whom, over which dates (filled on load and ingest)
    index_status = gr.HTML(elem_id="nr-index-status", js_on_load=None)
    filters_title = "Filters: outlet and publication date (used by the chat, claim check and corpus)"
    with gr.Accordion(filters_title, open=False), gr.Row():
        outlets = gr.Dropdown(
            choices=outlet_choices,
            value=[],
            multiselect=True,
            label="Outlets (none selected: all)",
            elem_id="nr-outlets",
            scale=2,
        )
        date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="nr-from", scale=1)
        date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", elem_id="nr-to", scale=1)
    with gr.Tabs():
        with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
            chat = _chat_column(examples, limit)
            with gr.Column(scale=2, elem_id="nr-sources-col"):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, label="sources", elem_id="nr-sources", js_on_load=None)
        with gr.Tab("Claim check", id="claims"):
            claim_parts = _claim_tab(claim_examples)
        with gr.Tab("Corpus", id="corpus") as corpus_tab:
            corpus_summary, adding, corpus_table, reader, open_doc = _corpus_tab()
    return Page(
        turns,
        index_status,
        outlets,
        date_from,
        date_to,
        *chat,
        sources,
        *claim_parts,
        corpus_tab,
        corpus_summary,
        corpus_table,
        reader,
        open_doc,
        adding,
    )


def _corpus_tab():
    """The corpus list beside the article reader, under the Add articles panel."""
    corpus_summary = gr.HTML(label="summary", elem_id="nr-corpus-summary", js_on_load=None)
    adding = add_panel()
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            corpus_table = gr.Dataframe(
                headers=CORPUS_HEADERS,
                datatype="str",
                column_widths=["12%", "15%", "10%", "37%", "10%", "16%"],
                interactive=False,
                wrap=True,
                elem_id="nr-corpus",
                max_height=520,
                label="Articles (click one to read it)",
            )
        with gr.Column(scale=2):
            reader = gr.HTML(render_article(None), elem_id="nr-reader", js_on_load=None)
    # a tap on an article in the phone's list (corpus_list): the page script puts its id in the
    # box and clicks the button (a script's input event on the box alone runs no event)
    with gr.Row(elem_classes=["nr-offscreen"]):
        open_doc = gr.Textbox(show_label=False, container=False, elem_id="nr-open-doc")
        open_button = gr.Button("Open", elem_id="nr-open-button")
    return corpus_summary, adding, corpus_table, reader, (open_doc, open_button)


def _chat_column(examples: list[str], limit: int):
    with gr.Column(scale=3):
        chatbot = gr.Chatbot(
            label="Conversation",
            show_label=False,  # a floating label covered the top message
            elem_id="nr-chat",
            height=460,  # with the corpus card above, the input and Ask stay on a 900 px screen
            render_markdown=False,  # our own escaped HTML; markdown would turn ![](..) into <img>
            sanitize_html=True,
            latex_delimiters=[],
            allow_tags=False,
            buttons=[],
            feedback_options=None,
            placeholder="Ask a question about the news articles, or pick an example below.",
        )
        with gr.Row():
            question = gr.Textbox(
                show_label=False,
                placeholder="Ask a question about the articles…",
                scale=5,
                elem_id="nr-question",
                max_lines=4,
                max_length=limit,  # the page script shows the count against it (nr-counter)
                autofocus=True,
                elem_classes=[f"nr-limit-{limit}"],
            )
            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-ask")
            stop = gr.Button("Stop", variant="stop", scale=1, elem_id="nr-stop", visible=False)
        with gr.Row(elem_id="nr-examples"):
            example_buttons = [gr.Button(q, size="sm", elem_classes=["nr-example"]) for q in examples]
        clear = gr.Button("New conversation", size="sm", variant="secondary")
    return chatbot, question, ask, stop, example_buttons, clear


def _claim_tab(claim_examples: list[str]):
    gr.Markdown(
        "Paste a claim to see which passages of the indexed articles support it and which "
        "contradict or qualify it, each with its exact quote and date."
    )
    with gr.Row():
        claim = gr.Textbox(
            show_label=False,
            placeholder="e.g. The company's profits rose by 10% last year.",
            scale=5,
            lines=2,
            elem_id="nr-claim",
        )
        check = gr.Button("Check claim", variant="primary", scale=1, elem_id="nr-check")
    with gr.Row():
        claim_buttons = [gr.Button(c, size="sm", elem_classes=["nr-example"]) for c in claim_examples]
    claim_out = gr.HTML(label="claim check", elem_id="nr-claim-result", js_on_load=None)
    return claim, check, claim_buttons, claim_out


LIGHT = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": LIGHT_LIMIT}
PRIVATE = {"api_visibility": "private"}


def _wire_chat(page: Page, handlers: Handlers, examples: list[str]) -> None:
    filter_inputs = [page.outlets, page.date_from, page.date_to]
    answer_kwargs = {
        "fn": handlers.respond,
        "inputs": [page.question, page.turns, *filter_inputs],
        "outputs": [page.chatbot, page.sources, page.turns, page.question],
        "concurrency_id": LLM_GROUP,
        "concurrency_limit": handlers.answer_slots,
        "show_progress": "minimal",
    }
    lock = [page.chatbot, page.question, page.ask, page.stop]
    waiting = (handlers.show_waiting, [page.question, page.turns], lock)
    unlock = (handlers.unlock, None, [page.question, page.ask, page.stop])
    answering = [
        page.ask.click(*waiting, **PRIVATE, **LIGHT).then(api_name="chat", **answer_kwargs),
        page.question.submit(*waiting, **PRIVATE, **LIGHT).then(**PRIVATE, **answer_kwargs),
    ]
    for button, text in zip(page.example_buttons, examples, strict=True):
        answering.append(
            button.click(lambda t=text: t, None, [page.question], **PRIVATE, **LIGHT)
            .then(*waiting, **PRIVATE, **LIGHT)
            .then(**PRIVATE, **answer_kwargs)
        )
    for event in answering:
        event.then(*unlock, **PRIVATE, **LIGHT)
    # Stop is handled by the answer itself (not Gradio's cancels, which left the session's next
    # event unrun): respond sees the flag at its next event, closes the stream and says so
    page.stop.click(handlers.stop, None, None, **PRIVATE, **LIGHT)
    cleared = [page.chatbot, page.sources, page.turns, page.question]
    page.clear.click(handlers.clear, None, cleared, **PRIVATE, **LIGHT)
    page.chatbot.clear(handlers.clear, None, cleared, **PRIVATE, **LIGHT)


def _wire_claims(page: Page, handlers: Handlers, claim_examples: list[str]) -> None:
    claim_kwargs = {
        "fn": handlers.check_claim,
        "inputs": [page.claim, page.outlets, page.date_from, page.date_to],
        "outputs": [page.claim_out],
        "concurrency_id": CLAIM_GROUP,
        "concurrency_limit": CLAIM_LIMIT,
    }
    page.check.click(api_name="check_claim", **claim_kwargs)
    page.claim.submit(**PRIVATE, **claim_kwargs)
    for button, text in zip(page.claim_buttons, claim_examples, strict=True):
        button.click(lambda t=text: t, None, [page.claim], **PRIVATE, **LIGHT).then(**PRIVATE, **claim_kwargs)


def _wire_corpus(page: Page, handlers: Handlers, demo: gr.Blocks) -> None:
    filter_inputs = [page.outlets, page.date_from, page.date_to]
    corpus_outputs = [page.corpus_summary, page.corpus_table]
    page_outputs = [*corpus_outputs, page.outlets, page.index_status]
    demo.load(handlers.load_page, filter_inputs, page_outputs, **PRIVATE, **LIGHT)
    page.corpus_tab.select(handlers.corpus_view, filter_inputs, corpus_outputs, api_name="corpus", **LIGHT)
    page.outlets.change(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
    for box in (page.date_from, page.date_to):
        box.submit(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
        box.blur(handlers.corpus_view, filter_inputs, corpus_outputs, **PRIVATE, **LIGHT)
    page.corpus_table.select(handlers.open_article, [page.corpus_table], [page.reader], **PRIVATE, **LIGHT)
    doc_box, open_button = page.open_doc
    open_button.click(handlers.open_by_id, [doc_box], [page.reader], **PRIVATE, **LIGHT)
    refresh = (handlers.load_page, filter_inputs, page_outputs)
    wire_add_panel(page.add_panel, AddHandler(handlers.services), refresh)
