"""The eval protocol: the BBC gold set is split by article into dev (tuned on) and test
(reported), and every item loads and names its articles."""

from collections import Counter

from eval.gold import load_gold
from tests.conftest import BBC, REPO

GOLD = REPO / "eval" / "gold"


def _docs(items) -> set[str]:
    return {doc for item in items for doc in item.doc_ids}


def test_bbc_dev_and_test_share_no_article():
    dev = load_gold(GOLD / "bbc_dev.jsonl") + load_gold(GOLD / "bbc_dev2.jsonl")  # dev2: written 2026-12-07
    test = load_gold(GOLD / "bbc_test.jsonl")
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
    for name in ("bbc_dev.jsonl", "bbc_dev2.jsonl", "bbc_test.jsonl", "bbc_shapes_dev.jsonl", "bbc_shapes_dev2.jsonl"):
        for item in load_gold(GOLD / name):
            for doc in item.doc_ids:
                assert (BBC / f"{doc}.txt").is_file(), (name, item.id, doc)


def test_the_explanatory_shapes_are_split_by_article_too():
    """Statements, reasons, lists and yes/no questions (scored by key points): the BBC ones split
    by article as the factoid sets are, each shape and near misses in every file."""
    bbc_dev = load_gold(GOLD / "bbc_shapes_dev.jsonl") + load_gold(GOLD / "bbc_shapes_dev2.jsonl")
    bbc_test = load_gold(GOLD / "bbc_shapes_test.jsonl")
    factoid_dev = load_gold(GOLD / "bbc_dev.jsonl") + load_gold(GOLD / "bbc_dev2.jsonl")
    factoid_test = load_gold(GOLD / "bbc_test.jsonl")
    assert not _docs(bbc_dev) & (_docs(bbc_test) | _docs(factoid_test))
    assert not _docs(bbc_test) & (_docs(bbc_dev) | _docs(factoid_dev))
    for name in ("seed_shapes_dev", "seed_shapes_test", "bbc_shapes_dev", "bbc_shapes_dev2", "bbc_shapes_test"):
        items = load_gold(GOLD / f"{name}.jsonl")
        shapes = Counter(i.category for i in items)
        assert {"statement", "reason", "list", "yesno", "near_miss"} <= set(shapes), (name, shapes)
        assert all(i.all_of and i.evidence for i in items if i.answerable), name
        assert shapes["near_miss"] == sum(not i.answerable for i in items) >= 0.15 * len(items)
