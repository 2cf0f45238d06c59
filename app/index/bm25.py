"""The lexical arm of retrieval: BM25 (bm25s) over Snowball-stemmed, stopword-free words."""

from __future__ import annotations

from app.text.stem import stemmer
from app.text.textmatch import fold_initialisms


def lexical_tokens(texts: list[str]) -> list[list[str]]:
    """Lowercased, stopword-free, Snowball-stemmed word lists (the BM25 vocabulary); an
    initialism with full stops is one word ("U.S." is "us", as "US" is)."""
    import bm25s

    texts = [fold_initialisms(t.lower()) for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), return_ids=False, show_progress=False)


class LexicalIndex:
    """BM25 scores precomputed per (term, chunk) by bm25s, queried with one ``np.bincount``.

    bm25s stores the eager scores term-major (CSC: the postings of term t are
    ``indices[indptr[t]:indptr[t + 1]]`` with their scores in ``data``); its own query path
    runs ``np.add.at`` per query term, applies a float weight mask over every chunk and
    starts a thread pool per call, which made BM25 the slow tail of retrieval at 100k
    chunks. Here the query's postings are gathered once and summed by ``np.bincount``; the
    scores equal bm25s's (a repeated query word counts again, as there), and a filter only
    zeroes the chunks it excludes.
    """

    def __init__(self, tokens: list[list[str]]):
        import bm25s
        import numpy as np

        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        scores = model.scores
        self.data = np.asarray(scores["data"], dtype=np.float32)
        self.indices = np.asarray(scores["indices"], dtype=np.int32)
        self.indptr = np.asarray(scores["indptr"], dtype=np.int64)
        self.size = int(scores["num_docs"])
        self.vocab: dict[str, int] = dict(model.vocab_dict)

    def scores(self, query_tokens: list[str]):
        """The BM25 score of every chunk for the query's words (zeros when none is indexed)."""
        import numpy as np

        ids = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float64)
        starts, ends = self.indptr[ids], self.indptr[np.asarray(ids) + 1]
        rows = np.concatenate([self.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate([self.data[s:e] for s, e in zip(starts, ends, strict=True)])
        return np.bincount(rows, weights=weights, minlength=self.size)

    def top(self, query_tokens: list[str], k: int, mask=None) -> list[tuple[int, float]]:
        """(row, score) of the k best chunks with a positive score, best first; ``mask``
        (booleans, one per chunk) keeps only the chunks it marks."""
        import numpy as np

        if k <= 0 or not self.size:
            return []
        scores = self.scores(query_tokens)
        if mask is not None:
            scores[~mask] = 0.0
        k = min(k, self.size)
        best = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(r), float(scores[r])) for r in best if scores[r] > 0]
