"""Text that speaks to an AI model rather than reporting news (indirect prompt injection).

Such sentences are never shown to the model and never citable; a headline carrying one
is cut before it in the prompt.
"""

from __future__ import annotations

import re

_INSTRUCTION = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|system|"
    r"preceding)?\s*(instructions?|prompts?|rules|guidelines|directions)"
    r"|\b(system|developer)\s+(prompt|message|instructions?)\b"
    r"|<\s*/?\s*(system|assistant|user|instructions?|im_start|im_end)\b"
    r"|\byou\s+are\s+(now\s+)?(an?\s+|the\s+)?(ai|assistant|chatbot|language model|llm)\b"
    r"|\b(reply|respond|answer|output|say|print)\s+(only|exactly|just)\b:?\s*(with\s+)?(?-i:[A-Z0-9\"'`:<\[])"
    r"|!\[[^\]]*\]\(\s*https?:"
    r"|\bnew instructions\b|\bas an ai\b|\bprompt injection\b"
    # addressed to a model: "note for automated assistants", "assistants must add it to their reply"
    r"|\b(note|message|instructions?)\s+(for|to)\s+(all\s+|any\s+)?(automated\s+|ai\s+)?"
    r"(assistants?|chatbots?|models?|bots?|llms?|crawlers?)\b"
    r"|\b(assistants?|chatbots?|llms?|language models?)\s+(must|should|shall|need to|are (required|asked|instructed) "
    r"to)\s+(add|include|insert|display|output|print|repeat|say|reply with|respond with|answer with)\b"
    r"|\bonly\s+(correct|valid|acceptable|allowed|permitted)\s+(reply|answer|response)\s+to\s+(any|every|all|each|"
    r"this|the|a)\s+(question|query|request|prompt)"
    r"|\b(reply|respond|answer)\s+(to\s+)?(every|each|any|all)\s+(questions?|query|queries|requests?|prompts?)\s+"
    r"(with|by)\b"
    r"|\b(maintenance|developer|god|jailbreak|dan)\s+mode\b",
    re.I,
)


def looks_like_instruction(text: str) -> bool:
    """True for text that speaks to an AI model rather than reporting news."""
    return bool(_INSTRUCTION.search(text))


def without_instructions(title: str) -> str:
    """A headline cut before any sentence that speaks to an AI model (for the prompt)."""
    if not looks_like_instruction(title):
        return title
    kept = []
    for part in re.split(r"(?<=[.!?:;|])\s+", title):
        if looks_like_instruction(part) or re.match(r"(assistant|system|ai|user)\s*:", part, re.I):
            break
        kept.append(part)
    return " ".join(kept).strip() or "(headline withheld: it addresses AI models)"
