"""Every database call of the collector's write and read path, in one place.

Links out (contractors, jobs, waves, invites) and answers in (customer and
pulse responses). Exactly-once storage leans on the database: one customer
response per job, one pulse response per contractor and wave, one row per
submission id. When an insert hits one of those constraints, the row that won
is read back: the same submission id means a retry (its original result is
returned), anything else means the link was already answered.

All functions are async and take keyword-only arguments. The package's parts:
`links` (contractors, jobs, waves, invites, what a token opens), `answers`
(storing responses exactly once) and `groups` (the groups a pulse response
keeps).
"""

from models.queries.answers import (
    Stored,
    store_customer_response,
    store_customer_response_at_once,
    store_pulse_response,
    store_response,
    stored_for_submission,
)
from models.queries.groups import Groups, complete_dimensions, freeze_groups, frozen_groups
from models.queries.links import (
    FUTURE_TOLERANCE,
    TOKEN,
    WAVE_NAME_FORBIDDEN,
    AlreadyAnswered,
    Conflict,
    Invalid,
    Invite,
    Link,
    LinkKind,
    NotFound,
    check_completed_at,
    create_invites,
    create_wave,
    find_link,
    is_answered,
    known_values,
    list_invites,
    now_utc,
    register_job,
    survey_in_force,
    upsert_contractor,
)

__all__ = [
    "FUTURE_TOLERANCE",
    "TOKEN",
    "WAVE_NAME_FORBIDDEN",
    "AlreadyAnswered",
    "Conflict",
    "Groups",
    "Invalid",
    "Invite",
    "Link",
    "LinkKind",
    "NotFound",
    "Stored",
    "check_completed_at",
    "complete_dimensions",
    "create_invites",
    "create_wave",
    "find_link",
    "freeze_groups",
    "frozen_groups",
    "is_answered",
    "known_values",
    "list_invites",
    "now_utc",
    "register_job",
    "store_customer_response",
    "store_customer_response_at_once",
    "store_pulse_response",
    "store_response",
    "stored_for_submission",
    "survey_in_force",
    "upsert_contractor",
]
