"""Answers in: customer and pulse responses, stored exactly once.

Exactly-once storage leans on the database: one customer response per job,
one pulse response per contractor and wave, one row per submission id. When
an insert hits one of those constraints, the row that won is read back: the
same submission id means a retry (its original result is returned), anything
else means the link was already answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.fields import JSONField
from tortoise.transactions import in_transaction

from models import outbox
from models.entities import CustomerResponse, PulseItemAnswer, PulseResponse, PulseScore
from models.queries.groups import complete_dimensions, frozen_groups
from models.queries.links import TOKEN, AlreadyAnswered, Conflict, Link, LinkKind, now_utc, survey_in_force
from models.sql import is_postgres, placeholder
from surveys.schema import Survey
from surveys.scoring import score_pulse

__all__ = [
    "Stored",
    "store_customer_response",
    "store_customer_response_at_once",
    "store_pulse_response",
    "store_response",
    "stored_for_submission",
]


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


def _insert_from_job_sql(postgres: bool) -> str:
    def param(n: int, pg_type: str) -> str:
        return placeholder(n, postgres=postgres, pg_type=pg_type)

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


_INSERT_FROM_JOB = {postgres: _insert_from_job_sql(postgres) for postgres in (True, False)}
_ENCODE_ANSWERS = cast(JSONField[Any], CustomerResponse._meta.fields_map["answers"]).encoder  # what the ORM writes


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
    if not TOKEN.fullmatch(token):
        return None
    now = now or now_utc()
    given = _submitted_columns(answers, survey, lang, source, submission_id, now)
    given["answers"] = _ENCODE_ANSWERS(given["answers"])  # raw SQL: the text the ORM would write
    values = [token, *(given[column] for column, _ in _GIVEN)]
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(_INSERT_FROM_JOB[is_postgres(conn)], values)
        if not rows:
            return None
        await outbox.emit_customer_response(rows[0]["id"], using_db=conn)  # the events commit with the row
    return Stored("customer", now, survey.version, lang, submission_id, created=True)


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
    if isinstance(row, CustomerResponse):  # a customer link's
        if row.job_id != link.job_id:
            return None
    elif (row.wave_id, row.contractor_id) != (link.wave_id, link.contractor_id):
        return None
    return _stored(link.kind, row, created=False)
