"""Follow-up cases and reminder lists over the API.

- ``GET /api/v1/followups``: the detractor cases with filters, sort, pages and
  the total (JSON), or every matching case as CSV (``Accept: text/csv``);
- ``PATCH /api/v1/followups/{id}``: assign, add a note, set the root cause,
  close with an outcome (emits ``followup.closed``) or reopen;
- ``GET /api/v1/waves/{name}/reminders``: the pulse links of an open wave not
  yet answered nor reminded within RAPPORT_REMINDER_GAP_DAYS, with the invites'
  columns; ``GET /api/v1/reminders/customers``: customer links open, unanswered
  and never reminded. ``?mark=sent`` records the list as sent in the same call.

Handlers stay thin: parse, call models.followup / models.reminders, answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.api import survey_url
from collector.guards import ADMIN_LIMIT, BodyLimit, parse_json
from models import followup, reminders
from models.followup import CaseChange, CaseError, CaseNotFound
from models.queries import NotFound

__all__ = ["OPENAPI_PATHS", "routes"]

CSV_TYPE = "text/csv; charset=utf-8"
CASE_COLUMNS = ("id", "submitted_at", "job", "customer_ref", "contractor", "contractor_name", "region",
                "service_type", "csat", "nps", "ces", "comment", "status", "assignee", "root_cause", "outcome",
                "first_action_at", "closed_at", "closed_by", "notes")
PATCH_FIELDS = ("assignee", "note", "root_cause", "outcome", "reopen")
INVITE_COLUMNS = ("contractor", "name", "token", "pulse_url")
CUSTOMER_COLUMNS = ("job", "customer_ref", "token", "survey_url", "expires_at")


class BadRequest(ValueError):
    """A parameter or the body cannot be used; the message names it."""


Endpoint = Callable[[Request], Awaitable[Response]]


def _answers(endpoint: Endpoint) -> Endpoint:
    """Turn the parser's and the models' errors into 400/404 answers."""

    async def handle(request: Request) -> Response:
        try:
            return await endpoint(request)
        except (BadRequest, CaseError) as problem:
            return JSONResponse({"error": str(problem)}, status_code=400)
        except (CaseNotFound, NotFound) as problem:
            return JSONResponse({"error": str(problem)}, status_code=404)

    handle.__name__ = endpoint.__name__
    handle.__doc__ = endpoint.__doc__
    return handle


def _cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return Response(out.getvalue(), media_type=CSV_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "") or request.query_params.get("format") == "csv"


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date, e.g. 2026-11-01") from None


def _marks(request: Request) -> bool:
    mark = request.query_params.get("mark")
    if mark not in (None, "", "sent"):
        raise BadRequest("mark must be 'sent'")
    return mark == "sent"


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "start": _date(request, "from"), "end": _date(request, "to"),
        "show": params.get("show") or "open", "sort": params.get("sort") or "oldest",
        "search": params.get("q") or None, "region": params.get("region") or None,
        "service_type": params.get("service_type") or None, "assignee": params.get("assignee") or None,
        "root_cause": params.get("root_cause") or None,
    }


async def list_followups(request: Request) -> Response:
    """The cases under the filters: a page with the total, or every one as CSV."""
    filters = _filters(request)
    if _wants_csv(request):
        cases = await followup.all_cases(**filters)
        rows = []
        for case in cases:
            data = case.as_dict()
            data["notes"] = " | ".join(f"{n.author} {n.at:%Y-%m-%d %H:%M}: {n.text}" for n in case.notes)
            rows.append([data[c] for c in CASE_COLUMNS])
        return _csv(CASE_COLUMNS, rows, "followups.csv")
    found = await followup.find_cases(**filters, page=_int(request, "page", 1),
                                      page_size=_int(request, "page_size", 25))
    return JSONResponse({"total": found.total, "page": found.page, "page_size": found.page_size,
                         "pages": found.pages, "cases": [c.as_dict() for c in found.cases]})


async def patch_followup(request: Request) -> Response:
    """Assign, note, set the root cause, close with an outcome, or reopen one case."""
    try:
        case_id = int(request.path_params["id"])
    except ValueError:
        raise CaseNotFound(f"no follow-up case {request.path_params['id']!r}") from None
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - set(PATCH_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}: send {', '.join(PATCH_FIELDS)}")
    reopen = body.get("reopen", False)
    if not isinstance(reopen, bool):
        raise BadRequest("reopen must be true or false")
    given = {name: body[name] for name in ("assignee", "root_cause") if name in body}
    change = CaseChange(note=body.get("note"), outcome=body.get("outcome"), reopen=reopen, **given)
    actor = getattr(request.state, "api_key", None) or "api"
    case = await followup.change_case(case_id=case_id, change=change, by=f"api:{actor}")
    return JSONResponse(case.as_dict())


async def wave_reminders(request: Request) -> Response:
    """The pulse links of an open wave to remind now (the invites' columns)."""
    name = request.path_params["name"]
    invites = await reminders.pulse_reminders(wave=name, mark=_marks(request))
    if _wants_csv(request):
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        return _csv(INVITE_COLUMNS, [(i.contractor, i.name, i.token, survey_url("pulse", i.token)) for i in invites],
                    f"reminders-{safe}.csv")
    return JSONResponse([{"contractor": i.contractor, "token": i.token, "pulse_url": survey_url("pulse", i.token)}
                         for i in invites])


async def customer_reminders(request: Request) -> Response:
    """The customer links to remind now: open, unanswered, never reminded."""
    found = await reminders.customer_reminders(mark=_marks(request))
    rows = [(r.job, r.customer_ref, r.token, survey_url("customer", r.token), r.expires_at.isoformat())
            for r in found]
    if _wants_csv(request):
        return _csv(CUSTOMER_COLUMNS, rows, "reminders-customers.csv")
    return JSONResponse([dict(zip(CUSTOMER_COLUMNS, row, strict=True)) for row in rows])


routes: list[BaseRoute] = [
    Route("/api/v1/followups", _answers(list_followups), methods=["GET"]),
    Route("/api/v1/followups/{id}", _answers(patch_followup), methods=["PATCH"],
          middleware=[Middleware(BodyLimit, limit=ADMIN_LIMIT)]),
    Route("/api/v1/waves/{name}/reminders", _answers(wave_reminders), methods=["GET"]),
    Route("/api/v1/reminders/customers", _answers(customer_reminders), methods=["GET"]),
]


# --- OpenAPI ---------------------------------------------------------------------

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NINT = {"type": ["integer", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_ERROR = {"description": "The request cannot be done; `error` says why.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UNAUTHORISED = {"description": "Missing or unknown API key."}
_MARK = {"name": "mark", "in": "query", "schema": {"enum": ["sent"]},
         "description": "Record every link listed as reminded now, in the same call."}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or _STR, "description": description}


OPENAPI_SCHEMAS: dict[str, Any] = {
    "FollowupCase": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "description": "The customer response's id."},
            "submitted_at": {"type": "string", "format": "date-time"}, "job": _STR, "customer_ref": _NSTR,
            "contractor": _STR, "contractor_name": _STR, "region": _STR, "service_type": _STR,
            "csat": _NINT, "nps": _NINT, "ces": _NINT, "comment": _NSTR, "status": {"enum": ["open", "closed"]},
            "assignee": _NSTR, "root_cause": {"enum": [*followup.ROOT_CAUSES, None]}, "outcome": _NSTR,
            "first_action_at": _TIME, "closed_at": _TIME, "closed_by": _NSTR,
            "notes": {"type": "array", "items": {"type": "object", "properties": {
                "author": _STR, "at": {"type": "string", "format": "date-time"}, "text": _STR}}},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/followups": {
        "get": {
            "summary": "Follow-up cases: every detractor answer (NPS 0–6 or CSAT 1–2), with the total",
            "description": "JSON pages, or every matching case as CSV with `Accept: text/csv` (or `format=csv`).",
            "parameters": [
                _query("from", "Answers submitted on or after this day (UTC).", {"type": "string", "format": "date"}),
                _query("to", "Answers submitted on or before this day (UTC).", {"type": "string", "format": "date"}),
                _query("show", "open (default), closed or all.", {"enum": list(followup.SHOW)}),
                _query("sort", "oldest (default), newest, contractor or job.", {"enum": list(followup.SORTS)}),
                _query("q", "Part of a job's or contractor's external id, or a contractor's name."),
                _query("region", "Contractors of this region."),
                _query("service_type", "Contractors of this service type."),
                _query("assignee", "Cases assigned to this dashboard user."),
                _query("root_cause", "Cases with this root cause.", {"enum": list(followup.ROOT_CAUSES)}),
                _query("page", "From 1.", {"type": "integer", "minimum": 1}),
                _query("page_size", "Cases per page (default 25).",
                       {"type": "integer", "minimum": 1, "maximum": followup.MAX_PAGE_SIZE}),
            ],
            "responses": {
                "200": {"description": "A page of cases and the total.", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "total": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
                        "pages": {"type": "integer"},
                        "cases": {"type": "array", "items": {"$ref": "#/components/schemas/FollowupCase"}}}}},
                    "text/csv": {"schema": _STR}}},
                "400": _ERROR, "401": _UNAUTHORISED,
            },
        }
    },
    "/api/v1/followups/{id}": {
        "patch": {
            "summary": "Assign a case, add a note, set its root cause, close it with an outcome, or reopen it",
            "description": "The first change is the case's first action. Closing emits `followup.closed` "
                           "through the outbox in the same transaction.",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {
                    "assignee": {**_NSTR, "description": "An active dashboard user; null unassigns."},
                    "note": _STR, "root_cause": {"enum": [*followup.ROOT_CAUSES, None]},
                    "outcome": {**_STR, "description": "Closes the case with this outcome."},
                    "reopen": {"type": "boolean"}}}}}},
            "responses": {"200": {"description": "The case after the change.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/FollowupCase"}}}},
                "400": _ERROR, "404": _ERROR, "401": _UNAUTHORISED},
        }
    },
    "/api/v1/waves/{name}/reminders": {
        "get": {
            "summary": "Pulse links of an open wave to remind: not answered, not reminded within the gap",
            "description": "The invites' columns (JSON, or CSV with `Accept: text/csv`). Empty unless the wave "
                           "is open. A link is listed at most once per RAPPORT_REMINDER_GAP_DAYS.",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": _STR}, _MARK],
            "responses": {"200": {"description": "The links.", "content": {
                "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Invite"}}},
                "text/csv": {"schema": _STR}}}, "404": _ERROR, "400": _ERROR, "401": _UNAUTHORISED},
        }
    },
    "/api/v1/reminders/customers": {
        "get": {
            "summary": "Customer links to remind: open, unanswered, never reminded",
            "parameters": [_MARK],
            "responses": {"200": {"description": "The links (JSON, or CSV with `Accept: text/csv`).", "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
                    "job": _STR, "customer_ref": _NSTR, "token": _STR,
                    "survey_url": {"type": "string", "format": "uri"},
                    "expires_at": {"type": "string", "format": "date-time"}}}}},
                "text/csv": {"schema": _STR}}}, "400": _ERROR, "401": _UNAUTHORISED},
        }
    },
}
