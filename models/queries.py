"""Every database call of the collector's write and read path, in one place.

Links out (contractors, jobs, waves, invites) and answers in (customer and
pulse responses). Exactly-once storage leans on the database: one customer
response per job, one pulse response per contractor and wave, one row per
submission id. When an insert hits one of those constraints, the row that won
is read back: the same submission id means a retry (its original result is
returned), anything else means the link was already answered.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import outbox
from models.db import connection
from models.entities import (
    Contractor,
    CustomerResponse,
    Job,
    PulseInvite,
    PulseItemAnswer,
    PulseResponse,
    PulseScore,
    PulseWave,
)
from models.settings import settings
from models.tokens import new_token
from surveys.schema import Survey, builtin_survey, load_survey
from surveys.scoring import PulseScoring, score_pulse
from surveys.tenure import tenure_code

__all__ = [
    "FUTURE_TOLERANCE",
    "AlreadyAnswered",
    "Conflict",
    "Invalid",
    "Link",
    "LinkKind",
    "NotFound",
    "Stored",
    "check_completed_at",
    "complete_dimensions",
    "create_invites",
    "create_wave",
    "db_instant",
    "find_link",
    "freeze_groups",
    "frozen_groups",
    "known_values",
    "list_invites",
    "register_job",
    "store_customer_response",
    "store_customer_response_at_once",
    "store_pulse_response",
    "store_response",
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


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # models.tokens makes URL-safe base64
_JOB_BY_TOKEN = "SELECT id, contractor_id, completed_at, expires_at FROM jobs WHERE token = {}"
_INVITE_BY_TOKEN = (
    "SELECT i.contractor_id, i.wave_id, w.opens_at, w.closes_at FROM pulse_invites i "
    "JOIN pulse_waves w ON w.id = i.wave_id WHERE i.token = {}"
)


def db_instant(value: Any) -> datetime:
    """A timestamp as read by raw SQL: SQLite gives ISO text, PostgreSQL a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _one(sql: str, token: str) -> Any:
    conn = connection()
    placeholder = "$1" if conn.capabilities.dialect == "postgres" else "?"
    _, rows = await conn.execute_query(sql.format(placeholder), [token])
    return rows[0] if rows else None


async def find_link(*, token: str, kind: LinkKind | None = None) -> Link | None:
    """The job or invite behind a token, or None.

    This is on every submission, so it is one plain indexed SELECT per kind
    tried rather than an ORM query (which costs more to build than to run).
    """
    if not _TOKEN.fullmatch(token):  # not one Rapport made: no query (and no NUL for PostgreSQL)
        return None
    if kind in (None, "customer"):
        row = await _one(_JOB_BY_TOKEN, token)
        if row is not None:
            return Link(
                kind="customer",
                token=token,
                contractor_id=row["contractor_id"],
                job_id=row["id"],
                completed_at=db_instant(row["completed_at"]),
                closes_at=db_instant(row["expires_at"]),
            )
    if kind in (None, "pulse"):
        row = await _one(_INVITE_BY_TOKEN, token)
        if row is not None:
            return Link(
                kind="pulse",
                token=token,
                contractor_id=row["contractor_id"],
                wave_id=row["wave_id"],
                opens_at=db_instant(row["opens_at"]),
                closes_at=db_instant(row["closes_at"]),
            )
    return None


async def is_answered(*, link: Link) -> bool:
    if link.kind == "customer":
        return await CustomerResponse.filter(job_id=link.job_id).exists()
    return await PulseResponse.filter(wave_id=link.wave_id, contractor_id=link.contractor_id).exists()


@dataclass(frozen=True)
class Stored:
    """A stored response as the respondent sees it; `created` is False for a retry."""

    kind: LinkKind
    submitted_at: datetime
    survey_version: int
    lang: str
    submission_id: str | None
    created: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "received",
            "survey": self.kind,
            "survey_version": self.survey_version,
            "submitted_at": self.submitted_at.isoformat(),
            "submission_id": self.submission_id,
        }


def _stored(kind: LinkKind, row: CustomerResponse | PulseResponse, created: bool) -> Stored:
    return Stored(kind, row.submitted_at, row.survey_version, row.lang, row.submission_id, created)


