"""The record chain holds against tampering done directly in the database: an edited, deleted,
reordered or inserted link, edited or deleted records behind a link, and a whole tail rewritten
consistently (caught by the published heads), a correction edited, deleted, forged or passed off
as an upload; an untouched chain is never reported. Appends to
one chain on PostgreSQL never fork, however many run at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import pytest

from services.inspection.chain import service as chain
from services.inspection.domain.chain import link_hash, payload_hash, payload_text, timestamp_text
from services.inspection.domain.records import records_hash
from services.inspection.models import ChainLink
from services.inspection.records import repository as records_repo
from shared.context import unit_of_work
from shared.contracts import inspection as events
from tests.inspection.support import TODAY, Inspection, at, fill

pytestmark = pytest.mark.postgres


async def chain_of(inspection: Inspection, uscc: str, batches: int = 6) -> None:
    """``batches`` stored batches of 2 records each: one link each."""
    await inspection.station(uscc, cylinders={f"C{n:03d}": {} for n in range(2 * batches)},
                             operators={"P-0001": date(2029, 1, 1)})
    for b in range(batches):
        response = await inspection.upload([fill(uscc, f"C{2 * b:03d}", at(TODAY, 8, b)),
                                            fill(uscc, f"C{2 * b + 1:03d}", at(TODAY, 9, b))])
        assert response.json()["chain"][0]["sequence"] == b + 1


async def broken_at(inspection: Inspection, uscc: str) -> int | None:
    result = await inspection.verify(uscc)
    assert result["intact"] == (result["first_broken"] is None)
    return None if result["intact"] else result["first_broken"]["sequence"]


async def test_an_untouched_chain_verifies(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    result = await inspection.verify(uscc)
    assert result["intact"] and result["links"] == 6 and result["head_sequence"] == 6
    assert result["first_broken"] is None


async def test_an_edited_payload_is_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    await inspection.sql("UPDATE chain_links SET payload = replace(payload, :old, :new) "
                         "WHERE enterprise_uscc = :u AND sequence = 3", old='"records":2', new='"records":3', u=uscc)
    assert await broken_at(inspection, uscc) == 3


async def forge_link(inspection: Inspection, uscc: str, sequence: int, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite one link's payload with ``change`` and recompute its payload and link hashes, as an
    intruder who knows the scheme would."""
    row = (await inspection.sql("SELECT * FROM chain_links WHERE enterprise_uscc = :u AND sequence = :s",
                                u=uscc, s=sequence)).mappings().one()
    payload = json.loads(row["payload"])
    change(payload)
    text = payload_text(payload)
    created = row["created_at"]
    if isinstance(created, str):  # SQLite hands raw text to a raw query
        created = datetime.fromisoformat(created).replace(tzinfo=UTC)
    new_hash = link_hash(enterprise_uscc=uscc, sequence=sequence, previous_hash=row["previous_hash"],
                         kind=row["kind"], payload_hash=payload_hash(text), created_at=timestamp_text(created),
                         corrects=None)
    await inspection.sql("UPDATE chain_links SET payload = :p, payload_hash = :d, link_hash = :h "
                         "WHERE enterprise_uscc = :u AND sequence = :s", p=text, d=payload_hash(text), h=new_hash,
                         u=uscc, s=sequence)


