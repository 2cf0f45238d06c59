"""The examples /openapi.json and /docs show for every route of the HTTP API (the helpers
that document routes with them are in responses.py).

The examples are invented (the outlets "Example Gazette" and "Sample Herald" do not exist);
tests/test_ui_polish.py sends them to the app and checks they keep the keys of its responses.
"""

import json
from typing import Any

# --- the invented story every example tells -------------------------------------------------

DOC_ID = "2025-03/westport-harbour-fees"
TITLE = "Westport harbour fees to rise in April"
ARTICLE_TEXT = (
    "The Westport harbour board voted on Tuesday to raise mooring and landing fees by 4%. "
    "The new fees take effect on 1 April 2025. "
    "The board said the extra income would pay for dredging the outer channel, which has silted up since the "
    "winter storms."
)
QUESTION = "When do the new harbour fees in Westport take effect, and why are they rising?"
ANSWER = (
    "The new fees take effect on 1 April 2025 [1]. The board said the extra income would pay for dredging the "
    "outer channel, which has silted up since the winter storms [2]."
)


def _quote(start: int, end: int) -> dict:
    return {
        "doc_id": DOC_ID,
        "title": TITLE,
        "outlet": "Example Gazette",
        "published": "2025-03-14",
        "quote": ARTICLE_TEXT[start:end],
        "start": start,
        "end": end,
        "url": None,
        "author": "Dana Example",
    }


CITATIONS = [{"n": 1, **_quote(85, 126)}, {"n": 2, **_quote(127, 245)}]
SUMMARY = {
    "doc_id": DOC_ID,
    "title": TITLE,
    "outlet": "Example Gazette",
    "published": "2025-03-14",
    "n_chunks": 1,
    "url": None,
    "author": "Dana Example",
}
OTHER_SUMMARY = {
    "doc_id": "2025-03/trawler-costs",
    "title": "Trawler crews count the cost of dearer landings",
    "outlet": "Sample Herald",
    "published": "2025-03-18",
    "n_chunks": 2,
    "url": None,
    "author": None,
}
PASSAGE = {
    "id": "5f0c9a1e2b7d4c3a8e6f1b2d3c4a5e6f",
    "doc_id": DOC_ID,
    "title": TITLE,
    "outlet": "Example Gazette",
    "published": "2025-03-14",
    "start": 0,
    "end": len(ARTICLE_TEXT),
    "text": ARTICLE_TEXT,
    "score": 0.0328,
    "dense_rank": 1,
    "lexical_rank": 1,
    "dense_similarity": 0.6412,
}


def _sentence(n: int) -> dict:
    text = CITATIONS[n - 1]["quote"]
    return {
        "text": text,
        "supported": True,
        "citations": [n],
        "reason": "",
        "code": "quoted",
        "quoted": True,
        "probability": 0.97,
        "features": {"exact": 1.0, "q_cover": 0.83, "sim": 0.61},
        "shown": text,
        "lead": "",
    }


