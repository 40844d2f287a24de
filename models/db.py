"""The Tortoise configuration and the ways to open the database.

`tortoise_config(url)` is the one place the ORM is configured; the web apps
open it with `tortoise.contrib.starlette.RegisterTortoise` in their lifespan,
scripts and the CLI with `database(url)`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.migrations.api import migrate as run_migrations

from models.settings import settings

__all__ = [
    "APP",
    "HEALTH_TIMEOUT",
    "POSTGRES_CONNECT_TIMEOUT",
    "POSTGRES_SESSION",
    "TORTOISE_ORM",
    "connection",
    "database",
    "dialect",
    "health",
    "is_bad_value",
    "is_unavailable",
    "migrate",
    "side_by_side",
    "tortoise_config",
]

log = logging.getLogger("rapport.db")

# A new PostgreSQL connection that has not answered in this many seconds is a
# failure (asyncpg's default is 60 s: a dropped packet would hold a request that long).
POSTGRES_CONNECT_TIMEOUT = 5
# /healthz gives the database this long to answer `SELECT 1`.
HEALTH_TIMEOUT = 1.0

APP = "rapport"

# PostgreSQL sessions get room to aggregate in memory: the analytics group
# 600,000 dimension scores by contractor, which spills to disk at the
# default of 4 MB (0.85 -> 0.73 s for the index on the 1M-response
# benchmark). A cap per sort or hash, not an allocation.
#
# No statement waits for a lock longer than lock_timeout: a table or row held by
# another session (a long import, a forgotten transaction in psql) makes the
# request a 503 with Retry-After after that long, like a locked SQLite file,
# instead of holding a connection of the pool (and the client) until it is freed.
POSTGRES_SESSION = {"work_mem": "64MB", "lock_timeout": "5s"}


def _connection(url: str) -> str | dict[str, Any]:
    """The URL as Tortoise's connection setting; PostgreSQL with `POSTGRES_SESSION`."""
    if url.startswith("sqlite://"):
        config = expand_db_url(url)
        config["engine"] = "models.sqlite_bounded"  # SQLite whose waits are bounded
        return config
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return url
    config = expand_db_url(url)
    server_settings = config["credentials"].setdefault("server_settings", {})
    for name, value in POSTGRES_SESSION.items():
        server_settings.setdefault(name, value)
    config["credentials"].setdefault("timeout", POSTGRES_CONNECT_TIMEOUT)
    return config


def tortoise_config(url: str | None = None) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(url or settings.database_url)},
        "apps": {
            APP: {
                "models": ["models.entities"],
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For Tortoise's own CLI: `tortoise -c models.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config()


async def migrate(url: str | None = None) -> None:
    """Apply every pending migration (idempotent), then close what it opened."""
    try:
        await run_migrations(config=tortoise_config(url))
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def database(url: str | None = None, *, apply_migrations: bool = True) -> AsyncIterator[None]:
    """Open the database for a script or a CLI command, migrating it first."""
    if apply_migrations:
        await migrate(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    """The default connection, for the raw SQL of the query layer."""
    client: BaseDBAsyncClient = connections.get("default")
    return client


async def health() -> bool:
    """Whether the database answers `SELECT 1` within HEALTH_TIMEOUT seconds.

    Why it does not is logged (the exception's class only), never returned:
    /healthz is public and driver messages name hosts and ports.
    """
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await connection().execute_query("SELECT 1")
    except Exception as exc:  # any failure to reach the database is "unavailable"
        log.warning("health check failed: %s", type(exc).__name__)
        return False
    return True


# --- what a database error means -------------------------------------------------------

# Raised while the server is down, restarting, refusing connections or the
# connection broke (asyncpg), or the network did (OSError, TimeoutError).
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a pooled connection the server cut while it was in use
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.LockNotAvailableError,  # waited lock_timeout for a lock
    asyncpg.exceptions.DeadlockDetectedError,  # the other side of the deadlock went on; retrying works
    asyncpg.exceptions.SerializationError,
)


def _cause(exc: BaseException) -> BaseException:
    """The driver's exception behind one of Tortoise's."""
    inner = exc.__cause__ or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None)
    return inner if isinstance(inner, BaseException) else exc


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached or is locked, so the
    same request may well succeed in a few seconds (a 503, not a 500)."""
    from models.sqlite_bounded import DatabaseBusy

    inner = _cause(exc)
    if isinstance(exc, (DatabaseBusy, *_UNREACHABLE)) or isinstance(inner, _UNREACHABLE):
        return True
    if isinstance(inner, sqlite3.OperationalError):
        text = str(inner)
        return "locked" in text or "busy" in text or "unable to open" in text
    return False


def is_bad_value(exc: BaseException) -> bool:
    """True when the database refused a value the request carried (a NUL byte,
    text that is not UTF-8, a number or date out of its range): a 400."""
    inner = _cause(exc)
    return (isinstance(exc, OperationalError) and isinstance(inner, asyncpg.DataError)) or isinstance(
        exc, (UnicodeEncodeError, OverflowError)
    )


def dialect() -> str:
    """'sqlite' or 'postgres': the few places SQL differs ask this."""
    return connection().capabilities.dialect


async def side_by_side(*queries: Awaitable[Any]) -> list[Any]:
    """Independent queries at once on PostgreSQL (each takes a pooled
    connection: two cores), one after the other on SQLite (one connection)."""
    if dialect() == "postgres":
        return list(await asyncio.gather(*queries))
    return [await query for query in queries]
