"""Forgetting a person (GDPR Art. 17): a contractor, or the customer of one job.

A contractor is forgotten with everything that carries their id: their pulse
answers with the scores and item rows that repeat the contractor's id (0002),
their pulse links, their jobs with the jobs' survey links and customer
answers, then the contractor. The customer answers go too, not only their
link to the contractor: a job row names the contractor, the brand's own
systems map the job's external id back to them, and a customer's rating or
comment of the job is data about the person who did it. Kept with the link
blanked, they would still single the contractor out to anyone holding the
brand's job list, and they would fall out of every segment anyway (no region,
no service type), so the brand's figures describe the answers Rapport holds
either way.

A customer is forgotten with their job: its answers and its survey link (so
the link cannot be answered again). Either way the webhook events whose data
names them (queued or already sent: models.outbox.forget) go too, so nothing is
sent about them afterwards and the delivery log keeps no copy. Each runs in one transaction: all of it,
or nothing. The foreign keys stay RESTRICT, so a contractor deleted by hand
in SQL while rows still point at them is refused rather than half-forgotten.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models import outbox
from models.entities import (
    Contractor,
    CustomerResponse,
    Job,
    PulseInvite,
    PulseItemAnswer,
    PulseResponse,
    PulseScore,
)

__all__ = ["Forgotten", "NotFoundError", "forget_contractor", "forget_customer_response"]


class NotFoundError(LookupError):
    """Nobody matches: nothing was deleted."""


@dataclass(frozen=True)
class Forgotten:
    """How many rows of each table were deleted."""

    contractors: int = 0
    pulse_responses: int = 0
    pulse_scores: int = 0
    pulse_item_answers: int = 0
    pulse_invites: int = 0
    jobs: int = 0
    customer_responses: int = 0
    webhook_events: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def forget_contractor(*, external_id: str) -> Forgotten:
    """Delete the contractor `external_id` and every row that carries their id."""
    async with in_transaction() as conn:
        contractor = await Contractor.get_or_none(external_id=external_id)
        if contractor is None:
            raise NotFoundError(f"no contractor with external id {external_id!r}")
        cid = contractor.id
        their_jobs = Subquery(Job.filter(contractor_id=cid).values("id"))
        return Forgotten(
            pulse_item_answers=await PulseItemAnswer.filter(contractor_id=cid).delete(),
            pulse_scores=await PulseScore.filter(contractor_id=cid).delete(),
            pulse_responses=await PulseResponse.filter(contractor_id=cid).delete(),
            pulse_invites=await PulseInvite.filter(contractor_id=cid).delete(),
            customer_responses=(await CustomerResponse.filter(job_id__in=their_jobs).delete()
                                + await CustomerResponse.filter(contractor_id=cid).delete()),
            jobs=await Job.filter(contractor_id=cid).delete(),
            contractors=await Contractor.filter(id=cid).delete(),
            webhook_events=await outbox.forget(contractor=external_id, using_db=conn),
        )


async def forget_customer_response(*, job_external_id: str | None = None, token: str | None = None) -> Forgotten:
    """Delete one customer's answers and the job they answered about, found by the
    job's external id or by the survey link's token (exactly one of them)."""
    if (job_external_id is None) == (token is None):
        raise ValueError("name the job by its external id or by its survey token, not both")
    async with in_transaction() as conn:
        job = await (Job.get_or_none(external_id=job_external_id) if job_external_id is not None
                     else Job.get_or_none(token=token))
        if job is None:
            what = f"external id {job_external_id!r}" if job_external_id is not None else "that survey token"
            raise NotFoundError(f"no job with {what}")
        return Forgotten(
            customer_responses=await CustomerResponse.filter(job_id=job.id).delete(),
            jobs=await Job.filter(id=job.id).delete(),
            webhook_events=await outbox.forget(job=job.external_id, using_db=conn),
        )
