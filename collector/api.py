"""The admin JSON API under /api/v1 (links out) and the JSON answer endpoint for apps.

Handlers stay thin: parse the body (a 400 names the field), call the query
layer, answer. The key guard lives in collector.app; POST
/api/v1/responses/{token} is keyed by its token instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.guards import ADMIN_LIMIT, SUBMISSION_LIMIT, BodyLimit, parse_json
from models import queries
from models.queries import Link, LinkKind, Stored
from models.settings import settings
from surveys.language import pick_language
from surveys.validation import AnswerErrors, validate

__all__ = ["OPENAPI_PATHS", "Outcome", "receive_answers", "routes", "survey_url"]

MAX_ID = 128
MAX_CUSTOMER_REF = 200  # jobs.customer_ref
MAX_SUBMISSION_ID = 64
MIN_YEAR, MAX_YEAR = 1900, 2200  # dates outside these are typing mistakes, and some overflow


class BadRequest(ValueError):
    """The request body cannot be used; the message names the field."""


# --- links -----------------------------------------------------------------------


def survey_url(kind: LinkKind, token: str) -> str:
    return f"{settings.base_url}/{'s' if kind == 'customer' else 'p'}/{token}"


# --- answers (shared with the HTML pages) ------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of a submission, for JSON or HTML to render."""

    status: int  # 201 stored (or a retry of it), 403 not open yet, 404, 409, 410, 422
    link: Link | None = None  # None for a 404, and for a 201 stored in one statement
    lang: str = "en"
    stored: Stored | None = None
    errors: Mapping[str, str] | None = None
    message: str = ""


async def receive_answers(
    *,
    token: str,
    raw: Mapping[str, object],
    submission_id: str | None,
    lang: str | None,
    accept_language: str | None,
    source: str,
    kind: LinkKind | None = None,
) -> Outcome:
    """Check the link, validate the answers, store them once.

    The common case, valid answers to an open customer link, is validated first
    (the customer survey is fixed per process) and stored in one statement.
    Everything else, including every refusal, takes the careful path below, which
    looks the link up and tells the cases apart.
    """
    if kind != "pulse":
        stored = await _store_customer_at_once(token, raw, submission_id, lang, accept_language, source)
        if stored is not None:
            return stored
    link = await queries.find_link(token=token, kind=kind)
    if link is None:
        return Outcome(404, message="This survey link is not valid.")
    chosen = pick_language(queries.survey_in_force(link.kind).languages, lang, accept_language)
    now = queries.now_utc()
    if link.not_open_yet(now):
        return Outcome(403, link, chosen, message="This survey is not open yet.")
    if link.closed(now):
        if submission_id is not None:  # a resend of what was stored before it closed
            prior = await queries.stored_for_submission(link=link, submission_id=submission_id)
            if prior is not None:
                return Outcome(201, link, chosen, stored=prior)
        return Outcome(410, link, chosen, message="This survey link has expired or its survey is closed.")
    try:
        answers = validate(queries.survey_in_force(link.kind), raw, lang=chosen)
    except AnswerErrors as problem:
        return Outcome(422, link, chosen, errors=problem.errors)
    try:
        stored = await queries.store_response(
            link=link, answers=answers, lang=chosen, source=source, submission_id=submission_id, now=now
        )
    except queries.AlreadyAnswered:
        return Outcome(409, link, chosen, message="This survey has been answered already.")
    except queries.Conflict as problem:
        return Outcome(409, link, chosen, message=str(problem))
    return Outcome(201, link, chosen, stored=stored)


async def _store_customer_at_once(
    token: str,
    raw: Mapping[str, object],
    submission_id: str | None,
    lang: str | None,
    accept_language: str | None,
    source: str,
) -> Outcome | None:
    """A 201 if `token` is an open, unanswered customer link and the answers are
    valid for the customer survey; else None, having stored nothing.

    The 201 carries no `link`: it was never read, only inserted from.
    """
    survey = queries.survey_in_force("customer")
    chosen = pick_language(survey.languages, lang, accept_language)
    try:
        answers = validate(survey, raw, lang=chosen)
    except AnswerErrors:
        return None  # maybe a pulse link: the careful path validates for the right survey
    stored = await queries.store_customer_response_at_once(
        token=token, answers=answers, survey=survey, lang=chosen, source=source, submission_id=submission_id
    )
    return Outcome(201, None, chosen, stored=stored) if stored is not None else None


