"""Bulk CSV import and streaming CSV export.

Import
------
``await import_csv(*, kind, data) -> ImportResult`` with ``kind`` one of
``"contractors"``, ``"customer-responses"``, ``"pulse-responses"`` and
``data`` the CSV file (``bytes`` in UTF-8, a BOM allowed, or ``str``). The
ORM must be open (``models.db.database()`` in a script). It prints nothing;
``ImportResult.as_dict()`` is what the API answers and the CLI shows.

A file is imported whole or not at all. Every line is checked first, its
answers by the rules of ``surveys.validation.validate`` with the survey in
force (the same as the web form: the usual cells through each question's
``quick_cleaner``, a table of the strings validate accepts as they are, and
any line with another cell through ``validate`` itself, so values and
messages are identical); then, inside one transaction, against the
database with set-based queries (an unknown contractor is reported in the
same pass as the line's other errors); only when nothing is wrong are the rows
written, with multi-row INSERTs (PostgreSQL: ``INSERT ... SELECT FROM
unnest(arrays)``; SQLite: ``executemany`` / multi-VALUES, with a larger page
cache for the duration), never one ORM save per row. Pulse scores are
``score_pulse``'s, computed once per distinct answer pattern of each
dimension. Problems raise
``CsvImportError``, whose ``errors`` name the line (the header is line 1) and
the column, up to ``MAX_ERRORS`` of them, with ``error_count`` the total.

Columns (header names exact, any order), defined once in ``import_columns``,
which ``rapport import --help`` prints with an example line:

- contractors: ``external_id, name, region, service_type, started_on``
  and optionally ``active`` (yes/no, default yes). Upsert by external id.
- customer-responses: ``job_external_id, contractor_external_id,
  completed_at, submitted_at`` and one column per customer-survey question
  (``csat, nps, ces, promise_kept``, optionally ``comment``). A missing job
  is created (its contractor must exist); an existing job keeps its own
  completion time and must belong to that contractor and be unanswered.
  ``source`` is accepted and ignored, so an export re-imports. Stored with
  source "import".
- pulse-responses: ``contractor_external_id, wave, submitted_at`` and one
  column per pulse question id (the optional ones may be left out). The
  wave must exist (create it with ``POST /api/v1/waves``) and
  ``submitted_at`` must fall within it; the invite is created if missing.
  Each response is scored by ``surveys.scoring.score_pulse`` and stored with
  its dimension scores and item answers, exactly as a web submission.

Duplicates are errors: the same job or the same contractor+wave twice in the
file, or already answered in the database. Cells that an export neutralised
against spreadsheet formulas (a leading quote) are restored.

Export
------
``export_customer_responses(*, start, end)`` yields CSV text in batches: one
row per customer response with its job's and contractor's external ids,
filtered on the job's ``completed_at`` in [start, end).

``await export_pulse_responses(*, start, end) -> PulseExport``: the pulse
waves that closed in [start, end) with at least ``settings.min_group``
respondents (models/waves.py), one row per response: wave, one column per
pulse question (answers as given), cei, comment. Confidential, not
anonymous, so: no contractor id, external id, name, region, service type or
time; within a wave rows are sorted by their answers, an order that says
nothing about who answered or when. Comments only for waves of at least
``settings.min_comment_group``; ``PulseExport`` counts what was held back
so the API can say so in headers. ``export_pulse_index`` gives the figures
per wave and group instead, through the index's own gate.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, BinaryIO, Literal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.analytics import Window, index_by_wave, pulse_survey
from models.db import connection
from models.queries import Groups, Invalid, check_completed_at, complete_dimensions, frozen_groups, survey_in_force
from models.settings import settings
from models.tokens import new_token
from models.waves import waves_in
from surveys.csvsafe import neutralise, restore
from surveys.schema import SKIP, Question, QuestionKind, Survey
from surveys.scoring import PulseScoring, cei, score_pulse
from surveys.validation import UNSURE, AnswerErrors, quick_cleaner, validate

__all__ = [
    "CUSTOMER_RESPONSE_COLUMNS",
    "KINDS",
    "MAX_ERRORS",
    "CsvImportError",
    "ImportColumns",
    "ImportResult",
    "PulseExport",
    "RowError",
    "customer_export_header",
    "export_customer_responses",
    "export_pulse_index",
    "export_pulse_responses",
    "import_columns",
    "import_csv",
    "insert_rows",
    "parse_instant",
]

Kind = Literal["contractors", "customer-responses", "pulse-responses"]
KINDS: tuple[str, ...] = ("contractors", "customer-responses", "pulse-responses")
MAX_ERRORS = 50
MAX_ID = 128
MAX_CUSTOMER_REF = 200  # jobs.customer_ref
EXPORT_BATCH = 5000
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}
_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps(..., separators=) builds one per call


# --- results and errors ---------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


class CsvImportError(ValueError):
    """The file cannot be imported; nothing was stored.

    ``whole_file`` is true when the file itself is unusable (encoding,
    header) rather than some of its lines.
    """

    def __init__(self, errors: Sequence[RowError], *, error_count: int | None = None,
                 whole_file: bool = False) -> None:
        self.errors = list(errors)
        self.error_count = len(self.errors) if error_count is None else error_count
        self.whole_file = whole_file
        first = self.errors[0] if self.errors else None
        summary = f"line {first.line}, {first.column}: {first.message}" if first else "invalid file"
        super().__init__(f"{self.error_count} error(s); first: {summary}")

    def as_dict(self) -> dict[str, Any]:
        return {"errors": [e.as_dict() for e in self.errors], "error_count": self.error_count}


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int = 0
    jobs_created: int = 0
    invites_created: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "jobs_created": self.jobs_created,
            "invites_created": self.invites_created,
        }


class _Errors:
    """Collects row errors, keeping the first MAX_ERRORS and counting all."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, line: int, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(RowError(line, column, message))

    def raise_if_any(self) -> None:
        if self.count:  # in line order, whichever check found them
            raise CsvImportError(sorted(self.kept, key=lambda e: e.line), error_count=self.count)


