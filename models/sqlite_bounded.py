"""Tortoise's SQLite backend with every wait bounded.

Tortoise shares one SQLite connection per process behind an asyncio lock, so a
statement that waits for another process's write lock (SQLite's busy_timeout)
holds up every other query queued behind it, /healthz's included: a lock held
elsewhere for a minute froze the collector for a minute. Here the queue for
the connection is bounded by the same busy_timeout as the file lock, so a
request waits at most about twice busy_timeout and then fails with
DatabaseBusy (a 503 with Retry-After) while unrelated requests go on.

Named as the engine by `models.db.tortoise_config` for sqlite:// URLs.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError

__all__ = ["BoundedLock", "BoundedSqliteClient", "DatabaseBusy", "client_class"]


class DatabaseBusy(OperationalError):
    """The SQLite connection stayed busy longer than the bound."""


class BoundedLock(asyncio.Lock):
    """An asyncio.Lock whose acquire gives up after `seconds` with DatabaseBusy."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def acquire(self) -> Literal[True]:
        try:
            async with asyncio.timeout(self.seconds):
                return await super().acquire()
        except TimeoutError:
            raise DatabaseBusy(f"the database stayed busy for {self.seconds:g} s") from None


class BoundedSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._lock = BoundedLock(int(self.pragmas.get("busy_timeout", 1000)) / 1000)


client_class = BoundedSqliteClient
