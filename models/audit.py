"""The audit log: who (an API key or a dashboard user) read, exported or deleted what,
when and from which address.

An entry names the route template or dashboard view and the parameters asked
for, never a secret (keys, passwords, tokens, form tokens) nor anything that
names a person (an external id in a path). Entries older than
RAPPORT_AUDIT_DAYS are deleted by the apps as they write (at most once an
hour per process) and by `rapport audit` before it reads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from models.entities import AuditEntry
from models.settings import settings

__all__ = [
    "MAX_VALUE",
    "PRUNE_EVERY",
    "SECRET_NAMES",
    "ActorKind",
    "AuditLog",
    "Entry",
    "clean_params",
    "entries",
    "prune",
]

ActorKind = Literal["api_key", "user"]
SECRET_NAMES = frozenset({"password", "token", "key", "api_key", "csrf", "secret", "authorization",
                          "submission_id", "external_id", "contractor", "job"})
MAX_VALUE = 200
PRUNE_EVERY = 3600.0  # seconds between a process's prunes


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters worth keeping: secrets and personal ids left out, long values cut.

    >>> clean_params({"region": "North", "password": "x", "token": "t", "note": "a" * 300})["note"][-1]
    '…'
    >>> sorted(clean_params({"region": "North", "password": "x", "token": "t"}))
    ['region']
    """
    kept: dict[str, Any] = {}
    for name, value in params.items():
        if name.lower() in SECRET_NAMES:
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE:
            value = value[:MAX_VALUE] + "…"
        kept[name] = value
    return kept


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor_kind: str
    actor: str
    action: str
    params: dict[str, Any]
    status: int | None
    client: str


async def prune(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete entries older than `days` (default RAPPORT_AUDIT_DAYS); returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days or settings.audit_days)
    return await AuditEntry.filter(at__lt=cutoff).delete()


async def entries(*, since: datetime | None = None, actor: str | None = None, limit: int = 1000) -> list[Entry]:
    """The newest `limit` entries (oldest first), from `since`, of `actor` if given."""
    query = AuditEntry.all()
    if since is not None:
        query = query.filter(at__gte=since)
    if actor:
        query = query.filter(actor=actor)
    rows = await query.order_by("-at", "-id").limit(limit)
    return [Entry(r.at, r.actor_kind, r.actor, r.action, r.params, r.status, r.client) for r in reversed(rows)]


class AuditLog:
    """One app's writer of audit entries; prunes old ones at most once per PRUNE_EVERY."""

    def __init__(self) -> None:
        self._pruned_at = float("-inf")

    async def record(self, *, actor_kind: ActorKind, actor: str, action: str, params: Mapping[str, Any],
                     status: int | None, client: str) -> None:
        await AuditEntry.create(at=datetime.now(UTC), actor_kind=actor_kind, actor=actor[:100], action=action[:200],
                                params=clean_params(params), status=status, client=client[:64])
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            await prune()
