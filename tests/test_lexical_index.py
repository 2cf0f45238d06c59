"""The BM25 arm's own query path (app/index/bm25.LexicalIndex) against bm25s's: the same
scores for every chunk, the same top chunks, filters that only remove chunks."""

from __future__ import annotations

import random

import numpy as np
import pytest

from app.index.bm25 import LexicalIndex, lexical_tokens

WORDS = [f"w{i}" for i in range(300)]


def _corpus(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    # a skewed vocabulary, as in text: a few words in most chunks, most words in few
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    return [rng.choices(WORDS, weights, k=rng.randint(5, 60)) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus():
    return _corpus(2000, seed=3)


def test_scores_equal_bm25s_for_every_chunk(corpus):
    import bm25s

    ours = LexicalIndex(corpus)
    theirs = bm25s.BM25()
    theirs.index(corpus, show_progress=False)
    rng = random.Random(9)
    for _ in range(40):
        query = [*rng.sample(WORDS[:80], rng.randint(1, 12)), "unseen"]
        query += query[:1]  # a repeated word counts twice in both
        np.testing.assert_allclose(ours.scores(query), theirs.get_scores(query), rtol=1e-5, atol=1e-6)


def test_top_is_the_best_positive_chunks_in_order(corpus):
    index = LexicalIndex(corpus)
    query = ["w3", "w40", "w41", "w200"]
    scores = index.scores(query)
    top = index.top(query, 25)
    assert len(top) == 25
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert top[0][1] == pytest.approx(scores.max())
    assert min(s for _, s in top) >= np.sort(scores)[-25] - 1e-9
    # a rare word: fewer positive chunks than asked for, and no zero-score filler
    rare = index.top(["w299"], 500)
    assert 0 < len(rare) < 500 and all(s > 0 for _, s in rare)
    assert index.top(["never-indexed"], 5) == [] and index.top(query, 0) == []


def test_mask_keeps_only_the_marked_chunks(corpus):
    index = LexicalIndex(corpus)
    mask = np.zeros(index.size, dtype=bool)
    mask[::7] = True
    top = index.top(["w5", "w60"], 30, mask)
    assert top and all(row % 7 == 0 for row, _ in top)
    full = dict(index.top(["w5", "w60"], index.size))
    assert all(full[row] == pytest.approx(score) for row, score in top)  # scores unchanged by the filter


def test_real_tokens_of_news_text():
    texts = ["The central bank raised interest rates to 5%.", "Rates rose; the bank said inflation slowed.",
             "A striker scored twice in the cup final."]  # fmt: skip
    index = LexicalIndex(lexical_tokens(texts))
    top = index.top(lexical_tokens(["Why did the bank raise rates?"])[0], 3)
    assert {row for row, _ in top} == {0, 1} and top[0][0] == 0


def test_an_initialism_with_full_stops_is_one_word():
    assert lexical_tokens(["The U.S. and the U.N. met; the US said so."]) == [["us", "un", "met", "us", "said", "so"]]
    texts = ["The U.S. envoy arrived in Kyiv.", "The UK envoy arrived in Kyiv."]
    top = LexicalIndex(lexical_tokens(texts)).top(lexical_tokens(["Where did the US envoy arrive?"])[0], 2)
    assert top[0][0] == 0 and top[0][1] > top[1][1]