# --- parsing ---------------------------------------------------------------------


async def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    body = parse_json(raw)  # BadInput (a 400 naming the field) for NUL, depth, repeated keys
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _text(body: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise BadRequest(f"{name} must be at most {limit} characters")
    return value


def _datetime(body: Mapping[str, Any], name: str) -> datetime:
    value = body.get(name)
    if value is None:
        raise BadRequest(f"{name} is required")
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadRequest(f"{name} must be an ISO 8601 date-time, e.g. 2025-03-01T14:30:00Z")
    try:  # 0001-01-01T00:00:00+14:00 is a valid string but no instant a database can hold
        instant = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not MIN_YEAR <= instant.year <= MAX_YEAR:
        raise BadRequest(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return instant


def _date(body: Mapping[str, Any], name: str) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value) if isinstance(value, str) else _bad_date(name)
    except ValueError:
        return _bad_date(name)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise BadRequest(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def _bad_date(name: str) -> date:
    raise BadRequest(f"{name} must be an ISO 8601 date, e.g. 2024-05-01")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


Endpoint = Callable[[Request], Awaitable[Response]]


def _handled(endpoint: Endpoint) -> Endpoint:
    """Turn the query layer's and the parser's errors into 400/404/409 answers."""

    async def handle(request: Request) -> Response:
        try:
            return await endpoint(request)
        except (BadRequest, queries.Invalid) as problem:
            return _error(400, str(problem))
        except queries.NotFound as problem:
            return _error(404, str(problem))
        except queries.Conflict as problem:
            return _error(409, str(problem))

    handle.__name__ = endpoint.__name__
    handle.__doc__ = endpoint.__doc__
    return handle


# --- endpoints -------------------------------------------------------------------


async def post_contractor(request: Request) -> Response:
    body = await _body(request)
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise BadRequest("active must be true or false")
    attributes = body.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise BadRequest("attributes must be a JSON object")
    contractor, created = await queries.upsert_contractor(
        external_id=_text(body, "external_id", limit=MAX_ID),  # type: ignore[arg-type]
        name=_text(body, "name"),  # type: ignore[arg-type]
        region=_text(body, "region", required=False, limit=100),
        service_type=_text(body, "service_type", required=False, limit=100),
        started_on=_date(body, "started_on"),
        active=active,
        attributes=attributes,
    )
    return JSONResponse(
        {
            "external_id": contractor.external_id,
            "name": contractor.name,
            "region": contractor.region,
            "service_type": contractor.service_type,
            "started_on": contractor.started_on.isoformat() if contractor.started_on else None,
            "active": contractor.active,
            "attributes": contractor.attributes,
        },
        status_code=201 if created else 200,
    )


async def post_job(request: Request) -> Response:
    body = await _body(request)
    job, created = await queries.register_job(
        external_id=_text(body, "external_id", limit=MAX_ID),  # type: ignore[arg-type]
        contractor=_text(body, "contractor", limit=MAX_ID),  # type: ignore[arg-type]
        completed_at=_datetime(body, "completed_at"),
        customer_ref=_text(body, "customer_ref", required=False, limit=MAX_CUSTOMER_REF),
    )
    return JSONResponse(
        {
            "token": job.token,
            "survey_url": survey_url("customer", job.token),
            "expires_at": job.expires_at.isoformat(),
        },
        status_code=201 if created else 200,
    )


async def post_wave(request: Request) -> Response:
    body = await _body(request)
    name = _text(body, "name", limit=100)
    opens_at, closes_at = _datetime(body, "opens_at"), _datetime(body, "closes_at")
    wave = await queries.create_wave(name=name, opens_at=opens_at, closes_at=closes_at)  # type: ignore[arg-type]
    return JSONResponse(
        {"name": wave.name, "opens_at": wave.opens_at.isoformat(), "closes_at": wave.closes_at.isoformat()},
        status_code=201,
    )


def _invite_rows(invites: list[queries.Invite]) -> list[dict[str, str]]:
    return [
        {"contractor": i.contractor, "token": i.token, "pulse_url": survey_url("pulse", i.token)}
        for i in invites
    ]


async def post_invites(request: Request) -> Response:
    body = await _body(request, optional=True)
    contractors = body.get("contractors")
    if contractors is not None and (
        not isinstance(contractors, list) or not all(isinstance(c, str) for c in contractors)
    ):
        raise BadRequest("contractors must be a list of contractor external ids")
    invites = await queries.create_invites(wave=request.path_params["name"], contractors=contractors)
    return JSONResponse(_invite_rows(invites), status_code=201)


def _cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def get_invites(request: Request) -> Response:
    invites = await queries.list_invites(wave=request.path_params["name"])
    if "text/csv" not in request.headers.get("accept", ""):
        return JSONResponse(_invite_rows(invites))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["contractor", "name", "token", "pulse_url"])
    for i in invites:
        writer.writerow([_cell(i.contractor), _cell(i.name), i.token, survey_url("pulse", i.token)])
    name = request.path_params["name"]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="invites-{safe}.csv"'},
    )


