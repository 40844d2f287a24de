"""A throwaway PostgreSQL database for a benchmark run, created and dropped.

The server comes from RAPPORT_BENCH_POSTGRES (default: the local one, trust auth).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

PG_SERVER = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER + "/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_postgres() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped on the way out."""
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_postgres_sync(*, keep: bool = False) -> Iterator[str]:
    """`scratch_postgres` for code that is not inside an event loop; with `keep`,
    the database outlives the block (drop it by hand: DROP DATABASE ...)."""
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        if not keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
