"""The demo city loads through the service layer, once, with every situation the demo needs."""

from __future__ import annotations

from sqlalchemy import func, select

from services.registry.demo import GAS_FILLING_UNITS, HEADLINE_NAME, HEADLINE_USCC, load_demo
from services.registry.domain.uscc import uscc_violation
from services.registry.models import Accident, Enterprise, Equipment, GasCylinder, Operator
from tests.registry.support import published, today


async def test_the_demo_city_loads_once_into_an_empty_registry(registry) -> None:  # type: ignore[no-untyped-def]
    assert len(await load_demo(registry.runtime, enterprises=40, include_headline=True)) == 40
    assert await load_demo(registry.runtime, enterprises=40) == []  # never twice

    async with registry.runtime.session_factory() as session:
        enterprises = (await session.execute(select(Enterprise))).scalars().all()
        equipment = (await session.execute(select(Equipment))).scalars().all()
        operators = (await session.execute(select(Operator))).scalars().all()
        accidents = (await session.execute(select(func.count()).select_from(Accident))).scalar_one()
        cylinders = (await session.execute(select(func.count()).select_from(GasCylinder))).scalar_one()
    by_uscc = {e.uscc: e for e in enterprises}
    assert len(by_uscc) == 40 and all(uscc_violation(code) is None for code in by_uscc)
    headline = by_uscc[HEADLINE_USCC]
    assert headline.name == HEADLINE_NAME and headline.kinds_tags.startswith("|gas_filling|")
    assert headline.general_credit_grade == "B" and (headline.lat, headline.lon) == (35.42, 119.52)
    assert sum("|gas_filling|" in e.kinds_tags for e in enterprises) == GAS_FILLING_UNITS
    assert all(e.grid_code and e.division_code == e.grid_code for e in enterprises)
    assert {e.division_code[:6] for e in enterprises} == {"371102", "371103", "371121", "371122"}
    assert len({e.venue_type for e in enterprises}) >= 4 and any(e.key_supervision for e in enterprises)
    assert {"2300", "2100", "3000", "4000", "9000"} <= {q.category for q in equipment}
    assert any(q.registration_no is None for q in equipment)
    assert any(q.status == "in_use" and q.next_inspection_due < today() for q in equipment)  # type: ignore[operator]
    assert any(o.certificate_valid_until < today() for o in operators)  # type: ignore[operator]
    assert accidents == 1 and cylinders == GAS_FILLING_UNITS * 18
    assert any("designated" in (e.key_supervision_causes or []) for e in enterprises)
    assert any("accident" in (e.key_supervision_causes or []) for e in enterprises)
    assert len(await published(registry, "enterprise.registered")) == 40
    assert len(await published(registry, "equipment.registered")) == len(equipment)


async def test_the_default_demo_leaves_the_headline_enterprise_for_the_headline_chain(registry) -> None:  # type: ignore[no-untyped-def]
    assert len(await load_demo(registry.runtime, enterprises=20)) == 20
    async with registry.runtime.session_factory() as session:
        usccs = set((await session.execute(select(Enterprise.uscc))).scalars())
    assert HEADLINE_USCC not in usccs and len(usccs) == 20
