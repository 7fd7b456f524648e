"""Per-user concurrency: one inline completion at a time, a few chat streams at a time.

Ghost text is only ever wanted for the latest keystroke, so a newer completion request from the
same user cancels the older one (its upstream request is closed) and the older caller is told
``409 superseded``. Chat streams are counted instead: over the cap is ``429``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from collabcode.errors import Conflict, RateLimited

T = TypeVar("T")


@dataclass
class _Slot:
    task: asyncio.Task[object]
    superseded: bool = False


class CompletionSlots:
    """At most one running completion per user; the newest wins."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    def running(self, user_id: str) -> bool:
        return user_id in self._slots

    async def run(self, user_id: str, work: Callable[[], Awaitable[T]]) -> T:
        older = self._slots.get(user_id)
        if older is not None:
            older.superseded = True
            older.task.cancel()
        task: asyncio.Task[T] = asyncio.ensure_future(work())
        slot = _Slot(task)  # type: ignore[arg-type]
        self._slots[user_id] = slot
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if slot.superseded:
                raise Conflict("A newer completion request replaced this one.", code="superseded") from None
            task.cancel()  # our caller went away: stop the work (closes the upstream request)
            raise
        finally:
            if self._slots.get(user_id) is slot:
                del self._slots[user_id]

    async def cancel_all(self) -> None:
        slots = list(self._slots.values())
        for slot in slots:
            slot.task.cancel()
        for slot in slots:
            # Shutting down: each caller sees its own outcome.
            with contextlib.suppress(BaseException):
                await slot.task


@dataclass
class StreamCounter:
    """How many chat streams each user has open, capped."""

    limit: int
    _open: dict[str, int] = field(default_factory=dict)

    def count(self, user_id: str) -> int:
        return self._open.get(user_id, 0)

    @contextmanager
    def hold(self, user_id: str) -> Iterator[None]:
        self.acquire(user_id)
        try:
            yield
        finally:
            self.release(user_id)

    def acquire(self, user_id: str) -> None:
        if self.count(user_id) >= self.limit:
            raise RateLimited(5, f"You already have {self.limit} assistant answers streaming; wait for one to finish.")
        self._open[user_id] = self.count(user_id) + 1

    def release(self, user_id: str) -> None:
        left = self.count(user_id) - 1
        if left > 0:
            self._open[user_id] = left
        else:
            self._open.pop(user_id, None)
