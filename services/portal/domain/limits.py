"""Per-client rate limits: a sliding window of hits, answered with how long to wait.

One limiter per purpose (token lookups, probing misses, ratings, reports), each keyed by the
client. The clock is passed in, so tests move it instead of sleeping. Held in process memory:
with several replicas each enforces its own share (a shared store would be the next step)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    limit: int
    window_s: float
    max_clients: int = 100_000  # bounded memory: the stalest clients are forgotten first
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def _live(self, client: str, now: float) -> deque[float]:
        hits = self._hits.get(client)
        if hits is None:
            if len(self._hits) >= self.max_clients:
                self._hits.pop(next(iter(self._hits)))
            hits = self._hits[client] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, client: str, now: float) -> int | None:
        """Seconds until ``client`` may try again (at least 1), or None when it may now."""
        hits = self._live(client, now)
        if len(hits) < self.limit:
            return None
        return max(1, math.ceil(hits[0] + self.window_s - now))

    def hit(self, client: str, now: float) -> int | None:
        """Count one attempt if allowed (None); otherwise the seconds to wait, counting nothing."""
        wait = self.retry_after(client, now)
        if wait is None:
            self._hits[client].append(now)
        return wait
