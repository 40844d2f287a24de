"""The outbox on both backends: `emit` writes one row per subscribed endpoint, in the
caller's transaction (rolled back with it), with the body the worker will send."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from models import outbox
from models.entities import CustomerResponse, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 23, 10, 30, 0, 125_000, tzinfo=UTC)


async def _endpoint(url: str, *events: str) -> WebhookEndpoint:
    return await WebhookEndpoint.create(url=url, secret="whsec_test", events=outbox.events_column(events))


async def test_one_row_per_subscribed_endpoint_with_the_body_to_send(db: str) -> None:
    crm = await _endpoint("http://crm.test/hook", "customer_response.created", "customer_response.detractor")
    await _endpoint("http://bi.test/hook", "pulse_wave.closed")
    both = await _endpoint("http://all.test/hook", "customer_response.created", "pulse_wave.closed")
    await outbox.emit("customer_response.created", {"job": "JOB-77", "nps": 3, "at": NOW}, now=NOW)

    rows = await WebhookDelivery.all().order_by("endpoint_id")
    assert [row.endpoint_id for row in rows] == [crm.id, both.id]  # type: ignore[attr-defined]
    assert rows[0].event_id == rows[1].event_id  # one event, one id for every receiver
    assert rows[0].payload == rows[1].payload
    body = json.loads(rows[0].payload)
    assert body == {
        "id": rows[0].event_id,
        "type": "customer_response.created",
        "created_at": "2026-11-23T10:30:00.125000+00:00",
        "data": {"job": "JOB-77", "nps": 3, "at": "2026-11-23T10:30:00.125000+00:00"},
    }
    for row in rows:
        assert (row.status, row.attempts, row.event) == ("pending", 0, "customer_response.created")
        assert row.created_at == row.next_attempt_at == row.retry_since == NOW
        assert row.delivered_at is None


async def test_written_and_rolled_back_with_the_callers_transaction(db: str) -> None:
    await _endpoint("http://crm.test/hook", "followup.closed")

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with in_transaction() as conn:
            await outbox.emit("followup.closed", {"case": 1}, using_db=conn)
            assert await WebhookDelivery.all().using_db(conn).count() == 1
            raise Refused
    assert await WebhookDelivery.all().count() == 0

    async with in_transaction():  # without using_db: the transaction in context
        await outbox.emit("followup.closed", {"case": 2})
    assert [json.loads(row.payload)["data"] for row in await WebhookDelivery.all()] == [{"case": 2}]


async def test_names_are_matched_whole_and_alerts_as_a_family(db: str) -> None:
    every_alert = await _endpoint("http://ops.test/all", "alert.*")
    one_alert = await _endpoint("http://ops.test/one", "alert.detractor_in_region")
    # `_` is literal in the match: customer_response.created does not match customerXresponse...
    await _endpoint("http://crm.test/hook", "customer_response.detractor")
    await outbox.emit("alert.detractor_in_region", {"region": "North"})
    await outbox.emit("alert.cei_dropped", {"segment": "North"})
    await outbox.emit("customer_response.created", {"job": "JOB-1"})
    rows = await WebhookDelivery.all().order_by("id").values_list("endpoint_id", "event")
    assert sorted(rows) == sorted([
        (every_alert.id, "alert.detractor_in_region"),
        (one_alert.id, "alert.detractor_in_region"),
        (every_alert.id, "alert.cei_dropped"),
    ])


async def test_no_endpoint_no_row_and_unknown_events_refused(db: str) -> None:
    await outbox.emit("pulse_wave.closed", {"wave": "2026-W48"})
    assert await WebhookDelivery.all().count() == 0
    with pytest.raises(outbox.UnknownEvent):
        await outbox.emit("customer_response.deleted", {})
    with pytest.raises(outbox.UnknownEvent):
        await outbox.emit("alert.*", {})  # a subscription, not an event
    with pytest.raises(outbox.UnknownEvent):
        outbox.events_column(["customer_response.created", "everything"])


async def _job(external_id: str) -> str:
    from models import queries

    await queries.upsert_contractor(external_id="C-1001", name="Ana")
    job, _ = await queries.register_job(external_id=external_id, contractor="C-1001", completed_at=NOW, now=NOW)
    return job.token


async def test_a_stored_customer_response_queues_its_events_in_its_transaction(db: str) -> None:
    from models import queries
    from surveys.schema import builtin_survey

    survey = builtin_survey("customer")
    crm = await _endpoint("http://crm.test/hook", "customer_response.created", "customer_response.detractor")
    happy = {"csat": 5, "nps": 9, "ces": 6, "promise_kept": True}
    unhappy = {"csat": 2, "nps": 8, "ces": 3, "promise_kept": False, "comment": "late"}
    # both ways of storing: the one-statement path and the careful path
    assert await queries.store_customer_response_at_once(token=await _job("JOB-1"), answers=happy, survey=survey)
    link = await queries.find_link(token=await _job("JOB-2"))
    assert link is not None
    await queries.store_customer_response(link=link, answers=unhappy, survey=survey, submission_id="s2")
    # a resend stores nothing and queues nothing
    await queries.store_customer_response(link=link, answers=unhappy, survey=survey, submission_id="s2")

    rows = await WebhookDelivery.filter(endpoint_id=crm.id).order_by("id")
    assert [(row.event, json.loads(row.payload)["data"]["job"]) for row in rows] == [
        ("customer_response.created", "JOB-1"),
        ("customer_response.created", "JOB-2"),
        ("customer_response.detractor", "JOB-2"),
    ]
    data = json.loads(rows[2].payload)["data"]
    assert data["contractor"] == "C-1001" and data["answers"] == unhappy and data["source"] == "web"
    assert "token" not in rows[2].payload and link.token not in rows[2].payload
    stored = await CustomerResponse.get(job__external_id="JOB-2")  # the times as the ORM reads them back
    assert (data["submitted_at"], data["completed_at"]) == (stored.submitted_at.isoformat(),
                                                           stored.completed_at.isoformat())
    assert json.loads(rows[2].payload)["created_at"] == data["submitted_at"]


async def test_forget_deletes_only_the_events_that_name_the_person(db: str) -> None:
    await _endpoint("http://crm.test/hook", "customer_response.created", "followup.closed")
    await outbox.emit("customer_response.created", {"job": "J_1%", "contractor": "ana", "comment": "ok"})
    await outbox.emit("followup.closed", {"job": "J_1%", "contractor": "ana", "outcome": "refund"})
    # look-alikes that must stay: a longer id, LIKE's wildcards taken literally, the pair quoted in a comment
    await outbox.emit("customer_response.created", {"job": "J_1%2", "contractor": "anabel", "comment": "x"})
    await outbox.emit("customer_response.created", {"job": "JX1Y", "contractor": "bo", "comment": 'x'})
    await outbox.emit("customer_response.created",
                      {"job": "J2", "contractor": "bo", "comment": 'write "job":"J_1%" and "contractor":"ana"'})
    await WebhookDelivery.filter(event="followup.closed").update(status="delivered")  # sent ones go too

    assert await outbox.forget(job="J_1%") == 2
    assert await outbox.forget(contractor="ana") == 0  # already gone with the job
    left = sorted(json.loads(r.payload)["data"]["job"] for r in await WebhookDelivery.all())
    assert left == ["J2", "JX1Y", "J_1%2"]
    assert await outbox.forget(contractor="bo") == 2
    with pytest.raises(ValueError):
        await outbox.forget()