async def _after_conflict(
    kind: LinkKind,
    existing: CustomerResponse | PulseResponse | None,
    submission_id: str | None,
    answers: Mapping[str, Any],
) -> Stored:
    """Decide what a failed insert means, from the row that is there."""
    if existing is not None:
        if submission_id is not None and existing.submission_id == submission_id:
            if existing.answers != dict(answers):
                raise Conflict("this submission id was sent before with different answers; the first "
                               "answers are kept (send new answers with a new submission id only if the "
                               "link is still unanswered)")
            return _stored(kind, existing, created=False)
        raise AlreadyAnswered("this link has been answered already")
    raise Conflict("this submission id belongs to another response")


def _submitted_columns(
    answers: Mapping[str, Any], survey: Survey, lang: str, source: str, submission_id: str | None, now: datetime
) -> dict[str, Any]:
    """The columns of a customer response that come from the submission (the
    rest come from its job), for both ways of storing it."""
    return {
        "submitted_at": now,
        "csat": answers.get("csat"),
        "nps": answers.get("nps"),
        "ces": answers.get("ces"),
        "promise_kept": answers.get("promise_kept"),
        "comment": answers.get("comment"),
        "answers": dict(answers),
        "survey_version": survey.version,
        "lang": lang,
        "source": source,
        "submission_id": submission_id,
    }


async def store_customer_response(
    *,
    link: Link,
    answers: Mapping[str, Any],
    survey: Survey,
    lang: str = "en",
    source: str = "web",
    submission_id: str | None = None,
    now: datetime | None = None,
) -> Stored:
    """Store a customer's validated answers once; a retry returns the original."""
    if link.kind != "customer":
        raise ValueError("not a customer link")
    try:
        async with in_transaction() as conn:
            row = await CustomerResponse.create(
                job_id=link.job_id,
                contractor_id=link.contractor_id,
                completed_at=link.completed_at,
                **_submitted_columns(answers, survey, lang, source, submission_id, now or now_utc()),
                using_db=conn,
            )
            await outbox.emit_customer_response(row.id, using_db=conn)  # the events commit with the row
    except IntegrityError:
        existing = await CustomerResponse.get_or_none(job_id=link.job_id)
        return await _after_conflict("customer", existing, submission_id, answers)
    return _stored("customer", row, created=True)


# The common customer submission in one statement: the row is built from the job
# its token names, only while the link is open, and only if neither that job nor
# the submission id has a response yet (ON CONFLICT DO NOTHING on the unique
# constraints). SQLite >= 3.35 has RETURNING and this upsert, like PostgreSQL.
#
# Columns of the new row copied from the job, as (response column, job column):
_FROM_JOB = (
    ("job_id", "id"),
    ("contractor_id", "contractor_id"),
    ("completed_at", "completed_at"),
)
# Columns of the new row given as parameters $2, $3, ... in this order (from
# `_submitted_columns`), with their PostgreSQL type: in INSERT ... SELECT the target column
# does not type a parameter, so asyncpg needs the cast.
_GIVEN = (
    ("submitted_at", "timestamptz"),  # also the instant the link must be open at
    ("csat", "smallint"),
    ("nps", "smallint"),
    ("ces", "smallint"),
    ("promise_kept", "boolean"),
    ("comment", "text"),
    ("answers", "jsonb"),
    ("survey_version", "integer"),
    ("lang", "varchar"),
    ("source", "varchar"),
    ("submission_id", "varchar"),
)


def _insert_from_job_sql(dialect: str) -> str:
    postgres = dialect == "postgres"

    def param(n: int, pg_type: str) -> str:
        return f"${n}::{pg_type}" if postgres else f"?{n}"

    columns = [column for column, _ in _FROM_JOB] + [column for column, _ in _GIVEN]
    values = [f"j.{column}" for _, column in _FROM_JOB] + [
        param(n, pg_type) for n, (_, pg_type) in enumerate(_GIVEN, start=2)
    ]
    now = param(2, "timestamptz")
    # SQLite keeps instants as ISO text, whose offsets and optional fraction make a
    # text comparison unsafe; julianday() reads both (to the millisecond, rounding
    # both sides alike, so it never calls an expired link open; at worst it sends
    # an instant within a millisecond of expiry to the careful path).
    still_open = f"j.expires_at > {now}" if postgres else f"julianday(j.expires_at) > julianday({now})"
    return (
        f"INSERT INTO customer_responses ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM jobs j "
        f"WHERE j.token = {param(1, 'varchar')} AND {still_open} "
        "ON CONFLICT DO NOTHING RETURNING id"
    )


_INSERT_FROM_JOB = {dialect: _insert_from_job_sql(dialect) for dialect in ("postgres", "sqlite")}
_ENCODE_ANSWERS = CustomerResponse._meta.fields_map["answers"].encoder  # what the ORM writes