async def get_surveys(request: Request) -> Response:
    return JSONResponse(
        {"surveys": [queries.survey_in_force(kind).as_dict() for kind in ("customer", "pulse")]}
    )


async def post_response(request: Request) -> Response:
    body = await _body(request)
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise BadRequest("answers must be a JSON object of question id to answer")
    submission_id = _text(body, "submission_id", required=False, limit=MAX_SUBMISSION_ID)
    lang = _text(body, "lang", required=False, limit=16) or request.query_params.get("lang")
    outcome = await receive_answers(
        token=request.path_params["token"],
        raw=answers,
        submission_id=submission_id,
        lang=lang,
        accept_language=request.headers.get("accept-language"),
        source="api",
    )
    if outcome.status == 201:
        return JSONResponse(outcome.stored.as_dict(), status_code=201)  # type: ignore[union-attr]
    if outcome.status == 422:
        return JSONResponse({"errors": dict(outcome.errors or {})}, status_code=422)
    return _error(outcome.status, outcome.message)


_ADMIN = [Middleware(BodyLimit, limit=ADMIN_LIMIT)]

routes: list[BaseRoute] = [
    Route("/api/v1/contractors", _handled(post_contractor), methods=["POST"], middleware=_ADMIN),
    Route("/api/v1/jobs", _handled(post_job), methods=["POST"], middleware=_ADMIN),
    Route("/api/v1/waves", _handled(post_wave), methods=["POST"], middleware=_ADMIN),
    Route("/api/v1/waves/{name}/invites", _handled(post_invites), methods=["POST"], middleware=_ADMIN),
    Route("/api/v1/waves/{name}/invites", _handled(get_invites), methods=["GET"]),
    Route("/api/v1/surveys", _handled(get_surveys), methods=["GET"]),
    Route("/api/v1/responses/{token}", _handled(post_response), methods=["POST"],
          middleware=[Middleware(BodyLimit, limit=SUBMISSION_LIMIT)]),
]


