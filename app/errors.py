"""Domain errors. The core raises these; the edges (CLI, UI, API) turn them into
exit codes, chat messages and HTTP statuses."""


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