# --- columns ------------------------------------------------------------------------

_FIXED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    # (column, example value); every one of them is required
    "contractors": (("external_id", "C-1001"), ("name", "Ana Ruiz"), ("region", "North"),
                    ("service_type", "delivery"), ("started_on", "2025-03-01")),
    "customer-responses": (("job_external_id", "JOB-77"), ("contractor_external_id", "C-1001"),
                           ("completed_at", "2026-11-23T10:30:00Z"), ("submitted_at", "2026-11-23T18:05:00Z")),
    "pulse-responses": (("contractor_external_id", "C-1001"), ("wave", "2026-W48"),
                        ("submitted_at", "2026-11-24T09:00:00Z")),
}
_NOTES = {
    "contractors": "Upsert by external_id. region, service_type and started_on (YYYY-MM-DD) may be "
                   "blank; active is yes or no (default yes).",
    "customer-responses": "A missing job is created (its contractor must exist); an existing job must "
                          "belong to that contractor and be unanswered. customer_ref (how the brand reaches "
                          "the customer, shown to follow-up staff only) is kept on a job the line creates. "
                          "source is accepted and ignored, so a customer-responses export re-imports as it is.",
    "pulse-responses": "The wave must exist (POST /api/v1/waves) and contain submitted_at; the "
                       "contractor must exist. Optional questions may be left out.",
}


