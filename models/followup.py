"""Closing the loop with unhappy customers: recent detractors and their handled flag.

A detractor is a customer response with NPS 0–6 or CSAT 1–2. Customers are
not the protected party of the privacy rules, so their comments are shown;
the job and contractor are shown so someone can act on them.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tortoise.expressions import Q

from models.entities import CustomerResponse
from surveys.scoring import CSAT_LOW_MAX, DETRACTOR_MAX

__all__ = ["Detractor", "mark_handled", "recent_detractors"]


@dataclass(frozen=True)
class Detractor:
    response_id: int
    submitted_at: datetime
    job_external_id: str
    contractor_name: str
    contractor_external_id: str
    region: str
    service_type: str
    csat: int | None
    nps: int | None
    comment: str | None
    handled_at: datetime | None
    handled_by: str | None

    @property
    def handled(self) -> bool:
        return self.handled_at is not None


def _detractor_q() -> Q:
    return Q(nps__lte=DETRACTOR_MAX) | Q(csat__lte=CSAT_LOW_MAX)


async def recent_detractors(
    *,
    start: date | None = None,
    end: date | None = None,
    handled: bool | None = None,
    region: str | None = None,
    service_type: str | None = None,
    contractor_ids: list[int] | None = None,
    limit: int = 200,
) -> list[Detractor]:
    """Detractors submitted in [start, end] (whole days, UTC), newest first.

    `handled` None means both; `contractor_ids` narrows to a set of
    contractors (how the dashboard applies a tenure band).
    """
    query = CustomerResponse.filter(_detractor_q())
    if start is not None:
        query = query.filter(submitted_at__gte=datetime.combine(start, time.min, UTC))
    if end is not None:
        query = query.filter(submitted_at__lt=datetime.combine(end + timedelta(days=1), time.min, UTC))
    if handled is True:
        query = query.filter(handled_at__isnull=False)
    elif handled is False:
        query = query.filter(handled_at__isnull=True)
    if region:
        query = query.filter(contractor__region=region)
    if service_type:
        query = query.filter(contractor__service_type=service_type)
    if contractor_ids is not None:
        query = query.filter(contractor_id__in=contractor_ids)
    rows = await query.select_related("job", "contractor").order_by("-submitted_at", "-id").limit(limit)
    return [
        Detractor(
            response_id=row.id,
            submitted_at=row.submitted_at,
            job_external_id=row.job.external_id,
            contractor_name=row.contractor.name,
            contractor_external_id=row.contractor.external_id,
            region=row.contractor.region,
            service_type=row.contractor.service_type,
            csat=row.csat,
            nps=row.nps,
            comment=row.comment,
            handled_at=row.handled_at,
            handled_by=row.handled_by,
        )
        for row in rows
    ]


async def mark_handled(*, response_id: int, handled: bool, by: str) -> bool:
    """Mark one detractor handled (by whom, now) or back to unhandled.

    Returns False when no detractor has this id (a non-detractor response
    cannot be marked).
    """
    query = CustomerResponse.filter(_detractor_q(), id=response_id)
    if handled:
        changed = await query.update(handled_at=datetime.now(UTC), handled_by=by[:100])
    else:
        changed = await query.update(handled_at=None, handled_by=None)
    return bool(changed)
