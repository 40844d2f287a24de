"""CSV in and out over HTTP: bulk import and streaming export under /api/v1.

Thin handlers over `models.transfer`, where the rules live (whole file or
nothing, errors by line and column, formula neutralisation, the pulse
export's privacy rules). The API key guard in `collector.app` covers these
paths like every /api/v1 path.

- ``POST /api/v1/import/{contractors|customer-responses|pulse-responses}``:
  the CSV as the body (text/csv) or as the multipart file field ``file``.
  200 with counts; 422 ``{"errors": [{"line", "column", "message"}], "error_count"}``
  when lines are wrong, 400 (same shape) when the file itself is unusable.
- ``GET /api/v1/export/customer-responses.csv`` and
  ``GET /api/v1/export/pulse-responses.csv`` with optional ``from``/``to``
  (ISO 8601 date or date-time; a date-only ``to`` includes that whole day),
  streamed in batches. The pulse export holds the waves that closed in the
  window and says what it held back in the headers
  ``X-Rapport-Suppressed-Waves`` (open waves and waves under
  RAPPORT_MIN_GROUP contractors, left out), ``X-Rapport-Suppressed-Responses``
  (the answers of those of at least RAPPORT_MIN_GROUP: a smaller wave's count
  would tell who answered) and
  ``X-Rapport-Suppressed-Comments`` (waves under RAPPORT_MIN_COMMENT_GROUP,
  comments blanked).
- ``GET /api/v1/export/pulse-index.csv``: the pulse figures per closed wave
  and group, through the same gate as ``/api/v1/index``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, BinaryIO, cast

from pydantic import Field
from pydantic_core import core_schema
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from collector.contract import FieldType, Query, Reply, operation, route
from collector.errors import BadParameter, ErrorBody
from collector.guards import IMPORT_LIMIT
from collector.schemas import ImportErrors, ImportResult
from models.transfer import (
    export_customer_responses,
    export_pulse_index,
    export_pulse_responses,
    import_columns,
    import_csv,
    parse_instant,
)

__all__ = [
    "CSV_TYPE",
    "SPOOL_IN_MEMORY",
    "ExportWindow",
    "export_customer",
    "export_pulse",
    "export_pulse_figures",
    "routes",
]

CSV_TYPE = "text/csv; charset=utf-8"


class _Moment(FieldType):
    """An ISO 8601 date or date-time, kept as given (a date-only `to` means the end of that day)."""

    def check(self, value: Any, info: core_schema.ValidationInfo) -> str | None:
        name = info.field_name.rstrip("_") if info.field_name else "value"
        raw = str(value).strip()
        if not raw:
            return None  # blank: not given
        try:
            parse_instant(raw)
        except (ValueError, OverflowError):
            raise BadParameter(name, f"{name} must be an ISO 8601 date or date-time, e.g. 2026-03-01") from None
        return raw

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


class ExportWindow(Query):
    """`from` and `to` as [start, end); a date-only `to` means the end of that day."""

    from_: Annotated[str | None, _Moment(), Field(alias="from", description="ISO 8601 date or date-time "
                                                                          "(inclusive).")] = None
    to: Annotated[str | None, _Moment(), Field(description="ISO 8601 date-time (exclusive), or a date (that "
                                                           "whole day included).")] = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start = parse_instant(self.from_) if self.from_ else None
        end = None
        if self.to:
            end = (datetime.combine(date.fromisoformat(self.to) + timedelta(days=1), time(), tzinfo=UTC)
                   if len(self.to) == 10 else parse_instant(self.to))
        if start and end and end <= start:
            raise BadParameter("to", "to must be after from")
        return start, end


SPOOL_IN_MEMORY = 1024 * 1024  # an upload's first MB stays in memory, the rest goes to a temp file

_CSV_BODY = {
    "text/csv": {"type": "string"},
    "multipart/form-data": {"type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}}},
}
_IMPORTS = {
    "contractors": "Import contractors (upsert by external id)",
    "customer-responses": "Import answered customer surveys",
    "pulse-responses": "Import answered contractor pulses",
}


def _import_description(kind: str) -> str:
    """The columns of `kind` from their one definition (`rapport import --help` prints the same)."""
    columns = import_columns(kind)
    return (f"Columns: {', '.join(columns.required)}; optional: {', '.join(columns.optional)}. "
            f"{columns.notes} The file is imported whole or not at all; every error of every line "
            f"is reported at once. Example:\n\n```csv\n{columns.example_lines()}```"
            f" At most {IMPORT_LIMIT // 2**20} MB (413 above); a file without data lines is refused.")


async def _import(request: Request, kind: str, spool: BinaryIO) -> Response:
    """Spool the CSV (the body, or the multipart field `file`) and import it from the file."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadParameter("file", "send the CSV as the multipart file field 'file'")
            upload.file.seek(0)
            return JSONResponse((await import_csv(kind=kind, data=upload.file)).as_dict())
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    return JSONResponse((await import_csv(kind=kind, data=spool)).as_dict())