@dataclass(frozen=True)
class ImportColumns:
    """The columns of one import kind, with an example value each: the one definition
    the importer checks headers against and ``rapport import --help`` prints."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    ignored: tuple[str, ...]
    example: Mapping[str, str]
    notes: str

    def example_lines(self) -> str:
        """A header line and one data line, as CSV."""
        columns = [*self.required, *self.optional]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerow([self.example[c] for c in columns])
        return out.getvalue()

    def describe(self) -> str:
        """What `rapport import --help` and the README say about this kind."""
        def wrapped(text: str) -> list[str]:
            return textwrap.wrap(text, 78, initial_indent="  ", subsequent_indent="    ")

        lines = [f"{self.kind}:", *wrapped("required: " + ", ".join(self.required))]
        if self.optional:
            lines += wrapped("optional: " + ", ".join(self.optional))
        lines += textwrap.wrap(self.notes, 78, initial_indent="  ", subsequent_indent="  ")
        lines.append("  example:")
        lines.extend("    " + line for line in self.example_lines().splitlines())
        return "\n".join(lines)


def _example_answer(question: Question) -> str:
    if question.scale is not None:
        return str(question.scale[1] - 1)  # 4 of 1-5, 9 of 0-10, 6 of 1-7
    if question.kind is QuestionKind.YES_NO:
        return "yes"
    if question.kind is QuestionKind.CHOICE:
        return question.choices[0].value
    return ""


def import_columns(kind: str) -> ImportColumns:
    """The columns of `kind`; answer columns come from the survey in force."""
    if kind not in _FIXED_COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
    fixed = _FIXED_COLUMNS[kind]
    example = dict(fixed)
    required = tuple(name for name, _ in fixed)
    optional: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    notes = _NOTES[kind]
    if kind == "contractors":
        optional = ("active",)
        example["active"] = "yes"
    else:
        survey = survey_in_force("customer" if kind == "customer-responses" else "pulse")
        required += tuple(q.id for q in survey.questions if q.required)
        optional = tuple(q.id for q in survey.questions if not q.required)
        example.update({q.id: _example_answer(q) for q in survey.questions})
        if kind == "customer-responses":
            ignored = ("source",)
            optional += ("customer_ref",)
            example["customer_ref"] = ""
        if any(q.skippable for q in survey.questions):
            notes += f" An index item may be {SKIP!r} (prefer not to say): it counts as unanswered."
    return ImportColumns(kind, required, optional, ignored, example, notes)


# --- parsing cells ----------------------------------------------------------------


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime (naive means UTC).

    >>> parse_instant("2026-03-01")
    datetime.datetime(2026, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_instant("2026-03-01T10:30:00+02:00").hour
    8
    """
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _db_instant(value: Any) -> datetime:
    """A timestamp read by raw SQL: a datetime (PostgreSQL) or its text (SQLite)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_instant(str(value))


def _iso(value: Any) -> str:
    return _db_instant(value).astimezone(UTC).isoformat()


class _Line:
    """One CSV record with its starting line number and cell accessors.

    ``cells`` is the record as a list; ``index`` maps the header's column
    names to positions in it (shared by every line of a file).
    """

    __slots__ = ("cells", "errors", "index", "line")

    def __init__(self, line: int, cells: list[str], index: Mapping[str, int], errors: _Errors) -> None:
        self.line, self.cells, self.index, self.errors = line, cells, index, errors

    def cell(self, column: str) -> str:
        """The (restored) cell of `column`, "" when the file has no such column."""
        position = self.index.get(column)
        return "" if position is None else self.cells[position]

    def text(self, column: str, *, required: bool = True, limit: int = MAX_ID) -> str | None:
        value = self.cell(column).strip()
        if not value:
            if required:
                self.errors.add(self.line, column, "missing value")
            return None
        if len(value) > limit:
            self.errors.add(self.line, column, f"longer than {limit} characters")
            return None
        if "\x00" in value:
            self.errors.add(self.line, column, "contains a NUL character")
            return None
        return value

    def instant(self, column: str) -> datetime | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            return parse_instant(value)
        except (ValueError, OverflowError):
            self.errors.add(self.line, column,
                            f"not an ISO 8601 date or time (like 2026-03-01T14:30:00Z): {value[:40]!r}")
            return None


def _lines(
    records: Iterable[tuple[int, list[str] | str]], index: Mapping[str, int], errors: _Errors
) -> Iterator[tuple[int, _Line]]:
    """The readable records as (line number, _Line); unreadable ones go to `errors`."""
    for number, cells in records:
        if isinstance(cells, str):
            errors.add(number, None, cells)
        else:
            yield number, _Line(number, cells, index, errors)


def _read(data: str | bytes | BinaryIO, *, required: Sequence[str], optional: Sequence[str],
          ignored: Sequence[str] = ()) -> tuple[list[str], Iterable[tuple[int, list[str] | str]]]:
    """Decode the file, check its header and return (columns, iterator of (line, cells)).

    The cells of a record come as a list in header order, formula quotes
    restored; a record that cannot be read comes as the message saying why.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvImportError([RowError(1, None, f"the file is not UTF-8 text ({exc.reason} "
                                                     f"at byte {exc.start})")], whole_file=True) from None
        stream: io.TextIOBase = io.StringIO(text, newline="")
    elif isinstance(data, str):
        stream = io.StringIO(data.removeprefix("\ufeff"), newline="")
    else:  # a binary file, read as it goes (an upload spooled to disk)
        stream = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
    reader = csv.reader(stream)
    try:
        header = [cell.strip() for cell in next(reader)]
    except UnicodeDecodeError as exc:
        raise CsvImportError([RowError(1, None, f"the file is not UTF-8 text ({exc.reason})")],
                             whole_file=True) from None
    except StopIteration:
        raise CsvImportError([RowError(1, None, "the file is empty: expected a header line")],
                             whole_file=True) from None
    except csv.Error as exc:
        raise CsvImportError([RowError(1, None, f"not valid CSV: {exc}")], whole_file=True) from None
    errors: list[RowError] = []
    known = set(required) | set(optional) | set(ignored)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "column appears twice"))
        elif name not in known:
            errors.append(RowError(1, name, "unknown column; expected "
                                            + ", ".join([*required, *optional])))
        seen.add(name)
    for name in required:
        if name not in seen:
            errors.append(RowError(1, name, "missing column"))
    if errors:
        raise CsvImportError(errors[:MAX_ERRORS], error_count=len(errors), whole_file=True)

    width = len(header)

    def records() -> Iterable[tuple[int, list[str] | str]]:
        start = reader.line_num + 1
        try:
            for record in reader:
                if record and any(cell.strip() for cell in record):
                    if len(record) != width:
                        yield start, f"{len(record)} cells where the header has {width}"
                    elif "'" in "".join(record):  # only then can a cell carry an export's formula quote
                        yield start, [restore(cell) for cell in record]
                    else:
                        yield start, record
                start = reader.line_num + 1
        except csv.Error as exc:
            yield start, f"not valid CSV: {exc}"
        except UnicodeDecodeError as exc:
            yield start, f"the file is not UTF-8 text from here on ({exc.reason})"

    return header, records()


class _Answers:
    """The survey answers of each line, exactly as ``validate`` judges them.

    Each answer cell goes through its question's ``quick_cleaner``; a line
    with any cell the cleaner cannot vouch for goes through ``validate``
    whole, so clean values and error messages are those of the web form.
    """

    def __init__(self, survey: Survey, header: Sequence[str], lang: str = "en") -> None:
        self.survey, self.lang = survey, lang
        position = {name: i for i, name in enumerate(header)}
        self.columns = [(q.id, position.get(q.id), quick_cleaner(q)) for q in survey.questions]

    def __call__(self, line: _Line) -> dict[str, Any] | None:
        cells = line.cells
        answers: dict[str, Any] = {}
        for question, position, clean in self.columns:
            value = clean("" if position is None else cells[position])
            if value is UNSURE:
                return self._validate(line)
            answers[question] = value
        return answers

    def _validate(self, line: _Line) -> dict[str, Any] | None:
        raw = {q: line.cells[p] for q, p, _ in self.columns if p is not None}
        try:
            return validate(self.survey, raw, lang=self.lang)
        except AnswerErrors as exc:
            for column, message in exc.errors.items():
                line.errors.add(line.line, column, message)
            return None


