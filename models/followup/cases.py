"""What a follow-up case is, and finding and reading cases (models.followup says more).

A case is named by its answer's id; its state lives in `followup_cases` once
someone acts on it, and an answer nobody has touched is an open case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from models.entities import CustomerResponse, FollowupCase, FollowupNote
from surveys.scoring import CSAT_LOW_MAX, DETRACTOR_MAX

__all__ = [
    "MAX_PAGE_SIZE",
    "ROOT_CAUSES",
    "SHOW",
    "SORTS",
    "Case",
    "CaseError",
    "CaseNotFound",
    "CasePage",
    "Note",
    "all_cases",
    "case_query",
    "cases_of",
    "detractor_q",
    "find_cases",
    "get_case",
    "hours_between",
    "is_past_target",
]

ROOT_CAUSES = ("contractor", "process", "platform", "other")
SHOW = ("open", "closed", "all")
SORTS = ("oldest", "newest", "contractor", "job")
MAX_PAGE_SIZE = 500


def hours_between(later: datetime, earlier: datetime) -> float:
    """Hours from `earlier` to `later`: how every time to act on a case is measured."""
    return (later - earlier).total_seconds() / 3600


def is_past_target(submitted_at: datetime, closed_at: datetime | None, now: datetime, target_hours: float) -> bool:
    """Whether a case missed the target: open and older than it, or closed later than it
    (the Follow-up list's highlight and the per-segment count in models.followup.timing)."""
    return hours_between(closed_at or now, submitted_at) > target_hours


class CaseError(ValueError):
    """A change that cannot be made; the message says which field and why."""


class CaseNotFound(LookupError):
    """No detractor answer has this id."""


@dataclass(frozen=True)
class Note:
    author: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Case:
    id: int  # the customer response's id
    submitted_at: datetime
    job_external_id: str
    customer_ref: str | None
    contractor_name: str
    contractor_external_id: str
    region: str
    service_type: str
    csat: int | None
    nps: int | None
    ces: int | None
    comment: str | None
    assignee: str | None = None
    root_cause: str | None = None
    outcome: str | None = None
    first_action_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    notes: tuple[Note, ...] = ()

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def age_hours(self, now: datetime) -> float:
        """Hours from the answer to its close, or to `now` while it is open."""
        return hours_between(self.closed_at or now, self.submitted_at)

    def hours_to_first_action(self) -> float | None:
        return None if self.first_action_at is None else hours_between(self.first_action_at, self.submitted_at)

    def hours_to_close(self) -> float | None:
        return None if self.closed_at is None else hours_between(self.closed_at, self.submitted_at)

    def past_target(self, now: datetime, target_hours: float) -> bool:
        """Not acted on (or, once acted on, not closed) within the target (`is_past_target`)."""
        return is_past_target(self.submitted_at, self.closed_at, now, target_hours)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "submitted_at": self.submitted_at.isoformat(),
            "job": self.job_external_id,
            "customer_ref": self.customer_ref,
            "contractor": self.contractor_external_id,
            "contractor_name": self.contractor_name,
            "region": self.region,
            "service_type": self.service_type,
            "csat": self.csat,
            "nps": self.nps,
            "ces": self.ces,
            "comment": self.comment,
            "status": "closed" if self.closed else "open",
            "assignee": self.assignee,
            "root_cause": self.root_cause,
            "outcome": self.outcome,
            "first_action_at": _iso(self.first_action_at),
            "closed_at": _iso(self.closed_at),
            "closed_by": self.closed_by,
            "notes": [{"author": n.author, "at": n.at.isoformat(), "text": n.text} for n in self.notes],
        }


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    total: int  # every case under the filters, not only this page
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def detractor_q() -> Q:
    """The customer responses that are detractors (NPS 0–6 or CSAT 1–2)."""
    return Q(nps__lte=DETRACTOR_MAX) | Q(csat__lte=CSAT_LOW_MAX)


def _closed_ids() -> Subquery:
    return Subquery(FollowupCase.filter(closed_at__isnull=False).values("response_id"))


