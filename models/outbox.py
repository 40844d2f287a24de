"""The transactional outbox: an event is written in the transaction of what it reports.

`emit(event, data)` writes one `webhook_outbox` row per endpoint subscribed to
the event, in one INSERT ... SELECT on the caller's connection: inside
`in_transaction()` (or with its `using_db`) the rows commit or roll back with
the response, the case or the wave they report, so no event is ever sent for
something that was not stored, and none is lost for something that was. The
worker (models.webhooks, collector.worker) delivers the rows later.

The body each row will carry is fixed here, once: `{"id", "type", "created_at",
"data"}`, so every retry and replay sends the same bytes and the same event id
(the one a receiver de-duplicates on). docs/webhooks.md describes the events.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from tortoise.backends.base.client import BaseDBAsyncClient

from models.db import connection
from models.sql import Query, instant, is_postgres, placeholder
from surveys.scoring import is_detractor_answer

__all__ = [
    "ALERT_ALL",
    "CUSTOMER_RESPONSE_CREATED",
    "CUSTOMER_RESPONSE_DETRACTOR",
    "EVENTS",
    "FOLLOWUP_CLOSED",
    "PULSE_WAVE_CLOSED",
    "STATUSES",
    "Status",
    "UnknownEvent",
    "check_event",
    "emit",
    "emit_customer_response",
    "encode",
    "events_column",
    "events_of",
    "forget",
]

CUSTOMER_RESPONSE_CREATED = "customer_response.created"
CUSTOMER_RESPONSE_DETRACTOR = "customer_response.detractor"
FOLLOWUP_CLOSED = "followup.closed"
PULSE_WAVE_CLOSED = "pulse_wave.closed"
# The events with a fixed name. Alerts are a family: `alert.<name>` (the alert
# subscriptions name them), and an endpoint may subscribe to `alert.*`, every alert.
EVENTS = (CUSTOMER_RESPONSE_CREATED, CUSTOMER_RESPONSE_DETRACTOR, FOLLOWUP_CLOSED, PULSE_WAVE_CLOSED)
ALERT_ALL = "alert.*"
# The state of a row of the outbox: waiting (or retrying), sent, or given up after the retry window.
Status = Literal["pending", "delivered", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "delivered", "failed")
_ALERT = re.compile(r"alert\.[a-z][a-z0-9_]{0,50}")


class UnknownEvent(ValueError):
    """An event name Rapport does not send."""


def check_event(event: str, *, subscribing: bool = False) -> str:
    """The event name if Rapport sends it (or, when `subscribing`, `alert.*`); else UnknownEvent.

    >>> check_event("customer_response.created")
    'customer_response.created'
    >>> check_event("alert.detractor_in_region")
    'alert.detractor_in_region'
    >>> check_event("alert.*", subscribing=True)
    'alert.*'
    """
    if event in EVENTS or _ALERT.fullmatch(event) or (subscribing and event == ALERT_ALL):
        return event
    known = ", ".join((*EVENTS, "alert.<name>", ALERT_ALL))
    raise UnknownEvent(f"unknown event {event!r}; the events are {known}")


def events_column(events: Iterable[str]) -> str:
    """The `webhook_endpoints.events` text for a set of event names: ",a,b,".

    >>> events_column(["pulse_wave.closed", "customer_response.created", "pulse_wave.closed"])
    ',customer_response.created,pulse_wave.closed,'
    """
    names = sorted({check_event(event.strip(), subscribing=True) for event in events if event.strip()})
    if not names:
        raise UnknownEvent("name at least one event")
    return "," + ",".join(names) + ","


def events_of(column: str) -> list[str]:
    """The event names of a `webhook_endpoints.events` text.

    >>> events_of(",customer_response.created,pulse_wave.closed,")
    ['customer_response.created', 'pulse_wave.closed']
    """
    return [name for name in column.split(",") if name]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(event_id: str, event: str, created_at: datetime, data: Mapping[str, Any]) -> str:
    """The body of an event as it is stored and sent (compact JSON, UTF-8)."""
    body = {"id": event_id, "type": event, "created_at": created_at.isoformat(), "data": dict(data)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _literal(text: str) -> str:
    """`text` for a LIKE pattern with ESCAPE '\\': `\\`, `_` and `%` stand for themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text: str) -> str:
    """`text` between commas as a LIKE pattern (ESCAPE '\\')."""
    return f"%,{_literal(text)},%"


def _emit_sql(postgres: bool) -> str:
    def param(n: int, pg_type: str) -> str:
        return placeholder(n, postgres=postgres, pg_type=pg_type)

    return (
        "INSERT INTO webhook_outbox (endpoint_id, event_id, event, payload, created_at, status, attempts, "
        "next_attempt_at, retry_since) "
        f"SELECT id, {param(1, 'varchar')}, {param(2, 'varchar')}, {param(3, 'text')}, {param(4, 'timestamptz')}, "
        f"'pending', 0, {param(4, 'timestamptz')}, {param(4, 'timestamptz')} FROM webhook_endpoints "
        f"WHERE events LIKE {param(5, 'varchar')} ESCAPE '\\' OR events LIKE {param(6, 'varchar')} ESCAPE '\\'"
    )


