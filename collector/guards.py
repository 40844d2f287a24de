"""Input limits checked before any work: body sizes, hostile text, JSON shape.

- `BodyLimit` (route middleware) refuses a body larger than the route's limit
  with 413: at once from Content-Length, else as soon as the streamed body
  passes the limit, without reading the rest.
- `AddressGuard` (app middleware) refuses a path or query parameter that holds
  a NUL character or an unpaired surrogate with 400 naming the parameter,
  before routing: PostgreSQL cannot store either, and no Rapport name needs them.
- `parse_json` reads a JSON body: bounded depth, no repeated keys, no NUL or
  unpaired surrogate in any string, each refusal naming the field.

The limits are the rules; the README's "Security and privacy" section lists them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.errors import BadParameter, BadRequest, PayloadTooLarge

__all__ = [
    "ADMIN_LIMIT",
    "IMPORT_LIMIT",
    "MAX_JSON_DEPTH",
    "SUBMISSION_LIMIT",
    "AddressGuard",
    "BadInput",
    "BodyLimit",
    "BodyTooLarge",
    "bad_text",
    "parse_json",
]

SUBMISSION_LIMIT = 32 * 1024  # a survey answer: a few hundred bytes, a long comment a few KB
ADMIN_LIMIT = 1024 * 1024  # a contractor, a job, a wave, a list of contractors to invite
IMPORT_LIMIT = 32 * 1024 * 1024  # a CSV import: about 300,000 customer-response lines
MAX_JSON_DEPTH = 8  # Rapport's deepest body is 3 levels (a contractor's attributes go one more)


class BadInput(BadRequest):
    """A value of the body cannot be used; `field` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class BodyTooLarge(PayloadTooLarge):
    """The request body is larger than its route accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than this address accepts ({limit:,} bytes).",
                         headers={"Connection": "close"})
        self.limit = limit


class BodyLimit:
    """Route middleware: at most `limit` bytes of body.

    A Content-Length above the limit is answered 413 before the body is read;
    a body sent without one (chunked) raises BodyTooLarge (an ApiError) from
    `receive` once it passes the limit, which the app's handler answers with 413.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await BodyTooLarge(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


def bad_text(value: str) -> str | None:
    """Why `value` cannot be stored, or None: NUL characters and unpaired surrogates.

    >>> bad_text("Ana"), bad_text("a\\x00b"), bad_text("\\ud800")
    (None, 'must not contain a NUL character', 'must not contain an unpaired surrogate')
    """
    if "\x00" in value:
        return "must not contain a NUL character"
    if not value.isascii() and any("\ud800" <= ch <= "\udfff" for ch in value):
        return "must not contain an unpaired surrogate"
    return None


class AddressGuard:
    """App middleware: a path or query parameter with a NUL or an unpaired
    surrogate is answered 400, naming the parameter, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _address_problem(scope)
            if problem is not None:
                field, message = problem
                await BadParameter(field, f"{field} {message}").response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _address_problem(scope: Scope) -> tuple[str, str] | None:
    why = bad_text(scope.get("path", ""))
    if why is not None:
        return "the address", why
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    # decoded as Starlette decodes it (invalid UTF-8 becomes U+FFFD, never a surrogate)
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="replace"):
        for text in (name, value):
            why = bad_text(text)
            if why is not None:
                return f"query parameter {name!r}", why
    return None


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body, checked: BadInput names what is wrong.

    >>> parse_json(b'{"name": "Ana"}')
    {'name': 'Ana'}
    >>> parse_json(b'{"a": 1, "a": 2}')  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    collector.guards.BadInput: a is given twice
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("body", "the body must be UTF-8 JSON") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise BadInput("body", f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(text, object_pairs_hook=_no_repeats)
    except BadInput:
        raise
    except (ValueError, RecursionError):
        raise BadInput("body", "the body must be a JSON object") from None
    _check_strings(value, "")
    return value


def _depth(text: str) -> int:
    """The deepest nesting of [ and { in `text`, ignoring brackets inside strings
    (a conservative count: a bracket after an escaped quote may count)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadInput(key, f"{key} is given twice")
        found[key] = value
    return found


def _check_strings(value: Any, path: str) -> None:
    if isinstance(value, str):
        why = bad_text(value)
        if why is not None:
            raise BadInput(path or "body", f"{path or 'the body'} {why}")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            why = bad_text(key)
            if why is not None:
                raise BadInput(path or "body", f"a field name in {path or 'the body'} {why}")
            _check_strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}[{index}]")
