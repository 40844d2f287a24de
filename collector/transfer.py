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
  streamed in batches. The pulse export says what it held back in the
  headers ``X-Rapport-Suppressed-Responses`` (waves under
  RAPPORT_MIN_GROUP contractors, left out) and
  ``X-Rapport-Suppressed-Comments`` (waves under RAPPORT_MIN_COMMENT_GROUP,
  comments blanked).
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
    export_pulse_responses,
    import_csv,
    parse_instant,
)

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "routes"]

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
        "X-Rapport-Suppressed-Responses": str(export.suppressed_responses),
        "X-Rapport-Suppressed-Comments": str(export.comments_suppressed),
    }
    return StreamingResponse(export.chunks(), media_type=CSV_TYPE, headers=headers)


routes: list[BaseRoute] = [
    *(Route(f"/api/v1/import/{kind}", _importer(kind), methods=["POST"],
            middleware=[Middleware(BodyLimit, limit=IMPORT_LIMIT)])
      for kind in ("contractors", "customer-responses", "pulse-responses")),
    Route("/api/v1/export/customer-responses.csv", export_customer, methods=["GET"]),
    Route("/api/v1/export/pulse-responses.csv", export_pulse, methods=["GET"]),
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
    "contractors": (
        "Import contractors (upsert by external id)",
        "Columns: external_id, name, region, service_type, started_on (YYYY-MM-DD, may be blank), "
        "optional active (yes/no).",
    ),
    "customer-responses": (
        "Import answered customer surveys",
        "Columns: job_external_id, contractor_external_id, completed_at, submitted_at, csat, nps, ces, "
        "promise_kept, comment. Missing jobs are created; contractors must exist. "
        "A customer-responses export re-imports as it is.",
    ),
    "pulse-responses": (
        "Import answered contractor pulses",
        "Columns: contractor_external_id, wave, submitted_at, one per pulse question id "
        "(see GET /api/v1/surveys), comment. The wave must exist and contain submitted_at.",
    ),
}

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
                "description": description + " The file is imported whole or not at all; at most "
                f"{IMPORT_LIMIT // 2**20} MB (413 above), and a file without data lines is refused.",
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
        for kind, (summary, description) in _IMPORTS.items()
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
            "summary": "Pulse responses as CSV, without contractor identity (submitted in the window)",
            "description": "Columns: wave, submitted_at (date only), one per pulse scale question, cei, "
                           "comment. No contractor id, name, region or service type; random order "
                           "within each wave. Waves with fewer than RAPPORT_MIN_GROUP contractors are "
                           "left out, comments of waves under RAPPORT_MIN_COMMENT_GROUP are blanked; the "
                           "headers X-Rapport-Suppressed-Responses and X-Rapport-Suppressed-Comments count them.",
            "parameters": _WINDOW,
            "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                          "400": {"description": "A bad from/to; `parameter` names it."}, **_UNAUTHORISED},
        }
    },
}
