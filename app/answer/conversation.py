"""Follow-up questions become standalone questions before retrieval.

"And what did the mayor reply?" means nothing to a retriever without the previous
turn. Whether a question leans on the conversation is decided from its parse, by
classes of language, never by the words of a corpus:

- a third-person personal or possessive pronoun with no agreeing noun before it in the
  question ("What did he say?"; not expletive "it"/"there", not extraposed "it is true
  that ...", not "the minister ... his plan");
- a demonstrative used anaphorically ("this deal", "Why did that happen?", "there",
  "then"; not a date such as "this week", not "those who ...");
- a leading conjunction or linking adverb ("And the second?", "So who won?") or a verbless
  fragment opened by a function word ("What about the unions?", "In July?");
- nominal ellipsis ("the latter", "the first") or no content noun, name or number at all.

Only such questions go to the LLM, which rewrites them from the recent history; the call
is bounded in tokens and in time (streamed, and abandoned at the deadline), and checked: if
the model drifts (drops the question's own words, answers instead of asking, runs long) or
is too slow, the previous question's topic words are prepended instead. Without spaCy the
old word pattern decides.

Stage 1 of a question's path (app/answer/service.py).
"""

from __future__ import annotations

import re
import time
from contextlib import closing

from langchain_core.language_models.chat_models import BaseChatModel

from app.answer.prompts import rewrite_messages
from app.text.nlp import Nlp
from app.text.textmatch import terms
from app.text.timewords import article_month

History = list[tuple[str, str]]  # (user, assistant) turns, oldest first

# Used only when no spaCy pipeline can be loaded: today's pattern, which over-fires.
_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|then|what about|how about|and what|why not|why|how come)\b"
    r"|\b(he|she|they|them|him|her|his|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|the other|the former|the latter|either|both|each side|one another)\b",
    re.I,
)
_NOUNS = {"NOUN", "PROPN"}
_CONTENT = {"NOUN", "PROPN", "NUM"}
_TIME_ENTS = {"DATE", "TIME"}
_GROUP_ENTS = {"ORG", "GPE", "NORP"}  # names of groups take "they"
_NUMBER_ENTS = {"CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"}
_CLAUSAL = {"ccomp", "xcomp", "csubj"}
_NOMINAL = {"nsubj", "nsubjpass", "dobj", "pobj", "attr", "ROOT", "appos", "conj"}
_RELATIVE = {"relcl", "acl"}
# a verbless question opened by one of these leans on the previous turn ("What about X?")
_FUNCTION_POS = {"ADP", "DET", "CCONJ", "SCONJ", "PRON", "ADV", "PART", "INTJ", "AUX"}


# --- the decision --------------------------------------------------------------------------


def _words(doc) -> list:
    return [t for t in doc if not (t.is_punct or t.is_space)]


def _clause(token):
    """The verb (or root) whose clause a token belongs to."""
    while token.head.i != token.i and token.pos_ not in ("VERB", "AUX"):
        token = token.head
    return token


def _extraposed(pron) -> bool:
    """ "Is it true that ...", "How long will it take to ...": a dummy "it" standing for a
    clause later in the question."""
    if "Neut" not in pron.morph.get("Gender") or pron.dep_ not in ("nsubj", "nsubjpass"):
        return False
    head = pron.head
    if any(c.dep_ in _CLAUSAL and c.i > pron.i for c in head.children):
        return True
    # "Is it true that ...", and the cleft "Was it the first time that ...": the clause hangs
    # on the predicate
    around = [c for c in head.children if c.dep_ in ("acomp", "attr", "oprd")]
    return any(c.dep_ in _CLAUSAL | _RELATIVE and c.i > pron.i for h in around for c in h.children)


def _agrees(pron, noun) -> bool:
    """Whether a noun can be what a pronoun stands for (number, gender, a group name)."""
    if noun.ent_type_ in _TIME_ENTS:
        return False
    plural = "Plur" in noun.morph.get("Number")
    if "Plur" in pron.morph.get("Number"):
        return plural or noun.ent_type_ in _GROUP_ENTS or any(c.dep_ == "conj" for c in noun.children)
    if "Neut" in pron.morph.get("Gender"):
        return not plural and noun.ent_type_ != "PERSON"
    return not plural and noun.ent_type_ in ("", "PERSON")


