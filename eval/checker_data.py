"""The answer checker's training data: (question, sentence, label) pairs built on the dev side
only, with the near misses that today's features miss (MiniCheck's recipe, Tang et al. 2024).

Sources (never a test-split article, never a seed article):
- the BBC articles that the dev gold sets cite (``DEV_GOLD``); a file is refused if a test
  gold set cites it too;
- RGB questions 0-49 (the dev range) with their positive and negative passages.

Questions are written over the spaCy parse of an article sentence:
- *span*: one named entity, date or figure of the sentence becomes the wh-word of its
  type ("Who", "When", "How much" ...), fronted with its clause's auxiliary (or do-support);
- *statement*: a statement verb with a named subject gives "What did <subject> <verb>?",
  sometimes "... about <a noun phrase of what was said>";
- *reason*: a clause with a causal marker under a verb with a named subject gives
  "Why did <subject> <verb> <object>?".

Negatives for each question:
- *near miss*: other sentences of the same article that share most of its words but do not
  hold its answer (and, for statements and reasons, are not next to it);
- *swapped detail*: the question with one name, place, date or figure replaced by another
  of the same type from the same article, against the original sentence;
- *another subject*: a statement question asked of a sentence where another named subject
  says something;
- *elsewhere*: a sentence from another article.

The gold dev questions are not used here: they are the held-out items the checker is
measured on (``eval.train_checker``).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.answer.check.learned import answer_text
from app.corpus.discover import decode_text
from app.text.chunking import split_sentences
from app.text.lexicon import lexicon

GOLD_DIR = Path(__file__).with_name("gold")
DEV_GOLD = ("bbc_dev.jsonl", "bbc_shapes_dev.jsonl", "bbc.jsonl")
TEST_GOLD = ("bbc_test.jsonl", "bbc_shapes_test.jsonl")
RGB_DEV = range(0, 50)

WH = {
    "PERSON": "Who",
    "ORG": "Which organisation",
    "GPE": "Where",
    "LOC": "Where",
    "FAC": "Where",
    "DATE": "When",
    "MONEY": "How much",
    "PERCENT": "By what percentage",
    "CARDINAL": "How many",
    "QUANTITY": "How much",
    "NORP": "Which group",
    "EVENT": "Which event",
}
SWAPPABLE = ("PERSON", "ORG", "GPE", "LOC", "DATE", "MONEY", "PERCENT", "CARDINAL", "NORP", "EVENT")
PLACE_TIME = {"Where", "When"}  # these wh-words take the place of the preposition too
CAUSAL_MARKS = {"because", "as", "since"}
CAUSAL_PREPS = {"due", "because", "owing"}
SUBJECTS = {"nsubj", "nsubjpass"}
PRONOUN_TAGS = {"PRP", "PRP$", "WP", "WDT", "EX", "DT"}
CONTENT_POS = {"NOUN", "PROPN", "VERB", "NUM", "ADJ"}
ARGUMENTS = {"nsubj", "nsubjpass", "dobj", "pobj", "attr", "npadvmod", "dative", "oprd"}  # whole arguments only
DROP_CHILDREN = {"advcl", "parataxis", "relcl", "appos", "punct", "cc", "conj", "mark"}


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    label: int
    kind: str  # span | statement | reason | rgb
    source: str  # article id or rgb:<n>
    negative: str = ""  # near | swap | subject | elsewhere | passage | words
    answer: str = ""  # the words offered as the answer ("" : the sentence is)

    @property
    def text(self) -> str:
        """What the checker reads beside the question."""
        return answer_text(self.sentence, self.answer)


def gold_doc_ids(names: tuple[str, ...]) -> set[str]:
    ids: set[str] = set()
    for name in names:
        for line in (GOLD_DIR / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.update(json.loads(line).get("doc_ids") or [])
    return ids


def dev_articles(bbc_dir: Path) -> dict[str, list[str]]:
    """doc id -> sentences of the dev-side BBC articles (titles dropped)."""
    dev, test = gold_doc_ids(DEV_GOLD), gold_doc_ids(TEST_GOLD)
    if dev & test:
        raise ValueError(f"articles cited by both dev and test gold sets: {sorted(dev & test)[:5]}")
    out = {}
    for doc_id in sorted(dev):
        text = decode_text((bbc_dir / f"{doc_id}.txt").read_bytes(), doc_id, [])
        body = text.split("\n", 1)[1] if "\n" in text else text
        sentences = [body[s.start : s.end].strip() for s in split_sentences(body)]
        out[doc_id] = [s for s in sentences if 6 <= len(s.split()) <= 60]
    return out


def _text(tokens) -> str:
    out = ""
    for t in tokens:
        out += t.text + t.whitespace_
    return out.strip(" ,;:-\u2014\"'\u201c\u201d")


def _clause_verb(token):
    while token.pos_ not in ("VERB", "AUX") and token.head.i != token.i:
        token = token.head
    return token


def _subject(verb):
    return next((c for c in verb.children if c.dep_ in SUBJECTS), None)


def _named(token) -> bool:
    return token.pos_ == "PROPN" or token.ent_type_ in ("PERSON", "ORG", "GPE", "NORP")


def _trimmed(verb, keep: set[int]) -> list:
    """The verb's subtree without the side clauses that do not hold a token of ``keep``."""
    drop: set[int] = set()
    for child in verb.children:
        if child.dep_ in DROP_CHILDREN:
            ids = {t.i for t in child.subtree}
            if not ids & keep:
                drop |= ids
    return [t for t in verb.subtree if t.i not in drop]


