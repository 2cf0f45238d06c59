"""The lexical arm of retrieval: BM25 (bm25s) over Snowball-stemmed, stopword-free words."""

from __future__ import annotations

from app.text.stem import stemmer


def lexical_tokens(texts: list[str]) -> list[list[str]]:
    """Lowercased, stopword-free, Snowball-stemmed word lists (the BM25 vocabulary)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), return_ids=False, show_progress=False)
