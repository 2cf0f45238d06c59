"""Follow-up questions become standalone questions before retrieval.

"And what did the mayor reply?" means nothing to a retriever without the previous
turn. A question that reads as a follow-up (pronouns, "and ...", "what about ...",
very short) is rewritten by the LLM from the recent history; the rewrite is
checked, and if the model drifts (drops the question's own words, answers instead
of asking, or runs long) the previous question's topic words are prepended instead.
"""

from __future__ import annotations

import re

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from app.text.textmatch import terms

History = list[tuple[str, str]]  # (user, assistant) turns, oldest first

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|then|what about|how about|and what|why not|why|how come)\b"
    r"|\b(he|she|they|them|him|her|his|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|the other|the former|the latter|either|both|each side|one another)\b",
    re.I,
)
REWRITE_SYSTEM = (
    "Rewrite the user's last question so it can be understood without the conversation. "
    "Replace pronouns with the names they refer to. Output only the rewritten question."
)


def needs_rewrite(question: str, history: History) -> bool:
    if not history:
        return False
    return bool(_FOLLOW_UP.search(question)) or len(terms(question)) <= 2


def _fallback(question: str, history: History) -> str:
    previous = history[-1][0]
    return f"{previous.rstrip(' ?.')}: {question}"


def _acceptable(rewrite: str, question: str) -> bool:
    if not rewrite or len(rewrite) > 3 * len(question) + 120 or "\n" in rewrite.strip():
        return False
    own = terms(question).all
    kept = own & terms(rewrite).all
    return len(kept) >= min(len(own), 1) and (rewrite.rstrip().endswith("?") or len(rewrite) < 200)


def _time_pivot(question: str, history: History) -> str | None:
    """ "And according to the July article?" after "..., according to the April article?":
    the previous question, asked of the other article."""
    from app.text.timewords import article_month

    asked = article_month(question)
    before = article_month(history[-1][0]) if history else None
    if asked is None or before is None:
        return None
    rest = question[: asked.start()] + question[asked.end() :]
    if len(terms(rest).all - {"accord"}) > 0:
        return None
    previous = history[-1][0]
    return previous[: before.start()] + asked.group(0).strip() + previous[before.end() :]


def standalone_question(question: str, history: History, llm: BaseChatModel | None) -> str:
    """The question rewritten to stand alone (unchanged when it already does)."""
    if not needs_rewrite(question, history):
        return question
    if pivot := _time_pivot(question, history):
        return pivot
    if llm is None:
        return _fallback(question, history)
    turns = []
    for user, assistant in history[-2:]:
        turns.append(f"User: {user}\nAssistant: {assistant[:300]}")
    prompt = "\n".join(turns) + f"\nUser: {question}\n\nRewritten question:"
    try:
        reply = llm.invoke([SystemMessage(REWRITE_SYSTEM), HumanMessage(prompt)], max_tokens=60)
        rewrite = str(reply.content).strip().strip('"').strip()
    except Exception:  # a failed rewrite must not fail the answer
        return _fallback(question, history)
    rewrite = re.sub(r"^(rewritten question|question)\s*:\s*", "", rewrite, flags=re.I)
    return rewrite if _acceptable(rewrite, question) else _fallback(question, history)
