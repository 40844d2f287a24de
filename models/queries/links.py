"""Links out: contractors, jobs, pulse waves and invites, and what a token opens.

The storage rules a request can break (`Invalid`, `NotFound`, `Conflict`,
`AlreadyAnswered`) and the survey definition in force live here too.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.entities import Contractor, CustomerResponse, Job, PulseInvite, PulseResponse, PulseWave
from models.settings import settings
from models.sql import Query, instant
from models.tokens import new_token
from surveys.schema import Survey, builtin_survey, load_survey

__all__ = [
    "FUTURE_TOLERANCE",
    "TOKEN",
    "WAVE_NAME_FORBIDDEN",
    "AlreadyAnswered",
    "Conflict",
    "Invalid",
    "Invite",
    "Link",
    "LinkKind",
    "NotFound",
    "check_completed_at",
    "create_invites",
    "create_wave",
    "find_link",
    "is_answered",
    "known_values",
    "list_invites",
    "now_utc",
    "register_job",
    "survey_in_force",
    "upsert_contractor",
]

LinkKind = Literal["customer", "pulse"]


class Invalid(ValueError):
    """A value the request gave breaks a storage rule (a wave name with '/', a job
    completed in the future); the message names the field."""


class NotFound(LookupError):
    """A named thing (contractor, wave, link) does not exist."""


class Conflict(ValueError):
    """The request contradicts what is stored (a duplicate wave name, a reused submission id)."""


class AlreadyAnswered(Conflict):
    """The link has a response already, from another submission."""


def now_utc() -> datetime:
    return datetime.now(UTC)


# A job may be reported as completed at most this far ahead of the server's clock:
# clocks drift and a brand's system may stamp local time as UTC (up to UTC+14).
# Anything later is a mistake that would open a survey about a job not yet done.
FUTURE_TOLERANCE = timedelta(days=1)


def check_completed_at(completed_at: datetime, *, now: datetime | None = None) -> None:
    """Invalid if `completed_at` is more than FUTURE_TOLERANCE ahead of now."""
    if completed_at > (now or now_utc()) + FUTURE_TOLERANCE:
        raise Invalid("completed_at is in the future: a job can be registered once it is done "
                      f"(at most {FUTURE_TOLERANCE.days} day ahead of the server's clock)")


# Characters a wave name cannot hold: it becomes a path segment (/api/v1/waves/{name}/invites).
WAVE_NAME_FORBIDDEN = "/\\?#%"


@functools.cache
def survey_in_force(kind: LinkKind) -> Survey:
    """The survey definition used for `kind`: the configured file, else the bundled one.

    Read once per process; a brand restarts the collector after editing it.
    """
    path = settings.customer_survey if kind == "customer" else settings.pulse_survey
    return load_survey(path) if path else builtin_survey(kind)


# --- contractors and jobs --------------------------------------------------------


async def upsert_contractor(
    *,
    external_id: str,
    name: str,
    region: str | None = None,
    service_type: str | None = None,
    started_on: date | None = None,
    active: bool | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> tuple[Contractor, bool]:
    """Create the contractor or update it by external id; returns (contractor, created).

    On update, fields left as None keep their stored value.
    """
    given: dict[str, Any] = {
        "name": name,
        "region": region,
        "service_type": service_type,
        "started_on": started_on,
        "active": active,
        "attributes": dict(attributes) if attributes is not None else None,
    }
    values = {key: value for key, value in given.items() if value is not None}
    for _ in range(2):
        contractor = await Contractor.get_or_none(external_id=external_id)
        if contractor is not None:
            contractor.update_from_dict(values)
            await contractor.save()
            return contractor, False
        try:
            return await Contractor.create(external_id=external_id, **values), True
        except IntegrityError:
            continue  # created at the same moment by another request: update it
    raise Conflict(f"contractor {external_id!r} is being changed concurrently; retry")


async def register_job(
    *, external_id: str, contractor: str, completed_at: datetime, now: datetime | None = None,
    customer_ref: str | None = None,
) -> tuple[Job, bool]:
    """The job and its survey link, created once; the same job again returns the same link.

    `contractor` is the contractor's external id; `customer_ref` how the brand reaches
    the customer (for follow-up staff only), kept when given. Returns (job, created).
    """
    job = await Job.get_or_none(external_id=external_id)
    if job is not None:
        if customer_ref is not None and job.customer_ref != customer_ref:
            job.customer_ref = customer_ref
            await job.save(update_fields=["customer_ref"])
        return job, False
    check_completed_at(completed_at, now=now)
    owner = await Contractor.get_or_none(external_id=contractor)
    if owner is None:
        raise NotFound(f"no contractor with external_id {contractor!r}")
    expires_at = (now or now_utc()) + timedelta(days=settings.link_days)
    try:
        job = await Job.create(
            external_id=external_id,
            contractor=owner,
            completed_at=completed_at,
            token=new_token(),
            expires_at=expires_at,
            customer_ref=customer_ref,
        )
    except IntegrityError:
        job = await Job.get_or_none(external_id=external_id)
        if job is None:
            raise
        return job, False
    return job, True


# --- pulse waves and invites -----------------------------------------------------


async def create_wave(*, name: str, opens_at: datetime, closes_at: datetime) -> PulseWave:
    """A new pulse wave; Conflict if the name is taken, Invalid if it closes before it
    opens or its name cannot be part of an address."""
    if closes_at <= opens_at:
        raise Invalid("closes_at must be after opens_at")
    if any(ch in name for ch in WAVE_NAME_FORBIDDEN) or name in (".", ".."):
        raise Invalid(f"name must not contain any of {' '.join(WAVE_NAME_FORBIDDEN)}: it becomes part of the "
                      "invites' address")
    try:
        return await PulseWave.create(name=name, opens_at=opens_at, closes_at=closes_at)
    except IntegrityError:
        raise Conflict(f"a wave called {name!r} exists already") from None


@dataclass(frozen=True)
class Invite:
    contractor: str  # external id
    name: str
    token: str


async def _wave(name: str) -> PulseWave:
    wave = await PulseWave.get_or_none(name=name)
    if wave is None:
        raise NotFound(f"no wave called {name!r}")
    return wave


async def create_invites(
    *, wave: str, contractors: Sequence[str] | None = None
) -> list[Invite]:
    """One pulse link per contractor for the wave: every active one, or those listed.

    Idempotent: a contractor invited already keeps its link.
    """
    found = await _wave(wave)
    if contractors is None:
        people = await Contractor.filter(active=True).order_by("external_id")
    else:
        wanted = list(dict.fromkeys(contractors))
        people = await Contractor.filter(external_id__in=wanted)
        missing = sorted(set(wanted) - {c.external_id for c in people})
        if missing:
            raise NotFound(f"no contractor with external_id {', '.join(map(repr, missing))}")
        order = {ext: i for i, ext in enumerate(wanted)}
        people.sort(key=lambda c: order[c.external_id])
    existing = {
        row.contractor_id: row.token
        for row in await PulseInvite.filter(wave=found, contractor_id__in=[c.id for c in people])
    }
    fresh = [
        PulseInvite(wave=found, contractor=c, token=new_token())
        for c in people
        if c.id not in existing
    ]
    if fresh:
        try:
            async with in_transaction() as conn:
                await PulseInvite.bulk_create(fresh, using_db=conn)
        except IntegrityError:  # another request invited some at the same moment
            for invite in fresh:
                with contextlib.suppress(IntegrityError):
                    await invite.save()
            existing = {
                row.contractor_id: row.token
                for row in await PulseInvite.filter(
                    wave=found, contractor_id__in=[c.id for c in people]
                )
            }
        else:
            existing.update({i.contractor.id: i.token for i in fresh})
    return [Invite(c.external_id, c.name, existing[c.id]) for c in people]


async def list_invites(*, wave: str) -> list[Invite]:
    found = await _wave(wave)
    rows = (
        await PulseInvite.filter(wave=found)
        .order_by("contractor__external_id")
        .values_list("contractor__external_id", "contractor__name", "token")
    )
    return [Invite(ext, name, token) for ext, name, token in rows]


# --- links and responses ---------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """What a survey token opens: a customer job or a pulse invite."""

    kind: LinkKind
    token: str
    contractor_id: int
    job_id: int | None = None
    completed_at: datetime | None = None
    wave_id: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None  # expiry of the link (job expiry or wave close)

    def closed(self, now: datetime | None = None) -> bool:
        return self.closes_at is not None and (now or now_utc()) >= self.closes_at

    def not_open_yet(self, now: datetime | None = None) -> bool:
        return self.opens_at is not None and (now or now_utc()) < self.opens_at


TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # models.tokens makes URL-safe base64: any other is no link
_JOB_BY_TOKEN = "SELECT id, contractor_id, completed_at, expires_at FROM jobs WHERE token = {}"
_INVITE_BY_TOKEN = (
    "SELECT i.contractor_id, i.wave_id, w.opens_at, w.closes_at FROM pulse_invites i "
    "JOIN pulse_waves w ON w.id = i.wave_id WHERE i.token = {}"
)


async def _one(sql: str, token: str) -> dict[str, Any] | None:
    """The first row of `sql`, whose one placeholder `{}` takes the token."""
    q = Query()
    rows = await q.rows(sql.format(q.p(token)))
    return rows[0] if rows else None


async def find_link(*, token: str, kind: LinkKind | None = None) -> Link | None:
    """The job or invite behind a token, or None.

    This is on every submission, so it is one plain indexed SELECT per kind
    tried rather than an ORM query (which costs more to build than to run).
    """
    if not TOKEN.fullmatch(token):  # not one Rapport made: no query (and no NUL for PostgreSQL)
        return None
    if kind in (None, "customer"):
        row = await _one(_JOB_BY_TOKEN, token)
        if row is not None:
            return Link(
                kind="customer",
                token=token,
                contractor_id=row["contractor_id"],
                job_id=row["id"],
                completed_at=instant(row["completed_at"]),
                closes_at=instant(row["expires_at"]),
            )
    if kind in (None, "pulse"):
        row = await _one(_INVITE_BY_TOKEN, token)
        if row is not None:
            return Link(
                kind="pulse",
                token=token,
                contractor_id=row["contractor_id"],
                wave_id=row["wave_id"],
                opens_at=instant(row["opens_at"]),
                closes_at=instant(row["closes_at"]),
            )
    return None


async def is_answered(*, link: Link) -> bool:
    if link.kind == "customer":
        return await CustomerResponse.filter(job_id=link.job_id).exists()
    return await PulseResponse.filter(wave_id=link.wave_id, contractor_id=link.contractor_id).exists()


async def known_values(*, field: Literal["region", "service_type"]) -> set[str]:
    """Every value of a contractor attribute that some contractor has (active or not)."""
    rows = await Contractor.exclude(**{f"{field}__isnull": True}).distinct().values_list(field, flat=True)
    return {str(value) for value in rows}
