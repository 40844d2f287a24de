"""The API's one error model: every refusal under /api/v1 is an `ApiError`.

Each error answers ``{"error": "<a sentence a person understands>"}``, plus
``"parameter"`` (a query or path parameter) or ``"field"`` (a part of the
body) when one value is to blame. Handlers and middleware raise; the app's
`exception_handlers` (collector.faults) turn the error into its response, so no
handler catches and formats errors itself. The query layer's own exceptions
(`models.queries.Invalid`, `NotFound`, `Conflict`, `models.forget.NotFoundError`,
`models.analytics.OneAttribute`, `models.followup.CaseError` and `CaseNotFound`) map to the same bodies here, and so do
Starlette's 404 and 405 under /api/ (JSON, the 405 with its ``Allow`` header). A CSV
import's errors keep their own shape (`import_error`): every error of every line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NotRequired

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from typing_extensions import TypedDict

from models import queries
from models.analytics import OneAttribute
from models.followup import CaseError, CaseNotFound
from models.forget import NotFoundError
from models.transfer import CsvImportError

__all__ = [
    "ERROR_HEADERS",
    "ApiError",
    "BadParameter",
    "BadRequest",
    "Conflict",
    "ErrorBody",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "api_error",
    "from_query_layer",
    "http_exception",
    "import_error",
    "query_layer_error",
]

# Headers every error answer carries (the survey pages add their CSP to HTML).
ERROR_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class ErrorBody(TypedDict):
    """What every error of the API answers."""

    error: str
    parameter: NotRequired[str]
    field: NotRequired[str]
    retry_after: NotRequired[int]


class ApiError(Exception):
    """A request the API refuses: `status`, a message, and what is to blame."""

    status = 400

    def __init__(self, message: str, *, parameter: str | None = None, field: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.field = field
        self.headers = dict(headers or {})

    def body(self) -> ErrorBody:
        body = ErrorBody(error=self.message)
        if self.parameter is not None:
            body["parameter"] = self.parameter
        if self.field is not None:
            body["field"] = self.field
        return body

    def response(self) -> Response:
        return JSONResponse(self.body(), status_code=self.status, headers={**ERROR_HEADERS, **self.headers})


class BadRequest(ApiError):
    """400: a value cannot be used; the message names it."""


class BadParameter(BadRequest):
    """400 naming a query or path parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, parameter=parameter)


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(f"{message} Try again in {retry_after} seconds.", headers={"Retry-After": str(retry_after)})


def from_query_layer(exc: Exception) -> ApiError:
    """The ApiError a model-layer exception stands for."""
    if isinstance(exc, OneAttribute):
        return BadParameter(exc.parameter, str(exc))
    if isinstance(exc, queries.Invalid | CaseError):
        return BadRequest(str(exc))
    if isinstance(exc, queries.NotFound | NotFoundError | CaseNotFound):
        return NotFound(str(exc))
    if isinstance(exc, queries.Conflict):
        return Conflict(str(exc))
    raise exc


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def query_layer_error(request: Request, exc: Exception) -> Response:
    return from_query_layer(exc).response()


async def import_error(request: Request, exc: Exception) -> Response:
    """A CSV that cannot be imported: its errors by line and column (400 the whole file, 422 some lines)."""
    assert isinstance(exc, CsvImportError)
    return JSONResponse(exc.as_dict(), status_code=400 if exc.whole_file else 422, headers=ERROR_HEADERS)


_HTTP_MESSAGES = {404: "There is nothing at this address.", 405: "This address does not take {method} requests."}


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405: JSON under /api/, plain text elsewhere (as Starlette answers)."""
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    message = _HTTP_MESSAGES.get(exc.status_code, exc.detail).format(method=request.method)
    error = ApiError(message, headers=exc.headers)
    error.status = exc.status_code
    return error.response()
