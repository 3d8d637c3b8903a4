"""The tamper-evident record chain (防篡改记录链): each enterprise's records form an append-only
chain of links; each link carries the hash of the previous link and of its own payload, so that
editing, deleting, reordering or inserting a link breaks every link after it. Chain heads
published outside the database catch a tail rewritten consistently.

A link's hash is SHA-256 over the RFC 8785 encoding of its envelope::

    {"corrects": <sequence or null>, "created_at": "<UTC, microseconds, Z>", "enterprise_uscc": ...,
     "kind": ..., "payload_hash": <hex SHA-256 of the payload's RFC 8785 encoding>,
     "previous_hash": <the previous link's hash; 64 zeros for the first>, "sequence": n}

The payload is stored as its canonical text, so verifying hashes the stored bytes as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.inspection.domain.canonical import canonical, sha256_hex

GENESIS_HASH = "0" * 64
KIND = re.compile(r"^[a-z][a-z0-9_.]{0,49}$")
_USCC = re.compile(r"^[0-9A-Z]{18}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# a UTC moment's fields as ``timestamp_text`` writes them (the records hash's template writes them too)
STAMP_FORMAT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def timestamp_text(moment: datetime) -> str:
    """How a link's ``created_at`` is written into its hash: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("a link's created_at must be timezone-aware")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat(timespec="microseconds") with a Z, written out (%-formatting: half an f-string's time)
    return STAMP_FORMAT % (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                           moment.microsecond)


def payload_text(payload: Mapping[str, Any]) -> str:
    """The canonical text a payload is stored and hashed as."""
    return canonical(dict(payload)).decode("utf-8")


def payload_hash(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


def envelope(*, enterprise_uscc: str, sequence: int, previous_hash: str, kind: str, payload_hash: str,
             created_at: str, corrects: int | None) -> dict[str, Any]:
    return {"corrects": corrects, "created_at": created_at, "enterprise_uscc": enterprise_uscc, "kind": kind,
            "payload_hash": payload_hash, "previous_hash": previous_hash, "sequence": sequence}


def link_hash(*, enterprise_uscc: str, sequence: int, previous_hash: str, kind: str, payload_hash: str,
              created_at: str, corrects: int | None) -> str:
    """SHA-256 of the envelope's RFC 8785 encoding. Every field is ASCII of a fixed shape (checked
    here), so the canonical bytes are written directly: verifying a million links then costs
    what reading them costs. Tests hold this to ``canonical(envelope(...))``."""
    if not (_USCC.match(enterprise_uscc) and KIND.match(kind) and _HEX64.match(previous_hash)
            and _HEX64.match(payload_hash) and type(sequence) is int and 0 < sequence < 2**53
            and len(created_at) == 27 and created_at.isascii() and '"' not in created_at
            and '\\' not in created_at and (corrects is None or (type(corrects) is int and 0 < corrects < 2**53))):
        return sha256_hex(canonical(envelope(enterprise_uscc=enterprise_uscc, sequence=sequence,
                                             previous_hash=previous_hash, kind=kind, payload_hash=payload_hash,
                                             created_at=created_at, corrects=corrects)))
    text = (f'{{"corrects":{"null" if corrects is None else corrects},"created_at":"{created_at}",'
            f'"enterprise_uscc":"{enterprise_uscc}","kind":"{kind}","payload_hash":"{payload_hash}",'
            f'"previous_hash":"{previous_hash}","sequence":{sequence}}}')
    return sha256_hex(text.encode("ascii"))


@dataclass(frozen=True)
class Link:
    """One link as stored."""

    sequence: int
    previous_hash: str
    payload_hash: str
    link_hash: str
    kind: str
    payload: str
    created_at: datetime | str  # or already as ``timestamp_text`` writes it
    corrects: int | None = None


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold, and why."""

    sequence: int
    reason: str


class ChainVerifier:
    """Fold the links of one chain, in sequence order, chunk by chunk; ``broken`` names the first
    link that fails. Pure: the caller streams the rows in and hands over the heads at the end."""

    def __init__(self, enterprise_uscc: str) -> None:
        self.enterprise_uscc = enterprise_uscc
        self.expected = 1
        self.previous = GENESIS_HASH
        self.hashes_at: dict[int, str] = {}  # only for the sequences a published head names
        self.wanted: set[int] = set()
        self.broken: Broken | None = None

    def watch(self, sequences: Iterable[int]) -> None:
        """Remember the link hashes at these sequences (the published heads), to compare at the end."""
        self.wanted.update(sequences)

    def feed(self, links: Iterable[Link]) -> bool:
        """Check the next links; False once the chain is broken (the caller may stop reading)."""
        if self.broken is not None:
            return False
        uscc = self.enterprise_uscc
        expected, previous, wanted = self.expected, self.previous, self.wanted
        for link in links:
            if link.sequence != expected:
                if link.sequence > expected:
                    reason = f"link {expected} is missing (the next stored link is {link.sequence})"
                else:
                    reason = f"link {link.sequence} appears again after link {expected - 1}"
                self.broken = Broken(expected, reason)
                break
            if payload_hash(link.payload) != link.payload_hash:
                self.broken = Broken(expected, "its payload does not match its payload hash (edited)")
                break
            if link.previous_hash != previous:
                self.broken = Broken(expected, "its previous hash is not the hash of the link before it")
                break
            created = link.created_at if type(link.created_at) is str else timestamp_text(link.created_at)
            recomputed = link_hash(enterprise_uscc=uscc, sequence=link.sequence, previous_hash=link.previous_hash,
                                   kind=link.kind, payload_hash=link.payload_hash, created_at=created,
                                   corrects=link.corrects)
            if recomputed != link.link_hash:
                self.broken = Broken(expected, "its stored hash is not the hash of its contents (edited)")
                break
            if link.corrects is not None and not 0 < link.corrects < link.sequence:
                self.broken = Broken(expected, f"it corrects link {link.corrects}, which does not precede it")
                break
            if expected in wanted:
                self.hashes_at[expected] = recomputed
            previous = recomputed
            expected += 1
        self.expected, self.previous = expected, previous
        return self.broken is None

    @property
    def length(self) -> int:
        return self.expected - 1

    @property
    def head_hash(self) -> str | None:
        return None if self.length == 0 else self.previous

    def finish(self, head: tuple[int, str] | None, published: Iterable[tuple[int, str]]) -> Broken | None:
        """Compare what was read with the chain's head row and with every head published: a link
        missing at the end, or a tail rewritten consistently, shows up here."""
        if self.broken is not None:
            return self.broken
        length = self.length
        for sequence, published_hash in sorted(published):
            if sequence > length:
                return Broken(length + 1, f"a head was published at link {sequence}, but the chain ends at "
                                          f"link {length} (links were deleted)")
            if self.hashes_at.get(sequence) != published_hash:
                return Broken(sequence, f"link {sequence} differs from the head published for it (the chain "
                                        "was rewritten from here or before)")
        if head is not None:
            head_sequence, stored_head_hash = head
            if head_sequence != length:
                at = min(head_sequence, length) + 1
                return Broken(at, f"the chain head says {head_sequence} links, {length} are stored")
            if length and stored_head_hash != self.previous:
                return Broken(length, "the last link is not the chain's recorded head")
        elif length:
            return Broken(1, "links are stored without a chain head")
        return None
