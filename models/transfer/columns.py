"""What an import is made of: the columns of each kind (one definition, which
``rapport import --help`` prints) and what an import answers: its result, or
the errors that name a line and a column."""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.queries import survey_in_force
from surveys.schema import SKIP, Question, QuestionKind

__all__ = [
    "KINDS",
    "MAX_ERRORS",
    "MAX_ID",
    "CsvImportError",
    "ImportColumns",
    "ImportResult",
    "RowError",
    "RowErrors",
    "import_columns",
]

MAX_ERRORS = 50
MAX_ID = 128


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


class RowErrors:
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
# The import kinds, in the order they are listed.
KINDS: tuple[str, ...] = tuple(_FIXED_COLUMNS)

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