# --- OpenAPI ---------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "The request cannot be done; `error` says why and names the field.")
_ERRORS = {"400": _ERROR, "401": {"description": "Missing or unknown API key."}}
_STR = {"type": "string"}
_DATETIME = {"type": "string", "format": "date-time", "description": "ISO 8601; without a zone means UTC."}
_WAVE_NAME = {"name": "name", "in": "path", "required": True, "schema": _STR}
_INVITES = {"type": "array", "items": _ref("Invite")}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": _STR}, "required": ["error"]},
    "Contractor": {
        "type": "object",
        "required": ["external_id", "name"],
        "properties": {
            "external_id": _STR,
            "name": _STR,
            "region": _STR,
            "service_type": _STR,
            "started_on": {"type": ["string", "null"], "format": "date"},
            "active": {"type": "boolean"},
            "attributes": {"type": "object"},
        },
    },
    "Link": {
        "type": "object",
        "properties": {"token": _STR, "survey_url": {"type": "string", "format": "uri"}, "expires_at": _DATETIME},
    },
    "Wave": {
        "type": "object",
        "required": ["name", "opens_at", "closes_at"],
        "properties": {"name": _STR, "opens_at": _DATETIME, "closes_at": _DATETIME},
    },
    "Invite": {
        "type": "object",
        "properties": {"contractor": _STR, "token": _STR, "pulse_url": {"type": "string", "format": "uri"}},
    },
    "Submission": {
        "type": "object",
        "required": ["answers"],
        "properties": {
            "answers": {"type": "object", "description": "Question id to answer; see GET /api/v1/surveys."},
            "submission_id": {
                "type": "string",
                "maxLength": MAX_SUBMISSION_ID,
                "description": "Chosen by the client; resending it returns the original result.",
            },
            "lang": {"type": "string", "description": "Language of error messages (en, es)."},
        },
    },
    "Received": {
        "type": "object",
        "properties": {
            "status": {"const": "received"},
            "survey": {"enum": ["customer", "pulse"]},
            "survey_version": {"type": "integer"},
            "submitted_at": _DATETIME,
            "submission_id": {"type": ["string", "null"]},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/contractors": {
        "post": {
            "summary": "Create or update a contractor by its external id",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Contractor")}}},
            "responses": {
                "201": _json(_ref("Contractor"), "Created."),
                "200": _json(_ref("Contractor"), "Updated."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/jobs": {
        "post": {
            "summary": "Register a finished job and get its customer survey link",
            "description": "Posting the same job again returns the same link.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["external_id", "contractor", "completed_at"],
                            "properties": {
                                "external_id": _STR,
                                "contractor": {"type": "string", "description": "The contractor's external id."},
                                "completed_at": _DATETIME,
                                "customer_ref": {
                                    "type": "string", "maxLength": MAX_CUSTOMER_REF,
                                    "description": "Optional: how the brand reaches the customer (a CRM id), "
                                                   "shown to follow-up staff, never to contractors.",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json(_ref("Link"), "The new link."),
                "200": _json(_ref("Link"), "The job was registered before: its link."),
                "404": _json(_ref("Error"), "Unknown contractor."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/waves": {
        "post": {
            "summary": "Create a pulse wave",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Wave")}}},
            "responses": {
                "201": _json(_ref("Wave"), "Created."),
                "409": _json(_ref("Error"), "A wave with this name exists."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/waves/{name}/invites": {
        "post": {
            "summary": "Create pulse links for every active contractor, or for those listed",
            "description": "Idempotent: contractors invited already keep their link.",
            "parameters": [_WAVE_NAME],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"contractors": {"type": "array", "items": _STR}}}
                    }
                },
            },
            "responses": {
                "201": _json(_INVITES, "The links."),
                "404": _json(_ref("Error"), "Unknown wave or contractor."),
                **_ERRORS,
            },
        },
        "get": {
            "summary": "List the pulse links of a wave (JSON, or CSV with Accept: text/csv)",
            "parameters": [_WAVE_NAME],
            "responses": {
                "200": {
                    "description": "The links.",
                    "content": {
                        "application/json": {"schema": _INVITES},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "404": _json(_ref("Error"), "Unknown wave."),
                "401": _ERRORS["401"],
            },
        },
    },
    "/api/v1/surveys": {
        "get": {
            "summary": "The survey definitions in force, with every question id, type and range",
            "responses": {
                "200": _json({"type": "object", "properties": {"surveys": {"type": "array"}}}, "The surveys."),
                "401": _ERRORS["401"],
            },
        }
    },
    "/api/v1/responses/{token}": {
        "post": {
            "summary": "Answer a survey link (customer or pulse) from an app",
            "description": "No API key: the link token is the key. Retrying with the same "
            "submission_id returns the original 201 body.",
            "security": [],
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": _STR}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Submission")}}},
            "responses": {
                "201": _json(_ref("Received"), "Stored (or a retry of a stored submission)."),
                "400": _ERROR,
                "403": _json(_ref("Error"), "The pulse wave of this link is not open yet."),
                "404": _json(_ref("Error"), "Unknown link."),
                "409": _json(_ref("Error"), "The link has been answered already."),
                "410": _json(_ref("Error"), "The link has expired or its wave is closed."),
                "422": _json(
                    {"type": "object", "properties": {"errors": {"type": "object", "additionalProperties": _STR}}},
                    "Invalid answers: a message per question id.",
                ),
            },
        }
    },
}
