"""What of a streamed draft users may see before the answer is verified."""

from __future__ import annotations

import re

from app.text.injection import looks_like_instruction
from app.text.lexicon import lexicon
from app.text.names import named_terms
from app.text.textmatch import terms

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n")
_WORD = re.compile(r"\S+\s+")
_PLAIN_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


class StreamGuard:
    """Decides which streamed text users may see before the answer is verified.

    A word goes out at once when the context has it (or it is a stopword): text made only of
    the context's words cannot leak the prompt, its worked examples or the model's general
    knowledge. At the first word the context lacks, the rest of that sentence is held until
    the sentence ends, then shown only if it is grounded (its names and numbers all in the
    context, most of its terms too, and it does not speak like an instruction); otherwise
    it is dropped. The verified answer replaces the stream in any case.
    """

    def __init__(self, context_text: str, min_coverage: float = 0.6, lead_words: int = 4):
        self.min_coverage = min_coverage
        self.lead_words = lead_words  # a sentence starts to show once this many of its words are known
        self.vocab = terms(context_text)
        # words that carry no content of their own stream at once; others only if the context has them
        self.words = frozenset(_PLAIN_WORD.findall(context_text.lower())) | lexicon().function_words
        self.sentence = ""  # the current sentence, as streamed so far
        self.shown = 0  # how much of it went out
        self.held = False

    def _known(self, word: str) -> bool:
        plain = _PLAIN_WORD.findall(word.lower())
        if plain and all(w in self.words for w in plain):
            return True
        t = terms(word)  # numbers in another format ("1000" for "1,000")
        return bool(t.numbers) and not t.words and t.numbers <= self.vocab.numbers

    def _grounded(self, sentence: str) -> bool:
        if looks_like_instruction(sentence):
            return False
        t = terms(sentence)
        if not t.numbers <= self.vocab.numbers or not named_terms(sentence) <= self.vocab.all:
            return False
        return not t.words or len(t.words & self.vocab.words) / len(t.words) >= self.min_coverage

    def feed(self, text: str) -> str:
        """Take streamed text; return what may be shown now."""
        out = []
        self.sentence += text
        while (end := _SENTENCE_END.search(self.sentence)) is not None:
            done, self.sentence = self.sentence[: end.end()], self.sentence[end.end() :]
            out.append(self._finish(done))
        if not self.held:
            complete = self.sentence[: self.sentence.rfind(" ") + 1] if " " in self.sentence else ""
            if self.shown == 0 and len(complete.split()) < self.lead_words:
                complete = ""
            for m in _WORD.finditer(complete, self.shown):
                if not self._known(m.group(0)):
                    self.held = True
                    break
                out.append(m.group(0))
                self.shown = m.end()
        return "".join(out)

    def _finish(self, sentence: str) -> str:
        rest = sentence[self.shown :]
        held, self.held, self.shown = self.held, False, 0
        if not held:
            rest_words = rest.split()
            if all(self._known(w) for w in rest_words) and not looks_like_instruction(sentence):
                return rest
        return rest if self._grounded(sentence) else ""

    def flush(self) -> str:
        """The end of the stream: the last sentence, if it may be shown."""
        sentence, self.sentence = self.sentence, ""
        return self._finish(sentence) if sentence.strip() else ""