def _plain(tokens, rng: random.Random | None, share: float = 0.5) -> list:
    """Fewer of the sentence's own words, as a person asking in their own words keeps: no
    adjectives, adverbs or parentheses, and (with ``rng``) some other words dropped, so that
    a question is not the sentence with one phrase cut out."""
    kept = [t for t in tokens if t.pos_ not in ("ADJ", "ADV", "PUNCT") or t.ent_type_]
    if rng is None:
        return kept
    return [t for t in kept if t.ent_type_ or t.pos_ not in ("NOUN", "PROPN", "NUM") or rng.random() > share]


def span_question(sent, ent, rng: random.Random | None = None) -> str | None:
    """A wh-question whose answer is ``ent``, or None when the parse gives no clean one
    (``rng``: drop some of the sentence's words, see ``_plain``)."""
    wh = WH.get(ent.label_)
    if wh is None or len(ent.text) < 2 or ent.root.dep_ not in ARGUMENTS:
        return None
    verb = _clause_verb(ent.root)
    if verb.pos_ not in ("VERB", "AUX"):
        return None
    subj = _subject(verb)
    if subj is None:
        return None
    ent_ids = {t.i for t in ent}
    subj_ids = {t.i for t in subj.subtree}
    tokens = _trimmed(verb, ent_ids)
    if subj.i in ent_ids:  # the entity is the subject: "Who said ..."
        rest = _plain([t for t in tokens if t.i not in subj_ids and t.i > subj.i], rng)
        words = _text(rest)
        return f"{wh} {words}?" if len(words.split()) >= 3 else None
    if ent_ids & subj_ids:
        return None
    drop = ent_ids | {t.i for t in ent.root.subtree}
    head = ent.root.head
    if wh in PLACE_TIME and ent.root.dep_ == "pobj" and head.dep_ == "prep" and len(list(head.children)) == 1:
        drop.add(head.i)
    aux = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
    rest = [t for t in tokens if t.i not in drop and t.i not in subj_ids and t.i > subj.i and t not in aux]
    rest = _plain([t for t in rest if t.i != verb.i], rng)
    subject = _text(_plain(list(subj.subtree), None) or list(subj.subtree))
    if subj.tag_ in PRONOUN_TAGS and subj.lower_ not in ("it", "they", "he", "she", "we"):
        return None
    if not _named(subj) and subject[:1].isupper():
        subject = subject[0].lower() + subject[1:]
    if aux:
        first, *more = aux
        head_words = [first.text, subject, *[a.text for a in more], verb.text]
    elif verb.lemma_ == "be":
        head_words = [verb.text, subject]
    else:
        do = {"VBD": "did", "VBZ": "does", "VBP": "do"}.get(verb.tag_)
        if do is None:
            return None
        head_words = [do, subject, verb.lemma_]
    words = " ".join([wh, *head_words, _text(rest)]).strip()
    words = re.sub(r"\s+([,.;:?!'])", r"\1", words)
    return words.rstrip(" ,.;:") + "?" if 4 <= len(words.split()) <= 30 else None


