"""Webhook endpoints and the storage side of delivering the outbox (models.outbox).

The worker (collector.worker) asks `claim_endpoints` for endpoints whose oldest
pending event is due, delivers that endpoint's pending events one after the
other in `id` order, records each attempt (`record_delivered`,
`record_failure`) and gives the endpoint back (`release`). A claim is a lease
on the endpoint row (`claimed_by`, `claimed_until`) taken in one UPDATE: on
PostgreSQL its candidates are picked `FOR UPDATE SKIP LOCKED`, so two workers
never take one endpoint; SQLite runs one write at a time, which gives the same.
One worker per endpoint at a time is what keeps an endpoint's events in order
and never sends one event twice at once. A worker that dies holds its lease
until `claimed_until`, and the next claim sends its events again: at least
once, never lost, all state in the database.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models import outbox
from models.db import connection, dialect
from models.entities import PulseWave, WebhookDelivery, WebhookEndpoint, WorkerRun
from models.outbox import STATUSES, Status
from models.settings import settings
from models.waves import waves_in

__all__ = [
    "STATUSES",
    "Claimed",
    "Delivery",
    "Endpoint",
    "Status",
    "add_endpoint",
    "announce_closed_waves",
    "claim_endpoints",
    "deliveries",
    "list_endpoints",
    "once",
    "pending_for",
    "record_delivered",
    "record_failure",
    "release",
    "remove_endpoint",
    "renew",
    "replay",
    "retry_delay",
    "wave_closed_data",
]

SECRET_PREFIX = "whsec_"
# A wave that closed longer ago than this when a worker first looked is not announced
# (the first start after an upgrade would otherwise announce every wave ever closed).
ANNOUNCE_WITHIN = timedelta(days=14)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    events: list[str]
    created_at: datetime
    pending: int
    failed: int
    delivered: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": self.events, "created_at": self.created_at.isoformat(),
                "pending": self.pending, "failed": self.failed, "delivered": self.delivered}


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint_id: int
    event_id: str
    event: str
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id, "endpoint": self.endpoint_id, "event_id": self.event_id, "event": self.event,
            "created_at": iso(self.created_at), "status": self.status, "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at) if self.status == "pending" else None,
            "last_attempt_at": iso(self.last_attempt_at), "last_status": self.last_status,
            "last_error": self.last_error, "delivered_at": iso(self.delivered_at),
        }


# --- endpoints -------------------------------------------------------------------------


def _check_url(url: str) -> str:
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url) > 2000 or any(c.isspace() for c in url):
        raise ValueError("the URL must be an http:// or https:// address of at most 2000 characters")
    return url


async def add_endpoint(*, url: str, events: Sequence[str]) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (returned here only: shown once)."""
    column = outbox.events_column(events)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = await WebhookEndpoint.create(url=_check_url(url), secret=secret, events=column)
    return Endpoint(row.id, row.url, outbox.events_of(column), row.created_at, 0, 0, 0), secret


async def list_endpoints() -> list[Endpoint]:
    """Every endpoint with its events counted by status; never the secrets."""
    counts: dict[tuple[int, str], int] = {}
    for row in await WebhookDelivery.all().group_by("endpoint_id", "status").annotate(
            n=Count("id")).values("endpoint_id", "status", "n"):
        counts[(row["endpoint_id"], row["status"])] = row["n"]
    return [
        Endpoint(e.id, e.url, outbox.events_of(e.events), e.created_at, counts.get((e.id, "pending"), 0),
                 counts.get((e.id, "failed"), 0), counts.get((e.id, "delivered"), 0))
        for e in await WebhookEndpoint.all().order_by("id")
    ]


async def remove_endpoint(*, endpoint_id: int) -> bool:
    """Delete an endpoint and its queue (undelivered events included); False if unknown."""
    return bool(await WebhookEndpoint.filter(id=endpoint_id).delete())


def _delivery(row: WebhookDelivery) -> Delivery:
    return Delivery(row.id, row.endpoint_id, row.event_id, row.event, row.created_at,  # type: ignore[attr-defined]
                    row.status, row.attempts, row.next_attempt_at, row.last_attempt_at, row.last_status,
                    row.last_error, row.delivered_at)


