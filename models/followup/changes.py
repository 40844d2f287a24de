"""Acting on one follow-up case: assign, note, set the root cause, close with an outcome, reopen.

The first change of any kind is the case's first action; closing queues
`followup.closed` in the outbox inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from models import outbox
from models.entities import CustomerResponse, FollowupCase, FollowupNote, User
from models.followup.cases import ROOT_CAUSES, Case, CaseError, CaseNotFound, cases_of, detractor_q

__all__ = [
    "CLOSED_EVENT",
    "CLOSED_FIELDS",
    "MAX_NOTE",
    "MAX_OUTCOME",
    "CaseChange",
    "change_case",
    "closed_payload",
]

CLOSED_EVENT = outbox.FOLLOWUP_CLOSED
# what a followup.closed event carries of the case, in this order (no notes)
CLOSED_FIELDS = ("id", "job", "customer_ref", "contractor", "submitted_at", "csat", "nps", "root_cause", "outcome",
                 "assignee", "first_action_at", "closed_at", "closed_by")
MAX_NOTE = 4000
MAX_OUTCOME = 1000


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
            state.closed_at = None
            state.closed_by = None
            state.outcome = None
        if outcome is not None:
            state.outcome, state.closed_at, state.closed_by = outcome, at, by[:100]
        if state.first_action_at is None:
            state.first_action_at = at
        await state.save(using_db=conn)
        if note is not None:
            await FollowupNote.create(case_id=state.id, author=by[:100], at=at, text=note, using_db=conn)
        case = (await cases_of(await CustomerResponse.filter(id=case_id).using_db(conn)
                             .select_related("job", "contractor")))[0]
        if outcome is not None:
            await outbox.emit(CLOSED_EVENT, closed_payload(case), using_db=conn, now=at)
    return case


def closed_payload(case: Case) -> dict[str, Any]:
    """The data of a followup.closed event: the case as the brand's systems need it, no notes."""
    data = case.as_dict()
    return {name: data[name] for name in CLOSED_FIELDS}


def _clean(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CaseError(f"{name} must be a non-empty string")
    text: str = value.strip()
    if len(text) > limit:
        raise CaseError(f"{name} must be at most {limit} characters")
    return text
