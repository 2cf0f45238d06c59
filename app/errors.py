"""Domain errors. The core raises these; the edges (CLI, UI, API) turn them into
exit codes, chat messages and HTTP statuses."""

import re


class NewsragError(Exception):
    """Base class for errors a user can act on; the message says what to do."""


class ConfigError(NewsragError):
    """A setting is invalid or a required dependency is missing."""


class CorpusError(NewsragError):
    """An article could not be read or parsed. Carries the path and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMismatchError(NewsragError):
    """The index was built with settings that differ from the current ones."""


class IndexNotFoundError(NewsragError):
    """No index has been built yet where the settings point."""


class ModelError(NewsragError):
    """A model file is missing, corrupt or cannot be loaded."""


class BackendError(NewsragError):
    """The LLM backend failed (unreachable server, generation error)."""


class BadQuestionError(NewsragError):
    """The question cannot be answered as asked (empty, too long, not text)."""


class IndexBusyError(NewsragError):
    """Another process is writing this index."""


# An absolute file-system path (``/srv/index``, ``~/.cache/m.gguf``): a slash that starts no URL
# part nor a relative path (not after a word character, ":", "/", "." or "~"), then at least one
# folder. Its parts end at spaces, quotes, brackets and ":" (``/x/wire.jsonl:17: bad`` keeps
# ``wire.jsonl:17``).
_PATH = re.compile(r"(?<![\w/:.~])~?/(?:[^\s/'\"`,;:()\[\]<>]+/)+[^\s/'\"`,;:()\[\]<>]*")


def without_paths(text: str) -> str:
    """The text with each absolute file-system path cut to its last part
    (``/home/u/.cache/newsrag/models/m.gguf`` -> ``m.gguf``): what a user is shown of an
    error says what went wrong, never where the server keeps its files."""
    return _PATH.sub(_last_part, text)


def _last_part(match: re.Match) -> str:
    path = match.group(0)
    stem = path.rstrip(".")  # a sentence's full stop stays
    return stem.rstrip("/").rpartition("/")[2] + path[len(stem) :]