def statement_questions(sent, rng: random.Random) -> list[tuple[str, str]]:
    """("What did <subject> <verb>?", subject text) for each statement verb with a named subject."""
    verbs = lexicon().statement_verbs
    out = []
    for verb in sent:
        if verb.pos_ != "VERB" or verb.lemma_ not in verbs or verb.lemma_ in ("do", "happen", "mean"):
            continue
        subj = _subject(verb)
        if subj is None or not _named(subj):
            continue
        subject = _text(subj.subtree)
        if len(subject.split()) > 6:
            continue
        do = "did" if verb.tag_ in ("VBD", "VBN") else ("do" if subj.tag_ in ("NNPS", "NNS") else "does")
        question = f"What {do} {subject} {verb.lemma_}"
        said = [c for c in verb.children if c.dep_ in ("ccomp", "dobj", "xcomp")]
        chunks = [
            nc.text for c in said for nc in sent.noun_chunks if nc.root.i in {t.i for t in c.subtree}
            if nc.root.pos_ == "NOUN" and nc.root.tag_ not in PRONOUN_TAGS
        ]  # fmt: skip
        if chunks and rng.random() < 0.5:
            question += f" about {rng.choice(chunks)}"
        out.append((question + "?", subject))
    return out


def reason_questions(sent) -> list[str]:
    out = []
    for token in sent:
        causal = (
            token.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in CAUSAL_MARKS for c in token.children)
        ) or (token.dep_ == "prep" and token.lower_ in CAUSAL_PREPS)
        if not causal:
            continue
        verb = _clause_verb(token.head)
        subj = _subject(verb)
        if subj is None or not _named(subj) or verb.lemma_ == "be":
            continue
        obj = next((c for c in verb.children if c.dep_ in ("dobj", "attr", "acomp")), None)
        do = "did" if verb.tag_ in ("VBD", "VBN") else "does"
        tail = f" {_text(obj.subtree)}" if obj is not None and len(list(obj.subtree)) <= 6 else ""
        out.append(f"Why {do} {_text(subj.subtree)} {verb.lemma_}{tail}?")
    return out


def _content(doc) -> set[str]:
    """The content lemmas of a parsed text."""
    return {t.lemma_.lower() for t in doc if t.pos_ in CONTENT_POS and not t.is_stop}


def _near_misses(
    question_words: set[str], sentences: list, index: int, avoid: str, adjacent: bool, k: int
) -> list[int]:
    scored = []
    for j, other in enumerate(sentences):
        if j == index or (adjacent and abs(j - index) == 1):
            continue
        if avoid and avoid.lower() in other.text.lower():
            continue
        shared = len(question_words & _content(other))
        if shared:
            scored.append((shared, j))
    scored.sort(reverse=True)
    return [j for _, j in scored[:k]]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _swap(
    question: str, ents_by_label: dict[str, list[str]], sentence_text: str, rng: random.Random, keep: str = ""
) -> str | None:
    """The question with one of its names/dates/figures replaced by another of the same type."""
    candidates = []
    values = [v for label in SWAPPABLE for v in ents_by_label.get(label, [])]
    present = [v for v in values if re.search(rf"\b{re.escape(v)}\b", question)]
    for label in SWAPPABLE:
        for value in ents_by_label.get(label, []):
            if value in present and value != keep and not any(value != o and value in o for o in present):
                others = [o for o in ents_by_label[label] if not _words(o) & (_words(value) | _words(sentence_text))]
                if others:
                    candidates.append((value, others))
    if not candidates:
        return None
    value, others = rng.choice(candidates)
    return re.sub(rf"\b{re.escape(value)}\b", lambda _: rng.choice(others), question, count=1)


