"""The exports: customer responses as CSV in batches, pulse responses wave by
wave through the privacy rules, and the aggregate pulse index per wave and group."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.analytics import Window, index_by_wave, pulse_survey
from models.queries import survey_in_force
from models.settings import settings
from models.sql import Query, instant
from models.waves import waves_in
from surveys.csvsafe import neutralise

__all__ = [
    "EXPORT_BATCH",
    "PULSE_INDEX_FIGURES",
    "PulseExport",
    "customer_export_header",
    "export_customer_responses",
    "export_pulse_index",
    "export_pulse_responses",
]

EXPORT_BATCH = 5000


def _iso(value: Any) -> str:
    return instant(value).astimezone(UTC).isoformat()


# --- export ----------------------------------------------------------------------------------


def _csv_chunk(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return buffer.getvalue()


def _customer_batch(after: int, start: datetime | None, end: datetime | None, batch: int) -> tuple[Query, str]:
    """The next `batch` customer responses after id `after`, completed in [start, end)."""
    q = Query()
    where = [f"r.id > {q.p(after)}"]
    if start is not None:
        where.append(f"r.completed_at >= {q.p(start)}")
    if end is not None:
        where.append(f"r.completed_at < {q.p(end)}")
    return q, (
        "SELECT r.id, j.external_id AS job, c.external_id AS contractor, r.completed_at, "
        "r.submitted_at, r.csat, r.nps, r.ces, r.promise_kept, r.comment, r.source "
        "FROM customer_responses r JOIN jobs j ON j.id = r.job_id "
        "JOIN contractors c ON c.id = r.contractor_id "
        f"WHERE {' AND '.join(where)} ORDER BY r.id LIMIT {int(batch)}"
    )


def customer_export_header() -> list[str]:
    return ["job_external_id", "contractor_external_id", "completed_at", "submitted_at",
            "csat", "nps", "ces", "promise_kept", "comment", "source"]


def _yes_no(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


async def export_customer_responses(*, start: datetime | None = None, end: datetime | None = None,
                                    batch: int = EXPORT_BATCH) -> AsyncIterator[str]:
    """CSV text, header first, one row per customer response with completed_at in [start, end)."""
    yield _csv_chunk([customer_export_header()])
    last = 0
    while True:
        q, sql = _customer_batch(last, start, end, batch)
        rows = await q.rows(sql)
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
        for wave_id, show_comments in self._waves:
            q = Query()
            answered = await q.rows("SELECT w.name AS wave, r.answers, r.cei, r.comment FROM pulse_responses r "
                                    f"JOIN pulse_waves w ON w.id = r.wave_id WHERE r.wave_id = {q.p(wave_id)}")
            rows = sorted((self._row(r, show_comments) for r in answered),
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
    out: list[list[Any]] = [header]
    for row in rows:
        figures = [None if isinstance(row[k], float) and row["suppressed"] else row[k] for k in PULSE_INDEX_FIGURES]
        out.append([
            row["wave"], row["group_by"], row["group"], *figures,
            *(row["dimensions"][d][k] for d in dims for k in ("score", "favourable_pct")),
            row["suppressed"], row["reason"],
        ])
    return _csv_chunk(out)