def _named_later(pron, noun) -> bool:
    """A name after a possessive, outside its own phrase, that it can point forward to, as
    news questions do ("... the death of his wife did the former prime minister X die?")."""
    if noun.ent_type_ in ("", *_TIME_ENTS, *_NUMBER_ENTS) or noun in pron.head.subtree:
        return False
    if "Plur" in pron.morph.get("Number"):
        return noun.ent_type_ in _GROUP_ENTS or "Plur" in noun.morph.get("Number")
    return (noun.ent_type_ == "PERSON") != ("Neut" in pron.morph.get("Gender"))


def _antecedents(pron, doc) -> list:
    """Nouns the pronoun may refer back to: those before it, those of the main clause when it
    sits in a fronted subordinate clause ("Before he resigned, what did X say?"), and, for a
    possessive, a name further on."""
    found = [t for t in doc[: pron.i] if t.pos_ in _NOUNS]
    fronted = next((a for a in pron.ancestors if a.dep_ == "advcl" and a.i < a.head.i), None)
    if fronted is not None:
        end = fronted.right_edge.i
        found += [t for t in doc[end + 1 :] if t.pos_ in _NOUNS and t not in fronted.subtree]
    if pron.dep_ == "poss":
        found = [t for t in found if t.i != pron.head.i]
        found += [t for t in doc[pron.i + 1 :] if t.pos_ in _NOUNS and _named_later(pron, t)]
    return found


def _unresolved_pronoun(pron, doc) -> bool:
    morph = pron.morph
    if pron.pos_ != "PRON" or "Prs" not in morph.get("PronType") or "3" not in morph.get("Person"):
        return False
    if pron.dep_ == "expl" or _extraposed(pron):
        return False
    for noun in _antecedents(pron, doc):
        # a clause-mate subject cannot be an object pronoun's antecedent ("What did the report
        # say about them?"), though it can be a possessive's ("the minister ... his plan")
        clause_mate = noun.dep_ in ("nsubj", "nsubjpass") and _clause(noun).i == _clause(pron).i
        if clause_mate and "Yes" not in morph.get("Poss") and "Yes" not in morph.get("Reflex"):
            continue
        if _agrees(pron, noun):
            return False
    return True


def _anaphoric_demonstrative(token) -> bool:
    """ "this deal", "that", "there", "then"; not a date ("this week") nor "those who ..."."""
    if "Dem" not in token.morph.get("PronType") or token.dep_ == "expl" or token.ent_type_ in _TIME_ENTS:
        return False
    if token.tag_ == "DT":
        head = token.head if token.dep_ == "det" else token
        if head.ent_type_ in _TIME_ENTS or head.dep_ == "npadvmod":  # "this week", "a deal that week"
            return False
        return not any(c.dep_ in _RELATIVE for c in head.children)
    if token.pos_ == "ADV":  # locative and temporal pro-forms; "there in the capital" says where
        after_and = token.i > 0 and token.nbor(-1).pos_ == "CCONJ"  # "... and then tell me": a sequence
        return not after_and and not any(True for _ in token.children)
    return False


def _leading_link(words) -> bool:
    """ "And ...", "But ...", "So who ...?", "Also, when ...?"."""
    first = words[0]
    if first.pos_ == "CCONJ":
        return True
    after = first.nbor() if first.i + 1 < len(first.doc) else None
    return first.tag_ == "RB" and after is not None and (after.tag_.startswith("W") or after.text == ",")


def _elliptical_nominal(token) -> bool:
    """ "the latter", "the first": a determiner and an adjective standing for a noun."""
    if token.pos_ != "ADJ" or token.dep_ not in _NOMINAL:
        return False
    kids = [c.dep_ for c in token.children]
    return "det" in kids and not set(kids) - {"det", "amod", "advmod", "punct"}


def follow_up_reason(doc) -> str | None:
    """Why a parsed question leans on the conversation (None when it stands alone)."""
    words = _words(doc)
    if not words:
        return None
    if _leading_link(words):
        return "leading link"
    if not any(t.pos_ in ("VERB", "AUX") for t in words) and words[0].pos_ in _FUNCTION_POS:
        return "fragment"
    for token in words:
        if _unresolved_pronoun(token, doc):
            return "pronoun"
        if _anaphoric_demonstrative(token):
            return "demonstrative"
        if _elliptical_nominal(token):
            return "ellipsis"
    if not any(t.pos_ in _CONTENT for t in words) and not doc.ents:
        return "no content"
    return None


def regex_needs_rewrite(question: str) -> bool:
    """The word-pattern decision (the fallback without spaCy, and the eval's baseline)."""
    return bool(_FOLLOW_UP.search(question)) or len(terms(question)) <= 2


