"""What every `rapport` command module shares: the one error type it raises, the way
it opens the database, and how it prints times and tables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

__all__ = ["CommandError", "table", "when", "with_database"]

T = TypeVar("T")


class CommandError(Exception):
    """A command cannot be done; the message is shown as is."""


def with_database(url: str, work: Callable[[], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run `work` with the database at `url` open (migrated first unless `migrate=False`)."""
    from models.db import database

    async def run() -> T:
        async with database(url, apply_migrations=migrate):
            return await work()

    return asyncio.run(run())


def when(moment: datetime | None) -> str:
    """A moment as the commands print it: UTC to the minute, or "never"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print `rows` under `header` in left-aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
