"""A small time-bounded cache of what the QR pages show, so that a scan is answered without the
database while nothing changed. Entries carry a tag (the unit's USCC): a change this process
applies (a new grade, an approved comment) drops the unit's entries at once; other replicas'
entries age out after ``ttl_s``. Bounded: the oldest entry goes first. The clock is passed in."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


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
