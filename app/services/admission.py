"""Admission to the model: who may queue for an answer, in what order, and how long they
will wait.

One model context writes one answer at a time, so answers that need the model queue
first come, first served, and three rules keep that fair: a session has at most one
question waiting (a second is refused until the first is answered), a client has at
most ``answer_rate_per_minute`` such questions in any minute, and at most
``answer_queue_max`` questions wait at once. Each refusal is a message with the expected
wait, estimated from the measured service time (a moving average of recent answers), so
the user knows when to ask again. Cache hits and light requests never come here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.config import Settings
from app.errors import NewsragError

RATE_WINDOW_S = 60.0


class AdmissionRefused(NewsragError):
    """A question not queued; ``message`` says why and ``retry_after_s`` when to ask again."""

    def __init__(self, message: str, retry_after_s: float, reason: str):
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.reason = reason  # "session", "rate" or "queue"


@dataclass(eq=False)
class Ticket:
    client: str
    session: str
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    abandoned: bool = False  # its asker pressed Stop; it frees the model at its next step


class AnswerGate:
    """First come, first served admission to ``slots`` concurrent generations."""

    def __init__(self, settings: Settings, slots: int = 1):
        self.slots = slots
        self.queue_max = settings.answer_queue_max
        self.rate = settings.answer_rate_per_minute
        self.service_s = settings.answer_service_estimate_s  # replaced by measurements
        self._queue: deque[Ticket] = deque()
        self._active: list[Ticket] = []
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._cond = threading.Condition()
        self.refused = defaultdict(int)

    def enter(self, client: str, session: str = "") -> Ticket:
        """A place in the queue, or AdmissionRefused with the reason and the expected wait."""
        now = time.monotonic()
        with self._cond:
            if session and any(t.session == session and not t.abandoned for t in (*self._queue, *self._active)):
                self._refuse("session")
                raise AdmissionRefused(
                    "Your previous question is still being answered; ask the next one when it is done.",
                    self._wait_for(len(self._queue)),
                    "session",
                )
            recent = self._recent[client]
            while recent and now - recent[0] > RATE_WINDOW_S:
                recent.popleft()
            if self.rate and len(recent) >= self.rate:
                retry = RATE_WINDOW_S - (now - recent[0])
                self._refuse("rate")
                message = (
                    f"You have asked {len(recent)} questions in the last minute, the most one user may ask "
                    f"({self.rate}); please wait about {math.ceil(retry)} s before the next."
                )
                raise AdmissionRefused(message, retry, "rate")
            if len(self._queue) >= self.queue_max:
                wait = self._wait_for(len(self._queue))
                self._refuse("queue")
                raise AdmissionRefused(
                    f"{len(self._queue)} questions are waiting for the model already, about {math.ceil(wait)} s of "
                    "work; please ask again in a little while (answers already given are served at once).",
                    wait,
                    "queue",
                )
            recent.append(now)
            ticket = Ticket(client, session)
            self._queue.append(ticket)
            return ticket

    def wait(self, ticket: Ticket, poll_s: float = 0.5) -> Iterator[tuple[int, float]]:
        """(position, expected wait in s) while the ticket waits; returns once it holds a slot.
        The lock is never held across a yield (the caller may take its time)."""
        while True:
            with self._cond:
                if ticket not in self._queue:
                    raise RuntimeError("ticket is not queued")
                if self._ready(ticket):
                    self._queue.popleft()
                    ticket.started_at = time.monotonic()
                    self._active.append(ticket)
                    return
                position = self._queue.index(ticket) + 1
                expected = self._wait_for(position - 1)
            yield position, expected
            with self._cond:
                if not self._ready(ticket):
                    self._cond.wait(poll_s)

    def _ready(self, ticket: Ticket) -> bool:
        return bool(self._queue) and self._queue[0] is ticket and len(self._active) < self.slots

    def abandon(self, session: str) -> int:
        """The session's asker stopped its question: it no longer counts as theirs (they may ask
        the next one), though the model finishes the step it is in before the slot is free.
        Returns how many tickets were abandoned."""
        with self._cond:
            found = [t for t in (*self._queue, *self._active) if session and t.session == session]
            for t in found:
                t.abandoned = True
            return len(found)

    def answering(self, session: str) -> bool:
        """Whether one of the session's questions holds a slot (is being answered) now."""
        with self._cond:
            return bool(session) and any(t.session == session for t in self._active)

    def leave(self, ticket: Ticket) -> None:
        """Done (or given up): free the slot or the place; a finished answer's time is measured."""
        with self._cond:
            if ticket in self._active:
                self._active.remove(ticket)
                took = time.monotonic() - (ticket.started_at or time.monotonic())
                if not ticket.abandoned:  # a stopped answer is no measure of an answer's time
                    self.service_s = 0.8 * self.service_s + 0.2 * took
            elif ticket in self._queue:
                self._queue.remove(ticket)
            self._cond.notify_all()

    def _wait_for(self, ahead: int) -> float:
        """Expected seconds until a question with ``ahead`` questions before it starts."""
        now = time.monotonic()
        running = sum(max(0.0, self.service_s - (now - (t.started_at or now))) for t in self._active)
        return (running + ahead * self.service_s) / self.slots

    def _refuse(self, reason: str) -> None:
        self.refused[reason] += 1

    def stats(self) -> dict:
        with self._cond:
            return {
                "waiting": len(self._queue),
                "answering": len(self._active),
                "service_s": round(self.service_s, 2),
                "refused": dict(self.refused),
            }
