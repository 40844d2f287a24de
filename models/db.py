"""The Tortoise configuration and the ways to open the database.

`tortoise_config(url)` is the one place the ORM is configured; the web apps
open it with `tortoise.contrib.starlette.RegisterTortoise` in their lifespan,
scripts and the CLI with `database(url)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations

from models.settings import settings

__all__ = ["APP", "connection", "database", "dialect", "health", "migrate", "tortoise_config", "TORTOISE_ORM"]

APP = "rapport"

# PostgreSQL sessions get room to aggregate in memory: the analytics group
# 600,000 dimension scores by contractor, which spills to disk at the
# default of 4 MB (0.85 -> 0.73 s for the index on the 1M-response
# benchmark). A cap per sort or hash, not an allocation.
POSTGRES_SESSION = {"work_mem": "64MB"}


def _connection(url: str) -> str | dict[str, Any]:
    """The URL as Tortoise's connection setting; PostgreSQL with `POSTGRES_SESSION`."""
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return url
    config = expand_db_url(url)
    server_settings = config["credentials"].setdefault("server_settings", {})
    for name, value in POSTGRES_SESSION.items():
        server_settings.setdefault(name, value)
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
    return connections.get("default")


async def health() -> dict[str, str]:
    """What /healthz answers: {"status": "ok", ...} or {"status": "error", "database": why}."""
    try:
        await connection().execute_query("SELECT 1")
    except Exception as exc:  # any failure to reach the database is "unhealthy"
        return {"status": "error", "database": str(exc)}
    return {"status": "ok", "database": "ok"}


def dialect() -> str:
    """'sqlite' or 'postgres': the few places SQL differs ask this."""
    return connection().capabilities.dialect
