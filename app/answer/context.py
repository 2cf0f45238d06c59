"""Build the short, focused context a small local model answers best from.

Retrieved chunks are broken into their sentences; sentences are scored against the
question (IDF-weighted term overlap, plus the rank of the chunk they came from);
the best ones fill a token budget and are shown grouped by article, each article
headed by its outlet and date, oldest first. Question-style subheadings and text
that addresses an AI ("ignore previous instructions") are never shown to the model
and can never be cited.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from app.answer.question import SENTENCE_SHAPES, QuestionFrame
from app.config import Settings
from app.domain import ArticleSpan, Quote
from app.index.retrieval import HybridRetriever, Passage
from app.text.chunking import Sentence, get_encoding, split_sentences
from app.text.dates import format_date
from app.text.injection import looks_like_instruction, without_instructions
from app.text.names import named_terms
from app.text.textmatch import terms
from app.text.timewords import TimeIntent

SENTENCE_CACHE = 2048  # articles whose sentence split is kept
VECTOR_CACHE = 20_000  # sentence embeddings kept (384 floats each: about 31 MB)
ANAPHOR = re.compile(
    r"^(the two|both|they|them|those|these|this|that|it|its|he|she|his|her|their|there|such|the (group|firm|"
    r"company|move|deal|decision|plan|country|countries|talks|efforts|attacks|proposal|offer|minister|president|"
    r"leader|official|officials|club|team|film|band|player|star))\b",
    re.I,
)


@dataclass(kw_only=True)
class SourceSentence(ArticleSpan):
    """A sentence of a cleaned article that may be shown to the model and cited, with how
    it scored against the question."""

    passage_rank: int
    score: float = 0.0
    similarity: float = 0.0  # cosine similarity with the question (embedding model)

    def as_quote(self) -> Quote:
        return Quote(**self.place())


@dataclass
class Context:
    """What the model sees (``text``) and every sentence that may back a citation."""

    text: str
    shown: list[SourceSentence]
    candidates: list[SourceSentence]
    suppressed: int = 0


class ContextBuilder:
    """Turns retrieved passages into a prompt context within a token budget."""

    def __init__(self, retriever: HybridRetriever, settings: Settings, checker=None):
        self.retriever = retriever
        self.settings = settings
        self.max_sentences = settings.context_sentences
        self.budget = settings.context_tokens
        self.encoding = settings.tokenizer
        self._sentences: OrderedDict[tuple[str, int], list[Sentence]] = OrderedDict()
        self._vectors: OrderedDict[str, object] = OrderedDict()  # sentence text -> its embedding
        self._vectors_lock = threading.Lock()
        self.checker = checker  # the learned checker (app/answer/check/learned.py), when one is loaded

    def _article_sentences(self, doc_id: str) -> tuple[str, list[Sentence]]:
        article = self.retriever.article(doc_id)
        text = article.text if article else ""
        key = (doc_id, hash(text))
        if key not in self._sentences:
            self._sentences[key] = split_sentences(text)
            if len(self._sentences) > SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        return text, self._sentences[key]

    def candidates(self, passages: list[Passage]) -> tuple[list[SourceSentence], int]:
        """Every citable sentence inside the retrieved chunks (deduplicated)."""
        seen: set[tuple[str, int]] = set()
        out: list[SourceSentence] = []
        suppressed = 0
        for rank, passage in enumerate(passages):
            text, sentences = self._article_sentences(passage.doc_id)
            for s in sentences:
                if s.start < passage.start or s.end > passage.end or (passage.doc_id, s.start) in seen:
                    continue
                seen.add((passage.doc_id, s.start))
                if s.heading:
                    continue
                body = text[s.start : s.end]
                if looks_like_instruction(body):
                    suppressed += 1
                    continue
                out.append(
                    SourceSentence(
                        doc_id=passage.doc_id,
                        start=s.start,
                        end=s.end,
                        text=body,
                        title=passage.title,
                        outlet=passage.outlet,
                        published=passage.published,
                        passage_rank=rank,
                    )
                )
        return out, suppressed

    def embed(self, sentences: list[SourceSentence], query_vector) -> None:
        """Set each sentence's cosine similarity with the question."""
        if query_vector is None or not sentences:
            return
        for s, vector in zip(sentences, self._sentence_vectors([s.text for s in sentences]), strict=True):
            s.similarity = float(vector @ query_vector)

    def _sentence_vectors(self, texts: list[str]) -> list:
        """The embedding of each text; those of sentences seen before come from a bounded cache
        (the same articles' sentences come back question after question, and encoding them is
        most of the time before the model is asked)."""
        with self._vectors_lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in found:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            # copies: a row kept as a view would keep its whole batch's array alive past the bound
            fresh = {t: v.copy() for t, v in zip(missing, self.retriever.embedder.encode(missing), strict=True)}
            found.update(fresh)
            with self._vectors_lock:
                self._vectors.update(fresh)
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.popitem(last=False)
        return [found[t] for t in texts]

    def score(self, frame: QuestionFrame, sentences: list[SourceSentence], intent: TimeIntent) -> None:
        """Relevance of each sentence: IDF-weighted share of the question's terms it
        holds, the rank of its chunk, its embedding similarity, the learned checker's
        P(it answers the question) when weighted, whether it holds the kind of thing asked
        for (a number for "how many", a name for "who"), and the question's time words."""
        q = frame.terms.all
        weights = {t: self.retriever.idf(t) for t in q}
        total = sum(weights.values()) or 1.0
        newest = max((s.published for s in sentences), default="")
        wants = frame.answer_kind
        cfg = self.settings
        checked = [0.0] * len(sentences)
        if cfg.context_checker_weight and self.checker is not None and sentences:
            checked = self.checker.scores(frame.text, [s.text for s in sentences])
        for s, answers in zip(sentences, checked, strict=True):
            found = terms(s.text)
            overlap = sum(weights[t] for t in q & found.all) / total
            s.score = overlap + cfg.context_rank_weight / (1 + s.passage_rank) + cfg.context_dense_weight * s.similarity
            s.score += cfg.context_checker_weight * answers
            if (wants == "number" and found.numbers - q) or (wants == "name" and named_terms(s.text) - frame.named - q):
                s.score += cfg.context_answer_type_bonus
            if intent.window and intent.contains(s.published):
                s.score += cfg.context_window_bonus
            if intent.prefer_recent and s.published and s.published == newest:
                s.score += cfg.context_recent_bonus

    def build_per_date(
        self, frame: QuestionFrame, passages: list[Passage], intent: TimeIntent, query_vector=None
    ) -> list[Context]:
        """One context per publication date when articles of different dates both bear on
        the question (so each can be answered, and shown, as of its date); else one."""
        candidates, suppressed = self.candidates(passages)
        self.embed(candidates, query_vector)
        self.score(frame, candidates, intent)
        if not candidates:
            return [self._context([], candidates, suppressed)]
        if frame.shape in SENTENCE_SHAPES:  # whole sentences quoted, each with its own date: one context
            limit, budget = self.settings.context_sentences_open, self.settings.context_tokens_open
            pool = [c for c in candidates if intent.contains(c.published)] if intent.strict else []
            pool = pool or candidates
            windows = self._windows(self._select(pool, limit, budget), pool, budget)
            return [self._context(windows, pool, suppressed)]
        top = max(candidates, key=lambda c: c.score)
        groups: dict[str, list[SourceSentence]] = {}
        for c in candidates:
            groups.setdefault(c.published, []).append(c)
        strong = [
            date
            for date, members in groups.items()
            if date
            and max(m.score for m in members) >= self.settings.context_date_group_score * top.score
            and max(m.similarity for m in members) >= top.similarity - self.settings.context_date_group_similarity
        ]
        if intent.strict and (inside := [c for c in candidates if intent.contains(c.published)]):
            # "in April", "the July article": the articles of that window answer it
            return [self._context(self._select(inside, self.max_sentences), inside, suppressed)]
        if intent.prefer_recent and strong:
            # "latest", "now": the newest article that bears on the question
            pool = groups[max(strong)]
            return [self._context(self._select(pool, self.max_sentences), pool, suppressed)]
        if len(strong) < 2:
            return [self._context(self._select(candidates, self.max_sentences), candidates, suppressed)]
        # each part is answered, and cited, from its own date's sentences only
        per_date = max(2, self.max_sentences - 1)
        return [
            self._context(self._select(groups[date], per_date), groups[date], suppressed) for date in sorted(strong)[:2]
        ]

    def _select(self, candidates: list[SourceSentence], limit: int, budget: int = 0) -> list[SourceSentence]:
        """The best sentences within the budget (``context_tokens`` unless given); a sentence
        that opens by pointing back ("The two countries ...", "Those efforts ...") brings the
        sentence before it."""
        enc = get_encoding(self.encoding)
        budget = budget or self.budget
        chosen: list[SourceSentence] = []
        used = 0
        by_position = {(c.doc_id, c.start): c for c in candidates}
        for s in sorted(candidates, key=lambda c: -c.score):
            cost = len(enc.encode_ordinary(s.text)) + 1
            if used + cost > budget or len(chosen) >= limit:
                continue
            chosen.append(s)
            used += cost
        for s in list(chosen):
            if not ANAPHOR.match(s.text):
                continue
            previous = self._previous_sentence(s, by_position)
            if previous is None or previous in chosen:
                continue
            cost = len(enc.encode_ordinary(previous.text)) + 1
            if used + cost <= budget:
                chosen.append(previous)
                used += cost
        return chosen

    def _previous_sentence(self, s: SourceSentence, known: dict) -> SourceSentence | None:
        return self._neighbour(s, known, -1)

    def _neighbour(self, s: SourceSentence, known: dict, step: int) -> SourceSentence | None:
        """The sentence of the article just before (``step`` -1) or after (+1) ``s`` in the
        same paragraph; None at a paragraph's edge, a heading or an instruction."""
        text, sentences = self._article_sentences(s.doc_id)
        side = [x for x in sentences if x.end <= s.start] if step < 0 else [x for x in sentences if x.start >= s.end]
        if not side:
            return None
        near = side[-1] if step < 0 else side[0]
        gap = text[near.end : s.start] if step < 0 else text[s.end : near.start]
        if near.heading or "\n" in gap:
            return None
        if (s.doc_id, near.start) in known:
            return known[(s.doc_id, near.start)]
        body = text[near.start : near.end]
        if looks_like_instruction(body):
            return None
        return SourceSentence(
            **{**s.place(), "start": near.start, "end": near.end, "text": body}, passage_rank=s.passage_rank
        )

    def _windows(self, chosen: list[SourceSentence], candidates: list[SourceSentence], budget: int):
        """The chosen sentences with the sentence after and the one before each (best first),
        within ``budget`` tokens: the sentences a statement or a reason runs on to."""
        enc = get_encoding(self.encoding)
        used = sum(len(enc.encode_ordinary(s.text)) + 1 for s in chosen)
        known = {(c.doc_id, c.start): c for c in candidates}
        out = list(chosen)
        held = {(c.doc_id, c.start) for c in out}
        for s in sorted(chosen, key=lambda c: -c.score):
            for step in (1, -1):
                near = self._neighbour(s, known, step)
                if near is None or (near.doc_id, near.start) in held:
                    continue
                cost = len(enc.encode_ordinary(near.text)) + 1
                if used + cost <= budget:
                    out.append(near)
                    held.add((near.doc_id, near.start))
                    used += cost
        return out

    def merged(self, contexts: list[Context]) -> Context:
        """One context of every sentence the per-date contexts show (a sum across dates needs
        both numbers in front of the model)."""
        shown = list({(s.doc_id, s.start): s for c in contexts for s in c.shown}.values())
        candidates = list({(s.doc_id, s.start): s for c in contexts for s in c.candidates}.values())
        return self._context(shown, candidates, contexts[0].suppressed)

    def _context(self, chosen: list[SourceSentence], candidates: list[SourceSentence], suppressed: int) -> Context:
        by_doc: OrderedDict[str, list[SourceSentence]] = OrderedDict()
        for s in sorted(chosen, key=lambda c: (c.published or "9999", c.doc_id, c.start)):
            by_doc.setdefault(s.doc_id, []).append(s)
        blocks = []
        for sentences in by_doc.values():
            head = sentences[0]
            blocks.append(
                f"[{head.outlet}, {format_date(head.published)}: {without_instructions(head.title)}]\n"
                + " ".join(x.text for x in sentences)
            )
        return Context(text="\n\n".join(blocks), shown=chosen, candidates=candidates, suppressed=suppressed)