_EMIT = {postgres: _emit_sql(postgres) for postgres in (True, False)}


async def emit(
    event: str,
    data: Mapping[str, Any],
    *,
    using_db: BaseDBAsyncClient | None = None,
    now: datetime | None = None,
) -> None:
    """Queue `event` with `data` for every endpoint subscribed to it, on the caller's
    connection (its transaction): one statement, whether any endpoint listens or not.

    `data` must be JSON (datetimes and dates become ISO 8601 text). An alert
    `alert.<name>` also goes to the endpoints subscribed to `alert.*`.
    """
    check_event(event)
    conn = using_db or connection()
    created_at = now or datetime.now(UTC)
    event_id = str(uuid.uuid4())
    family = ALERT_ALL if event.startswith("alert.") else event
    values = [event_id, event, encode(event_id, event, created_at, data), created_at, _like(event), _like(family)]
    await conn.execute_query(_EMIT[is_postgres(conn)], values)


_CUSTOMER_EVENT = (
    "SELECT r.submitted_at, r.completed_at, r.csat, r.nps, r.answers, r.survey_version, r.lang, r.source, "
    "j.external_id AS job, c.external_id AS contractor FROM customer_responses r "
    "JOIN jobs j ON j.id = r.job_id JOIN contractors c ON c.id = r.contractor_id "
    "WHERE r.id = {response} AND EXISTS (SELECT 1 FROM webhook_endpoints e "
    "WHERE e.events LIKE {created} ESCAPE '\\' OR e.events LIKE {detractor} ESCAPE '\\')"
)


async def emit_customer_response(response_id: int, *, using_db: BaseDBAsyncClient | None = None) -> None:
    """Queue `customer_response.created` for a response just stored (read back on the
    caller's connection, in its transaction), and `customer_response.detractor` too
    when it is one (surveys.scoring.is_detractor_answer).

    This runs on every submission, so it is one plain SQL statement that reads the
    response only if some endpoint listens to either event (an ORM query cost more
    to build than the whole submission's insert); with no such endpoint nothing more is done.
    The data names the job and contractor by their external ids, never the link's token.
    """
    conn = using_db or connection()
    q = Query(conn)
    rows = await q.rows(_CUSTOMER_EVENT.format(response=q.p(response_id), created=q.p(_like(CUSTOMER_RESPONSE_CREATED)),
                                               detractor=q.p(_like(CUSTOMER_RESPONSE_DETRACTOR))))
    if not rows:
        return
    response = rows[0]
    submitted_at = instant(response["submitted_at"])
    answers = response["answers"]
    data = {
        "job": response["job"],
        "contractor": response["contractor"],
        "completed_at": instant(response["completed_at"]),
        "submitted_at": submitted_at,
        "survey_version": response["survey_version"],
        "lang": response["lang"],
        "source": response["source"],
        "answers": json.loads(answers) if isinstance(answers, str) else answers,
    }
    await emit(CUSTOMER_RESPONSE_CREATED, data, using_db=conn, now=submitted_at)
    if is_detractor_answer(csat=response["csat"], nps=response["nps"]):
        await emit(CUSTOMER_RESPONSE_DETRACTOR, data, using_db=conn, now=submitted_at)


def _naming(key: str, external_id: str) -> str:
    """A LIKE pattern for a stored body whose data has `key` set to `external_id`: the body is
    compact JSON (`encode`), so the pair reads `"key":"id"` exactly, closing quote included (no
    longer id matches), and a quote inside any text value is escaped, so text cannot fake it."""
    return "%" + _literal(f'"{key}":' + json.dumps(external_id, ensure_ascii=False)) + "%"


async def forget(*, job: str | None = None, contractor: str | None = None,
                 using_db: BaseDBAsyncClient | None = None) -> int:
    """Delete every event, queued or already sent, whose data names the job or the
    contractor by external id (customer_response.*, followup.closed, alert.detractor
    carry both): a forgotten person's answers are not sent afterwards, and the delivery
    log keeps no copy of them. Runs on the caller's connection (models.forget's
    transaction); returns how many rows went."""
    named = [("job", job), ("contractor", contractor)]
    q = Query(using_db)
    where = [f"payload LIKE {q.p(_naming(key, value))} ESCAPE '\\'" for key, value in named if value is not None]
    if not where:
        raise ValueError("name a job or a contractor")
    count, _ = await (using_db or connection()).execute_query(
        f"DELETE FROM webhook_outbox WHERE {' OR '.join(where)}", q.params)
    return int(count)