def _importer(kind: str) -> Callable[[Request], Awaitable[Response]]:
    @operation(summary=_IMPORTS[kind], description=_import_description(kind), raw_body=_CSV_BODY,
               body_limit=IMPORT_LIMIT,
               responses={200: Reply("Imported.", ImportResult),
                          400: Reply("The file is unusable (encoding, header; `errors`), or the request is "
                                     "(`error`); nothing stored.", ImportErrors | ErrorBody),
                          422: Reply("Lines are invalid; nothing stored.", ImportErrors)})
    async def endpoint(request: Request) -> Response:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            return await _import(request, kind, cast(BinaryIO, spool))  # a spooled file is binary IO

    endpoint.__name__ = f"import_{kind.replace('-', '_')}"
    return endpoint


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


_CSV = {"text/csv": {"type": "string"}}
_WINDOW_ERRORS = {400: "A bad from/to; `parameter` names it."}


@operation(summary="Customer responses as CSV (jobs completed in the window)", query=ExportWindow,
           description="One row per response: job_external_id, contractor_external_id, completed_at, "
                       "submitted_at, csat, nps, ces, promise_kept, comment, source. Cells a spreadsheet "
                       "would run as a formula are prefixed with a quote.",
           responses={200: Reply("CSV.", others=_CSV)}, errors=_WINDOW_ERRORS)
async def export_customer(request: Request, query: ExportWindow) -> Response:
    start, end = query.bounds()
    return StreamingResponse(export_customer_responses(start=start, end=end), media_type=CSV_TYPE,
                             headers=_attachment("customer-responses.csv"))


_SUPPRESSED = {
    "X-Rapport-Suppressed-Waves": "Waves left out: still open, or under RAPPORT_MIN_GROUP respondents.",
    "X-Rapport-Suppressed-Responses": "Answers of left-out waves of at least RAPPORT_MIN_GROUP respondents.",
    "X-Rapport-Suppressed-Comments": "Waves whose comments were blanked (under RAPPORT_MIN_COMMENT_GROUP).",
}


@operation(summary="Pulse responses as CSV, without contractor identity (waves that closed in the window)",
           query=ExportWindow,
           description="Columns: wave, one per pulse scale question, cei, comment. No contractor id, name, "
                       "region, service type or time; within a wave, rows are sorted by their answers. Only "
                       "closed waves with at least RAPPORT_MIN_GROUP respondents; comments only for waves of "
                       "at least RAPPORT_MIN_COMMENT_GROUP. The headers X-Rapport-Suppressed-Waves, "
                       "X-Rapport-Suppressed-Responses (answers of left-out waves of at least "
                       "RAPPORT_MIN_GROUP; smaller ones are not counted) and X-Rapport-Suppressed-Comments "
                       "count what was held back.",
           responses={200: Reply("CSV.", others=_CSV, headers=_SUPPRESSED)}, errors=_WINDOW_ERRORS)
async def export_pulse(request: Request, query: ExportWindow) -> Response:
    start, end = query.bounds()
    export = await export_pulse_responses(start=start, end=end)
    headers = {
        **_attachment("pulse-responses.csv"),
        "X-Rapport-Suppressed-Responses": str(export.suppressed_responses_shown),
        "X-Rapport-Suppressed-Waves": str(export.suppressed_waves),
        "X-Rapport-Suppressed-Comments": str(export.comments_suppressed),
    }
    return StreamingResponse(export.chunks(), media_type=CSV_TYPE, headers=headers)


@operation(summary="Pulse figures as CSV: per closed wave and group, through the same gate as /index",
           query=ExportWindow,
           description="One row per reported wave and group (everyone, each region, service type and "
                       "tenure band at the wave's close): n_contractors, n_responses, cei, "
                       "cei_favourable_pct, each dimension's score and % favourable, suppressed, reason.",
           responses={200: Reply("CSV.", others=_CSV)}, errors=_WINDOW_ERRORS)
async def export_pulse_figures(request: Request, query: ExportWindow) -> Response:
    start, end = query.bounds()
    return Response(await export_pulse_index(start=start, end=end), media_type=CSV_TYPE,
                    headers=_attachment("pulse-index.csv"))


routes: list[BaseRoute] = [
    *(route(f"/import/{kind}", _importer(kind), methods=["POST"]) for kind in _IMPORTS),
    route("/export/customer-responses.csv", export_customer, methods=["GET"]),
    route("/export/pulse-responses.csv", export_pulse, methods=["GET"]),
    route("/export/pulse-index.csv", export_pulse_figures, methods=["GET"]),
]