def article_pairs(
    doc_id: str, sentences: list, all_sentences: list[str], rng: random.Random, parse: Callable
) -> list[Pair]:
    """Questions and their negatives for one article (``sentences``: spaCy docs; ``parse``:
    text -> doc, for the questions written)."""
    ents_by_label: dict[str, list[str]] = {}
    for s in sentences:
        for e in s.ents:
            ents_by_label.setdefault(e.label_, [])
            if e.text not in ents_by_label[e.label_]:
                ents_by_label[e.label_].append(e.text)
    pairs: list[Pair] = []

    def negatives(question: str, i: int, kind: str, avoid: str, adjacent: bool, keep: str = "") -> None:
        q_words = _content(parse(question))
        for j in _near_misses(q_words, sentences, i, avoid, adjacent, 2):
            pairs.append(Pair(question, sentences[j].text, 0, kind, doc_id, "near"))
        swapped = _swap(question, ents_by_label, sentences[i].text, rng, keep)
        if swapped:
            pairs.append(Pair(swapped, sentences[i].text, 0, kind, doc_id, "swap"))
        pairs.append(Pair(question, rng.choice(all_sentences), 0, kind, doc_id, "elsewhere"))

    for i, sent in enumerate(sentences):
        ents = [e for e in sent.ents if e.label_ in WH]
        rng.shuffle(ents)
        made = 0
        for ent in ents:
            q = span_question(sent, ent, rng)
            if q is None or ent.text in q:
                continue
            pairs.append(Pair(q, sent.text, 1, "span", doc_id))
            pairs.append(Pair(q, sent.text, 1, "span", doc_id, answer=ent.text))
            # the wrong words of the right sentence: another of its phrases offered as the answer
            wrong = [e.text for e in sent.ents if not (_words(e.text) & _words(ent.text)) and e.text not in q]
            wrong += [
                nc.text
                for nc in sent.noun_chunks
                if nc.root.pos_ == "NOUN" and not (_words(nc.text) & _words(ent.text))
            ]
            for other in rng.sample(wrong, min(2, len(wrong))):
                pairs.append(Pair(q, sent.text, 0, "span", doc_id, "words", answer=other))
            negatives(q, i, "span", ent.text, adjacent=False)
            made += 1
            if made == 2:
                break
        for q, subject in statement_questions(sent, rng)[:1]:
            pairs.append(Pair(q, sent.text, 1, "statement", doc_id))
            negatives(q, i, "statement", "", adjacent=True, keep="")
            for j, other in enumerate(sentences):  # another named subject stating something
                if abs(j - i) <= 1 or subject in other.text:
                    continue
                if any(_q[1] != subject for _q in statement_questions(other, random.Random(0))):
                    pairs.append(Pair(q, other.text, 0, "statement", doc_id, "subject"))
                    break
        for q in reason_questions(sent)[:1]:
            pairs.append(Pair(q, sent.text, 1, "reason", doc_id))
            negatives(q, i, "reason", "", adjacent=True)
    return pairs


def _answers(value) -> list[str]:
    if isinstance(value, list):
        return [a for v in value for a in _answers(v)]
    return [str(value)] if value else []


def rgb_pairs(path: Path, rng: random.Random) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if item["id"] not in RGB_DEV:
            continue
        answers = [a.lower() for a in _answers(item["answer"])]
        pos, near = [], []
        for passage in item.get("positive") or []:
            for s in split_sentences(passage):
                text = passage[s.start : s.end].strip()
                if len(text.split()) < 5:
                    continue
                (pos if any(a in text.lower() for a in answers) else near).append(text)
        neg = [
            passage[s.start : s.end].strip() for passage in item.get("negative") or [] for s in split_sentences(passage)
        ]  # fmt: skip
        neg = [t for t in neg if len(t.split()) >= 5 and not any(a in t.lower() for a in answers)]
        source = f"rgb:{item['id']}"
        for text in rng.sample(pos, min(3, len(pos))):
            pairs.append(Pair(item["query"], text, 1, "rgb", source))
        for text in rng.sample(near, min(2, len(near))):
            pairs.append(Pair(item["query"], text, 0, "rgb", source, "near"))
        for text in rng.sample(neg, min(4, len(neg))):
            pairs.append(Pair(item["query"], text, 0, "rgb", source, "passage"))
    return pairs


def build(bbc_dir: Path, rgb_path: Path, nlp, seed: int) -> list[Pair]:
    """Every training pair, in a fixed order for a given seed."""
    rng = random.Random(seed)
    articles = dev_articles(bbc_dir)
    all_sentences = [s for ss in articles.values() for s in ss]
    pairs: list[Pair] = []
    for doc_id, texts in articles.items():
        parsed = list(nlp.pipe(texts))
        others = [s for d, ss in articles.items() if d != doc_id for s in ss[:5]]
        pairs += article_pairs(doc_id, parsed, others or all_sentences, rng, nlp)
    pairs += rgb_pairs(rgb_path, rng)
    return pairs
