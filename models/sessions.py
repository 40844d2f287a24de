"""Dashboard sessions kept in the database, so they can be ended from anywhere.

The signed cookie names a session by a random id; the table keeps only that
id's SHA-256. Signing out deletes the row, and `rapport user disable|delete`
delete every row of the user: from then on no copy of the cookie opens
anything, whichever process or machine it is presented to.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from models.entities import DashboardSession, User

__all__ = ["SESSION_LIFETIME", "end_session", "session_user", "start_session"]

SESSION_LIFETIME = timedelta(hours=12)  # a working day; then sign in again


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(*, user: User) -> str:
    """A new session of `user`; returns the id the cookie carries. Expired rows go meanwhile."""
    now = datetime.now(UTC)
    await DashboardSession.filter(expires_at__lte=now).delete()
    session_id = secrets.token_urlsafe(32)
    await DashboardSession.create(key_hash=_digest(session_id), user=user, expires_at=now + SESSION_LIFETIME)
    return session_id


async def session_user(*, session_id: str) -> str | None:
    """The name of the enabled user whose live session this is, or None."""
    if not session_id:
        return None
    name = await (
        DashboardSession.filter(key_hash=_digest(session_id), expires_at__gt=datetime.now(UTC),
                                user__disabled_at__isnull=True)
        .first()
        .values_list("user__username", flat=True)
    )
    return str(name) if name is not None else None


async def end_session(*, session_id: str) -> None:
    if session_id:
        await DashboardSession.filter(key_hash=_digest(session_id)).delete()
