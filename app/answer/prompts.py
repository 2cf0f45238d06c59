"""Every prompt of the answer path, in one place: the span reader's, the follow-up
rewrite's and the arithmetic call's, with the worked examples each one shows the model and
the JSON schema each reply is held to. ``fingerprint`` hashes them all (the answer cache's
key carries it, so a changed prompt never serves an answer written under the old one).

The worked examples are invented, not from any corpus; they sit before the real question,
so llama.cpp's prefix cache evaluates them once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from app.answer.context import SourceSentence
from app.text.dates import format_date
from app.text.injection import without_instructions

# --- the span reader --------------------------------------------------------------------------

READER_SYSTEM = (
    "You answer questions about the news from numbered sentences of news articles. "
    'Reply with JSON: {"sentence": N, "answer": "..."}. N is the number of the sentence that answers the '
    "question, even when it uses other words than the question; answer is the part of that sentence that "
    'answers it, copied word for word. If no sentence answers the question, reply {"sentence": 0, "answer": ""}.'
)
READER_EXAMPLES = [
    (
        'Daily Ledger, 3 March 2024: "Bank raises rates"\n'
        "[1] The central bank raised its main interest rate to 4.5% on Thursday.\n"
        "[2] It cited rising food prices.\n[3] Markets fell slightly after the decision.",
        "What did the central bank cite for raising rates?",
        {"sentence": 2, "answer": "rising food prices"},
    ),
    (
        'City Courier, 9 June 2023: "New bridge opens"\n'
        "[1] The mayor opened the new bridge over the river Tay on Saturday.\n"
        "[2] About 2,000 people attended the ceremony.",
        "How much did the new bridge cost?",
        {"sentence": 0, "answer": ""},
    ),
    (
        'Wire Service, 1 May 2024: "Union talks stall"\n'
        "[1] Union leaders walked out of the meeting on Monday.\n"
        "[2] Talks between the two unions are set to resume in Geneva next week, officials said.",
        "Where will the union talks resume?",
        {"sentence": 2, "answer": "Geneva"},
    ),
    (
        'Metro Times, 12 October 2023: "Club names new coach"\n'
        "[1] Rovers named Ana Ruiz as head coach on Friday.\n"
        "[2] Captain Tom Hale said the squad welcomed the decision.",
        "Who did Rovers appoint as captain?",
        {"sentence": 0, "answer": ""},
    ),
]


def reply_schema(n_sentences: int) -> dict:
    """The JSON schema the reply must follow (llama.cpp turns it into a grammar)."""
    return {
        "type": "object",
        "properties": {
            "sentence": {"type": "integer", "enum": list(range(n_sentences + 1))},
            "answer": {"type": "string"},
        },
        "required": ["sentence", "answer"],
    }


def display_order(sentences: list[SourceSentence]) -> list[SourceSentence]:
    """The order the model reads them in: by article (oldest first), then by position. The
    numbers it is shown run 1, 2, 3 ... in this order (a small model counts, it does not
    look numbers up)."""
    return sorted(sentences, key=lambda s: (s.published or "9999", s.doc_id, s.start))


def numbered_context(sentences: list[SourceSentence]) -> str:
    """The sentences (in ``display_order``) grouped by article, each article under its
    outlet, date and headline, each sentence under its number (1-based)."""
    blocks: OrderedDict[str, list[str]] = OrderedDict()
    for i, s in enumerate(sentences, start=1):
        head = f'{s.outlet}, {format_date(s.published)}: "{without_instructions(s.title)}"'
        blocks.setdefault(f"{s.doc_id}\0{head}", []).append(f"[{i}] {s.text}")
    return "\n\n".join(key.split("\0", 1)[1] + "\n" + "\n".join(lines) for key, lines in blocks.items())


def reader_messages(question: str, sentences: list[SourceSentence]) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage(READER_SYSTEM)]
    for context, asked, reply in READER_EXAMPLES:
        messages += [HumanMessage(f"{context}\n\nQuestion: {asked}"), AIMessage(json.dumps(reply))]
    messages.append(HumanMessage(f"{numbered_context(sentences)}\n\nQuestion: {question}"))
    return messages


# --- the follow-up rewrite ----------------------------------------------------------------------

REWRITE_SYSTEM = (
    "Rewrite the user's last question so it can be understood without the conversation. "
    "Replace pronouns with the names they refer to. Output only the rewritten question."
)


def rewrite_messages(question: str, history: list[tuple[str, str]]) -> list[BaseMessage]:
    """The last two turns and the question, for the model to rewrite it to stand alone."""
    turns = []
    for user, assistant in history[-2:]:
        turns.append(f"User: {user}\nAssistant: {assistant[:300]}")
    prompt = "\n".join(turns) + f"\nUser: {question}\n\nRewritten question:"
    return [SystemMessage(REWRITE_SYSTEM), HumanMessage(prompt)]


# --- arithmetic ---------------------------------------------------------------------------------

ARITHMETIC_SYSTEM = (
    "You find the numbers a calculation needs in numbered sentences of news articles. Reply with JSON: "
    '{"items": [{"sentence": N, "value": "..."}]}: for each number the question wants combined, the number of '
    "the sentence that states it and the number copied word for word. Do not calculate. If the sentences do "
    'not state the numbers, reply {"items": []}.'
)
ARITHMETIC_EXAMPLE = (
    'Daily Ledger, 3 March 2024: "Harbour traffic"\n[1] In January 1,200 ships used the harbour.\n\n'
    'Daily Ledger, 2 April 2024: "Harbour traffic rises"\n[2] In February the harbour handled 1,350 ships.',
    "How many ships used the harbour in January and February combined?",
    {"items": [{"sentence": 1, "value": "1,200"}, {"sentence": 2, "value": "1,350"}]},
)
MAX_ITEMS = 4


def items_schema(n_sentences: int) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "maxItems": MAX_ITEMS,
                "items": {
                    "type": "object",
                    "properties": {
                        "sentence": {"type": "integer", "enum": list(range(1, n_sentences + 1))},
                        "value": {"type": "string"},
                    },
                    "required": ["sentence", "value"],
                },
            }
        },
        "required": ["items"],
    }


def arithmetic_messages(question: str, shown: list[SourceSentence]) -> list[BaseMessage]:
    """The numbered sentences and the question, for the model to name the numbers to combine."""
    context, asked, reply = ARITHMETIC_EXAMPLE
    return [
        SystemMessage(ARITHMETIC_SYSTEM),
        HumanMessage(f"{context}\n\nQuestion: {asked}"),
        AIMessage(json.dumps(reply)),
        HumanMessage(f"{numbered_context(shown)}\n\nQuestion: {question}"),
    ]


def fingerprint() -> str:
    """A hash of every prompt, worked example and reply schema of the answer path."""
    parts = [READER_SYSTEM, READER_EXAMPLES, reply_schema(3), REWRITE_SYSTEM, ARITHMETIC_SYSTEM]
    parts += [ARITHMETIC_EXAMPLE, items_schema(3)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
