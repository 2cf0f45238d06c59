"""What the corpus holds, at first sight: how many articles, from which outlets, over which
dates, and what they are about (the names their opening sentences mention most),
with example questions asked in plain words about those names, never copied sentences.

Computed from the indexed articles (their opening sentences, parsed by the shared spaCy
pipeline) and recomputed when the index changes (``ArticleService.overview``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from app.domain import Article
from app.text.chunking import split_sentences

# the kinds of name a reader recognises a story by (spaCy's entity labels)
TOPIC_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC", "PRODUCT", "WORK_OF_ART", "LAW"}
TOPIC_KINDS = TOPIC_LABELS - {"NORP"}  # "Russian", "British": said of a topic, not one
TOPICS = 6  # names shown under "About"
EXAMPLES = 3  # example questions offered
LEAD_CHARS = 400  # of an article's text read for its opening sentence
MAX_NAME_WORDS = 4


@dataclass(frozen=True)
class CorpusOverview:
    """The corpus card: counts, outlets (most articles first), the date range, the names most
    mentioned, and example questions about them."""

    articles: int = 0
    outlets: list[tuple[str, int]] = field(default_factory=list)
    first: str = ""  # earliest publication date (ISO), "" when none is known
    last: str = ""
    topics: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def lead(article: Article) -> str:
    """The article's opening sentence (of its first LEAD_CHARS characters; a heading line, such
    as a title at the top of the text, is passed over), split as chunking splits sentences."""
    text = article.text.strip()[:LEAD_CHARS]
    found = split_sentences(text)
    first = next((s for s in found if not s.heading), found[0] if found else None)
    return text[first.start : first.end] if first else text


def names(doc) -> list[tuple[str, str]]:
    """(name, label) of the named entities a reader knows a story by, in order, once each; a
    possessive ending dropped ("Zelenskyy's" → "Zelenskyy"); a person by their surname, as a
    reader asks ("Putin" for "Russian President Vladimir Putin")."""
    out: dict[str, str] = {}
    for ent in doc.ents:
        if ent.label_ not in TOPIC_LABELS:
            continue
        name = re.sub(r"[’']s$", "", ent.text.strip()).strip(" -:,")
        if not name or any(ch.isdigit() for ch in name) or len(name.split()) > MAX_NAME_WORDS:
            continue
        if not name[0].isupper():
            continue
        if ent.label_ == "PERSON":
            name = name.split()[-1]
        out.setdefault(name, ent.label_)
    return list(out.items())


def plain_question(found: list[tuple[str, str]]) -> str:
    """A short question in plain words about an article's opening: what its first person said
    (about the next person or place named after them), else what its first organisation
    announced; "" when it names neither."""
    for i, (name, label) in enumerate(found):
        if label == "PERSON":
            after = [n for n, kind in found[i + 1 :] if kind in ("PERSON", "GPE", "LOC")]
            return f"What did {name} say about {after[0]}?" if after else f"What did {name} say?"
    orgs = [n for n, label in found if label == "ORG"]
    return f"What did {orgs[0]} announce?" if orgs else ""


def build_overview(articles: list[Article], parse_many) -> CorpusOverview:
    """The card of these articles (newest first, as the index lists them); ``parse_many`` is the
    shared pipeline's batch parse."""
    if not articles:
        return CorpusOverview()
    outlets = Counter(a.outlet for a in articles if a.outlet)
    dates = sorted(a.published for a in articles if a.published)
    # the opening sentence, not the title: headline case makes common words look like names
    found = [names(doc) for doc in parse_many([lead(a) for a in articles])]
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for i, article_names in enumerate(found):
        for name, label in article_names:
            if label in TOPIC_KINDS:
                counts[name] += 1
                first_seen.setdefault(name, i)
    topics = sorted(counts, key=lambda n: (-counts[n], first_seen[n]))[:TOPICS]
    questions: list[str] = []
    for article_names in found:
        question = plain_question(article_names)
        if question and question not in questions:
            questions.append(question)
        if len(questions) == EXAMPLES:
            break
    return CorpusOverview(
        articles=len(articles),
        outlets=sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0])),
        first=dates[0] if dates else "",
        last=dates[-1] if dates else "",
        topics=topics,
        questions=questions,
    )
