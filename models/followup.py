"""Closing the loop with unhappy customers: every detractor answer is a follow-up case.

A detractor is a customer response with NPS 0–6 or CSAT 1–2 (the thresholds
of `surveys.scoring`). Customers are not the protected party of the privacy
rules, so their comments are shown; the job and contractor are shown so
someone can act on them, and the brand's `customer_ref` of the job so staff
can reach the customer (never shown to contractors).

A case's state (assignee, notes, root cause, closing outcome) lives in
`followup_cases` under the answer's id, written on the first action: the
case id is the answer id, and an answer nobody has touched is an open case.
The first action (assignment, note or close) and the close are timed, so
time-to-first-action and time-to-close can be held against a target.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models import outbox
from models.entities import CustomerResponse, FollowupCase, FollowupNote, User
from surveys.scoring import CSAT_LOW_MAX, DETRACTOR_MAX

__all__ = [
    "CLOSED_EVENT",
    "ROOT_CAUSES",
    "SEGMENTS",
    "SHOW",
    "SORTS",
    "Case",
    "CaseChange",
    "CaseError",
    "CaseNotFound",
    "CasePage",
    "Note",
    "SegmentTiming",
    "change_case",
    "detractor_q",
    "find_cases",
    "get_case",
    "timing_by_segment",
]

ROOT_CAUSES = ("contractor", "process", "platform", "other")
SHOW = ("open", "closed", "all")
SORTS = ("oldest", "newest", "contractor", "job")
SEGMENTS = ("region", "service_type")
CLOSED_EVENT = outbox.FOLLOWUP_CLOSED
MAX_NOTE = 4000
MAX_OUTCOME = 1000
MAX_PAGE_SIZE = 500


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
        return ((self.closed_at or now) - self.submitted_at).total_seconds() / 3600

    def hours_to_first_action(self) -> float | None:
        if self.first_action_at is None:
            return None
        return (self.first_action_at - self.submitted_at).total_seconds() / 3600

    def hours_to_close(self) -> float | None:
        if self.closed_at is None:
            return None
        return (self.closed_at - self.submitted_at).total_seconds() / 3600

    def past_target(self, now: datetime, target_hours: float) -> bool:
        """Not acted on (or, once acted on, not closed) within the target: open and
        older than it, or closed later than it."""
        return self.age_hours(now) > target_hours

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


def _filtered(
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
    query = _filtered(start=start, end=end, show=show, region=region, service_type=service_type,
                      contractor_ids=contractor_ids, search=search, assignee=assignee, root_cause=root_cause)
    total = await query.count()
    rows = await (query.select_related("job", "contractor").order_by(*_ORDER[sort])
                  .offset((page - 1) * page_size).limit(page_size))
    return CasePage(await _cases(rows), total=total, page=page, page_size=page_size)


async def all_cases(**filters: Any) -> list[Case]:
    """Every case under `find_cases`' filters (for a CSV), in its order."""
    first = await find_cases(**filters, page=1, page_size=MAX_PAGE_SIZE)
    cases = list(first.cases)
    for page in range(2, first.pages + 1):
        cases.extend((await find_cases(**filters, page=page, page_size=MAX_PAGE_SIZE)).cases)
    return cases


