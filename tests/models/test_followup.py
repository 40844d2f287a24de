"""models.followup: every detractor answer is a case; list, search, sort, act, time it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from models import outbox
from models.entities import CustomerResponse, FollowupCase, FollowupNote, Job, WebhookDelivery, WebhookEndpoint
from models.followup import (
    CaseChange,
    CaseError,
    CaseNotFound,
    change_case,
    find_cases,
    get_case,
    timing_by_segment,
)
from models.forget import forget_contractor
from models.keys import create_user
from tests import factories

pytestmark = pytest.mark.anyio
DAY = date(2026, 3, 10)


async def _world() -> list[int]:
    """Five answers on DAY (three detractors), then one more detractor a day later."""
    world = factories.World()
    north = await factories.contractors(world, 2, region="north")
    south = await factories.contractors(world, 1, region="south", service_type="cleaning")
    await factories.customers(world, [
        (north[0], 5, 10, 7, True),   # happy: not a detractor
        (north[0], 3, 6, 4, True),    # NPS 6: detractor
        (north[1], 2, 9, 4, False),   # CSAT 2: detractor
        (south[0], 1, 0, 1, False),   # both
        (south[0], 3, 7, 5, True),    # passive: not a detractor
    ], completed=factories.at(DAY))
    await factories.customers(world, [(north[1], 1, 3, 2, False)], completed=factories.at(DAY + timedelta(days=1)))
    return [c.id for c in north + south]


async def test_every_detractor_is_a_case_with_a_total_and_pages(db: str) -> None:
    await _world()
    first = await find_cases(page_size=2)
    assert first.total == 4 and first.pages == 2
    assert [(c.csat, c.nps) for c in first.cases] == [(3, 6), (2, 9)]  # oldest first, then by id
    second = await find_cases(page_size=2, page=2)
    assert [(c.csat, c.nps) for c in second.cases] == [(1, 0), (1, 3)]
    newest = await find_cases(sort="newest")
    assert newest.cases[0].submitted_at > newest.cases[-1].submitted_at
    assert (await find_cases(start=DAY, end=DAY)).total == 3
    south = await find_cases(region="south")
    assert [(c.region, c.service_type) for c in south.cases] == [("south", "cleaning")]
    with pytest.raises(CaseError):
        await find_cases(sort="loudest")


async def test_search_finds_a_case_by_job_or_contractor(db: str) -> None:
    await _world()
    case = (await find_cases()).cases[1]
    by_job = await find_cases(search=case.job_external_id.lower())
    assert [c.id for c in by_job.cases] == [case.id]
    by_contractor = await find_cases(search=case.contractor_external_id)
    assert case.id in {c.id for c in by_contractor.cases}
    assert all(c.contractor_external_id == case.contractor_external_id for c in by_contractor.cases)
    assert (await find_cases(search="no such job")).total == 0


async def test_assign_note_root_cause_and_close_time_the_case(db: str) -> None:
    await _world()
    await create_user(username="maria", password="a long enough password")
    case = (await find_cases()).cases[0]
    submitted = case.submitted_at
    t1, t2 = submitted + timedelta(hours=3), submitted + timedelta(hours=30)
    assigned = await change_case(case_id=case.id, change=CaseChange(assignee="maria"), by="lead", now=t1)
    assert assigned.assignee == "maria" and assigned.first_action_at == t1 and not assigned.closed
    await change_case(case_id=case.id, change=CaseChange(note="Called the customer", root_cause="process"),
                      by="maria", now=t1 + timedelta(hours=1))
    closed = await change_case(case_id=case.id, change=CaseChange(outcome="Refunded the delivery fee"),
                               by="maria", now=t2)
    assert closed.closed and closed.closed_at == t2 and closed.closed_by == "maria"
    assert closed.first_action_at == t1  # the first action stays the first
    assert closed.root_cause == "process" and closed.outcome == "Refunded the delivery fee"
    assert [(n.author, n.text) for n in closed.notes] == [("maria", "Called the customer")]
    assert closed.hours_to_first_action() == 3 and closed.hours_to_close() == 30
    assert case.id not in {c.id for c in (await find_cases()).cases}  # open is the default
    assert [c.id for c in (await find_cases(show="closed")).cases] == [case.id]
    assert (await find_cases(assignee="maria", show="all")).total == 1
    assert (await find_cases(root_cause="process", show="all")).total == 1
    with pytest.raises(CaseError, match="closed already"):
        await change_case(case_id=case.id, change=CaseChange(outcome="again"), by="maria")
    reopened = await change_case(case_id=case.id, change=CaseChange(reopen=True), by="lead")
    assert not reopened.closed and reopened.outcome is None and reopened.first_action_at == t1


async def test_changes_that_cannot_be_made(db: str) -> None:
    await _world()
    case = (await find_cases()).cases[0]
    with pytest.raises(CaseError, match="assignee"):
        await change_case(case_id=case.id, change=CaseChange(assignee="nobody"), by="lead")
    with pytest.raises(CaseError, match="root_cause"):
        await change_case(case_id=case.id, change=CaseChange(root_cause="weather"), by="lead")
    with pytest.raises(CaseError, match="nothing to change"):
        await change_case(case_id=case.id, change=CaseChange(), by="lead")
    with pytest.raises(CaseError, match="note"):
        await change_case(case_id=case.id, change=CaseChange(note="   "), by="lead")
    happy = await CustomerResponse.filter(csat=5).first()
    assert happy is not None
    with pytest.raises(CaseNotFound):
        await change_case(case_id=happy.id, change=CaseChange(note="hello"), by="lead")
    with pytest.raises(CaseNotFound):
        await get_case(case_id=999_999)
    assert await FollowupCase.all().count() == 0  # nothing half-written


async def test_the_customer_ref_of_the_job_comes_with_the_case(db: str) -> None:
    await _world()
    case = (await find_cases()).cases[0]
    await Job.filter(external_id=case.job_external_id).update(customer_ref="CRM-881")
    assert (await get_case(case_id=case.id)).customer_ref == "CRM-881"


async def test_time_to_act_per_segment_against_the_target(db: str) -> None:
    await _world()
    cases = (await find_cases(start=DAY, end=DAY)).cases
    north = [c for c in cases if c.region == "north"]
    await change_case(case_id=north[0].id, change=CaseChange(note="on it"), by="lead",
                      now=north[0].submitted_at + timedelta(hours=10))
    await change_case(case_id=north[1].id, change=CaseChange(outcome="apologised"), by="lead",
                      now=north[1].submitted_at + timedelta(hours=60))
    now = datetime(2026, 3, 20, tzinfo=UTC)
    rows = {r.segment: r for r in await timing_by_segment(start=DAY, end=DAY, target_hours=48, now=now)}
    assert set(rows) == {"north", "south", "All"}
    n = rows["north"]
    assert (n.cases, n.open, n.acted, n.closed) == (2, 1, 2, 1)
    assert n.first_action_hours == 35  # median of 10 and 60
    assert (n.first_action_within, n.closed_within, n.close_hours) == (1, 0, 60)
    assert n.past_target == 2  # one open for ten days, one closed after 60 hours
    assert (rows["south"].acted, rows["south"].past_target) == (0, 1)
    assert rows["All"].cases == 3


async def test_forgetting_the_contractor_takes_their_cases_and_notes(db: str) -> None:
    await _world()
    case = (await find_cases(region="south")).cases[0]
    await change_case(case_id=case.id, change=CaseChange(note="their customer"), by="lead")
    await forget_contractor(external_id=case.contractor_external_id)
    assert await FollowupCase.all().count() == 0 and await FollowupNote.all().count() == 0


async def test_closing_queues_followup_closed_in_the_same_transaction(db: str) -> None:
    await _world()
    await WebhookEndpoint.create(url="http://crm.test/hook", secret="whsec_test",
                                 events=outbox.events_column(["followup.closed"]))
    case = (await find_cases()).cases[0]
    await Job.filter(external_id=case.job_external_id).update(customer_ref="CRM-7")
    await change_case(case_id=case.id, change=CaseChange(note="called", root_cause="platform"), by="lead")
    assert await WebhookDelivery.all().count() == 0  # only the close is an event
    await change_case(case_id=case.id, change=CaseChange(outcome="app bug fixed, voucher sent"), by="lead")
    [row] = await WebhookDelivery.all()
    body = json.loads(row.payload)
    assert body["type"] == "followup.closed"
    data = body["data"]
    assert (data["id"], data["job"], data["customer_ref"], data["root_cause"], data["outcome"]) == (
        case.id, case.job_external_id, "CRM-7", "platform", "app bug fixed, voucher sent")
    assert "notes" not in data
    with pytest.raises(CaseError):  # a refused close queues nothing
        await change_case(case_id=case.id, change=CaseChange(outcome="twice"), by="lead")
    assert await WebhookDelivery.all().count() == 1
