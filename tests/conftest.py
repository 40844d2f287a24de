"""Test set-up: environment first, then one database per backend per run.

Tests that take the `db_url` fixture run twice, on SQLite and on
PostgreSQL. Each run creates its own PostgreSQL database and drops it at the
end; when no server answers, the PostgreSQL half is skipped and the summary
says so in capitals.
"""

from __future__ import annotations

import os
import tempfile
import uuid

os.environ["RAPPORT_SECRET"] = "test-secret-not-for-production"
os.environ["RAPPORT_BASE_URL"] = "http://testserver"
os.environ["RAPPORT_BRAND"] = "Acme Delivery"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("RAPPORT_MIN_GROUP", None)
os.environ.pop("RAPPORT_MIN_COMMENT_GROUP", None)
os.environ.pop("RAPPORT_MIN_CUSTOMER_RESPONSES", None)

import socket
from collections.abc import AsyncIterator, Callable, Iterator

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models.db import migrate, tortoise_config
from models.ratelimit import RateLimits

PG_SERVER = os.environ.get("RAPPORT_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("RAPPORT_TEST_REDIS", "redis://127.0.0.1:6379/0")
TABLES = (
    "alerts",
    "alert_subscriptions",
    "reminders",
    "followup_notes",
    "followup_cases",
    "webhook_outbox",
    "webhook_endpoints",
    "worker_runs",
    "pulse_item_answers",
    "pulse_scores",
    "pulse_responses",
    "pulse_invites",
    "pulse_waves",
    "customer_responses",
    "jobs",
    "contractors",
    "api_keys",
    "dashboard_sessions",
    "digest_deliveries",
    "digest_subscriptions",
    "users",
    "audit_log",
)
_postgres_skipped: list[str] = []
_redis_skipped: list[str] = []


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER + "/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def _sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rapport-test-") as folder:
        url = f"sqlite://{folder}/test.sqlite3?journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000"
        _run(migrate(url))
        yield url


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _postgres_skipped.append(f"{PG_SERVER}: {exc}")
        pytest.skip(f"NO POSTGRESQL SERVER at {PG_SERVER}: {exc}")
    url = f"{PG_SERVER}/{name}"
    try:
        _run(migrate(url))
        yield url
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of each backend in turn."""
    url: str = request.getfixturevalue(f"_{request.param}_url")
    _run(_empty(url))
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    """The ORM opened on `db_url` for an async test."""
    await open_database(db_url)
    try:
        yield db_url
    finally:
        await Tortoise.close_connections()


@pytest.fixture(params=["memory", "redis"])
def rate_limits(request: pytest.FixtureRequest) -> Iterator[Callable[..., RateLimits]]:
    """Makes rate limiters on each storage in turn: in memory, and in Redis under a
    key prefix of this test's own (parallel runs share the server, not the counts).
    Whoever uses one closes it on its loop: the app's lifespan, or `async with`."""
    storage, prefix = "memory://", "rapport"
    if request.param == "redis":
        host, port = REDIS_SERVER.split("//", 1)[1].split("/")[0].split(":")
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError as exc:
            _redis_skipped.append(f"{REDIS_SERVER}: {exc}")
            pytest.skip(f"NO REDIS SERVER at {REDIS_SERVER}: {exc}")
        storage, prefix = REDIS_SERVER, f"rapport-test-{uuid.uuid4().hex}"
    yield lambda **limits: RateLimits(storage, key_prefix=prefix, limits=limits)


async def open_database(url: str) -> None:
    """Tortoise.init for a test. Tortoise caches each model's INSERT per
    connection name, not per dialect; one process here switches between
    SQLite and PostgreSQL, so the cache is cleared first."""
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url))


async def _empty(url: str) -> None:
    await open_database(url)
    try:
        conn = Tortoise.get_connection("default")
        if url.startswith("postgres"):
            await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        else:
            for table in TABLES:
                await conn.execute_script(f"DELETE FROM {table}")
    finally:
        await Tortoise.close_connections()


def _run(coro):  # type: ignore[no-untyped-def]
    import asyncio

    return asyncio.run(coro)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skipped:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS WERE SKIPPED", red=True, bold=True)
        for reason in _postgres_skipped:
            terminalreporter.write_line(f"NO POSTGRESQL SERVER ANSWERED: {reason}", red=True)
    if _redis_skipped:
        terminalreporter.write_sep("!", "REDIS RATE-LIMIT TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"NO REDIS SERVER ANSWERED: {_redis_skipped[0]}", red=True)