ASK_ANSWER = {
    "question": QUESTION,
    "standalone_question": QUESTION,
    "answer": ANSWER,
    "outcome": "answered",
    "abstained": False,
    "citations": CITATIONS,
    "sentences": [_sentence(1), _sentence(2)],
    "unsupported": [],
    "retrieved": [PASSAGE],
    "timings": {"retrieval_s": 0.041, "first_token_s": 1.82, "verify_s": 0.12, "total_s": 4.65},
    "model": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "draft": '{"sentence": 2, "answer": "The new fees take effect on 1 April 2025."}',
    "time_intent": "",
    "suppressed_instructions": 0,
    "context": f"[Example Gazette, 14 March 2025: {TITLE}]\n{ARTICLE_TEXT}",
    "closest": [],
    "short": "",
}
STREAM_EVENTS = "".join(
    json.dumps(event) + "\n"
    for event in (
        {"event": "stage", "name": "retrieving"},
        {"event": "stage", "name": "generating", "sources": 1},
        {"event": "token", "text": "The new fees take effect"},
        {"event": "token", "text": " on 1 April 2025."},
        {"event": "final", "answer": ASK_ANSWER},
    )
)
CLAIM = "Westport's harbour fees rise by 4% from April."
CLAIM_RESULT = {
    "claim": CLAIM,
    "verdict": "supported",
    "label": "Supported",
    "summary": "Supported, as of 14 March 2025 (the newest passage that bears on it): 1 passage says so "
    "(Example Gazette, 14 March 2025).",
    "as_of": "2025-03-14",
    "supporting": [
        {
            "relation": "supports",
            "reason": "Example Gazette, 14 March 2025, says the harbour board voted to raise mooring and landing "
            "fees by 4%.",
            "basis": "words",
            **_quote(0, 84),
            "coverage": 0.86,
            "similarity": 0.71,
            "score": 1.57,
        }
    ],
    "contradicting": [],
    "qualifying": [],
    "timings": {"embed_query_s": 0.012, "dense_s": 0.004, "lexical_s": 0.002, "judge_s": 0.031, "total_s": 0.05},
}
ARTICLES = {"count": 2, "articles": [OTHER_SUMMARY, SUMMARY]}
ARTICLE = {**SUMMARY, "text": ARTICLE_TEXT}
HEALTH = {
    "status": "ok",
    "ready": True,
    "index": {
        "collection": "newsrag",
        "embedding_model": "all-MiniLM-L6-v2",
        "chunks": 5312,
        "articles": 2231,
        "ready": True,
        "updated": "2025-03-18T09:41:07+00:00",
    },
    "model": {
        "backend": "llamacpp",
        "name": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "loaded": True,
        "ready": True,
    },
}
HEALTH_DOWN = {
    **HEALTH,
    "status": "unavailable",
    "ready": False,
    "model": {**HEALTH["model"], "loaded": False, "ready": False},
}
REPORT = {
    "docs_seen": 2231,
    "docs_added": 6,
    "docs_updated": 1,
    "docs_unchanged": 2224,
    "docs_removed": 0,
    "docs_failed": 0,
    "chunks_added": 15,
    "chunks_skipped": 0,
    "chunks_removed": 2,
    "chunks_total": 5312,
    "failures": [],
    "warnings": [],
    "ignored_files": [],
    "seconds": 2.41,
    "embed_seconds": 0.38,
    "chunks_per_s": 39.5,
}
INGESTED = {
    **REPORT,
    "summary": "documents: 2231 seen, 6 added, 1 updated, 2224 unchanged, 0 removed, 0 failed\n"
    "chunks:    15 added, 0 skipped, 2 removed, 5312 in the index\ntime:      2.4 s (40 chunks/s added)",
}
UPLOADED_REPORT = {
    **REPORT,
    "docs_seen": 2232,
    "docs_added": 1,
    "docs_updated": 0,
    "docs_unchanged": 2231,
    "chunks_added": 1,
    "chunks_removed": 0,
    "chunks_total": 5313,
    "seconds": 0.31,
    "chunks_per_s": 3.2,
}
STORED = {
    "source": "westport-harbour-fees.md",
    "path": "uploads/westport-harbour-fees.md",
    "title": TITLE,
    "articles": 1,
    "outcome": "added",
}
ADDED_FILES = {
    "stored": [STORED],
    "failures": [{"source": "notes.txt", "reason": "no article text: the file is empty"}],
    "feeds": [],
    "ingest": UPLOADED_REPORT,
    "summary": "articles:  1 added, 0 updated, 0 unchanged, 1 failed\n"
    "FAILED     notes.txt: no article text: the file is empty\n"
    "documents: 2232 seen, 1 added, 0 updated, 2231 unchanged, 0 removed, 0 failed",
}
WEB_PAGE = "https://news.example.com/2025/03/westport-harbour-fees"
ADDED_WEB = {
    **ADDED_FILES,
    "stored": [{**STORED, "source": WEB_PAGE, "path": "web/news.example.com/2025-03-westport-harbour-fees.md"}],
    "failures": [],
    "summary": "articles:  1 added, 0 updated, 0 unchanged, 0 failed\n"
    "documents: 2232 seen, 1 added, 0 updated, 2231 unchanged, 0 removed, 0 failed",
}
UPLOAD_BODY = (
    "--newsrag\r\n"
    'Content-Disposition: form-data; name="files"; filename="westport-harbour-fees.md"\r\n'
    "Content-Type: text/markdown\r\n\r\n"
    f'---\ntitle: "{TITLE}"\noutlet: "Example Gazette"\npublished: 2025-03-14\n---\n\n{ARTICLE_TEXT}\n'
    "\r\n--newsrag--\r\n"
)

# --- the OpenAI-compatible API ----------------------------------------------------------------

MODEL = {"id": "newsrag", "object": "model", "created": 1741939200, "owned_by": "newsrag"}
MODELS = {"object": "list", "data": [MODEL]}
MODEL_NOT_FOUND = {
    "error": {
        "message": "The model 'gpt-4o' does not exist; use 'newsrag'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
}
FOLLOW_UP = [
    {"role": "user", "content": "What did the Westport harbour board vote for?"},
    {"role": "assistant", "content": "It voted to raise mooring and landing fees by 4% [1]."},
    {"role": "user", "content": "When does that take effect?"},
]
CHAT_REQUESTS = {
    "question": {
        "summary": "A question",
        "value": {"model": "newsrag", "messages": [{"role": "user", "content": QUESTION}]},
    },
    "follow_up": {
        "summary": "A follow-up, filtered to one outlet, streamed",
        "value": {
            "model": "newsrag",
            "messages": FOLLOW_UP,
            "stream": True,
            "outlets": ["Example Gazette"],
            "date_from": "2025-03-01",
        },
    },
}
CHAT_EXTRAS = {"citations": CITATIONS, "abstained": False, "outcome": "answered", "closest": []}
CHAT_COMPLETION = {
    "id": "chatcmpl-3f9a0c2d5b8e4f1a9c7d6e5b4a3f2e1d",
    "object": "chat.completion",
    "created": 1741939260,
    "model": "newsrag",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    **CHAT_EXTRAS,
}


def _chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": CHAT_COMPLETION["id"], "object": "chat.completion.chunk", "created": 1741939260}
    return f"data: {json.dumps({**body, 'model': 'newsrag', 'choices': [choice], **extra})}\n\n"


CHAT_STREAM = (
    _chunk({"role": "assistant", "content": ""})
    + _chunk({"reasoning_content": "The new fees take effect on 1 April 2025."})
    + _chunk({"content": ANSWER})
    + _chunk({}, "stop", **CHAT_EXTRAS)
    + "data: [DONE]\n\n"
)

# --- helpers for the route decorators -----------------------------------------------------------


ASK_REQUESTS = [
    {"question": QUESTION},
    {
        "question": "What did the board say about dredging?",
        "outlets": ["Example Gazette", "Sample Herald"],
        "date_from": "2025-03-01",
        "date_to": "2025-03-31",
    },
    {
        "question": "How much will that cost a trawler?",
        "history": [["Why are Westport's harbour fees rising?", "To pay for dredging the outer channel [1]."]],
    },
]
CLAIM_REQUESTS = [{"claim": CLAIM}, {"claim": CLAIM, "outlets": ["Sample Herald"], "date_from": "2025-03-15"}]
INGEST_REQUESTS = [{"corpus": "/data/news"}, {"urls": [WEB_PAGE], "feeds": ["https://news.example.com/rss.xml"]}]
