"""One writer per embedded index.

Embedded Chroma is not made for two processes: a second process that writes the same
folder leaves the first one's vector index stale (it keeps the HNSW graph it loaded)
while its SQLite view moves on. So:

* an ingest holds ``index/.write.lock`` for its whole run (a second ingest is refused
  with a message, not interleaved);
* a serving app holds ``index/.serve.lock`` and records where it listens in
  ``index/serve.json``; ``python -m app ingest`` then hands the ingest to that app
  (HTTP, loopback only), which runs it in-process and picks the new articles up as
  soon as it finishes, so users are never locked out and nothing is read half-written.

A Chroma server (``NEWSRAG_CHROMA_HOST``) serialises writers itself and needs none of this.
Locks are ``flock`` locks: the kernel drops them when a process dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from app.config import Settings
from app.errors import IndexBusyError

# A serving app waits this long for an ingest that was running before it started.
INGEST_WAIT_S = 1800.0


class IndexLocks:
    def __init__(self, index_dir: Path):
        self.dir = Path(index_dir)

    def _open(self, name: str) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        return os.open(self.dir / name, os.O_RDWR | os.O_CREAT, 0o644)

    @contextlib.contextmanager
    def writing(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the write lock; wait up to ``wait_s`` for another writer, then refuse."""
        fd = self._open(".write.lock")
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                        raise IndexBusyError(
                            f"another ingest (pid {holder}) is writing the index in {self.dir}; wait for it to finish"
                        ) from None
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def serving(self, host: str, port: int) -> Iterator[None]:
        """Hold the serve lock while an app serves this index, and say where it listens."""
        fd = self._open(".serve.lock")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                where = self.live_server()
                raise IndexBusyError(
                    f"another newsrag app already serves the index in {self.dir}"
                    + (f" at http://{where[0]}:{where[1]}/" if where else "")
                ) from None
            info = self.dir / "serve.json"
            info.write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port}))
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def live_server(self) -> tuple[str, int] | None:
        """(host, port) of the app serving this index, if one is running."""
        path = self.dir / ".serve.lock"
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: an app is serving
                try:
                    info = json.loads((self.dir / "serve.json").read_text())
                    host = info["host"]
                    return ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host), int(info["port"])
                except (OSError, ValueError, KeyError):
                    return None
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


# --- the policy: one place decides who may write ----------------------------------------


def writer_lock(settings: Settings, wait_s: float = 0.0) -> contextlib.AbstractContextManager:
    """Hold the write lock of an embedded index for an ingest (a Chroma server needs none)."""
    if settings.server_mode:
        return contextlib.nullcontext()
    return IndexLocks(settings.index_dir).writing(wait_s)


@contextlib.contextmanager
def serving_lock(settings: Settings, host: str, port: int, wait_s: float = INGEST_WAIT_S) -> Iterator[None]:
    """Hold the serve lock while an app serves an embedded index: an ingest started before
    it finishes first, later ones are handed to the app (``live_server``)."""
    if settings.server_mode:
        yield
        return
    locks = IndexLocks(settings.index_dir)
    with locks.serving(host, port):
        with locks.writing(wait_s=wait_s):
            pass
        yield


def live_server(settings: Settings) -> tuple[str, int] | None:
    """(host, port) of the app serving this embedded index, which must run its ingests."""
    return None if settings.server_mode else IndexLocks(settings.index_dir).live_server()