def case_query(
    *,
    start: date | None,
    end: date | None,
    show: str,
    region: str | None,
    service_type: str | None,
    contractor_ids: Sequence[int] | None,
    search: str | None,
    assignee: str | None,
    root_cause: str | None,
) -> Any:
    if show not in SHOW:
        raise CaseError(f"show must be one of {', '.join(SHOW)}")
    query = CustomerResponse.filter(detractor_q())
    if start is not None:
        query = query.filter(submitted_at__gte=datetime.combine(start, time.min, UTC))
    if end is not None:
        query = query.filter(submitted_at__lt=datetime.combine(end + timedelta(days=1), time.min, UTC))
    if show == "open":
        query = query.filter(~Q(id__in=_closed_ids()))
    elif show == "closed":
        query = query.filter(id__in=_closed_ids())
    if region:
        query = query.filter(contractor__region=region)
    if service_type:
        query = query.filter(contractor__service_type=service_type)
    if contractor_ids is not None:
        query = query.filter(contractor_id__in=list(contractor_ids))
    if search and search.strip():
        text = search.strip()
        query = query.filter(Q(job__external_id__icontains=text) | Q(contractor__external_id__icontains=text)
                             | Q(contractor__name__icontains=text))
    if assignee:
        query = query.filter(id__in=Subquery(FollowupCase.filter(assignee=assignee).values("response_id")))
    if root_cause:
        query = query.filter(id__in=Subquery(FollowupCase.filter(root_cause=root_cause).values("response_id")))
    return query


_ORDER = {
    "oldest": ("submitted_at", "id"),
    "newest": ("-submitted_at", "-id"),
    "contractor": ("contractor__name", "contractor__external_id", "submitted_at", "id"),
    "job": ("job__external_id", "id"),
}


async def find_cases(
    *,
    start: date | None = None,
    end: date | None = None,
    show: str = "open",
    sort: str = "oldest",
    search: str | None = None,
    region: str | None = None,
    service_type: str | None = None,
    contractor_ids: Sequence[int] | None = None,
    assignee: str | None = None,
    root_cause: str | None = None,
    page: int = 1,
    page_size: int = 25,
) -> CasePage:
    """One page of the cases under the filters, with the total.

    `show` open (the default), closed or all; `sort` oldest (the default: the
    case waiting longest first), newest, contractor or job; `search` matches a
    part of the job's or the contractor's external id or the contractor's
    name; answers submitted in [start, end] (whole days, UTC).
    """
    if sort not in SORTS:
        raise CaseError(f"sort must be one of {', '.join(SORTS)}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise CaseError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page < 1:
        raise CaseError("page must be at least 1")
    query = case_query(start=start, end=end, show=show, region=region, service_type=service_type,
                      contractor_ids=contractor_ids, search=search, assignee=assignee, root_cause=root_cause)
    total = await query.count()
    rows = await (query.select_related("job", "contractor").order_by(*_ORDER[sort])
                  .offset((page - 1) * page_size).limit(page_size))
    return CasePage(await cases_of(rows), total=total, page=page, page_size=page_size)


async def all_cases(**filters: Any) -> list[Case]:
    """Every case under `find_cases`' filters (for a CSV), in its order."""
    first = await find_cases(**filters, page=1, page_size=MAX_PAGE_SIZE)
    cases = list(first.cases)
    for page in range(2, first.pages + 1):
        cases.extend((await find_cases(**filters, page=page, page_size=MAX_PAGE_SIZE)).cases)
    return cases


async def cases_of(rows: Sequence[CustomerResponse]) -> list[Case]:
    """The cases of detractor answers read with their job and contractor (select_related)."""
    ids = [row.id for row in rows]
    states = {c.response_id: c for c in await FollowupCase.filter(response_id__in=ids)} if ids else {}
    notes: dict[int, list[Note]] = {}
    if states:
        answer_of = {state.id: response_id for response_id, state in states.items()}
        for note in await FollowupNote.filter(case_id__in=list(answer_of)).order_by("at", "id"):
            notes.setdefault(answer_of[note.case_id], []).append(
                Note(note.author, note.at, note.text))
    out = []
    for row in rows:
        state = states.get(row.id)
        out.append(Case(
            id=row.id,
            submitted_at=row.submitted_at,
            job_external_id=row.job.external_id,
            customer_ref=row.job.customer_ref,
            contractor_name=row.contractor.name,
            contractor_external_id=row.contractor.external_id,
            region=row.contractor.region,
            service_type=row.contractor.service_type,
            csat=row.csat,
            nps=row.nps,
            ces=row.ces,
            comment=row.comment,
            assignee=state.assignee if state else None,
            root_cause=state.root_cause if state else None,
            outcome=state.outcome if state else None,
            first_action_at=state.first_action_at if state else None,
            closed_at=state.closed_at if state else None,
            closed_by=state.closed_by if state else None,
            notes=tuple(notes.get(row.id, ())),
        ))
    return out


async def get_case(*, case_id: int) -> Case:
    rows = await CustomerResponse.filter(detractor_q(), id=case_id).select_related("job", "contractor")
    if not rows:
        raise CaseNotFound(f"no follow-up case {case_id}")
    return (await cases_of(rows))[0]
