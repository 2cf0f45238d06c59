"""The eval protocol: the BBC gold set is split by article into dev (tuned on) and test
(reported), and every item loads and names its articles."""

from collections import Counter

from eval.gold import load_gold
from tests.conftest import BBC, REPO

GOLD = REPO / "eval" / "gold"


def _docs(items) -> set[str]:
    return {doc for item in items for doc in item.doc_ids}


def test_bbc_dev_and_test_share_no_article():
    dev, test = load_gold(GOLD / "bbc_dev.jsonl"), load_gold(GOLD / "bbc_test.jsonl")
    assert not _docs(dev) & _docs(test), "a question of the test split reads an article tuned on"
    assert not {i.id for i in dev} & {i.id for i in test}
    assert len(dev) + len(test) >= 150
    near_misses = Counter(i.category for i in dev + test)["near_miss"]
    assert near_misses >= 40
    for split in (dev, test):
        assert all(item.doc_ids for item in split if item.answerable), "an answerable item names its articles"
        assert {d.split("/")[0] for d in _docs(split)} == {"business", "entertainment", "politics", "sport", "tech"}
        assert sum(not i.answerable for i in split) >= 0.25 * len(split)


def test_bbc_items_name_articles_that_exist():
    if not BBC.is_dir():
        return  # ../shared is beside the repo in CI; the split test above needs no corpus
    for name in ("bbc_dev.jsonl", "bbc_test.jsonl"):
        for item in load_gold(GOLD / name):
            for doc in item.doc_ids:
                assert (BBC / f"{doc}.txt").is_file(), (name, item.id, doc)
