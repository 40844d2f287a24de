"""Raw SQL, written one way: the few queries the ORM would make slow or cannot say.

Placeholders are numbered, ``?N`` on SQLite and ``$N`` on PostgreSQL (with a
``::type`` cast where PostgreSQL cannot infer a parameter's type), so fragments
can be written in any order; `Query` hands them out and collects the values,
bound as each dialect compares them. Values read back go through `instant`,
`day`, `real` and `count`. Many rows go in with `insert_rows`, many keys are
looked up with `select_in`, and id lists written into SQL are cut by `chunks`.
Every raw query in `models/` is written with these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from models.db import connection

__all__ = [
    "MAX_PARAMS",
    "Query",
    "bulk",
    "chunks",
    "count",
    "day",
    "ids",
    "insert_rows",
    "instant",
    "is_postgres",
    "placeholder",
    "real",
    "select_in",
]

# Values per statement on SQLite, well under its limit (32,766 since 3.32; 999 before).
MAX_PARAMS = 900
_UNNEST_ROWS = 20000  # rows per PostgreSQL unnest INSERT
_VALUES_PARAMS = 32000  # values per SQLite multi-VALUES INSERT

_T = TypeVar("_T")


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    """Whether `conn` (default: the open connection) speaks PostgreSQL rather than SQLite."""
    return (conn or connection()).capabilities.dialect == "postgres"


def placeholder(n: int, *, postgres: bool, pg_type: str | None = None) -> str:
    """The n-th parameter (from 1): ``$n`` (``$n::type`` given a type) on PostgreSQL, ``?n`` on SQLite.

    >>> placeholder(2, postgres=True, pg_type="timestamptz"), placeholder(2, postgres=False, pg_type="timestamptz")
    ('$2::timestamptz', '?2')
    """
    if postgres:
        return f"${n}::{pg_type}" if pg_type else f"${n}"
    return f"?{n}"


def _bind(value: Any, postgres: bool) -> Any:
    """A value as the dialect compares it: SQLite keeps instants as ISO text in UTC
    (what the ORM writes), so an instant is bound as that text and a date as its ISO form."""
    if postgres:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


class Query:
    """One raw query: collects its values and hands out their placeholders.

    >>> q = Query(postgres=False)
    >>> f"SELECT 1 WHERE a = {q.p(3)} AND b = {q.p(date(2026, 1, 2))}", q.params
    ('SELECT 1 WHERE a = ?1 AND b = ?2', [3, '2026-01-02'])
    """

    def __init__(self, conn: BaseDBAsyncClient | None = None, *, postgres: bool | None = None) -> None:
        self._conn = conn
        self.postgres = is_postgres(conn) if postgres is None else postgres
        self.params: list[Any] = []

    def p(self, value: Any, pg_type: str | None = None) -> str:
        """The placeholder of a new parameter holding `value`."""
        self.params.append(_bind(value, self.postgres))
        return placeholder(len(self.params), postgres=self.postgres, pg_type=pg_type)

    def between(self, column: str, bounds: tuple[datetime, datetime]) -> str:
        """`column` in [low, high)."""
        low, high = bounds
        return f"{column} >= {self.p(low)} AND {column} < {self.p(high)}"

    def day(self, column: str) -> str:
        """The UTC calendar day of a timestamp (cheaper to group by than its week)."""
        if self.postgres:
            return f"CAST({column} AT TIME ZONE 'UTC' AS DATE)"
        return f"date({column})"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        """Run `sql` with the values collected so far; its rows as dicts."""
        return await (self._conn or connection()).execute_query_dict(sql, self.params)

    async def run(self, sql: str) -> None:
        """Run a statement that returns no rows, with the values collected so far."""
        await (self._conn or connection()).execute_query(sql, self.params)


# --- reading values back ------------------------------------------------------------------


def instant(value: Any) -> datetime:
    """A timestamp as raw SQL reads it (SQLite: ISO text; PostgreSQL: a datetime), aware (naive means UTC).

    >>> instant("2026-03-01 10:30:00+00:00").hour, instant("2026-03-01").tzinfo
    (10, datetime.timezone.utc)
    """
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    """A date column as raw SQL reads it (SQLite: ISO text), or None."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def real(value: Any) -> float | None:
    """A nullable number (an average, a sum of nothing) as a float or None."""
    return None if value is None else float(value)


