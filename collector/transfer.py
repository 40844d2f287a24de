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
from typing import IO, Any

from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from collector.guards import IMPORT_LIMIT, BodyLimit
from models.transfer import (
    CsvImportError,
    export_customer_responses,
    export_pulse_index,
    export_pulse_responses,
    import_columns,
    import_csv,
    parse_instant,
)

__all__ = [
    "CSV_TYPE",
    "OPENAPI_PATHS",
    "OPENAPI_SCHEMAS",
    "SPOOL_IN_MEMORY",
    "BadParameter",
    "export_customer",
    "export_pulse",
    "export_pulse_figures",
    "routes",
]

CSV_TYPE = "text/csv; charset=utf-8"


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _window(request: Request) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` as [start, end); a date-only `to` means the end of that day."""
    bounds: list[datetime | None] = []
    for name in ("from", "to"):
        raw = request.query_params.get(name, "").strip()
        if not raw:
            bounds.append(None)
            continue
        try:
            value = parse_instant(raw)
        except (ValueError, OverflowError):
            raise BadParameter(name, f"{name} must be an ISO 8601 date or date-time, e.g. 2026-03-01") from None
        if name == "to" and len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw) + timedelta(days=1), time(), tzinfo=UTC)
        bounds.append(value)
    start, end = bounds
    if start and end and end <= start:
        raise BadParameter("to", "to must be after from")
    return start, end


SPOOL_IN_MEMORY = 1024 * 1024  # an upload's first MB stays in memory, the rest goes to a temp file


async def _import(request: Request, kind: str, spool: IO[bytes]) -> Response:
    """Spool the CSV (the body, or the multipart field `file`) and import it from the file."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadParameter("file", "send the CSV as the multipart file field 'file'")
            upload.file.seek(0)
            return await _run_import(kind, upload.file)
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    return await _run_import(kind, spool)


async def _run_import(kind: str, data: IO[bytes]) -> Response:
    try:
        result = await import_csv(kind=kind, data=data)
    except CsvImportError as exc:
        return JSONResponse(exc.as_dict(), status_code=400 if exc.whole_file else 422)
    return JSONResponse(result.as_dict())


def _importer(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            try:
                return await _import(request, kind, spool)
            except BadParameter as exc:
                return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=400)

    endpoint.__name__ = f"import_{kind.replace('-', '_')}"
    return endpoint


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


async def export_customer(request: Request) -> Response:
    try:
        start, end = _window(request)
    except BadParameter as exc:
        return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=400)
    return StreamingResponse(export_customer_responses(start=start, end=end), media_type=CSV_TYPE,
                             headers=_attachment("customer-responses.csv"))


async def export_pulse(request: Request) -> Response:
    try:
        start, end = _window(request)
    except BadParameter as exc:
        return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=400)
    export = await export_pulse_responses(start=start, end=end)
    headers = {
        **_attachment("pulse-responses.csv"),
        "X-Rapport-Suppressed-Responses": str(export.suppressed_responses_shown),
        "X-Rapport-Suppressed-Waves": str(export.suppressed_waves),
        "X-Rapport-Suppressed-Comments": str(export.comments_suppressed),
    }
    return StreamingResponse(export.chunks(), media_type=CSV_TYPE, headers=headers)


async def export_pulse_figures(request: Request) -> Response:
    try:
        start, end = _window(request)
    except BadParameter as exc:
        return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=400)
    return Response(await export_pulse_index(start=start, end=end), media_type=CSV_TYPE,
                    headers=_attachment("pulse-index.csv"))


routes: list[BaseRoute] = [
    *(Route(f"/api/v1/import/{kind}", _importer(kind), methods=["POST"],
            middleware=[Middleware(BodyLimit, limit=IMPORT_LIMIT)])
      for kind in ("contractors", "customer-responses", "pulse-responses")),
    Route("/api/v1/export/customer-responses.csv", export_customer, methods=["GET"]),
    Route("/api/v1/export/pulse-responses.csv", export_pulse, methods=["GET"]),
    Route("/api/v1/export/pulse-index.csv", export_pulse_figures, methods=["GET"]),
]


# --- OpenAPI ------------------------------------------------------------------------

_CSV_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}}}
        },
    },
}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


_UNAUTHORISED = {"401": {"description": "Missing or unknown API key."}}
_WINDOW = [
    {"name": "from", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"}, "description": "ISO 8601 date or date-time (inclusive)."},
    {"name": "to", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"},
     "description": "ISO 8601 date-time (exclusive), or a date (that whole day included)."},
]
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
            f"is reported at once. Example:\n\n```csv\n{columns.example_lines()}```")


OPENAPI_SCHEMAS: dict[str, Any] = {
    "ImportResult": {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in
                       ("rows", "created", "updated", "jobs_created", "invites_created")}
        | {"kind": {"type": "string"}},
    },
    "ImportErrors": {
        "type": "object",
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer", "description": "1 is the header line."},
                        "column": {"type": ["string", "null"]},
                        "message": {"type": "string"},
                    },
                },
            },
            "error_count": {"type": "integer", "description": "All errors; at most 50 are listed."},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    **{
        f"/api/v1/import/{kind}": {
            "post": {
                "summary": summary,
                "description": _import_description(kind) + f" At most {IMPORT_LIMIT // 2**20} MB (413 above); "
                "a file without data lines is refused.",
                "requestBody": _CSV_BODY,
                "responses": {
                    "200": _json("ImportResult", "Imported."),
                    "400": _json("ImportErrors", "The file is unusable (encoding, header); nothing stored."),
                    "413": {"description": f"The file is larger than {IMPORT_LIMIT // 2**20} MB."},
                    "422": _json("ImportErrors", "Lines are invalid; nothing stored."),
                    **_UNAUTHORISED,
                },
            }
        }
        for kind, summary in _IMPORTS.items()
    },
    "/api/v1/export/customer-responses.csv": {
        "get": {
            "summary": "Customer responses as CSV (jobs completed in the window)",
            "description": "One row per response: job_external_id, contractor_external_id, completed_at, "
                           "submitted_at, csat, nps, ces, promise_kept, comment, source. Cells a spreadsheet "
                           "would run as a formula are prefixed with a quote.",
            "parameters": _WINDOW,
            "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                          "400": {"description": "A bad from/to; `parameter` names it."}, **_UNAUTHORISED},
        }
    },
    "/api/v1/export/pulse-responses.csv": {
        "get": {
            "summary": "Pulse responses as CSV, without contractor identity (waves that closed in the window)",
            "description": "Columns: wave, one per pulse scale question, cei, comment. No contractor id, name, "
                           "region, service type or time; within a wave, rows are sorted by their answers. Only "
                           "closed waves with at least RAPPORT_MIN_GROUP respondents; comments only for waves of "
                           "at least RAPPORT_MIN_COMMENT_GROUP. The headers X-Rapport-Suppressed-Waves, "
                           "X-Rapport-Suppressed-Responses (answers of left-out waves of at least "
                           "RAPPORT_MIN_GROUP; smaller ones are not counted) and X-Rapport-Suppressed-Comments "
                           "count what was held back.",
            "parameters": _WINDOW,
            "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                          "400": {"description": "A bad from/to; `parameter` names it."}, **_UNAUTHORISED},
        }
    },
    "/api/v1/export/pulse-index.csv": {
        "get": {
            "summary": "Pulse figures as CSV: per closed wave and group, through the same gate as /index",
            "description": "One row per reported wave and group (everyone, each region, service type and "
                           "tenure band at the wave's close): n_contractors, n_responses, cei, "
                           "cei_favourable_pct, each dimension's score and % favourable, suppressed, reason.",
            "parameters": _WINDOW,
            "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                          "400": {"description": "A bad from/to; `parameter` names it."}, **_UNAUTHORISED},
        }
    },
}
