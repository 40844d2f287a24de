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

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models.entities import CustomerResponse, Job, PulseInvite, PulseResponse, PulseWave, Reminder
from models.queries import Invite, NotFound
from models.settings import settings

__all__ = [
    "CustomerReminder",
    "customer_reminders",
    "pulse_reminders",
]


async def pulse_reminders(
    *, wave: str, mark: bool = False, now: datetime | None = None, gap_days: int | None = None
) -> list[Invite]:
    """The invites of `wave` whose contractor has not answered and was not reminded in
    the last `gap_days` (default RAPPORT_REMINDER_GAP_DAYS); empty unless the wave is open.

    With `mark`, each one listed is recorded as reminded now, in the same transaction.
    """
    at = now or datetime.now(UTC)
    found = await PulseWave.get_or_none(name=wave)
    if found is None:
        raise NotFound(f"no wave called {wave!r}")
    if not found.opens_at <= at < found.closes_at:
        return []
    since = at - timedelta(days=settings.reminder_gap_days if gap_days is None else gap_days)
    async with in_transaction() as conn:
        rows = await (
            PulseInvite.filter(wave_id=found.id)
            .filter(~Q(contractor_id__in=Subquery(PulseResponse.filter(wave_id=found.id).values("contractor_id"))))
            .filter(~Q(id__in=Subquery(Reminder.filter(invite__wave_id=found.id, sent_at__gt=since)
                                       .values("invite_id"))))
            .using_db(conn)
            .order_by("contractor__external_id")
            .values_list("id", "contractor__external_id", "contractor__name", "token")
        )
        if mark and rows:
            await Reminder.bulk_create([Reminder(invite_id=row[0], sent_at=at) for row in rows], using_db=conn)
    return [Invite(ext, name, token) for _, ext, name, token in rows]


@dataclass(frozen=True)
class CustomerReminder:
    job: str  # external id
    customer_ref: str | None
    token: str
    expires_at: datetime


async def customer_reminders(*, mark: bool = False, now: datetime | None = None) -> list[CustomerReminder]:
    """Customer links still open and unanswered that were never reminded, oldest job first.

    With `mark`, each one listed is recorded as reminded now, in the same transaction.
    """
    at = now or datetime.now(UTC)
    async with in_transaction() as conn:
        rows = await (
            Job.filter(expires_at__gt=at)
            .filter(~Q(id__in=Subquery(CustomerResponse.all().values("job_id"))))
            .filter(~Q(id__in=Subquery(Reminder.filter(job_id__isnull=False).values("job_id"))))
            .using_db(conn)
            .order_by("completed_at", "id")
            .values_list("id", "external_id", "customer_ref", "token", "expires_at")
        )
        if mark and rows:
            await Reminder.bulk_create([Reminder(job_id=row[0], sent_at=at) for row in rows], using_db=conn)
    return [CustomerReminder(ext, ref, token, expires) for _, ext, ref, token, expires in rows]