async def store_customer_response_at_once(
    *,
    token: str,
    answers: Mapping[str, Any],
    survey: Survey,
    lang: str = "en",
    source: str = "web",
    submission_id: str | None = None,
    now: datetime | None = None,
) -> Stored | None:
    """Store validated customer answers in one round trip, if the token is a customer
    link that is open and unanswered and the submission id is new; else store
    nothing and return None.

    None covers an unknown or pulse token, an expired link, an answered link, a
    retry and a reused submission id: `find_link` and `store_customer_response`
    tell those apart (the caller's careful path).
    """
    if not _TOKEN.fullmatch(token):
        return None
    now = now or now_utc()
    given = _submitted_columns(answers, survey, lang, source, submission_id, now)
    given["answers"] = _ENCODE_ANSWERS(given["answers"])  # raw SQL: the text the ORM would write
    values = [token, *(given[column] for column, _ in _GIVEN)]
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(_INSERT_FROM_JOB[conn.capabilities.dialect], values)
        if not rows:
            return None
        await outbox.emit_customer_response(rows[0]["id"], using_db=conn)  # the events commit with the row
    return Stored("customer", now, survey.version, lang, submission_id, created=True)


Groups = tuple[str, str, int]  # region, service type, tenure band code at the wave's close


async def frozen_groups(conn: BaseDBAsyncClient, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Groups]:
    """The groups a new pulse response keeps, per (wave id, contractor id): the
    contractor's region and service type now, and their tenure band at the
    wave's close. Every writer of pulse responses stores these on the response
    and its score and item rows: the index groups a closed wave by them, so
    editing a contractor later moves no figure."""
    pairs = list(pairs)
    waves, people = {w for w, _ in pairs}, {c for _, c in pairs}
    closes: dict[int, date] = {}
    who: dict[int, tuple[str, str, date | None]] = {}
    for chunk in _chunks(sorted(waves)):  # ints only: written into the SQL
        for row in await conn.execute_query_dict(
                f"SELECT id, closes_at FROM pulse_waves WHERE id IN ({', '.join(map(str, chunk))})"):
            closes[int(row["id"])] = db_instant(row["closes_at"]).date()
    for chunk in _chunks(sorted(people)):
        for row in await conn.execute_query_dict(
                "SELECT id, region, service_type, started_on FROM contractors "
                f"WHERE id IN ({', '.join(map(str, chunk))})"):
            who[int(row["id"])] = (row["region"], row["service_type"], _day(row["started_on"]))
    out = {}
    for w, c in pairs:
        region, service, started = who[c]
        out[(w, c)] = (region, service, tenure_code(started, closes[w]))
    return out


def complete_dimensions(survey: Survey, scoring: PulseScoring) -> set[str]:
    """The dimensions whose every item was answered (reliability uses only these)."""
    return {d for d, s in scoring.dimensions.items() if s.answered == len(survey.items(d))}


async def freeze_groups(conn: BaseDBAsyncClient, response_ids: Sequence[int]) -> None:
    """Write `frozen_groups` onto stored responses and their score and item
    rows, and mark complete item rows: for rows written before migration 0004
    (which calls this); writers pass the groups with the rows instead."""
    ids = [int(i) for i in response_ids]
    p = ("$1", "$2", "$3") if conn.capabilities.dialect == "postgres" else ("?", "?", "?")
    owners: dict[tuple[int, int], list[int]] = {}
    for chunk in _chunks(ids):
        for row in await conn.execute_query_dict(
                f"SELECT id, wave_id, contractor_id FROM pulse_responses WHERE id IN ({', '.join(map(str, chunk))})"):
            owners.setdefault((int(row["wave_id"]), int(row["contractor_id"])), []).append(int(row["id"]))
    cells: dict[Groups, list[int]] = {}
    for pair, groups in (await frozen_groups(conn, owners)).items():
        cells.setdefault(groups, []).extend(owners[pair])
    for values, members in cells.items():
        for chunk in _chunks(members):
            listed = ", ".join(map(str, chunk))
            for table, column in (("pulse_responses", "id"), ("pulse_scores", "response_id"),
                                  ("pulse_item_answers", "response_id")):
                await conn.execute_query(
                    f"UPDATE {table} SET region = {p[0]}, service_type = {p[1]}, tenure_band = {p[2]} "
                    f"WHERE {column} IN ({listed})", list(values))
    survey = survey_in_force("pulse")
    k = " ".join(f"WHEN '{d.id}' THEN {len(survey.items(d.id))}" for d in survey.dimensions)  # ids: [a-z0-9_]
    for chunk in _chunks(ids):
        await conn.execute_query(
            "UPDATE pulse_item_answers SET complete = EXISTS (SELECT 1 FROM pulse_scores s "
            "WHERE s.response_id = pulse_item_answers.response_id AND s.dimension = pulse_item_answers.dimension "
            f"AND s.answered = (CASE s.dimension {k} ELSE -1 END)) "
            f"WHERE response_id IN ({', '.join(map(str, chunk))})")