def count(value: Any) -> int:
    """A count or sum that SQL gives as NULL over no rows, as an int."""
    return 0 if value is None else int(value)


# --- many rows, many keys ----------------------------------------------------------------


def chunks(items: Sequence[_T], size: int = MAX_PARAMS) -> list[Sequence[_T]]:
    """`items` cut into runs of at most `size`, for IN lists within SQLite's limits."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def ids(values: Iterable[int]) -> str:
    """Integer ids as an SQL list written into the query: ints only, never text."""
    return ", ".join(str(int(v)) for v in values)


async def select_in(conn: BaseDBAsyncClient, sql: str, keys: Iterable[Any], *,
                    pg_type: str = "text") -> list[dict[str, Any]]:
    """Run `sql` whose WHERE ends in `{keys}` for every key: one ``= ANY($1)`` on
    PostgreSQL, chunks of ``IN (?1, ...)`` on SQLite."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    if is_postgres(conn):
        return await conn.execute_query_dict(sql.format(keys=f"= ANY($1::{pg_type}[])"), [keys])
    rows: list[dict[str, Any]] = []
    for chunk in chunks(keys):
        listed = ", ".join(placeholder(n, postgres=False) for n in range(1, len(chunk) + 1))
        rows.extend(await conn.execute_query_dict(sql.format(keys=f"IN ({listed})"), list(chunk)))
    return rows


async def insert_rows(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
    on_conflict: str = "",
) -> list[dict[str, Any]]:
    """Insert many rows with few statements; returns the `returning` columns per row.

    `columns` pairs each column with its PostgreSQL type (for unnest casts).
    PostgreSQL gets one ``INSERT ... SELECT * FROM unnest($1::type[], ...)``
    per 20,000 rows; SQLite a multi-VALUES INSERT (when rows must come back)
    or ``executemany`` of one prepared INSERT. Values: datetimes aware UTC,
    dates, bools, JSON as text.
    """
    if not rows:
        return []
    names = ", ".join(f'"{name}"' for name, _ in columns)
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    out: list[dict[str, Any]] = []
    if is_postgres(conn):
        casts = ", ".join(placeholder(n, postgres=True, pg_type=f"{pg_type}[]")
                          for n, (_, pg_type) in enumerate(columns, 1))
        sql = f'INSERT INTO "{table}" ({names}) SELECT * FROM unnest({casts}) {on_conflict}{back}'
        for chunk in chunks(rows, _UNNEST_ROWS):
            arrays = [list(values) for values in zip(*chunk, strict=True)]
            if returning:
                out.extend(await conn.execute_query_dict(sql, arrays))
            else:
                await conn.execute_query(sql, arrays)
        return out
    if not returning:
        one = "(" + ", ".join(placeholder(n, postgres=False) for n in range(1, len(columns) + 1)) + ")"
        await conn.execute_many(f'INSERT INTO "{table}" ({names}) VALUES {one} {on_conflict}',
                                rows if isinstance(rows, list) else list(rows))  # type: ignore[arg-type]  # any sequence per row
        return out
    for chunk in chunks(rows, max(1, _VALUES_PARAMS // len(columns))):
        numbers = iter(range(1, len(chunk) * len(columns) + 1))
        values = ", ".join("(" + ", ".join(placeholder(next(numbers), postgres=False) for _ in columns) + ")"
                           for _ in chunk)
        sql = f'INSERT INTO "{table}" ({names}) VALUES {values} {on_conflict}{back}'
        out.extend(await conn.execute_query_dict(sql, [v for row in chunk for v in row]))
    return out


@asynccontextmanager
async def bulk(conn: BaseDBAsyncClient) -> AsyncIterator[None]:
    """A larger SQLite page cache while a big import writes (64 MiB; the default 2 MiB makes
    the index B-trees spill to disk), the connection's own setting back afterwards."""
    if is_postgres(conn):
        yield
        return
    [row] = await conn.execute_query_dict("PRAGMA cache_size")
    before = int(next(iter(row.values())))
    await conn.execute_query("PRAGMA cache_size = -65536")
    try:
        yield
    finally:
        await conn.execute_query(f"PRAGMA cache_size = {before}")
