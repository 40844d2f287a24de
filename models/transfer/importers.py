"""The importers: a whole CSV file or nothing, checked line by line, then
against the database with set-based queries, then written with bulk INSERTs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.entities import MAX_CUSTOMER_REF
from models.queries import Groups, Invalid, check_completed_at, complete_dimensions, frozen_groups, survey_in_force
from models.settings import settings
from models.sql import bulk, insert_rows, instant, select_in
from models.tokens import new_token
from models.transfer.columns import KINDS, CsvImportError, ImportResult, RowError, RowErrors, import_columns
from models.transfer.reading import Answers, lines, read
from surveys.schema import Survey
from surveys.scoring import PulseScoring, cei, score_pulse

__all__ = [
    "CUSTOMER_RESPONSE_COLUMNS",
    "PULSE_GROUP_COLUMNS",
    "PULSE_RESPONSE_COLUMNS",
    "PulseScorer",
    "import_csv",
    "store_pulse_scores",
]

_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}
_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps(..., separators=) builds one per call

# The columns of a bulk-inserted customer response, in the order of its row tuples.
CUSTOMER_RESPONSE_COLUMNS = (
    ("job_id", "int"), ("contractor_id", "int"), ("completed_at", "timestamptz"),
    ("submitted_at", "timestamptz"), ("csat", "smallint"), ("nps", "smallint"),
    ("ces", "smallint"), ("promise_kept", "bool"), ("comment", "text"), ("answers", "jsonb"),
    ("survey_version", "int"), ("lang", "text"), ("source", "text"),
)


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
    header, records = read(data, required=columns.required, optional=columns.optional)
    index = {name: i for i, name in enumerate(header)}
    errors = RowErrors()
    rows: dict[str, tuple[Any, ...]] = {}
    first_line: dict[str, int] = {}
    for number, line in lines(records, index, errors):
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
        existing = await select_in(conn, "SELECT external_id FROM contractors WHERE external_id {keys}",
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
    header, records = read(data, required=columns.required, optional=columns.optional,
                            ignored=columns.ignored)
    index = {name: i for i, name in enumerate(header)}
    read_answers = Answers(survey, header)
    errors = RowErrors()
    # every line whose job and contractor can be read, so the database checks below
    # report their errors in the same pass as the line's own; all complete when no error
    parsed: list[tuple[int, str, str, datetime, datetime, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    customer_refs: dict[str, str | None] = {}
    for number, line in lines(records, index, errors):
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
            parsed.append((number, job, contractor, completed, submitted, answers))  # type: ignore[arg-type]  # None: an error

    expiry = timedelta(days=settings.link_days)
    async with in_transaction() as conn, bulk(conn):
        contractors = {r["external_id"]: r["id"] for r in await select_in(
            conn, "SELECT id, external_id FROM contractors WHERE external_id {keys}",
            (p[2] for p in parsed))}
        jobs = {r["external_id"]: r for r in await select_in(
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
        job_ids.update({k: (v["id"], instant(v["completed_at"])) for k, v in jobs.items()})
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
    header, records = read(data, required=columns.required, optional=columns.optional)
    index = {name: i for i, name in enumerate(header)}
    read_answers = Answers(survey, header)
    errors = RowErrors()
    parsed: list[tuple[int, str, str, datetime, dict[str, Any]]] = []
    first_line: dict[tuple[str, str], int] = {}
    for number, line in lines(records, index, errors):
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
            parsed.append((number, contractor, wave, submitted, answers))  # type: ignore[arg-type]  # None: an error

    async with in_transaction() as conn, bulk(conn):
        contractors = {r["external_id"]: r["id"] for r in await select_in(
            conn, "SELECT id, external_id FROM contractors WHERE external_id {keys}",
            (p[1] for p in parsed))}
        waves = {r["name"]: r for r in await select_in(
            conn, "SELECT id, name, opens_at, closes_at FROM pulse_waves WHERE name {keys}",
            (p[2] for p in parsed))}
        wave_ids = [w["id"] for w in waves.values()]
        answered = {(r["wave_id"], r["contractor_id"]) for r in await select_in(
            conn, "SELECT wave_id, contractor_id FROM pulse_responses WHERE wave_id {keys}",
            wave_ids, pg_type="int")}
        invited = {(r["wave_id"], r["contractor_id"]) for r in await select_in(
            conn, "SELECT wave_id, contractor_id FROM pulse_invites WHERE wave_id {keys}",
            wave_ids, pg_type="int")}
        bounds = {name: (w["id"], instant(w["opens_at"]), instant(w["closes_at"]))
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
        score = PulseScorer(survey)
        scorings = [score(answers) for _, _, _, answers in ready]
        groups = await frozen_groups(conn, [(w, c) for w, c, _, _ in ready])
        created = await insert_rows(
            conn, "pulse_responses",
            PULSE_RESPONSE_COLUMNS,
            [(w, c, s, _JSON.encode(a), a.get("comment"), sc.cei, survey.version,
              "en", "import", *groups[(w, c)]) for (w, c, s, a), sc in zip(ready, scorings, strict=True)],
            returning=("id", "wave_id", "contractor_id", "submitted_at"),
        )
        await store_pulse_scores(conn, created, [(w, c) for w, c, _, _ in ready], scorings, groups, survey)
    return ImportResult("pulse-responses", rows=len(ready), created=len(ready),
                        invites_created=len(invites))


class PulseScorer:
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
# The columns of a bulk-inserted pulse response, in the order of its row tuples (the groups last).
PULSE_RESPONSE_COLUMNS = (
    ("wave_id", "int"), ("contractor_id", "int"), ("submitted_at", "timestamptz"),
    ("answers", "jsonb"), ("comment", "text"), ("cei", "float8"), ("survey_version", "int"),
    ("lang", "text"), ("source", "text"), *PULSE_GROUP_COLUMNS,
)


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
        copied = (r["contractor_id"], r["wave_id"], instant(r["submitted_at"]), *groups[key])
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