def needs_rewrite(question: str, history: History, nlp: Nlp | None) -> bool:
    """Whether a question needs the conversation to be understood (never without history).
    ``nlp`` is the pipeline that decides; with none (spaCy not installed) the word pattern does."""
    if not history:
        return False
    if nlp is None:
        return regex_needs_rewrite(question)
    return follow_up_reason(nlp.parse(question)) is not None


# --- the rewrite ---------------------------------------------------------------------------


_OWN_WH = re.compile(r"^\W*(who|whom|whose|what|which|where|when|why|how)\b", re.I)


def _fallback(question: str, history: History) -> str:
    """The previous question's words joined to this one. A question with its own question word
    ("Who will attend them?") leads, so it is still read as asking who; an elliptical one ("And
    the second?") follows the question it continues."""
    previous = history[-1][0].rstrip(" ?.")
    if _OWN_WH.match(question):
        return f"{question.rstrip()} ({previous})"
    return f"{previous}: {question}"


def _acceptable(rewrite: str, question: str) -> bool:
    if not rewrite or len(rewrite) > _max_chars(question) or "\n" in rewrite.strip():
        return False
    own = terms(question).all
    kept = own & terms(rewrite).all
    return len(kept) >= min(len(own), 1) and (rewrite.rstrip().endswith("?") or len(rewrite) < 200)


def _max_chars(question: str) -> int:
    return 3 * len(question) + 120


def _time_pivot(question: str, history: History) -> str | None:
    """ "And according to the July article?" after "..., according to the April article?":
    the previous question, asked of the other article."""
    asked = article_month(question)
    before = article_month(history[-1][0]) if history else None
    if asked is None or before is None:
        return None
    rest = question[: asked.start()] + question[asked.end() :]
    if len(terms(rest).all - {"accord"}) > 0:
        return None
    previous = history[-1][0]
    return previous[: before.start()] + asked.group(0).strip() + previous[before.end() :]


def _bounded_reply(llm: BaseChatModel, messages: list, max_tokens: int, timeout_s: float, max_chars: int):
    """The model's reply, read as a stream and given up (None) at the deadline.

    Reading stops at the end of the first question or line, past the length a rewrite may
    have, or, unfinished, at the deadline; closing the stream ends the generation there (llama.cpp's
    model lock is released as its generator closes), so nothing keeps running behind the
    fallback. The deadline is checked between tokens: the prompt's evaluation before the
    first token, and a model that does not stream, cannot be cut short."""
    deadline = time.monotonic() + timeout_s
    text = ""
    with closing(iter(llm.stream(messages, max_tokens=max_tokens))) as chunks:
        for chunk in chunks:
            text += str(chunk.content)
            body = text.lstrip()
            if "?" in body or "\n" in body.strip() or len(body) > max_chars:
                break  # complete (or past saving): what arrived is used, even just late
            if time.monotonic() > deadline:
                return None
    body = text.strip()
    return body[: body.index("?") + 1] if "?" in body else body


def standalone_question(
    question: str, history: History, llm: BaseChatModel | None, *, nlp: Nlp | None, max_tokens: int, timeout_s: float
) -> str:
    """The question rewritten to stand alone (unchanged when it already does): ``nlp`` decides
    whether it leans on the conversation, and then ``rewritten`` rewrites it."""
    if not needs_rewrite(question, history, nlp):
        return question
    return rewritten(question, history, llm, max_tokens, timeout_s)


def rewritten(question: str, history: History, llm: BaseChatModel | None, max_tokens: int, timeout_s: float) -> str:
    """A question that leans on the conversation, rewritten to stand alone: the previous
    question asked of another article, or the model's rewrite (it may write ``max_tokens``
    and take ``timeout_s`` seconds), or, failing those, the previous question's words joined."""
    if pivot := _time_pivot(question, history):
        return pivot
    if llm is None:
        return _fallback(question, history)
    messages = rewrite_messages(question, history)
    try:
        reply = _bounded_reply(llm, messages, max_tokens, timeout_s, _max_chars(question))
    except Exception:  # a failed rewrite must not fail the answer
        return _fallback(question, history)
    if reply is None:
        return _fallback(question, history)
    rewrite = re.sub(r"^(rewritten question|question)\s*:\s*", "", reply.strip('"').strip(), flags=re.I)
    return rewrite if _acceptable(rewrite, question) else _fallback(question, history)
