"""Authorisation by role and jurisdiction: enterprise users only their own USCC, regulators their
subtree, integrators by scope (and jurisdiction claim), admin everything; associations nothing.
A refused upload stores nothing."""

from __future__ import annotations

import pytest

from services.inspection.models import FillingRecord
from tests.inspection.support import CITY, LANSHAN, Inspection, fill

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two_stations(inspection: Inspection, usccs):  # type: ignore[no-untyped-def]
    donggang, lanshan = usccs(0), usccs(1)
    await inspection.station(donggang, cylinders={"C001": {}})
    await inspection.station(lanshan, jurisdiction=LANSHAN, cylinders={"C001": {}})
    return donggang, lanshan


def callers(inspection: Inspection, own: str) -> dict[str, dict[str, str]]:
    return {
        "admin": inspection.admin,
        "own enterprise": inspection.enterprise(own),
        "other enterprise": inspection.enterprise("91371102MA3C5K0X1Q"),
        "city regulator": inspection.auth("regulator", jurisdiction=CITY),
        "other district regulator": inspection.auth("regulator", jurisdiction=LANSHAN),
        "scale (write)": inspection.auth("integrator", jurisdiction=CITY, scopes=["inspection:write"]),
        "scale of another district": inspection.auth("integrator", jurisdiction=LANSHAN, scopes=["inspection:write"]),
        "reader integrator": inspection.auth("integrator", scopes=["inspection:read"]),
        "registry integrator": inspection.auth("integrator", scopes=["registry:read"]),
        "association": inspection.auth("association"),
    }


READS = {"admin": 200, "own enterprise": 200, "other enterprise": 403, "city regulator": 200,
         "other district regulator": 403, "scale (write)": 200, "scale of another district": 403,
         "reader integrator": 200, "registry integrator": 403, "association": 403}
UPLOADS = {"admin": 201, "own enterprise": 201, "other enterprise": 403, "city regulator": 403,
           "other district regulator": 403, "scale (write)": 201, "scale of another district": 403,
           "reader integrator": 403, "registry integrator": 403, "association": 403}


@pytest.mark.parametrize("path", ["filling-records", "filling-records.csv", "equipment-records", "closed-days",
                                  "chain/verify", "chain/links"])
async def test_reads_follow_role_jurisdiction_and_scope(inspection, two_stations, path):
    donggang, _ = two_stations
    got = {name: (await inspection.client.get(f"/api/v1/enterprises/{donggang}/{path}", headers=headers)).status_code
           for name, headers in callers(inspection, donggang).items()}
    assert got == READS
    anonymous = await inspection.client.get(f"/api/v1/enterprises/{donggang}/{path}")
    assert anonymous.status_code == 401


async def test_uploads_follow_role_jurisdiction_and_scope_and_a_refusal_stores_nothing(inspection, two_stations):
    donggang, _ = two_stations
    got = {}
    for n, (name, headers) in enumerate(callers(inspection, donggang).items()):
        got[name] = (await inspection.upload([fill(donggang, filled_at=f"2026-06-15T0{n % 4 + 6}:{n:02d}:00+08:00")],
                                             headers)).status_code
    assert got == UPLOADS
    assert await inspection.count(FillingRecord.__table__) == 3


async def test_a_batch_naming_an_enterprise_the_caller_may_not_write_for_is_refused_whole(inspection, two_stations):
    donggang, lanshan = two_stations
    district_scale = inspection.auth("integrator", jurisdiction="371102", scopes=["inspection:write"])
    response = await inspection.upload([fill(donggang), fill(lanshan)], district_scale)
    assert response.status_code == 403
    mixed = await inspection.upload([fill(donggang), fill(lanshan)], inspection.enterprise(donggang))
    assert mixed.status_code == 403
    assert await inspection.count(FillingRecord.__table__) == 0


async def test_an_unknown_enterprise_is_404_for_those_who_may_look_and_403_for_other_enterprises(inspection):
    url = "/api/v1/enterprises/91371102MA3C5K0X1Q/chain/verify"
    assert (await inspection.client.get(url, headers=inspection.admin)).status_code == 404
    assert (await inspection.client.get(url, headers=inspection.enterprise("91371102MA3C5K0X1Q"))).status_code == 404
    assert (await inspection.client.get(url, headers=inspection.enterprise("91371102MA3C5K0X2Q"))).status_code == 403


async def test_corrections_follow_the_upload_rules_and_a_record_is_read_as_its_enterprise(inspection, two_stations):
    donggang, _ = two_stations
    await inspection.upload([fill(donggang)])
    got, current = {}, None
    for n, (name, headers) in enumerate(callers(inspection, donggang).items()):
        listed = await inspection.client.get(f"/api/v1/enterprises/{donggang}/filling-records",
                                             headers=inspection.admin)
        current = listed.json()["items"][0]["id"]
        response = await inspection.client.post(f"/api/v1/filling-records/{current}/corrections", headers=headers,
                                                 json={"reason": f"fix {n}", "filled_mass_kg": 10.0 + n})
        got[name] = response.status_code
    assert got == {name: 201 if status == 201 else 403 for name, status in UPLOADS.items()}
    assert await inspection.count(FillingRecord.__table__) == 4  # the upload and three corrections
    reads = {name: (await inspection.client.get(f"/api/v1/filling-records/{current}", headers=headers)).status_code
             for name, headers in callers(inspection, donggang).items()}
    assert reads == READS
