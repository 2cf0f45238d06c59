"""Word lists of a language, loaded once from ``<language>.json`` beside this file.

They are lists of the language (stopwords, number words, abbreviations, antonyms), never of a
corpus: nothing here names a person, place or organisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Lexicon:
    stopwords: frozenset[str]  # general function words plus talk about sources ("according", "reported")
    function_words: frozenset[str]  # words with no content of their own (the stream guard lets them through)
    number_words: dict[str, str]  # "four" -> "4"
    month_abbreviations: dict[str, str]  # "sept" -> "september"
    abbreviations: frozenset[str]  # words after which a period does not end a sentence
    negations: frozenset[str]
    quantity: dict  # number words, scales, currencies, units, per-cent words (app/text/numbers.py)
    answer_nouns: dict[str, frozenset[str]]  # "which company" asks for an organisation, "what price" for money
    qualifiers: dict[str, tuple[str, ...]]  # words that narrow what is asked ("first", "in total", "latest")
    question_light_words: frozenset[str]  # question words that say nothing of the topic
    arithmetic: dict[str, tuple[str, ...]]  # phrases that ask for a sum, a difference or a time span
    antonyms: dict[str, frozenset[str]]  # lemma -> its opposites ("rise" -> {"fall", ...}), both ways
    negating_verbs: frozenset[str]  # verbs that deny their complement ("failed to approve")
    group_determiners: dict[str, str]  # determiners that count a group ("both sides" -> 2)
    statement_verbs: frozenset[str]  # verbs whose "what" is a statement or an act (say, warn, demand, decide)
    causal_verbs: frozenset[str]  # verbs whose "what" is a cause ("what caused / led to / prompted X")


@lru_cache(maxsize=4)
def lexicon(language: str = "en") -> Lexicon:
    """The lexicon of a language (read from its data file at first use)."""
    data = json.loads((Path(__file__).with_name(f"{language}.json")).read_text(encoding="utf-8"))
    return Lexicon(
        stopwords=frozenset(data["stopwords"]) | frozenset(data["source_talk"]),
        function_words=frozenset(data["function_words"]),
        number_words=dict(data["number_words"]),
        month_abbreviations=dict(data["month_abbreviations"]),
        abbreviations=frozenset(data["abbreviations"]),
        negations=frozenset(data["negations"]),
        quantity=data["quantity"],
        answer_nouns={kind: frozenset(words) for kind, words in data["answer_nouns"].items()},
        qualifiers={kind: tuple(words) for kind, words in data["qualifiers"].items()},
        question_light_words=frozenset(data["question_light_words"]),
        arithmetic={kind: tuple(words) for kind, words in data["arithmetic"].items()},
        antonyms=_both_ways(data.get("antonyms", [])),
        negating_verbs=frozenset(data.get("negating_verbs", [])),
        group_determiners=dict(data.get("group_determiners", {})),
        statement_verbs=frozenset(data.get("statement_verbs", [])),
        causal_verbs=frozenset(data.get("causal_verbs", [])),
    )


def _both_ways(pairs: list[list[str]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for a, b in pairs:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return {word: frozenset(opposites) for word, opposites in out.items()}
