"""Reading an import's CSV: decoding, the header, each record's cells, and its
answers judged exactly as the web form judges them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, BinaryIO

from models.transfer.columns import MAX_ERRORS, MAX_ID, CsvImportError, RowError, RowErrors
from surveys.csvsafe import restore
from surveys.schema import Survey
from surveys.validation import UNSURE, AnswerErrors, quick_cleaner, validate

__all__ = ["Answers", "Line", "lines", "parse_instant", "read"]


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


class Line:
    """One CSV record with its starting line number and cell accessors.

    ``cells`` is the record as a list; ``index`` maps the header's column
    names to positions in it (shared by every line of a file).
    """

    __slots__ = ("cells", "errors", "index", "line")

    def __init__(self, line: int, cells: list[str], index: Mapping[str, int], errors: RowErrors) -> None:
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


def lines(
    records: Iterable[tuple[int, list[str] | str]], index: Mapping[str, int], errors: RowErrors
) -> Iterator[tuple[int, Line]]:
    """The readable records as (line number, Line); unreadable ones go to `errors`."""
    for number, cells in records:
        if isinstance(cells, str):
            errors.add(number, None, cells)
        else:
            yield number, Line(number, cells, index, errors)


def read(data: str | bytes | BinaryIO, *, required: Sequence[str], optional: Sequence[str],
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


class Answers:
    """The survey answers of each line, exactly as ``validate`` judges them.

    Each answer cell goes through its question's ``quick_cleaner``; a line
    with any cell the cleaner cannot vouch for goes through ``validate``
    whole, so clean values and error messages are those of the web form.
    """

    def __init__(self, survey: Survey, header: Sequence[str], lang: str = "en") -> None:
        self.survey, self.lang = survey, lang
        position = {name: i for i, name in enumerate(header)}
        self.columns = [(q.id, position.get(q.id), quick_cleaner(q)) for q in survey.questions]

    def __call__(self, line: Line) -> dict[str, Any] | None:
        cells = line.cells
        answers: dict[str, Any] = {}
        for question, position, clean in self.columns:
            value = clean("" if position is None else cells[position])
            if value is UNSURE:
                return self._validate(line)
            answers[question] = value
        return answers

    def _validate(self, line: Line) -> dict[str, Any] | None:
        raw = {q: line.cells[p] for q, p, _ in self.columns if p is not None}
        try:
            return validate(self.survey, raw, lang=self.lang)
        except AnswerErrors as exc:
            for column, message in exc.errors.items():
                line.errors.add(line.line, column, message)
            return None
