"""The one-statement customer submission, on both backends: it stores exactly what
the careful path stores, and stores nothing whenever the careful path must answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from models import queries
from models.entities import CustomerResponse, Job
from surveys.schema import builtin_survey

pytestmark = pytest.mark.anyio

NOW = datetime(2025, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
COMPLETED = datetime(2025, 2, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # not UTC on purpose
CUSTOMER = {"csat": 5, "nps": 9, "ces": 6, "promise_kept": False, "comment": "Great, «merci»"}
SURVEY = builtin_survey("customer")


async def _job(ext: str = "j1", *, expires_at: datetime | None = None) -> str:
    await queries.upsert_contractor(external_id="c1", name="Ana")
    job, _ = await queries.register_job(
        external_id=ext, contractor="c1", completed_at=COMPLETED, now=NOW - timedelta(days=1)
    )
    if expires_at is not None:
        await Job.filter(id=job.id).update(expires_at=expires_at)
    return job.token


async def _at_once(token: str, submission_id: str | None = "s1", now: datetime = NOW) -> queries.Stored | None:
    return await queries.store_customer_response_at_once(
        token=token, answers=CUSTOMER, survey=SURVEY, lang="es", source="api", submission_id=submission_id, now=now
    )


async def test_stores_the_row_the_orm_path_stores(db: str) -> None:
    first = await _job("j1")
    fast = await _at_once(first)
    link = await queries.find_link(token=await _job("j2"))
    assert link is not None
    careful = await queries.store_customer_response(
        link=link, answers=CUSTOMER, survey=SURVEY, lang="es", source="api", submission_id="s2", now=NOW
    )
    assert fast is not None and fast.created
    assert fast.as_dict() == {**careful.as_dict(), "submission_id": "s1"}
    one, two = await CustomerResponse.all().order_by("id").values()
    for row in (one, two):
        row.pop("id"), row.pop("job_id"), row.pop("submission_id")
    assert one == two
    assert one["answers"] == CUSTOMER and one["submitted_at"] == NOW and one["completed_at"] == COMPLETED
    # a retry is answered by the careful path from the row the fast path stored
    first_link = await queries.find_link(token=first)
    assert first_link is not None
    retry = await queries.store_customer_response(link=first_link, answers=CUSTOMER, survey=SURVEY, submission_id="s1")
    assert not retry.created and retry.as_dict() == fast.as_dict()


async def test_stores_nothing_when_the_careful_path_must_answer(db: str) -> None:
    token = await _job("j1")
    assert await _at_once("nope") is None  # unknown
    assert await _at_once("x" * 65) is None  # too long to be a token
    assert await _at_once(token, "s1") is not None
    assert await _at_once(token, "s1") is None  # a retry
    assert await _at_once(token, "s2") is None  # answered
    assert await _at_once(await _job("j2"), "s1") is None  # a submission id reused on another link
    await queries.create_wave(name="w1", opens_at=NOW - timedelta(days=1), closes_at=NOW + timedelta(days=9))
    [invite] = await queries.create_invites(wave="w1")
    assert await _at_once(invite.token, "p1") is None  # a pulse link
    assert await CustomerResponse.all().count() == 1


@pytest.mark.parametrize("offset", [0, 5, -7])
async def test_a_link_is_open_until_it_expires_whatever_the_stored_offset(db: str, offset: int) -> None:
    zone = timezone(timedelta(hours=offset))
    for n, (expires_at, stored) in enumerate([
        (NOW, False),  # closes at `now` exactly: closed, as Link.closed says
        (NOW - timedelta(microseconds=1), False),
        (NOW - timedelta(days=1), False),
        (NOW + timedelta(milliseconds=2), True),
        (NOW + timedelta(days=1), True),
    ]):
        token = await _job(f"j{n}", expires_at=expires_at.astimezone(zone))
        result = await _at_once(token, f"s{n}")
        assert (result is not None) is stored, expires_at
    assert await CustomerResponse.all().count() == 2


async def test_simultaneous_submissions_store_one(db: str) -> None:
    token = await _job()
    results = await asyncio.gather(*(_at_once(token, f"s{n}") for n in range(6)))
    assert sum(r is not None for r in results) == 1
    assert await CustomerResponse.all().count() == 1