async def deliveries(*, endpoint_id: int | None = None, status: Status | None = None,
                     limit: int = 100) -> list[Delivery]:
    """The newest events first, of one endpoint or all, of one status or all."""
    query = WebhookDelivery.all()
    if endpoint_id is not None:
        query = query.filter(endpoint_id=endpoint_id)
    if status is not None:
        query = query.filter(status=status)
    return [_delivery(row) for row in await query.order_by("-id").limit(limit)]


async def replay(*, endpoint_id: int, event_ids: Sequence[str] = (), status: Status | None = "failed",
                 since: datetime | None = None) -> int:
    """Send events again: the named ones, else those of `status` (created since
    `since`). They are queued as new (attempts from 0, retried for a full window
    from now) and keep their place in the endpoint's order. Returns how many."""
    query = WebhookDelivery.filter(endpoint_id=endpoint_id)
    if event_ids:
        query = query.filter(event_id__in=list(event_ids))
    elif status is not None:
        query = query.filter(status=status)
    if since is not None:
        query = query.filter(created_at__gte=since)
    now = _now()
    return await query.update(status="pending", attempts=0, next_attempt_at=now, retry_since=now,
                              delivered_at=None)


# --- the worker's claims ---------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """An endpoint leased to one worker until `until`."""

    id: int
    url: str
    secret: str
    until: datetime


def _claim_sql(postgres: bool) -> str:
    if postgres:
        p = ["$1", "$2", "$3", "$4"]
        lock = " FOR UPDATE SKIP LOCKED"
        free = f"(e.claimed_until IS NULL OR e.claimed_until < {p[2]})"
        due = f"<= {p[2]}"
        head = "d.next_attempt_at"
    else:
        p = ["?1", "?2", "?3", "?4"]
        lock = ""
        free = f"(e.claimed_until IS NULL OR julianday(e.claimed_until) < julianday({p[2]}))"
        due = f"<= julianday({p[2]})"
        head = "julianday(d.next_attempt_at)"
    # The endpoint's oldest pending event is due: later ones wait behind it.
    return (
        f"UPDATE webhook_endpoints SET claimed_by = {p[0]}, claimed_until = {p[1]} WHERE id IN ("
        f"SELECT e.id FROM webhook_endpoints e WHERE {free} AND ("
        f"SELECT {head} FROM webhook_outbox d WHERE d.endpoint_id = e.id AND d.status = 'pending' "
        f"ORDER BY d.id LIMIT 1) {due} ORDER BY e.id LIMIT {p[3]}{lock}) RETURNING id, url, secret"
    )


_CLAIM = {True: _claim_sql(True), False: _claim_sql(False)}


async def claim_endpoints(*, worker: str, lease: timedelta, limit: int, now: datetime | None = None) -> list[Claimed]:
    """Lease up to `limit` endpoints that have a due event and no live lease."""
    now = now or _now()
    until = now + lease
    rows = await connection().execute_query_dict(_CLAIM[dialect() == "postgres"], [worker, until, now, limit])
    return [Claimed(int(row["id"]), row["url"], row["secret"], until) for row in rows]


async def renew(*, endpoint_id: int, worker: str, lease: timedelta, now: datetime | None = None) -> datetime | None:
    """Extend this worker's lease; None when it is no longer this worker's."""
    until = (now or _now()) + lease
    kept = await WebhookEndpoint.filter(id=endpoint_id, claimed_by=worker).update(claimed_until=until)
    return until if kept else None


async def release(*, endpoint_id: int, worker: str) -> None:
    await WebhookEndpoint.filter(id=endpoint_id, claimed_by=worker).update(claimed_by=None, claimed_until=None)


async def pending_for(*, endpoint_id: int, limit: int) -> list[WebhookDelivery]:
    """An endpoint's pending events, oldest first (the order they must arrive in)."""
    return await WebhookDelivery.filter(endpoint_id=endpoint_id, status="pending").order_by("id").limit(limit)


async def record_delivered(*, delivery_id: int, http_status: int, now: datetime | None = None) -> None:
    now = now or _now()
    await WebhookDelivery.filter(id=delivery_id).update(
        status="delivered", attempts=F("attempts") + 1, last_attempt_at=now, last_status=http_status,
        last_error=None, delivered_at=now)


