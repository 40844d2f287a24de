"""Who to remind: pulse links of an open wave and customer links not yet answered.

A reminder list is only ever handed to the brand's own systems (an SMS or
e-mail tool polls it over the API), never shown per person in the dashboard:
a manager must not see who has not answered. A pulse link is listed at most
once per `RAPPORT_REMINDER_GAP_DAYS` and never once its wave has closed; a
customer link once, while it is open. Marking the list as sent is part of
the same call, so a tool that polls never reminds anyone twice.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models.entities import CustomerResponse, Job, PulseInvite, PulseResponse, PulseWave, Reminder
from models.queries import Invite, NotFound
from models.settings import settings

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CustomerReminder",
    "Listed",
    "customer_reminders",
    "pulse_reminders",
]


DEFAULT_LIMIT = 1000  # links in one answer: a tool that marks them sent calls again for the rest
MAX_LIMIT = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """At most `limit` links, and whether more wait beyond them."""

    items: list[T]
    more: bool


async def pulse_reminders(
    *, wave: str, mark: bool = False, now: datetime | None = None, gap_days: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listed[Invite]:
    """The invites of `wave` whose contractor has not answered and was not reminded in
    the last `gap_days` (default RAPPORT_REMINDER_GAP_DAYS); empty unless the wave is open.
    At most `limit`, in order of the contractor's external id; `more` says whether others wait.

    With `mark`, each one listed is recorded as reminded now, in the same transaction, so
    the next call lists the next ones.
    """
    at = now or datetime.now(UTC)
    found = await PulseWave.get_or_none(name=wave)
    if found is None:
        raise NotFound(f"no wave called {wave!r}")
    if not found.opens_at <= at < found.closes_at:
        return Listed([], more=False)
    since = at - timedelta(days=settings.reminder_gap_days if gap_days is None else gap_days)
    async with in_transaction() as conn:
        rows = await (
            PulseInvite.filter(wave_id=found.id)
            .filter(~Q(contractor_id__in=Subquery(PulseResponse.filter(wave_id=found.id).values("contractor_id"))))
            .filter(~Q(id__in=Subquery(Reminder.filter(invite__wave_id=found.id, sent_at__gt=since)
                                       .values("invite_id"))))
            .using_db(conn)
            .order_by("contractor__external_id")
            .limit(limit + 1)
            .values_list("id", "contractor__external_id", "contractor__name", "token")
        )
        rows, more = rows[:limit], len(rows) > limit
        if mark and rows:
            await Reminder.bulk_create([Reminder(invite_id=row[0], sent_at=at) for row in rows], using_db=conn)
    return Listed([Invite(ext, name, token) for _, ext, name, token in rows], more=more)


@dataclass(frozen=True)
class CustomerReminder:
    job: str  # external id
    customer_ref: str | None
    token: str
    expires_at: datetime


async def customer_reminders(*, mark: bool = False, now: datetime | None = None,
                             limit: int = DEFAULT_LIMIT) -> Listed[CustomerReminder]:
    """Customer links still open and unanswered that were never reminded, oldest job first,
    at most `limit`; `more` says whether others wait.

    With `mark`, each one listed is recorded as reminded now, in the same transaction, so
    the next call lists the next ones.
    """
    at = now or datetime.now(UTC)
    async with in_transaction() as conn:
        rows = await (
            Job.filter(expires_at__gt=at)
            .filter(~Q(id__in=Subquery(CustomerResponse.all().values("job_id"))))
            .filter(~Q(id__in=Subquery(Reminder.filter(job_id__isnull=False).values("job_id"))))
            .using_db(conn)
            .order_by("completed_at", "id")
            .limit(limit + 1)
            .values_list("id", "external_id", "customer_ref", "token", "expires_at")
        )
        rows, more = rows[:limit], len(rows) > limit
        if mark and rows:
            await Reminder.bulk_create([Reminder(job_id=row[0], sent_at=at) for row in rows], using_db=conn)
    return Listed([CustomerReminder(ext, ref, token, expires) for _, ext, ref, token, expires in rows], more=more)
