"""Time to act on follow-up cases, per segment, against a target (RAPPORT_FOLLOWUP_TARGET_HOURS)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from models.entities import FollowupCase
from models.followup.cases import CaseError, case_query, hours_between, is_past_target
from models.sql import chunks

__all__ = [
    "SEGMENTS",
    "SegmentTiming",
    "timing_by_segment",
]

SEGMENTS = ("region", "service_type")


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
    query = case_query(start=start, end=end, show="all", region=region, service_type=service_type,
                      contractor_ids=contractor_ids, search=None, assignee=None, root_cause=None)
    rows = await query.values("id", "submitted_at", f"contractor__{segment}")
    states = {}
    ids = [row["id"] for row in rows]
    for chunk in chunks(ids):
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
    first = [hours_between(f, s) for s, f, _ in entries if f is not None]
    close = [hours_between(c, s) for s, _, c in entries if c is not None]
    open_ = [s for s, _, c in entries if c is None]
    return SegmentTiming(
        segment=name,
        cases=len(entries),
        open=len(open_),
        past_target=sum(1 for s, _, c in entries if is_past_target(s, c, now, target)),
        acted=len(first),
        first_action_hours=statistics.median(first) if first else None,
        first_action_within=sum(1 for h in first if h <= target),
        closed=len(close),
        close_hours=statistics.median(close) if close else None,
        closed_within=sum(1 for h in close if h <= target),
    )
