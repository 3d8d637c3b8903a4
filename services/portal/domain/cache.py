"""A small time-bounded cache of what the QR pages show, so that a scan is answered without the
database while nothing changed. Entries carry a tag (the unit's USCC): a change this process
applies (a new grade, an approved comment) drops the unit's entries at once; other replicas'
entries age out after ``ttl_s``. Bounded: the oldest entry goes first. The clock is passed in.
``SingleFlight``: what is not held yet is made once for the lookups that want it at once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class TtlCache:
    ttl_s: float
    max_items: int = 10_000
    _items: OrderedDict[str, tuple[float, str, Any]] = field(default_factory=OrderedDict)

    def get(self, key: str, now: float) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._items[key]
            return None
        return item[2]

    def put(self, key: str, tag: str, value: Any, now: float) -> None:
        if self.ttl_s <= 0:
            return
        self._items.pop(key, None)
        while len(self._items) >= self.max_items:
            self._items.popitem(last=False)
        self._items[key] = (now + self.ttl_s, tag, value)

    def drop_tag(self, tag: str) -> None:
        for key in [k for k, (_, t, _) in self._items.items() if t == tag]:
            del self._items[key]


class SingleFlight(Generic[T]):
    """Concurrent calls for one key share the first one's result: when a popular entry ages out
    under load, every connection would otherwise read the read model at once (each its own unit
    of work, queued on the database), and all wait as long as the last. A call that finds the
    key running waits for that one (shielded: a waiter's cancellation leaves it running); if it
    fails, each waiter makes its own call, so that its own outcome (a miss counted against its
    client, a 503) is its own."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T | None]] = {}

    async def run(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is not None:
            shared = await asyncio.shield(running)
            return shared if shared is not None else await make()
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            made = await make()
        except BaseException:
            future.set_result(None)  # the waiters try for themselves
            raise
        finally:
            del self._running[key]
        future.set_result(made)
        return made
