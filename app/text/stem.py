"""The one English stemmer (Snowball, via PyStemmer) shared by matching and BM25."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def stemmer():
    """A PyStemmer Snowball stemmer for English (created at first use)."""
    import Stemmer

    return Stemmer.Stemmer("english")
