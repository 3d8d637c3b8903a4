"""What the filling rules know of an enterprise's cylinders and operators, remembered per process.

A filling unit uploads the same few thousand cylinders over and over, and looking them up was a
quarter of ingest's time. Each enterprise's ledger row carries a ``facts_stamp``, a random value
the projection replaces whenever one of its cylinders or operators changes: an entry is used only
while the stamp it was filled under is the one just read, so every replica sees a change at once.
The stamp is read right before the facts (ingest reads it under the chain-head lock), so an
entry never holds facts older than its stamp. An entry also expires after ``ttl`` seconds, which
bounds how long a writer that does not replace stamps (a pod of the release before this one,
during a rolling upgrade) can leave facts stale.

Both kinds of fact are remembered as looked up, absences included: a batch only queries the
numbers no earlier batch asked for."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.domain.anomalies import CylinderFacts, OperatorFacts
from services.inspection.ledger import repository as ledger

# by cylinder number and by certificate; a number the ledger lacks maps to None or is absent (read with ``get``)
Facts = tuple[Mapping[str, CylinderFacts | None], Mapping[str, OperatorFacts | None]]


@dataclass
class _Entry:
    stamp: int
    loaded_at: float  # the cache's clock when the entry was started
    cylinders: dict[str, CylinderFacts | None] = field(default_factory=dict)
    operators: dict[str, OperatorFacts | None] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.cylinders) + len(self.operators)


class LedgerFactsCache:
    """Enterprises' facts, least recently used dropped first once more than ``capacity``
    cylinders and operators are held in all (0: nothing is remembered)."""

    def __init__(self, capacity: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._held = 0  # the sizes of the entries in _entries

    async def lookup(self, session: AsyncSession, uscc: str, stamp: int | None, cylinder_nos: Iterable[str],
                     certificates: Iterable[str | None]) -> Facts:
        """The facts of (at least) these cylinders and certificates, not to be modified;
        ``stamp``: the enterprise's ``facts_stamp`` as read in this transaction (None: nothing
        is remembered)."""
        entry = self._entry(uscc, stamp)
        wanted_cylinders = sorted({n for n in cylinder_nos if n not in entry.cylinders})
        wanted_certificates = sorted({c for c in certificates if c and c not in entry.operators})
        before = entry.size
        if wanted_cylinders:
            found = await ledger.cylinders_by_number(session, uscc, wanted_cylinders)
            for number in wanted_cylinders:
                row = found.get(number)
                entry.cylinders[number] = None if row is None else CylinderFacts(
                    row.next_inspection_date, row.scrap_date, row.status == "scrapped")
        if wanted_certificates:
            found_operators = await ledger.operators_by_certificate(session, uscc, wanted_certificates)
            for number in wanted_certificates:
                op = found_operators.get(number)
                entry.operators[number] = None if op is None else OperatorFacts(
                    op["certificate_valid_until"], op["active"])
        if self._entries.get(uscc) is entry:  # not dropped by another lookup meanwhile
            self._held += entry.size - before
            self._evict()
        return entry.cylinders, entry.operators

    def _entry(self, uscc: str, stamp: int | None) -> _Entry:
        now = self.clock()
        if stamp is None or self.capacity == 0:
            return _Entry(stamp=0, loaded_at=now)  # used for this lookup only
        entry = self._entries.pop(uscc, None)
        if entry is not None and (entry.stamp != stamp or now - entry.loaded_at >= self.ttl):
            self._held -= entry.size
            entry = None
        self._entries[uscc] = entry = entry or _Entry(stamp=stamp, loaded_at=now)  # the most recently used
        return entry

    def _evict(self) -> None:
        """Drop the least recently used entries, down to the capacity: the one just used too when
        it alone holds more (its caller keeps what it was given)."""
        while self._held > self.capacity and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._held -= dropped.size
