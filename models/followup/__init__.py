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

The package's parts: `cases` (what a case is, finding and reading cases),
`changes` (assigning, noting, closing and reopening one case) and `timing`
(time to act per segment against a target). Every name is importable from
`models.followup`.
"""

from __future__ import annotations

from models.followup.cases import (
    MAX_PAGE_SIZE,
    ROOT_CAUSES,
    SHOW,
    SORTS,
    Case,
    CaseError,
    CaseNotFound,
    CasePage,
    Note,
    all_cases,
    case_query,
    cases_of,
    detractor_q,
    find_cases,
    get_case,
)
from models.followup.changes import (
    CLOSED_EVENT,
    CLOSED_FIELDS,
    MAX_NOTE,
    MAX_OUTCOME,
    CaseChange,
    change_case,
    closed_payload,
)
from models.followup.timing import SEGMENTS, SegmentTiming, timing_by_segment

__all__ = [
    "CLOSED_EVENT",
    "CLOSED_FIELDS",
    "MAX_NOTE",
    "MAX_OUTCOME",
    "MAX_PAGE_SIZE",
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
    "all_cases",
    "case_query",
    "cases_of",
    "change_case",
    "closed_payload",
    "detractor_q",
    "find_cases",
    "get_case",
    "timing_by_segment",
]
