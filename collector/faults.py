"""The collector's errors, mapped to answers once (Starlette `exception_handlers`).

Who raises what:

- the database, unreachable or locked past its bound (`models.db.is_unavailable`)
  -> 503 with Retry-After: JSON under /api/, a kind page for people;
- the database refusing a value of the request (`models.db.is_bad_value`)
  -> 400, without the value (it is not echoed to the client nor to the log);
- `collector.errors.ApiError` (a malformed body, a bad parameter, a body past its
  route's limit, ...) and the query layer's refusals -> their JSON error (collector.errors);
- Starlette's 404 and 405 -> JSON under /api/, plain text elsewhere;
- `starlette.requests.ClientDisconnect` -> one log line, no traceback (499 in the access log).

Anything else is a bug: a 500 and a traceback in the log, as before.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from tortoise.exceptions import BaseORMException

from collector.accesslog import route_template
from collector.errors import (
    ERROR_HEADERS,
    ApiError,
    BadRequest,
    ErrorBody,
    api_error,
    http_exception,
    import_error,
    query_layer_error,
)
from models import queries
from models.analytics import OneAttribute
from models.db import is_bad_value, is_unavailable
from models.followup import CaseError, CaseNotFound
from models.forget import NotFoundError
from models.transfer import CsvImportError

__all__ = [
    "RETRY_AFTER",
    "Handler",
    "client_disconnect",
    "database_error",
    "exception_handlers",
    "unavailable_headers",
    "unavailable_response",
]

log = logging.getLogger("rapport.collector")

RETRY_AFTER = 5  # seconds: a PostgreSQL restart or a SQLite lock is usually over by then



def unavailable_headers() -> dict[str, str]:
    return {**ERROR_HEADERS, "Retry-After": str(RETRY_AFTER)}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _describe(exc: BaseException) -> str:
    """The exception's class and, for PostgreSQL, its SQLSTATE: never its message,
    which may quote the request's values."""
    inner = exc.__cause__ or exc
    code = getattr(inner, "sqlstate", None)
    return f"{type(inner).__name__}{f' (SQLSTATE {code})' if code else ''}"


async def database_error(request: Request, exc: Exception) -> Response:
    if is_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, _route(request), _describe(exc))
        return unavailable_response(request)
    if is_bad_value(exc):
        log.info("database refused a value on %s %s: %s", request.method, _route(request), _describe(exc))
        return BadRequest("A value in this request cannot be stored (it holds a character or a number "
                          "the database does not accept).").response()
    raise exc


def unavailable_response(request: Request) -> Response:
    """503 + Retry-After: JSON for the API and /healthz, a kind page for people."""
    if _wants_json(request):
        return JSONResponse(
            ErrorBody(error="The service is briefly unavailable; please retry in a few seconds.",
                      retry_after=RETRY_AFTER),
            status_code=503,
            headers=unavailable_headers(),
        )
    from collector.pages import unavailable_page

    response = unavailable_page(request)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


async def client_disconnect(request: Request, exc: Exception) -> Response:
    log.info("client disconnected during %s %s", request.method, _route(request))
    return Response(status_code=499)


def _route(request: Request) -> str:
    return route_template(request.scope) or "(no route)"


Handler = Callable[[Request, Exception], Awaitable[Response]]

exception_handlers: Mapping[type[Exception], Handler] = {
    BaseORMException: database_error,  # Tortoise's OperationalError, DBConnectionError, DatabaseBusy
    asyncpg.PostgresError: database_error,  # a connection lost mid-query
    asyncpg.InterfaceError: database_error,
    asyncpg.InternalClientError: database_error,
    sqlite3.Error: database_error,
    OSError: database_error,  # connection refused or reset
    TimeoutError: database_error,
    UnicodeEncodeError: database_error,
    OverflowError: database_error,
    ApiError: api_error,
    queries.Invalid: query_layer_error,
    queries.NotFound: query_layer_error,
    queries.Conflict: query_layer_error,
    NotFoundError: query_layer_error,
    OneAttribute: query_layer_error,
    CaseError: query_layer_error,
    CaseNotFound: query_layer_error,
    HTTPException: http_exception,
    CsvImportError: import_error,
    ClientDisconnect: client_disconnect,
}