async def test_a_link_forged_with_recomputed_hashes_is_caught_by_its_records(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    await forge_link(inspection, uscc, 3, lambda p: p.update(records=1))
    assert await broken_at(inspection, uscc) == 3  # link 3 no longer seals its batch's two records


async def test_a_link_forged_with_its_records_to_match_is_caught_by_the_next_link(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    [batch] = (await inspection.sql("SELECT payload FROM chain_links WHERE enterprise_uscc = :u AND sequence = 3",
                                    u=uscc)).scalars().all()
    batch_id = json.loads(batch)["batch_id"]
    await inspection.sql("DELETE FROM filling_records WHERE id = (SELECT max(id) FROM filling_records WHERE "
                         "batch_id = :b)", b=batch_id)
    async with inspection.runtime.session_factory() as session:
        remaining = await records_repo.batch_records(session, batch_id, uscc)
    await forge_link(inspection, uscc, 3, lambda p: p.update(records=1, records_hash=records_hash(remaining),
                                                             last_record_id=p["first_record_id"]))
    assert await broken_at(inspection, uscc) == 4  # link 4 no longer follows link 3


async def test_a_deleted_link_is_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    await inspection.sql("DELETE FROM chain_links WHERE enterprise_uscc = :u AND sequence = 2", u=uscc)
    assert await broken_at(inspection, uscc) == 2


async def test_a_deleted_last_link_is_caught_by_the_head(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    await inspection.sql("DELETE FROM chain_links WHERE enterprise_uscc = :u AND sequence = 6", u=uscc)
    await inspection.sql("DELETE FROM filling_records WHERE id IN (SELECT id FROM filling_records WHERE "
                         "enterprise_uscc = :u ORDER BY id DESC LIMIT 2)", u=uscc)
    assert await broken_at(inspection, uscc) == 6


async def test_reordered_links_are_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    for old, new in ((2, 100), (3, 2), (100, 3)):
        await inspection.sql("UPDATE chain_links SET sequence = :n WHERE enterprise_uscc = :u AND sequence = :o",
                             n=new, o=old, u=uscc)
    assert await broken_at(inspection, uscc) == 2


async def test_an_inserted_link_is_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    await inspection.sql("UPDATE chain_links SET sequence = sequence + 1000 WHERE enterprise_uscc = :u AND "
                         "sequence >= 4", u=uscc)
    await inspection.sql("UPDATE chain_links SET sequence = sequence - 999 WHERE enterprise_uscc = :u AND "
                         "sequence > 1000", u=uscc)
    columns = "previous_hash, payload_hash, link_hash, kind, payload, created_at"
    await inspection.sql(f"INSERT INTO chain_links (enterprise_uscc, sequence, {columns}) SELECT enterprise_uscc, 4, "
                         f"{columns} FROM chain_links WHERE enterprise_uscc = :u AND sequence = 3", u=uscc)
    assert await broken_at(inspection, uscc) == 4


async def test_an_edited_or_deleted_record_behind_a_link_is_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc)
    first_of_batch_2 = "(SELECT min(id) FROM filling_records WHERE enterprise_uscc = :u AND cylinder_no = 'C002')"
    await inspection.sql(f"UPDATE filling_records SET post_check_passed = NOT post_check_passed WHERE id = "
                         f"{first_of_batch_2}", u=uscc)
    assert await broken_at(inspection, uscc) == 2
    await inspection.sql(f"DELETE FROM filling_records WHERE id = {first_of_batch_2}", u=uscc)
    assert await broken_at(inspection, uscc) == 2


async def test_a_record_slipped_in_behind_the_chains_back_is_caught(inspection, usccs):
    uscc = usccs()
    await chain_of(inspection, uscc, batches=2)
    await inspection.sql("INSERT INTO filling_records (enterprise_uscc, cylinder_no, medium, filled_at, business_date, "
                         "pre_check_passed, post_check_passed, filled_mass_kg, batch_id, received_at, anomalies) "
                         "SELECT enterprise_uscc, 'FORGED', medium, filled_at, business_date, pre_check_passed, "
                         "post_check_passed, filled_mass_kg, 'not-a-batch', received_at, anomalies "
                         "FROM filling_records WHERE enterprise_uscc = :u AND cylinder_no = 'C000'", u=uscc)
    result = await inspection.verify(uscc)
    assert not result["intact"] and "sealed" in result["first_broken"]["reason"]


async def corrected_chain(inspection: Inspection, uscc: str) -> tuple[int, int]:
    """``chain_of`` and a correction of the first record (link 7, correcting link 1): the ids of
    the corrected record and of its correction."""
    await chain_of(inspection, uscc)
    [original] = (await inspection.sql("SELECT min(id) FROM filling_records WHERE enterprise_uscc = :u",
                                       u=uscc)).scalars().all()
    response = await inspection.client.post(f"/api/v1/filling-records/{original}/corrections", json={
        "reason": "re-weighed", "filled_mass_kg": 15.0}, headers=inspection.scale)
    assert response.status_code == 201 and response.json()["chain"]["sequence"] == 7, response.text
    assert (await inspection.verify(uscc))["intact"]
    return original, int(response.json()["id"])


@pytest.mark.parametrize(("tampering", "at"), [
    ("UPDATE filling_records SET correction_reason = 'rewritten' WHERE id = :c", 7),
    ("UPDATE filling_records SET filled_mass_kg = 99 WHERE id = :c", 7),
    ("UPDATE filling_records SET corrects_id = NULL, cylinder_no = 'C999' WHERE id = :c", 7),  # as an upload
    ("UPDATE filling_records SET chain_sequence = 3 WHERE id = :c", 7),
    ("DELETE FROM filling_records WHERE id = :c", 7),
    # an upload passed off as a correction of another, which then drops out of the current view
    ("UPDATE filling_records SET corrects_id = :c WHERE enterprise_uscc = :u AND cylinder_no = 'C002'", 2),
    # a correction slipped in that no link sealed
    ("INSERT INTO filling_records (enterprise_uscc, cylinder_no, medium, filled_at, business_date, pre_check_passed, "
     "post_check_passed, filled_mass_kg, batch_id, received_at, anomalies, version, corrects_id, original_id) "
     "SELECT enterprise_uscc, cylinder_no, medium, filled_at, business_date, pre_check_passed, post_check_passed, "
     "filled_mass_kg, 'forged', received_at, anomalies, 3, id, original_id FROM filling_records WHERE id = :c", 8),
])
async def test_a_tampered_correction_is_caught(inspection, usccs, tampering, at):
    uscc = usccs()
    _, correction = await corrected_chain(inspection, uscc)
    await inspection.sql(tampering, c=correction, u=uscc)
    assert await broken_at(inspection, uscc) == at


async def test_a_tail_rewritten_consistently_is_caught_by_the_published_heads(inspection, usccs):
    """The intruder deletes links 4-6 and their records and appends forged links with hashes that
    all agree, head row included: only the head published at link 5 (outside) tells."""
    uscc = usccs()
    inspection.runtime.settings.chain_head_every = 5  # type: ignore[misc]
    await chain_of(inspection, uscc)
    [published] = await inspection.outbox(events.CHAIN_HEAD_PUBLISHED.type, uscc)
    assert published["data"]["sequence"] == 5
    await inspection.sql("DELETE FROM chain_links WHERE enterprise_uscc = :u AND sequence >= 4", u=uscc)
    await inspection.sql("DELETE FROM filling_records WHERE enterprise_uscc = :u AND cylinder_no >= 'C006'", u=uscc)
    await inspection.sql("UPDATE chain_heads SET sequence = 3, head_hash = (SELECT link_hash FROM chain_links WHERE "
                         "enterprise_uscc = :u AND sequence = 3) WHERE enterprise_uscc = :u", u=uscc)
    inspection.runtime.settings.chain_head_every = 1000  # type: ignore[misc]
    inspection.clock.advance(minutes=5)
    for b in range(3):  # forged, through the service itself: every hash agrees
        await inspection.upload([fill(uscc, f"C{6 + b:03d}", at(TODAY, 11, b))])
    assert (await inspection.verify(uscc))["head_sequence"] == 6
    assert await broken_at(inspection, uscc) == 5


async def test_a_chain_with_its_published_heads_verifies_and_the_timer_publishes_the_rest(inspection, usccs):
    uscc = usccs()
    inspection.runtime.settings.chain_head_every = 4  # type: ignore[misc]
    await chain_of(inspection, uscc)
    inspection.clock.advance(seconds=inspection.runtime.settings.chain_head_interval_s + 1)
    async with unit_of_work(inspection.runtime) as ctx:
        assert await chain.publish_due_heads(ctx) == [uscc]  # links 5-6 were not covered yet
        assert await chain.publish_due_heads(ctx) == []
    heads = [e["data"]["sequence"] for e in await inspection.outbox(events.CHAIN_HEAD_PUBLISHED.type, uscc)]
    assert heads == [4, 6]
    result = await inspection.verify(uscc)
    assert result["intact"] and result["published_heads"] == 2 and result["last_published_sequence"] == 6


async def test_the_cli_names_the_first_broken_link(inspection, usccs, monkeypatch):
    from typer.testing import CliRunner

    from services.cli import _mount_service_commands, app

    uscc = usccs()
    await corrected_chain(inspection, uscc)
    monkeypatch.setenv("SAFEGRID_INSPECTION_DATABASE_URL", inspection.runtime.settings.database_url)
    _mount_service_commands()
    runner = CliRunner()

    def run() -> object:
        return runner.invoke(app, ["inspection", "verify-chain", uscc])

    intact = await asyncio.to_thread(run)
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.stdout.splitlines()[0])["intact"] is True
    await inspection.sql("DELETE FROM chain_links WHERE enterprise_uscc = :u AND sequence = 2", u=uscc)
    broken = await asyncio.to_thread(run)
    assert broken.exit_code == 1
    assert json.loads(broken.stdout.splitlines()[0])["first_broken"]["sequence"] == 2


async def test_concurrent_appends_to_one_chain_never_fork(inspection, usccs):
    if inspection.runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers by design; the lock is PostgreSQL's question")
    uscc = usccs()
    await inspection.station(uscc, cylinders={}, operators={})

    async def batch(n: int) -> int:
        response = await inspection.upload([fill(uscc, f"X{n:03d}-{k}", at(TODAY, 10, k)) for k in range(3)])
        assert response.status_code == 201, response.text
        return response.json()["chain"][0]["sequence"]

    sequences = await asyncio.gather(*(batch(n) for n in range(16)))
    assert sorted(sequences) == list(range(1, 17))
    assert await inspection.count(ChainLink.__table__, ChainLink.__table__.c.enterprise_uscc == uscc) == 16
    assert (await inspection.verify(uscc))["intact"]
