"""The webhook worker against a stand-in receiver (httpx.MockTransport), on both
backends: signed bodies, order per endpoint, back-off, failure after the retry
window, replay, one worker per endpoint, the closed-wave announcement; and the
API and CLI around them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest

from collector.worker import Worker, WorkerConfig, sign
from models import outbox, webhooks
from models.entities import PulseWave, WebhookDelivery, WorkerRun

pytestmark = pytest.mark.anyio

FAST = WorkerConfig(poll=0.01, timeout=2, backoff=0.01, backoff_max=0.02, retry_for=timedelta(hours=1))


class Receiver:
    """Answers each POST with the next status of `answers` (then 204) and keeps what came."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.got: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.got.append(request)
        return httpx.Response(self.answers.pop(0) if self.answers else 204)


async def _rounds(worker: Worker, n: int = 5) -> None:
    for _ in range(n):
        await worker.round()
        await asyncio.sleep(0.03)  # past FAST's back-off


async def test_delivers_signed_in_order_and_retries_with_back_off(db: str) -> None:
    endpoint, secret = await webhooks.add_endpoint(url="http://crm.test/hook", events=["followup.closed"])
    for n in range(5):
        await outbox.emit("followup.closed", {"n": n})
    receiver = Receiver(503, 500)  # refuses the first two tries of event 0
    async with Worker(FAST, transport=httpx.MockTransport(receiver), periodic=[]) as worker:
        await worker.round()
        assert [r.url.path for r in receiver.got] == ["/hook"] and len(receiver.got) == 1  # stops at the failure
        failed = await WebhookDelivery.filter(endpoint_id=endpoint.id).order_by("id").first()
        assert failed is not None and failed.attempts == 1 and failed.last_error == "HTTP 503"
        assert failed.next_attempt_at > failed.last_attempt_at  # type: ignore[operator]
        await _rounds(worker)
    bodies = [json.loads(r.content) for r in receiver.got]
    assert [b["data"]["n"] for b in bodies] == [0, 0, 0, 1, 2, 3, 4]  # in order, 0 three times
    for request in receiver.got:
        stamp = int(request.headers["rapport-signature"].split(",")[0].removeprefix("t="))
        assert request.headers["rapport-signature"] == sign(secret, stamp, request.content)
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + request.content, hashlib.sha256).hexdigest()
        assert request.headers["rapport-signature"].endswith("v1=" + expected)
        assert request.headers["rapport-event-id"] == json.loads(request.content)["id"]
        assert request.headers["content-type"] == "application/json"
    rows = await WebhookDelivery.filter(endpoint_id=endpoint.id).order_by("id")
    assert [(r.status, r.attempts) for r in rows] == [("delivered", 3)] + [("delivered", 1)] * 4


async def test_fails_after_the_retry_window_then_the_next_goes_and_replay_resends(db: str) -> None:
    endpoint, _ = await webhooks.add_endpoint(url="http://crm.test/hook", events=["followup.closed"])
    await outbox.emit("followup.closed", {"n": 0}, now=datetime.now(UTC) - timedelta(hours=2))  # queued long ago
    await outbox.emit("followup.closed", {"n": 1})
    receiver = Receiver(410)
    async with Worker(FAST, transport=httpx.MockTransport(receiver), periodic=[]) as worker:
        await _rounds(worker)
        rows = await WebhookDelivery.filter(endpoint_id=endpoint.id).order_by("id")
        assert [r.status for r in rows] == ["failed", "delivered"]
        assert [d.event_id for d in await webhooks.deliveries(status="failed")] == [rows[0].event_id]
        assert (await webhooks.list_endpoints())[0].as_dict()["failed"] == 1
        assert await webhooks.replay(endpoint_id=endpoint.id) == 1
        await _rounds(worker)
    assert [json.loads(r.content)["data"]["n"] for r in receiver.got] == [0, 1, 0]
    assert len({json.loads(r.content)["id"] for r in receiver.got}) == 2  # the replay carries the same id
    assert await WebhookDelivery.filter(status="delivered").count() == 2


async def test_one_worker_per_endpoint_and_a_dead_workers_lease_runs_out(db: str) -> None:
    endpoint, _ = await webhooks.add_endpoint(url="http://crm.test/hook", events=["followup.closed"])
    await outbox.emit("followup.closed", {"n": 0})
    lease = timedelta(seconds=30)
    first = await webhooks.claim_endpoints(worker="a", lease=lease, limit=5)
    assert [c.id for c in first] == [endpoint.id]
    assert await webhooks.claim_endpoints(worker="b", lease=lease, limit=5) == []
    # "a" dies holding it: after its lease another worker takes it
    later = datetime.now(UTC) + timedelta(seconds=31)
    assert [c.id for c in await webhooks.claim_endpoints(worker="b", lease=lease, limit=5, now=later)] == [endpoint.id]
    assert await webhooks.renew(endpoint_id=endpoint.id, worker="a", lease=lease) is None


async def test_a_closed_wave_is_announced_once_without_pulse_answers(db: str) -> None:
    endpoint, _ = await webhooks.add_endpoint(url="http://bi.test/hook", events=["pulse_wave.closed"])
    now = datetime.now(UTC)
    await PulseWave.create(name="2026-W47", opens_at=now - timedelta(days=8), closes_at=now - timedelta(days=1))
    await PulseWave.create(name="2026-W48", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=6))
    await PulseWave.create(name="2020-W01", opens_at=now - timedelta(days=400), closes_at=now - timedelta(days=390))
    assert await webhooks.announce_closed_waves() == 1
    assert await webhooks.announce_closed_waves() == 0  # once, whoever calls
    rows = await WebhookDelivery.filter(endpoint_id=endpoint.id)
    assert len(rows) == 1 and await WorkerRun.filter(job="pulse_wave.closed").count() == 1
    data = json.loads(rows[0].payload)["data"]
    assert data["wave"] == "2026-W47" and data["state"] == "too_few" and data["response_rate"] is None
    assert data["figures"] == [] and "comments" not in rows[0].payload
