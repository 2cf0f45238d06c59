"""The answer prompt: the instruction, worked examples, then the context and question."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

SYSTEM_PROMPT = (
    "You answer questions about the news using only the excerpts the user gives you. "
    "Answer the question in one or two short sentences, using the excerpts' own words. "
    "If the excerpts do not contain the answer, reply exactly: NOT FOUND"
)
HUMAN_PROMPT = "{context}\n\nQuestion: {question}"
# Worked examples (invented, not from any corpus): small models copy the shape of an
# answer far better than they follow a description of it. They sit before the real
# question, so llama.cpp's prefix cache evaluates them once, not per question.
EXAMPLES = [
    (
        "[Daily Ledger, 3 March 2024: Bank raises rates]\n"
        "The central bank raised its main interest rate to 4.5% on Thursday. "
        "It cited rising food prices. Markets fell slightly after the decision.",
        "What did the central bank cite for raising rates?",
        "It cited rising food prices.",
    ),
    (
        "[City Courier, 9 June 2023: New bridge opens]\n"
        "The mayor opened the new bridge over the river Tay on Saturday. "
        "About 2,000 people attended the ceremony.",
        "How much did the new bridge cost?",
        "NOT FOUND",
    ),
    (
        "[Wire Service, 1 May 2024: Union talks stall]\n"
        "Union leaders walked out of the meeting on Monday. Talks between the two "
        "unions are set to resume in Geneva next week, officials said.",
        "Where will the union talks resume?",
        "The talks will resume in Geneva next week.",
    ),
    (
        "[Metro Times, 12 October 2023: Airline merger on hold]\n"
        "The two airlines have not agreed a merger since talks began in 2021. "
        "Both carriers reported higher profits this year.",
        "Have the two airlines agreed a merger?",
        "No. The two airlines have not agreed a merger since talks began in 2021.",
    ),
]


def build_prompt() -> ChatPromptTemplate:
    """System instruction, the worked examples, then the real context and question."""
    messages: list[tuple[str, str]] = [("system", SYSTEM_PROMPT)]
    for context, question, answer in EXAMPLES:
        example = HUMAN_PROMPT.format(context=context, question=question)
        messages += [("human", example.replace("{", "{{").replace("}", "}}")), ("ai", answer)]
    messages.append(("human", HUMAN_PROMPT))
    return ChatPromptTemplate.from_messages(messages)