# --- SQL helpers ----------------------------------------------------------------------


def _dialect(conn: BaseDBAsyncClient) -> str:
    return conn.capabilities.dialect


def _placeholders(conn: BaseDBAsyncClient, sql: str) -> str:
    """Write queries with `?`; PostgreSQL wants $1, $2, ..."""
    if _dialect(conn) != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))


# The columns of a bulk-inserted customer response, in the order of its row tuples.
CUSTOMER_RESPONSE_COLUMNS = (
    ("job_id", "int"), ("contractor_id", "int"), ("completed_at", "timestamptz"),
    ("submitted_at", "timestamptz"), ("csat", "smallint"), ("nps", "smallint"),
    ("ces", "smallint"), ("promise_kept", "bool"), ("comment", "text"), ("answers", "jsonb"),
    ("survey_version", "int"), ("lang", "text"), ("source", "text"),
)


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
    if _dialect(conn) == "postgres":
        casts = ", ".join(f"${i}::{pg_type}[]" for i, (_, pg_type) in enumerate(columns, 1))
        sql = f'INSERT INTO "{table}" ({names}) SELECT * FROM unnest({casts}) {on_conflict}{back}'
        for start in range(0, len(rows), 20000):
            chunk = rows[start:start + 20000]
            arrays = [list(values) for values in zip(*chunk, strict=True)]
            if returning:
                out.extend(await conn.execute_query_dict(sql, arrays))
            else:
                await conn.execute_query(sql, arrays)
        return out
    one = "(" + ", ".join("?" for _ in columns) + ")"
    if not returning:
        await conn.execute_many(f'INSERT INTO "{table}" ({names}) VALUES {one} {on_conflict}',
                                rows if isinstance(rows, list) else list(rows))  # type: ignore[arg-type]
        return out
    per = max(1, 32000 // len(columns))
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        sql = f'INSERT INTO "{table}" ({names}) VALUES {", ".join([one] * len(chunk))} {on_conflict}{back}'
        out.extend(await conn.execute_query_dict(sql, [v for row in chunk for v in row]))
    return out


@asynccontextmanager
async def _bulk(conn: BaseDBAsyncClient) -> AsyncIterator[None]:
    """A larger SQLite page cache while a big import writes (64 MiB; the default 2 MiB makes
    the index B-trees spill to disk), the connection's own setting back afterwards."""
    if _dialect(conn) == "postgres":
        yield
        return
    [row] = await conn.execute_query_dict("PRAGMA cache_size")
    before = int(next(iter(row.values())))
    await conn.execute_query("PRAGMA cache_size = -65536")
    try:
        yield
    finally:
        await conn.execute_query(f"PRAGMA cache_size = {before}")


async def _select_in(conn: BaseDBAsyncClient, sql: str, keys: Iterable[Any], *,
                     pg_type: str = "text") -> list[dict[str, Any]]:
    """Run `sql` whose WHERE ends in `{keys}` for every key, in chunks on SQLite."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    if _dialect(conn) == "postgres":
        return await conn.execute_query_dict(sql.format(keys=f"= ANY($1::{pg_type}[])"), [keys])
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), 900):
        chunk = keys[start:start + 900]
        rows.extend(await conn.execute_query_dict(
            sql.format(keys=f"IN ({', '.join('?' for _ in chunk)})"), chunk))
    return rows


# --- import ------------------------------------------------------------------------------


async def import_csv(*, kind: str, data: str | bytes | BinaryIO) -> ImportResult:
    """Import a whole CSV file of `kind` or nothing; raises CsvImportError naming lines and columns.

    `data` is the file's bytes or text, or a binary file read as it goes. A file
    with a header and no data line (blank lines do not count) is refused: "0
    rows imported" would hide a broken export.
    """
    importers = {"contractors": _import_contractors, "customer-responses": _import_customer,
                 "pulse-responses": _import_pulse}
    if kind not in importers:
        raise ValueError(f"unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
    result = await importers[kind](data)
    if result.rows == 0:
        raise CsvImportError([RowError(2, None, "the file has a header but no data lines: nothing to import")],
                             whole_file=True)
    return result


async def _import_contractors(data: str | bytes | BinaryIO) -> ImportResult:
    columns = import_columns("contractors")
    header, records = _read(data, required=columns.required, optional=columns.optional)
    index = {name: i for i, name in enumerate(header)}
    errors = _Errors()
    rows: dict[str, tuple[Any, ...]] = {}
    first_line: dict[str, int] = {}
    for number, line in _lines(records, index, errors):
        external_id = line.text("external_id")
        name = line.text("name", limit=200)
        region = line.text("region", required=False, limit=100) or ""
        service_type = line.text("service_type", required=False, limit=100) or ""
        started_on = None
        raw_start = line.text("started_on", required=False)
        if raw_start:
            try:
                started_on = date.fromisoformat(raw_start)
            except ValueError:
                errors.add(number, "started_on", f"not an ISO 8601 date (like 2024-05-31): {raw_start[:40]!r}")
        active = True
        raw_active = line.cell("active").strip().lower()
        if raw_active in _NO:
            active = False
        elif raw_active and raw_active not in _YES:
            errors.add(number, "active", "answer yes or no")
        if external_id is not None:
            if external_id in first_line:
                errors.add(number, "external_id",
                           f"contractor {external_id!r} is already on line {first_line[external_id]}")
            first_line.setdefault(external_id, number)
        if external_id and name:
            rows[external_id] = (external_id, name, region, service_type, started_on, active)
    errors.raise_if_any()
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        existing = await _select_in(conn, "SELECT external_id FROM contractors WHERE external_id {keys}",
                                    rows)
        await insert_rows(
            conn, "contractors",
            [("external_id", "text"), ("name", "text"), ("region", "text"), ("service_type", "text"),
             ("started_on", "date"), ("active", "bool"), ("attributes", "jsonb"),
             ("created_at", "timestamptz"), ("updated_at", "timestamptz")],
            [(*row, "{}", now, now) for row in rows.values()],
            on_conflict=(
                "ON CONFLICT (external_id) DO UPDATE SET name = excluded.name, "
                "region = excluded.region, service_type = excluded.service_type, "
                "started_on = excluded.started_on, active = excluded.active, "
                "updated_at = excluded.updated_at"
            ),
        )
    updated = len(existing)
    return ImportResult("contractors", rows=len(rows), created=len(rows) - updated, updated=updated)


async def _import_customer(data: str | bytes | BinaryIO) -> ImportResult:
    survey = survey_in_force("customer")
    columns = import_columns("customer-responses")
    header, records = _read(data, required=columns.required, optional=columns.optional,
                            ignored=columns.ignored)
    index = {name: i for i, name in enumerate(header)}
    read_answers = _Answers(survey, header)
    errors = _Errors()
    # every line whose job and contractor can be read, so the database checks below
    # report their errors in the same pass as the line's own; all complete when no error
    parsed: list[tuple[int, str, str, datetime, datetime, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    customer_refs: dict[str, str | None] = {}
    for number, line in _lines(records, index, errors):
        job = line.text("job_external_id")
        if job is not None:
            customer_refs[job] = line.text("customer_ref", required=False, limit=MAX_CUSTOMER_REF)
        contractor = line.text("contractor_external_id")
        completed = line.instant("completed_at")
        submitted = line.instant("submitted_at")
        answers = read_answers(line)
        if completed is not None:
            try:
                check_completed_at(completed)
            except Invalid as problem:
                errors.add(number, "completed_at", str(problem).removeprefix("completed_at "))
                completed = None
        if job is not None:
            if job in first_line:
                errors.add(number, "job_external_id",
                           f"job {job!r} is already on line {first_line[job]}: one response per job")
            else:
                first_line[job] = number
        if completed and submitted and submitted < completed:
            errors.add(number, "submitted_at", "is before completed_at")
        if job and contractor:
            parsed.append((number, job, contractor, completed, submitted, answers))  # type: ignore[arg-type]

    expiry = timedelta(days=settings.link_days)
    async with in_transaction() as conn, _bulk(conn):
        contractors = {r["external_id"]: r["id"] for r in await _select_in(
            conn, "SELECT id, external_id FROM contractors WHERE external_id {keys}",
            (p[2] for p in parsed))}
        jobs = {r["external_id"]: r for r in await _select_in(
            conn,
            "SELECT j.id, j.external_id, j.contractor_id, j.completed_at, r.id AS response_id "
            "FROM jobs j LEFT JOIN customer_responses r ON r.job_id = j.id WHERE j.external_id {keys}",
            (p[1] for p in parsed))}
        new_jobs: list[tuple[Any, ...]] = []
        for number, job, contractor, completed, _, _ in parsed:
            contractor_id = contractors.get(contractor)
            if contractor_id is None:
                errors.add(number, "contractor_external_id",
                           f"no contractor {contractor!r}: import or create contractors first")
                continue
            stored = jobs.get(job)
            if stored is None:
                if completed is not None:
                    new_jobs.append((job, contractor_id, completed, new_token(), completed + expiry,
                                     customer_refs.get(job)))
            elif stored["contractor_id"] != contractor_id:
                errors.add(number, "contractor_external_id",
                           f"job {job!r} belongs to another contractor in the database")
            elif stored["response_id"] is not None:
                errors.add(number, "job_external_id", f"job {job!r} is already answered in the database")
        errors.raise_if_any()
        now = datetime.now(UTC)
        created = await insert_rows(
            conn, "jobs",
            [("external_id", "text"), ("contractor_id", "int"), ("completed_at", "timestamptz"),
             ("token", "text"), ("expires_at", "timestamptz"), ("customer_ref", "text"),
             ("created_at", "timestamptz")],
            [(*j, now) for j in new_jobs],
            returning=("id", "external_id"),
        )
        job_ids = {r["external_id"]: (r["id"], None) for r in created}
        job_ids.update({k: (v["id"], _db_instant(v["completed_at"])) for k, v in jobs.items()})
        responses = []
        for _, job, contractor, completed, submitted, answers in parsed:
            job_id, stored_completed = job_ids[job]
            responses.append((
                job_id, contractors[contractor], stored_completed or completed, submitted,
                answers.get("csat"), answers.get("nps"), answers.get("ces"), answers.get("promise_kept"),
                answers.get("comment"), _JSON.encode(answers),
                survey.version, "en", "import",
            ))
        await insert_rows(
            conn, "customer_responses",
            CUSTOMER_RESPONSE_COLUMNS,
            responses,
        )
    return ImportResult("customer-responses", rows=len(parsed), created=len(parsed),
                        jobs_created=len(new_jobs))


async def _import_pulse(data: str | bytes | BinaryIO) -> ImportResult:
    survey = survey_in_force("pulse")
    columns = import_columns("pulse-responses")
    header, records = _read(data, required=columns.required, optional=columns.optional)
    index = {name: i for i, name in enumerate(header)}
    read_answers = _Answers(survey, header)
    errors = _Errors()
    parsed: list[tuple[int, str, str, datetime, dict[str, Any]]] = []
    first_line: dict[tuple[str, str], int] = {}
    for number, line in _lines(records, index, errors):
        contractor = line.text("contractor_external_id")
        wave = line.text("wave", limit=100)
        submitted = line.instant("submitted_at")
        answers = read_answers(line)
        if contractor and wave:
            key = (contractor, wave)
            if key in first_line:
                errors.add(number, "contractor_external_id",
                           f"contractor {contractor!r} already answered wave {wave!r} on line {first_line[key]}")
            else:
                first_line[key] = number
        if contractor and wave:  # checked against the database below, in the same pass
            parsed.append((number, contractor, wave, submitted, answers))  # type: ignore[arg-type]

    async with in_transaction() as conn, _bulk(conn):
        contractors = {r["external_id"]: r["id"] for r in await _select_in(
            conn, "SELECT id, external_id FROM contractors WHERE external_id {keys}",
            (p[1] for p in parsed))}
        waves = {r["name"]: r for r in await _select_in(
            conn, "SELECT id, name, opens_at, closes_at FROM pulse_waves WHERE name {keys}",
            (p[2] for p in parsed))}
        wave_ids = [w["id"] for w in waves.values()]
        answered = {(r["wave_id"], r["contractor_id"]) for r in await _select_in(
            conn, "SELECT wave_id, contractor_id FROM pulse_responses WHERE wave_id {keys}",
            wave_ids, pg_type="int")}
        invited = {(r["wave_id"], r["contractor_id"]) for r in await _select_in(
            conn, "SELECT wave_id, contractor_id FROM pulse_invites WHERE wave_id {keys}",
            wave_ids, pg_type="int")}
        bounds = {name: (w["id"], _db_instant(w["opens_at"]), _db_instant(w["closes_at"]))
                  for name, w in waves.items()}
        ready: list[tuple[int, int, datetime, dict[str, Any]]] = []
        for number, contractor, wave, submitted, answers in parsed:
            contractor_id = contractors.get(contractor)
            if contractor_id is None:
                errors.add(number, "contractor_external_id",
                           f"no contractor {contractor!r}: import or create contractors first")
            if wave not in bounds:
                errors.add(number, "wave", f"no wave {wave!r}: create it first (POST /api/v1/waves)")
                continue
            wave_id, opens, closes = bounds[wave]
            if submitted is not None and not opens <= submitted <= closes:
                errors.add(number, "submitted_at",
                           f"outside wave {wave!r} ({opens.isoformat()} to {closes.isoformat()})")
            if contractor_id is None:
                continue
            if (wave_id, contractor_id) in answered:
                errors.add(number, "contractor_external_id",
                           f"contractor {contractor!r} already answered wave {wave!r} in the database")
            ready.append((wave_id, contractor_id, submitted, answers))
        errors.raise_if_any()

        now = datetime.now(UTC)
        invites = [(w, c, new_token(), now) for w, c, _, _ in ready if (w, c) not in invited]
        await insert_rows(
            conn, "pulse_invites",
            [("wave_id", "int"), ("contractor_id", "int"), ("token", "text"), ("created_at", "timestamptz")],
            invites,
        )
        score = _PulseScorer(survey)
        scorings = [score(answers) for _, _, _, answers in ready]
        groups = await frozen_groups(conn, [(w, c) for w, c, _, _ in ready])
        created = await insert_rows(
            conn, "pulse_responses",
            [("wave_id", "int"), ("contractor_id", "int"), ("submitted_at", "timestamptz"),
             ("answers", "jsonb"), ("comment", "text"), ("cei", "float8"), ("survey_version", "int"),
             ("lang", "text"), ("source", "text"), *PULSE_GROUP_COLUMNS],
            [(w, c, s, _JSON.encode(a), a.get("comment"), sc.cei, survey.version,
              "en", "import", *groups[(w, c)]) for (w, c, s, a), sc in zip(ready, scorings, strict=True)],
            returning=("id", "wave_id", "contractor_id", "submitted_at"),
        )
        await store_pulse_scores(conn, created, [(w, c) for w, c, _, _ in ready], scorings, groups, survey)
    return ImportResult("pulse-responses", rows=len(ready), created=len(ready),
                        invites_created=len(invites))


class _PulseScorer:
    """``score_pulse`` for many responses, remembering each dimension's part.

    A dimension's score, answered and favourable counts and its items' scored
    values depend only on the answers to that dimension's items, and the CEI
    only on the dimension scores; so each dimension is scored once per
    distinct combination of its answers (at most 5^3 for three 1-5 items) by
    ``score_pulse`` itself, and the parts are joined, the CEI by ``cei``.
    The formulas stay in ``surveys.scoring``; the result equals
    ``score_pulse(survey, answers)``.
    """

    def __init__(self, survey: Survey) -> None:
        self.survey = survey
        groups: dict[str, list[str]] = {}
        for question in survey.questions:
            if question.dimension is not None:
                groups.setdefault(question.dimension, []).append(question.id)
        self.groups = [tuple(ids) for ids in groups.values()]
        self.parts: dict[tuple[tuple[str, ...], tuple[Any, ...]], PulseScoring] = {}

    def __call__(self, answers: Mapping[str, Any]) -> PulseScoring:
        dimensions: dict[str, Any] = {}
        items: dict[str, tuple[str, int]] = {}
        for ids in self.groups:
            key = (ids, tuple([answers.get(i) for i in ids]))
            part = self.parts.get(key)
            if part is None:
                part = self.parts[key] = score_pulse(self.survey, dict(zip(ids, key[1], strict=True)))
            dimensions.update(part.dimensions)
            items.update(part.items)
        return PulseScoring(cei=cei(self.survey, {d: s.score for d, s in dimensions.items()}),
                            dimensions=dimensions, items=items)


PULSE_GROUP_COLUMNS = [("region", "text"), ("service_type", "text"), ("tenure_band", "smallint")]


async def store_pulse_scores(conn: BaseDBAsyncClient, created: Sequence[Mapping[str, Any]],
                             keys: Sequence[tuple[int, int]], scorings: Sequence[PulseScoring],
                             groups: Mapping[tuple[int, int], Groups], survey: Survey) -> None:
    """Write the PulseScore and PulseItemAnswer rows of freshly inserted responses.

    `created` are the RETURNING rows (id, wave_id, contractor_id,
    submitted_at); `keys` and `scorings` are in the order the responses were
    given; `groups` are their `queries.frozen_groups`. Each row repeats its
    response's contractor, wave, time and groups; an item row says whether
    its dimension was answered in full.
    """
    rows = {(r["wave_id"], r["contractor_id"]): r for r in created}
    scores, items = [], []
    for key, scoring in zip(keys, scorings, strict=True):
        r = rows[key]
        copied = (r["contractor_id"], r["wave_id"], _db_instant(r["submitted_at"]), *groups[key])
        complete = complete_dimensions(survey, scoring)
        for dimension, s in scoring.dimensions.items():
            scores.append((r["id"], dimension, s.score, s.answered, s.favourable, s.item_sum, *copied))
        for item, (dimension, value) in scoring.items.items():
            items.append((r["id"], dimension, item, value, dimension in complete, *copied))
    response = [("contractor_id", "int"), ("wave_id", "int"), ("submitted_at", "timestamptz"),
                *PULSE_GROUP_COLUMNS]
    await insert_rows(
        conn, "pulse_scores",
        [("response_id", "int"), ("dimension", "text"), ("score", "float8"), ("answered", "smallint"),
         ("favourable", "smallint"), ("item_sum", "smallint"), *response],
        scores,
    )
    await insert_rows(
        conn, "pulse_item_answers",
        [("response_id", "int"), ("dimension", "text"), ("item", "text"), ("value", "smallint"),
         ("complete", "bool"), *response],
        items,
    )


# --- export ----------------------------------------------------------------------------------


def _csv_chunk(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return buffer.getvalue()


def _window(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    clauses, values = [], []
    if start is not None:
        clauses.append(f"{column} >= ?")
        values.append(start.astimezone(UTC))
    if end is not None:
        clauses.append(f"{column} < ?")
        values.append(end.astimezone(UTC))
    return "".join(f" AND {c}" for c in clauses), values


def customer_export_header() -> list[str]:
    return ["job_external_id", "contractor_external_id", "completed_at", "submitted_at",
            "csat", "nps", "ces", "promise_kept", "comment", "source"]


def _yes_no(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


async def export_customer_responses(*, start: datetime | None = None, end: datetime | None = None,
                                    batch: int = EXPORT_BATCH) -> AsyncIterator[str]:
    """CSV text, header first, one row per customer response with completed_at in [start, end)."""
    yield _csv_chunk([customer_export_header()])
    conn = connection()
    where, values = _window("r.completed_at", start, end)
    sql = _placeholders(conn, (
        "SELECT r.id, j.external_id AS job, c.external_id AS contractor, r.completed_at, "
        "r.submitted_at, r.csat, r.nps, r.ces, r.promise_kept, r.comment, r.source "
        "FROM customer_responses r JOIN jobs j ON j.id = r.job_id "
        "JOIN contractors c ON c.id = r.contractor_id "
        f"WHERE r.id > ?{where} ORDER BY r.id LIMIT {int(batch)}"
    ))
    last = 0
    while True:
        rows = await conn.execute_query_dict(sql, [last, *values])
        if not rows:
            return
        last = rows[-1]["id"]
        yield _csv_chunk(
            (r["job"], r["contractor"], _iso(r["completed_at"]), _iso(r["submitted_at"]),
             r["csat"], r["nps"], r["ces"],
             _yes_no(None if r["promise_kept"] is None else bool(r["promise_kept"])),
             r["comment"], r["source"])
            for r in rows
        )
        if len(rows) < batch:
            return


@dataclass
class PulseExport:
    """A pulse export ready to stream, with what the privacy rules held back."""

    header: list[str]
    suppressed_waves: int = 0
    suppressed_responses: int = 0
    # what may be said of them: the answers of left-out waves of at least
    # min_group (open ones); a smaller wave's count would tell who answered
    suppressed_responses_shown: int = 0
    comments_suppressed: int = 0
    _waves: list[tuple[int, bool]] = field(default_factory=list)  # (wave id, show comments)
    _questions: list[str] = field(default_factory=list)

    async def chunks(self) -> AsyncIterator[str]:
        """CSV text, header first, wave by wave, each wave's rows sorted by
        their answers: an order that says nothing about who or when."""
        yield _csv_chunk([self.header])
        conn = connection()
        sql = _placeholders(conn, (
            "SELECT w.name AS wave, r.answers, r.cei, r.comment "
            "FROM pulse_responses r JOIN pulse_waves w ON w.id = r.wave_id WHERE r.wave_id = ?"
        ))
        for wave_id, show_comments in self._waves:
            rows = sorted((self._row(r, show_comments) for r in await conn.execute_query_dict(sql, [wave_id])),
                          key=lambda row: [(v is None, "" if v is None else str(v)) for v in row])
            for start in range(0, len(rows), EXPORT_BATCH):
                yield _csv_chunk(rows[start:start + EXPORT_BATCH])

    def _row(self, r: Mapping[str, Any], show_comments: bool) -> list[Any]:
        answers = r["answers"]
        if isinstance(answers, str):
            answers = json.loads(answers)
        return [
            r["wave"],
            *(answers.get(q) for q in self._questions),
            None if r["cei"] is None else round(float(r["cei"]), 6),
            (r["comment"] or None) if show_comments else None,
        ]


def _days(start: datetime | None, end: datetime | None) -> tuple[date, date]:
    """[start, end) as inclusive days (a missing end: today, UTC)."""
    first = start.astimezone(UTC).date() if start else date(1970, 1, 1)
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date() if end else datetime.now(UTC).date()
    return first, max(first, last)


async def export_pulse_responses(*, start: datetime | None = None,
                                 end: datetime | None = None) -> PulseExport:
    """Plan a pulse export of the waves that closed in [start, end) (models.waves):
    only closed waves with at least min_group respondents, comments only for
    waves of at least min_comment_group; no times, no attributes."""
    survey = survey_in_force("pulse")
    questions = [q.id for q in survey.questions if q.id != "comment" and q.scale is not None]
    export = PulseExport(header=["wave", *questions, "cei", "comment"], _questions=questions)
    first, last = _days(start, end)
    for wave in await waves_in(first, last, min_group=settings.min_group):
        if not wave.reported:
            export.suppressed_waves += 1
            export.suppressed_responses += wave.respondents
            if wave.respondents >= settings.min_group:
                export.suppressed_responses_shown += wave.respondents
            continue
        show = wave.respondents >= max(settings.min_group, settings.min_comment_group)
        if not show:
            export.comments_suppressed += wave.respondents
        export._waves.append((wave.id, show))
    return export


PULSE_INDEX_FIGURES = ("n_contractors", "n_responses", "cei", "cei_favourable_pct")


async def export_pulse_index(*, start: datetime | None = None, end: datetime | None = None) -> str:
    """The aggregate pulse export: per closed wave and group (everyone, each
    region, service type and tenure band), the figures `/api/v1/index` may
    show, through the same gate; a hidden group's row says so and why."""
    first, last = _days(start, end)
    dims = [d.id for d in pulse_survey().dimensions]
    rows = await index_by_wave(window=Window(first, last), min_group=settings.min_group,
                               min_comment_group=settings.min_comment_group)
    header = ["wave", "group_by", "group", *PULSE_INDEX_FIGURES,
              *(f"{d}_{k}" for d in dims for k in ("score", "favourable_pct")), "suppressed", "reason"]
    out = [header]
    for row in rows:
        figures = [None if isinstance(row[k], float) and row["suppressed"] else row[k] for k in PULSE_INDEX_FIGURES]
        out.append([
            row["wave"], row["group_by"], row["group"], *figures,
            *(row["dimensions"][d][k] for d in dims for k in ("score", "favourable_pct")),
            row["suppressed"], row["reason"],
        ])
    return _csv_chunk(out)
