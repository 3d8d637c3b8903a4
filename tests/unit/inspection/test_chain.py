"""The chain's hashing and verification, as pure rules."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.inspection.domain.canonical import canonical, sha256_hex
from services.inspection.domain.chain import (
    GENESIS_HASH,
    ChainVerifier,
    Link,
    envelope,
    link_hash,
    payload_hash,
    payload_text,
    timestamp_text,
)

USCC = "91371102MA3C5K0X1Q"
T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def build(n: int) -> list[Link]:
    links, previous = [], GENESIS_HASH
    for k in range(1, n + 1):
        text = payload_text({"batch": k, "records": k * 2})
        digest = payload_hash(text)
        created = T0 + timedelta(seconds=k, microseconds=k)
        corrects = k - 1 if k % 5 == 0 else None
        current = link_hash(enterprise_uscc=USCC, sequence=k, previous_hash=previous, kind="filling_batch",
                            payload_hash=digest, created_at=timestamp_text(created), corrects=corrects)
        links.append(Link(k, previous, digest, current, "filling_batch", text, created, corrects))
        previous = current
    return links


def verify(links: list[Link], head: tuple[int, str] | None, published=()):  # type: ignore[no-untyped-def]
    verifier = ChainVerifier(USCC)
    verifier.watch(s for s, _ in published)
    for n in range(0, len(links), 3):
        if not verifier.feed(links[n:n + 3]):
            break
    return verifier.finish(head, published)


def test_the_direct_link_hash_is_the_hash_of_the_canonical_envelope():
    rng = random.Random(7)
    for _ in range(200):
        fields = {"enterprise_uscc": USCC, "sequence": rng.randint(1, 2**40), "previous_hash": rng.randbytes(32).hex(),
                  "kind": rng.choice(["filling_batch", "equipment_record", "hazard.raised"]),
                  "payload_hash": rng.randbytes(32).hex(),
                  "created_at": timestamp_text(T0 + timedelta(microseconds=rng.randint(0, 10**12))),
                  "corrects": rng.choice([None, rng.randint(1, 1000)])}
        assert link_hash(**fields) == sha256_hex(canonical(envelope(**fields)))


def test_an_untouched_chain_holds_and_its_heads_agree():
    links = build(10)
    assert verify(links, (10, links[-1].link_hash), [(4, links[3].link_hash), (10, links[-1].link_hash)]) is None
    assert verify([], None) is None


@pytest.mark.parametrize(("tamper", "at"), [
    (lambda ls: ls[:3] + [replace(ls[3], payload=ls[3].payload.replace("8", "9"))] + ls[4:], 4),
    (lambda ls: ls[:3] + ls[4:], 4),
    (lambda ls: ls[:3] + [ls[4], ls[3]] + ls[5:], 4),
    (lambda ls: ls[:3] + [replace(ls[3], created_at=ls[3].created_at + timedelta(microseconds=1))] + ls[4:], 4),
    (lambda ls: ls[:3] + [replace(ls[3], kind="equipment_record")] + ls[4:], 4),
    (lambda ls: ls[:3] + [replace(ls[3], corrects=1)] + ls[4:], 4),
    (lambda ls: ls[:2] + [replace(ls[2], sequence=2)] + ls[2:], 3),
])
def test_each_tamper_names_the_first_broken_link(tamper, at):
    links = build(10)
    broken = verify(tamper(links), (10, links[-1].link_hash))
    assert broken is not None and broken.sequence == at, broken


def test_a_consistent_rewrite_of_the_tail_is_caught_only_by_a_published_head():
    links = build(10)
    published = [(8, links[7].link_hash)]
    forged = build(10)[:6]
    previous = forged[-1].link_hash
    for k in range(7, 11):
        text = payload_text({"batch": k, "records": 0})
        created = T0 + timedelta(seconds=k)
        current = link_hash(enterprise_uscc=USCC, sequence=k, previous_hash=previous, kind="filling_batch",
                            payload_hash=payload_hash(text), created_at=timestamp_text(created), corrects=None)
        forged.append(Link(k, previous, payload_hash(text), current, "filling_batch", text, created))
        previous = current
    assert verify(forged, (10, previous)) is None  # consistent in itself
    assert verify(forged, (10, previous), published).sequence == 8
    assert verify(links[:7], (7, links[6].link_hash), published).sequence == 8  # truncated below a published head


def test_a_head_that_disagrees_with_the_links_is_caught():
    links = build(5)
    assert verify(links, (6, "f" * 64)).sequence == 6
    assert verify(links, (5, "f" * 64)).sequence == 5
    assert verify(links, None).sequence == 1


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))])))
def test_a_timestamp_is_written_as_its_utc_isoformat_with_microseconds_and_a_z(moment):
    expected = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert timestamp_text(moment) == expected
