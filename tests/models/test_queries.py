"""The query layer on both backends: links out, answers in, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from models import queries
from models.entities import (
    CustomerResponse,
    Job,
    PulseInvite,
    PulseItemAnswer,
    PulseResponse,
    PulseScore,
)
from surveys.schema import builtin_survey
from tests.factories import copies_that_disagree

pytestmark = pytest.mark.anyio

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CUSTOMER = {"csat": 5, "nps": 9, "ces": 6, "promise_kept": True, "comment": "Great"}
PULSE = {q.id: 4 for q in builtin_survey("pulse").questions if q.dimension}


async def _contractor(ext: str = "c1", **kw: object) -> None:
    await queries.upsert_contractor(external_id=ext, name=f"Name {ext}", **kw)  # type: ignore[arg-type]


async def _customer_link(ext: str = "j1") -> queries.Link:
    await _contractor()
    job, _ = await queries.register_job(external_id=ext, contractor="c1", completed_at=NOW)
    link = await queries.find_link(token=job.token)
    assert link is not None
    return link


async def _pulse_link() -> queries.Link:
    await _contractor()
    await queries.create_wave(name="w1", opens_at=NOW - timedelta(days=1), closes_at=NOW + timedelta(days=9))
    [invite] = await queries.create_invites(wave="w1")
    link = await queries.find_link(token=invite.token)
    assert link is not None
    return link


async def test_upsert_contractor_creates_then_updates(db: str) -> None:
    first, created = await queries.upsert_contractor(external_id="c1", name="Ana", region="North")
    assert created
    second, created = await queries.upsert_contractor(external_id="c1", name="Ana B", region="South")
    assert not created and second.id == first.id
    assert (second.name, second.region) == ("Ana B", "South")


async def test_register_job_returns_the_same_link_for_the_same_job(db: str) -> None:
    await _contractor()
    job, created = await queries.register_job(external_id="j1", contractor="c1", completed_at=NOW, now=NOW)
    assert created
    assert job.expires_at == NOW + timedelta(days=30)
    again, created = await queries.register_job(external_id="j1", contractor="c1", completed_at=NOW)
    assert not created and again.token == job.token
    assert await Job.all().count() == 1


async def test_register_job_for_unknown_contractor_is_not_found(db: str) -> None:
    with pytest.raises(queries.NotFound, match="nobody"):
        await queries.register_job(external_id="j1", contractor="nobody", completed_at=NOW)


async def test_wave_names_are_unique_and_must_close_after_opening(db: str) -> None:
    await queries.create_wave(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    with pytest.raises(queries.Conflict):
        await queries.create_wave(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    with pytest.raises(ValueError, match="closes_at"):
        await queries.create_wave(name="w2", opens_at=NOW, closes_at=NOW)


async def test_invites_go_to_active_contractors_once(db: str) -> None:
    await _contractor("c1")
    await _contractor("c2")
    await _contractor("c3", active=False)
    await queries.create_wave(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    first = await queries.create_invites(wave="w1")
    assert [i.contractor for i in first] == ["c1", "c2"]
    again = await queries.create_invites(wave="w1", contractors=["c3", "c1"])
    assert [i.contractor for i in again] == ["c3", "c1"]
    assert again[1].token == first[0].token
    assert await PulseInvite.all().count() == 3
    listed = await queries.list_invites(wave="w1")
    assert [(i.contractor, i.token) for i in listed] == [
        ("c1", first[0].token), ("c2", first[1].token), ("c3", again[0].token)
    ]


async def test_concurrent_invites_do_not_duplicate(db: str) -> None:
    for n in range(5):
        await _contractor(f"c{n}")
    await queries.create_wave(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    a, b = await asyncio.gather(queries.create_invites(wave="w1"), queries.create_invites(wave="w1"))
    assert [i.token for i in a] == [i.token for i in b]
    assert await PulseInvite.all().count() == 5


async def test_invites_name_unknown_waves_and_contractors(db: str) -> None:
    with pytest.raises(queries.NotFound, match="w9"):
        await queries.create_invites(wave="w9")
    await queries.create_wave(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    with pytest.raises(queries.NotFound, match="ghost"):
        await queries.create_invites(wave="w1", contractors=["ghost"])
    with pytest.raises(queries.NotFound):
        await queries.list_invites(wave="w9")


async def test_find_link_tells_jobs_from_invites(db: str) -> None:
    customer = await _customer_link()
    assert customer.kind == "customer" and customer.job_id is not None
    pulse = await _pulse_link()
    assert pulse.kind == "pulse" and pulse.closes_at == NOW + timedelta(days=9)
    assert await queries.find_link(token="nope") is None
    assert await queries.find_link(token=customer.token, kind="pulse") is None


async def test_customer_response_is_stored_once_and_retry_returns_it(db: str) -> None:
    link = await _customer_link()
    survey = builtin_survey("customer")
    first = await queries.store_customer_response(link=link, answers=CUSTOMER, survey=survey, submission_id="s1")
    assert first.created
    retry = await queries.store_customer_response(link=link, answers=CUSTOMER, survey=survey, submission_id="s1")
    assert not retry.created and retry.as_dict() == first.as_dict()
    with pytest.raises(queries.AlreadyAnswered):
        await queries.store_customer_response(link=link, answers=CUSTOMER, survey=survey, submission_id="s2")
    row = await CustomerResponse.get()
    assert (row.csat, row.nps, row.ces, row.promise_kept, row.comment) == (5, 9, 6, True, "Great")
    assert await queries.is_answered(link=link)


async def test_a_submission_id_cannot_be_reused_on_another_link(db: str) -> None:
    survey = builtin_survey("customer")
    one = await _customer_link("j1")
    job, _ = await queries.register_job(external_id="j2", contractor="c1", completed_at=NOW)
    two = await queries.find_link(token=job.token)
    assert two is not None
    await queries.store_customer_response(link=one, answers=CUSTOMER, survey=survey, submission_id="s1")
    with pytest.raises(queries.Conflict):
        await queries.store_customer_response(link=two, answers=CUSTOMER, survey=survey, submission_id="s1")
    assert await queries.stored_for_submission(link=two, submission_id="s1") is None
    assert await queries.stored_for_submission(link=one, submission_id="s1") is not None


async def test_two_simultaneous_customer_submissions_store_one(db: str) -> None:
    link = await _customer_link()
    survey = builtin_survey("customer")
    results = await asyncio.gather(
        *(
            queries.store_customer_response(link=link, answers=CUSTOMER, survey=survey, submission_id=f"s{n}")
            for n in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, queries.Stored) for r in results) == 1
    assert sum(isinstance(r, queries.AlreadyAnswered) for r in results) == 3
    assert await CustomerResponse.all().count() == 1


async def test_pulse_response_stores_scores_and_items(db: str) -> None:
    link = await _pulse_link()
    survey = builtin_survey("pulse")
    answers = {**PULSE, "comment": "ok"}
    stored = await queries.store_pulse_response(link=link, answers=answers, survey=survey, submission_id="p1")
    assert stored.created
    response = await PulseResponse.get()
    assert response.cei == 75.0 and response.comment == "ok"
    scores = await PulseScore.filter(response=response)
    assert {s.dimension for s in scores} == {d.id for d in survey.dimensions}
    assert all(s.score == 75.0 and s.favourable == s.answered for s in scores)
    assert await PulseItemAnswer.filter(response=response).count() == len(PULSE)
    assert {s.item_sum for s in scores} == {4 * s.answered for s in scores}  # every item answered 4
    assert await copies_that_disagree() == 0


async def test_two_simultaneous_pulse_submissions_store_one(db: str) -> None:
    link = await _pulse_link()
    survey = builtin_survey("pulse")
    results = await asyncio.gather(
        queries.store_pulse_response(link=link, answers=PULSE, survey=survey, submission_id="a"),
        queries.store_pulse_response(link=link, answers=PULSE, survey=survey, submission_id="b"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AlreadyAnswered", "Stored"]
    assert await PulseResponse.all().count() == 1
    # the loser's scores were rolled back with its response
    assert await PulseScore.all().count() == len(survey.dimensions)


async def test_pulse_retry_returns_the_original(db: str) -> None:
    link = await _pulse_link()
    survey = builtin_survey("pulse")
    first = await queries.store_pulse_response(link=link, answers=PULSE, survey=survey, submission_id="a")
    again = await queries.store_pulse_response(link=link, answers=PULSE, survey=survey, submission_id="a")
    assert not again.created and again.submitted_at == first.submitted_at
    with pytest.raises(queries.AlreadyAnswered):
        await queries.store_pulse_response(link=link, answers=PULSE, survey=survey, submission_id=None)