def retry_delay(attempt: int, *, first: float, cap: float, rand: random.Random | None = None) -> float:
    """Seconds before attempt `attempt` + 1: exponential back-off, `first` doubled per
    attempt up to `cap`, with "equal jitter" (half fixed, half random) so that
    the retries of many events do not arrive together (Brooker 2015, AWS
    Architecture Blog, "Exponential Backoff and Jitter").

    >>> [retry_delay(n, first=10, cap=3600, rand=random.Random(1)) for n in (1, 2, 3)]  # doctest: +ELLIPSIS
    [5.67..., 11.34..., 22.68...]
    >>> 1800 <= retry_delay(20, first=10, cap=3600) <= 3600
    True
    """
    delay = min(cap, first * 2 ** min(attempt - 1, 60))
    return delay / 2 + (rand or random).uniform(0, delay / 2)


async def record_failure(*, delivery: WebhookDelivery, error: str, http_status: int | None, retry_for: timedelta,
                         first: float, cap: float, now: datetime | None = None) -> Status:
    """Record a failed attempt: retried after `retry_delay`, or failed once
    `retry_for` has passed since it was queued (or replayed). Returns the new status."""
    now = now or _now()
    attempts = delivery.attempts + 1
    status: Status = "failed" if now >= delivery.retry_since + retry_for else "pending"
    delay = retry_delay(attempts, first=first, cap=cap)
    await WebhookDelivery.filter(id=delivery.id).update(
        status=status, attempts=attempts, last_attempt_at=now, last_status=http_status, last_error=error[:300],
        next_attempt_at=now + timedelta(seconds=delay))
    return status


# --- once-only work of the periodic jobs -----------------------------------------------


async def once(*, job: str, name: str, now: datetime | None = None) -> bool:
    """Mark (job, name) done; True for the one caller that marked it, False when it was
    done already (by this process or another). On the connection in context, so
    inside `in_transaction()` the mark commits with the work it guards."""
    conn = connection()
    p = ["$1", "$2", "$3"] if conn.capabilities.dialect == "postgres" else ["?1", "?2", "?3"]
    rows = await conn.execute_query_dict(
        f"INSERT INTO worker_runs (job, name, done_at) VALUES ({p[0]}, {p[1]}, {p[2]}) "
        "ON CONFLICT DO NOTHING RETURNING id", [job, name, now or _now()])
    return bool(rows)


async def wave_closed_data(wave: PulseWave, *, now: datetime | None = None) -> dict[str, Any]:
    """What `pulse_wave.closed` tells: the wave, its response rate and the figures
    the privacy gate allows (the per-wave rows of the index), without comments:
    pulse answers, a contractor's words included, are never sent."""
    from models.analytics.index import index_by_wave  # numpy and scipy: only when a wave closes
    from models.analytics.scope import Window

    day = wave.closes_at.astimezone(UTC).date()
    window = Window(day, day)
    status = next(w for w in await waves_in(day, day, min_group=settings.min_group, now=now) if w.id == wave.id)
    rows = await index_by_wave(window=window, min_group=settings.min_group,
                               min_comment_group=settings.min_comment_group, now=now)
    figures = [{k: v for k, v in row.items() if k not in ("wave", "comments", "comments_suppressed")}
               for row in rows if row["wave"] == wave.name]
    return {**status.as_dict(settings.min_group), "min_group": settings.min_group, "figures": figures}


async def announce_closed_waves(now: datetime | None = None) -> int:
    """Queue `pulse_wave.closed` once for each wave that has closed (within
    ANNOUNCE_WITHIN); several workers may call it at once. Returns how many."""
    now = now or _now()
    announced = 0
    for wave in await PulseWave.filter(closes_at__lte=now, closes_at__gt=now - ANNOUNCE_WITHIN).order_by("closes_at"):
        if await WorkerRun.exists(job=outbox.PULSE_WAVE_CLOSED, name=wave.name):
            continue
        data = await wave_closed_data(wave, now=now)
        async with in_transaction():
            if await once(job=outbox.PULSE_WAVE_CLOSED, name=wave.name, now=now):
                await outbox.emit(outbox.PULSE_WAVE_CLOSED, data, now=now)
                announced += 1
    return announced
