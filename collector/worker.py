"""The worker: delivers the outbox to webhook endpoints and runs the periodic jobs.

It runs inside `rapport serve` (a background task of the collector's lifespan,
unless RAPPORT_WORKER_IN_SERVE=off) and alone as `rapport worker`; any number
may run at once against one database (models.webhooks explains the leases).
Each round it leases the endpoints with a due event, sends each endpoint's
pending events one after the other (the next waits for the previous one), and
then runs the periodic jobs that are due. docs/webhooks.md is the receiver's side.

A delivery is a POST of the stored body with

    Rapport-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

and counts as delivered on any 2xx answer; anything else (another status, a
timeout, a refused connection) is retried with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from collector.settings import settings
from models import webhooks
from models.entities import WebhookDelivery

__all__ = [
    "PERIODIC",
    "USER_AGENT",
    "Periodic",
    "Worker",
    "WorkerConfig",
    "run_until",
    "sign",
    "worker_name",
]

log = logging.getLogger("rapport.worker")

USER_AGENT = "Rapport-Webhooks/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Rapport-Signature` header of `body` sent at `timestamp`.

    >>> sign("whsec_x", 1700000000, b'{"id":"1"}')
    't=1700000000,v1=2a4c358c007b6b48ca32f3ede65847ce076037deee0c16a6c4538015532d62c1'
    """
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Periodic:
    """A job the worker runs every `every` seconds (in each worker process: a job
    that must happen once guards itself, e.g. with models.webhooks.once)."""

    name: str
    every: float
    run: Callable[[], Awaitable[object]]


async def _announce_closed_waves() -> object:
    return await webhooks.announce_closed_waves()


async def _evaluate_alerts() -> object:
    """The dashboard users' alerts (models.alerts): each raised once, whichever worker sees it first."""
    from models import alerts  # the analytics (numpy, scipy) load at the first run, not at the worker's start

    return await alerts.evaluate_alerts()


async def _send_weekly_digests() -> object:
    from models import digest  # the analytics (numpy, scipy) load at the first run, not at the worker's start

    return await digest.send_due_digests()  # once per user and week, whichever worker gets there first


# The periodic jobs; add one with one line.
PERIODIC: list[Periodic] = [
    Periodic("pulse_wave.closed", 60.0, _announce_closed_waves),
    Periodic("alerts", 60.0, _evaluate_alerts),
    Periodic("weekly_digest", 3600.0, _send_weekly_digests),
]


@dataclass(frozen=True)
class WorkerConfig:
    """How the worker paces itself; from the settings unless given (tests use small values)."""

    poll: float = field(default_factory=lambda: settings.worker_poll)  # seconds between rounds when idle
    timeout: float = field(default_factory=lambda: settings.webhook_timeout)  # per delivery
    backoff: float = field(default_factory=lambda: settings.webhook_backoff)  # first retry delay
    backoff_max: float = field(default_factory=lambda: settings.webhook_backoff_max)
    retry_for: timedelta = field(default_factory=lambda: timedelta(hours=settings.webhook_retry_hours))
    # how long a worker holds an endpoint (renewed as it goes): a worker that dies
    # holds its endpoints this long; longer than a delivery's timeout
    lease: timedelta = field(default_factory=lambda: timedelta(seconds=settings.worker_lease))
    batch: int = 100  # events read at once per endpoint
    endpoints: int = 16  # endpoints served at once by one worker


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """One worker: `run(stop)` until `stop` is set, or `round()` once (tests).

    `transport` is httpx's seam: tests hand it an httpx.MockTransport."""

    def __init__(self, config: WorkerConfig | None = None, *, periodic: list[Periodic] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, name: str | None = None) -> None:
        self.config = config or WorkerConfig()
        self.periodic = PERIODIC if periodic is None else periodic
        self.name = name or worker_name()
        self.client = httpx.AsyncClient(timeout=self.config.timeout, transport=transport, follow_redirects=False,
                                        headers={"User-Agent": USER_AGENT})
        self._last_run: dict[str, float] = {}

    async def close(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; a database or network failure is logged and retried."""
        log.info("worker %s started", self.name)
        while not stop.is_set():
            busy = False
            try:
                busy = await self.round()
            except Exception as exc:  # the database is down or restarting: try again next round
                log.warning("worker round failed: %s", type(exc).__name__)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll)
        log.info("worker %s stopped", self.name)

    async def round(self) -> bool:
        """Deliver what is due, then run due periodic jobs. True if anything was sent."""
        claimed = await webhooks.claim_endpoints(worker=self.name, lease=self.config.lease,
                                                 limit=self.config.endpoints)
        sent = await asyncio.gather(*(self._serve(endpoint) for endpoint in claimed))
        await self._periodic()
        return any(sent)

    async def _periodic(self) -> None:
        now = time.monotonic()
        for job in self.periodic:
            if now - self._last_run.get(job.name, -job.every) >= job.every:
                self._last_run[job.name] = now
                try:
                    await job.run()
                except Exception as exc:
                    log.warning("periodic job %s failed: %s", job.name, type(exc).__name__)

    async def _serve(self, endpoint: webhooks.Claimed) -> int:
        """Send the endpoint's pending events in order until one fails or none is due;
        give the endpoint back. Returns how many were delivered."""
        delivered = 0
        until = endpoint.until
        try:
            while True:
                pending = await webhooks.pending_for(endpoint_id=endpoint.id, limit=self.config.batch)
                if not pending:
                    return delivered
                for delivery in pending:
                    now = datetime.now(UTC)
                    if delivery.next_attempt_at > now:
                        return delivered
                    if until - now < self.config.lease / 2:
                        renewed = await webhooks.renew(endpoint_id=endpoint.id, worker=self.name,
                                                       lease=self.config.lease)
                        if renewed is None:  # another worker holds it now (this one stalled)
                            return delivered
                        until = renewed
                    if not await self._send(endpoint, delivery):
                        return delivered
                    delivered += 1
        finally:
            with contextlib.suppress(Exception):  # a lost database: the lease runs out by itself
                await webhooks.release(endpoint_id=endpoint.id, worker=self.name)

    async def _send(self, endpoint: webhooks.Claimed, delivery: WebhookDelivery) -> bool:
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "Rapport-Event": delivery.event,
            "Rapport-Event-Id": delivery.event_id,
            "Rapport-Signature": sign(endpoint.secret, int(time.time()), body),
        }
        status: int | None = None
        try:
            response = await self.client.post(endpoint.url, content=body, headers=headers)
            status = response.status_code
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        if not error:
            await webhooks.record_delivered(delivery_id=delivery.id, http_status=status or 200)
            return True
        outcome = await webhooks.record_failure(
            delivery=delivery, error=error, http_status=status, retry_for=self.config.retry_for,
            first=self.config.backoff, cap=self.config.backoff_max)
        log.info("delivery %s to endpoint %s failed (%s): %s", delivery.event_id, endpoint.id, error, outcome)
        return False


async def run_until(stop: asyncio.Event, config: WorkerConfig | None = None) -> None:
    """A worker on the open database until `stop` is set (the collector's lifespan, `rapport worker`)."""
    async with Worker(config) as worker:
        await worker.run(stop)