def _chunks(ids: Sequence[int], size: int = 900) -> list[Sequence[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def store_pulse_response(
    *,
    link: Link,
    answers: Mapping[str, Any],
    survey: Survey,
    lang: str = "en",
    source: str = "web",
    submission_id: str | None = None,
    now: datetime | None = None,
) -> Stored:
    """Store a contractor's validated pulse answers with their dimension and item scores,
    in one transaction; a retry returns the original."""
    if link.kind != "pulse":
        raise ValueError("not a pulse link")
    scoring = score_pulse(survey, answers)
    try:
        async with in_transaction() as conn:
            pair = (int(link.wave_id), link.contractor_id)  # type: ignore[arg-type]  # a pulse link has a wave
            region, service_type, band = (await frozen_groups(conn, [pair]))[pair]
            groups = {"region": region, "service_type": service_type, "tenure_band": band}
            row = await PulseResponse.create(
                wave_id=link.wave_id,
                contractor_id=link.contractor_id,
                **groups,
                submitted_at=now or now_utc(),
                answers=dict(answers),
                comment=answers.get("comment"),
                cei=scoring.cei,
                survey_version=survey.version,
                lang=lang,
                source=source,
                submission_id=submission_id,
                using_db=conn,
            )
            copied = {"contractor_id": row.contractor_id, "wave_id": row.wave_id, "submitted_at": row.submitted_at,
                      **groups}
            complete = complete_dimensions(survey, scoring)
            scores = [
                PulseScore(
                    response=row,
                    dimension=dim,
                    score=s.score,
                    answered=s.answered,
                    favourable=s.favourable,
                    item_sum=s.item_sum,
                    **copied,
                )
                for dim, s in scoring.dimensions.items()
            ]
            items = [
                PulseItemAnswer(response=row, dimension=dim, item=item, value=value, complete=dim in complete,
                                **copied)
                for item, (dim, value) in scoring.items.items()
            ]
            if scores:
                await PulseScore.bulk_create(scores, using_db=conn)
            if items:
                await PulseItemAnswer.bulk_create(items, using_db=conn)
    except IntegrityError:
        existing = await PulseResponse.get_or_none(
            wave_id=link.wave_id, contractor_id=link.contractor_id
        )
        return await _after_conflict("pulse", existing, submission_id, answers)
    return _stored("pulse", row, created=True)


async def store_response(
    *,
    link: Link,
    answers: Mapping[str, Any],
    lang: str = "en",
    source: str = "web",
    submission_id: str | None = None,
    now: datetime | None = None,
) -> Stored:
    """Store answers for whichever kind of link this is, with the survey in force."""
    store = store_customer_response if link.kind == "customer" else store_pulse_response
    return await store(
        link=link,
        answers=answers,
        survey=survey_in_force(link.kind),
        lang=lang,
        source=source,
        submission_id=submission_id,
        now=now,
    )


async def stored_for_submission(*, link: Link, submission_id: str) -> Stored | None:
    """The response this submission id stored on this link, if any (to answer a resend)."""
    model = CustomerResponse if link.kind == "customer" else PulseResponse
    row = await model.get_or_none(submission_id=submission_id)
    if row is None:
        return None
    if link.kind == "customer" and row.job_id != link.job_id:  # type: ignore[union-attr]
        return None
    if link.kind == "pulse" and (row.wave_id, row.contractor_id) != (link.wave_id, link.contractor_id):  # type: ignore[union-attr]
        return None
    return _stored(link.kind, row, created=False)


async def known_values(*, field: Literal["region", "service_type"]) -> set[str]:
    """Every value of a contractor attribute that some contractor has (active or not)."""
    rows = await Contractor.exclude(**{f"{field}__isnull": True}).distinct().values_list(field, flat=True)
    return {str(value) for value in rows}