async def _cases(rows: Sequence[CustomerResponse]) -> list[Case]:
    ids = [row.id for row in rows]
    states = {c.response_id: c for c in await FollowupCase.filter(response_id__in=ids)} if ids else {}
    notes: dict[int, list[Note]] = {}
    if states:
        answer_of = {state.id: response_id for response_id, state in states.items()}
        for note in await FollowupNote.filter(case_id__in=list(answer_of)).order_by("at", "id"):
            notes.setdefault(answer_of[note.case_id], []).append(  # type: ignore[attr-defined]
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
    return (await _cases(rows))[0]


_UNSET: Any = object()


@dataclass(frozen=True)
class CaseChange:
    """What to change on a case; fields left out are kept.

    `assignee` None unassigns; `root_cause` None clears it; `outcome` closes the
    case with that outcome; `reopen` opens a closed case again.
    """

    assignee: Any = _UNSET
    note: str | None = None
    root_cause: Any = _UNSET
    outcome: str | None = None
    reopen: bool = False

    def is_empty(self) -> bool:
        return (self.assignee is _UNSET and self.note is None and self.root_cause is _UNSET
                and self.outcome is None and not self.reopen)


async def change_case(
    *,
    case_id: int,
    change: CaseChange,
    by: str,
    now: datetime | None = None,
) -> Case:
    """Apply `change` to the case, by `by` (a dashboard user or an API key's name).

    The first change of any kind is the case's first action. Closing queues
    `followup.closed` in the outbox inside the same transaction, so the event
    is stored with the close or not at all.
    """
    if change.is_empty():
        raise CaseError("nothing to change: send assignee, note, root_cause, outcome or reopen")
    if change.outcome is not None and change.reopen:
        raise CaseError("a case cannot be closed and reopened at once")
    note = _clean(change.note, "note", MAX_NOTE)
    outcome = _clean(change.outcome, "outcome", MAX_OUTCOME)
    if change.root_cause is not _UNSET and change.root_cause is not None and change.root_cause not in ROOT_CAUSES:
        raise CaseError(f"root_cause must be one of {', '.join(ROOT_CAUSES)}")
    if change.assignee is not _UNSET and change.assignee is not None and (
            not isinstance(change.assignee, str)
            or not await User.filter(username=change.assignee, disabled_at__isnull=True).exists()):
        raise CaseError(f"assignee must be an active dashboard user, not {change.assignee!r}")
    at = now or datetime.now(UTC)
    async with in_transaction() as conn:
        if not await CustomerResponse.filter(detractor_q(), id=case_id).using_db(conn).exists():
            raise CaseNotFound(f"no follow-up case {case_id}")
        state = await FollowupCase.filter(response_id=case_id).using_db(conn).select_for_update().first()
        if state is None:
            await FollowupCase.create(response_id=case_id, using_db=conn)
            state = await FollowupCase.filter(response_id=case_id).using_db(conn).select_for_update().first()
            assert state is not None
        if outcome is not None and state.closed_at is not None:
            raise CaseError("the case is closed already; reopen it first")
        if change.reopen and state.closed_at is None:
            raise CaseError("the case is open")
        if change.assignee is not _UNSET:
            state.assignee = change.assignee
        if change.root_cause is not _UNSET:
            state.root_cause = change.root_cause
        if change.reopen:
            state.closed_at = state.closed_by = state.outcome = None
        if outcome is not None:
            state.outcome, state.closed_at, state.closed_by = outcome, at, by[:100]
        if state.first_action_at is None:
            state.first_action_at = at
        await state.save(using_db=conn)
        if note is not None:
            await FollowupNote.create(case_id=state.id, author=by[:100], at=at, text=note, using_db=conn)
        case = (await _cases(await CustomerResponse.filter(id=case_id).using_db(conn)
                             .select_related("job", "contractor")))[0]
        if outcome is not None:
            await outbox.emit(CLOSED_EVENT, closed_payload(case), using_db=conn, now=at)
    return case


def closed_payload(case: Case) -> dict[str, Any]:
    """The data of a followup.closed event: the case as the brand's systems need it, no notes."""
    return {
        "id": case.id, "job": case.job_external_id, "customer_ref": case.customer_ref,
        "contractor": case.contractor_external_id, "submitted_at": case.submitted_at.isoformat(),
        "csat": case.csat, "nps": case.nps, "root_cause": case.root_cause, "outcome": case.outcome,
        "assignee": case.assignee, "first_action_at": _iso(case.first_action_at),
        "closed_at": _iso(case.closed_at), "closed_by": case.closed_by,
    }


def _clean(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CaseError(f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise CaseError(f"{name} must be at most {limit} characters")
    return value


# --- time to act, per segment ------------------------------------------------------


@dataclass(frozen=True)
class SegmentTiming:
    """How fast the cases of one segment were acted on and closed, against the target."""

    segment: str
    cases: int
    open: int
    past_target: int  # open and older than the target, or closed later than it
    acted: int
    first_action_hours: float | None  # median
    first_action_within: int  # acted on within the target
    closed: int
    close_hours: float | None  # median
    closed_within: int

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


async def timing_by_segment(
    *,
    segment: str = "region",
    target_hours: float,
    start: date | None = None,
    end: date | None = None,
    region: str | None = None,
    service_type: str | None = None,
    contractor_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[SegmentTiming]:
    """Time to first action and to close per region or service type (medians in hours),
    over every case submitted in [start, end]; the whole as the last row ("All")."""
    if segment not in SEGMENTS:
        raise CaseError(f"segment must be one of {', '.join(SEGMENTS)}")
    at = now or datetime.now(UTC)
    query = _filtered(start=start, end=end, show="all", region=region, service_type=service_type,
                      contractor_ids=contractor_ids, search=None, assignee=None, root_cause=None)
    rows = await query.values("id", "submitted_at", f"contractor__{segment}")
    states = {}
    ids = [row["id"] for row in rows]
    for chunk in (ids[i:i + 900] for i in range(0, len(ids), 900)):
        for state in await FollowupCase.filter(response_id__in=chunk).values(
                "response_id", "first_action_at", "closed_at"):
            states[state["response_id"]] = state
    groups: dict[str, list[tuple[datetime, datetime | None, datetime | None]]] = {}
    for row in rows:
        state = states.get(row["id"], {})
        entry = (row["submitted_at"], state.get("first_action_at"), state.get("closed_at"))
        groups.setdefault(row[f"contractor__{segment}"] or "(none)", []).append(entry)
    every = [entry for entries in groups.values() for entry in entries]
    out = [_timing(name, groups[name], target_hours, at) for name in sorted(groups)]
    if every:
        out.append(_timing("All", every, target_hours, at))
    return out


def _timing(name: str, entries: list[tuple[datetime, datetime | None, datetime | None]], target: float,
            now: datetime) -> SegmentTiming:
    def hours(later: datetime, earlier: datetime) -> float:
        return (later - earlier).total_seconds() / 3600

    first = [hours(f, s) for s, f, _ in entries if f is not None]
    close = [hours(c, s) for s, _, c in entries if c is not None]
    open_ = [s for s, _, c in entries if c is None]
    return SegmentTiming(
        segment=name,
        cases=len(entries),
        open=len(open_),
        past_target=sum(1 for s, _, c in entries if hours(c or now, s) > target),
        acted=len(first),
        first_action_hours=statistics.median(first) if first else None,
        first_action_within=sum(1 for h in first if h <= target),
        closed=len(close),
        close_hours=statistics.median(close) if close else None,
        closed_within=sum(1 for h in close if h <= target),
    )
