"""What a chat backend can do, declared on its own class (as simonw/llm's model classes
declare ``supports_schema``): the answer path asks the model object how to get a reply held
to a JSON schema, and the serving layer how many answers it writes at once; nothing else
names a backend by its class name or its settings string."""

from __future__ import annotations

from typing import ClassVar


class ChatCapabilities:
    """Mixed into every chat model class newsrag builds (and into wrappers of them)."""

    supports_json_schema: ClassVar[bool] = False  # replies held to a JSON schema (a grammar, structured output)
    supports_logprobs: ClassVar[bool] = False  # log-probabilities of the reply's tokens, with top alternatives
    supports_prefix_snapshots: ClassVar[bool] = False  # keeps each kind of prompt's KV cache aside
    single_sequence: ClassVar[bool] = False  # writes one answer at a time in this process (else a server's slots)

    def json_reply_kwargs(self, schema: dict) -> dict:
        """The call arguments that make this model reply with JSON of ``schema``."""
        return {}


def json_reply_kwargs(llm: object, schema: dict) -> dict:
    """``llm.json_reply_kwargs(schema)``; a model that declares no capabilities is asked plainly."""
    return llm.json_reply_kwargs(schema) if isinstance(llm, ChatCapabilities) else {}


def writes_one_at_a_time(llm: object) -> bool:
    """Whether the model holds one sequence at a time (an in-process context)."""
    return isinstance(llm, ChatCapabilities) and llm.single_sequence
