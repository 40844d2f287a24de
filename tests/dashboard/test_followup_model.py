"""models.followup: which answers are detractors, and marking them handled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.followup import mark_handled, recent_detractors
from tests import factories

pytestmark = pytest.mark.anyio
DAY = date(2026, 3, 10)


async def _world() -> list[int]:
    world = factories.World()
    north = await factories.contractors(world, 2, region="north")
    south = await factories.contractors(world, 1, region="south", service_type="cleaning")
    when = factories.at(DAY)
    await factories.customers(world, [
        (north[0], 5, 10, 7, True),   # happy: not a detractor
        (north[0], 3, 6, 4, True),    # NPS 6: detractor
        (north[1], 2, 9, 4, False),   # CSAT 2: detractor
        (south[0], 1, 0, 1, False),   # both
        (south[0], 3, 7, 5, True),    # passive: not a detractor
    ], completed=when)
    return [c.id for c in north + south]


async def test_detractors_are_nps_0_to_6_or_csat_1_to_2(db: str) -> None:
    await _world()
    rows = await recent_detractors(start=DAY, end=DAY)
    assert sorted((r.csat, r.nps) for r in rows) == [(1, 0), (2, 9), (3, 6)]
    first = rows[0]
    assert first.job_external_id.startswith("J") and first.contractor_external_id.startswith("C")
    assert not first.handled
    assert await recent_detractors(start=DAY + timedelta(days=1), end=DAY + timedelta(days=2)) == []
    south = await recent_detractors(start=DAY, end=DAY, region="south")
    assert [(r.region, r.service_type) for r in south] == [("south", "cleaning")]


async def test_marking_handled_records_who_and_when_and_can_be_undone(db: str) -> None:
    ids = await _world()
    target = (await recent_detractors(start=DAY, end=DAY, contractor_ids=ids[1:2]))[0]
    assert await mark_handled(response_id=target.response_id, handled=True, by="lead")
    done = await recent_detractors(start=DAY, end=DAY, handled=True)
    assert [(d.response_id, d.handled_by) for d in done] == [(target.response_id, "lead")]
    assert done[0].handled_at is not None
    assert target.response_id not in {d.response_id for d in await recent_detractors(handled=False)}
    assert await mark_handled(response_id=target.response_id, handled=False, by="lead")
    assert await recent_detractors(handled=True) == []


async def test_a_happy_customer_cannot_be_marked(db: str) -> None:
    await _world()
    every = {d.response_id for d in await recent_detractors()}
    from models.entities import CustomerResponse

    happy = await CustomerResponse.filter(csat=5).first()
    assert happy is not None and happy.id not in every
    assert not await mark_handled(response_id=happy.id, handled=True, by="lead")
    assert not await mark_handled(response_id=999_999, handled=True, by="lead")
