"""Who may call what: API keys, rate limits on failures, and the audit log.

`ApiKeyMiddleware`, the middleware of the `Mount("/api/v1", ...)`, lets a call
through only with a valid key, unless the route it reaches declares itself
public in its contract (collector.contract), and refuses an address that sent
too many wrong keys (429). `LinkLimits` refuses
an address that tried too many unknown survey links (429, a page for people
and JSON for the API). Behind a valid key, every read, export, import and
deletion is written to the audit log, keyed by the route's template (never
its values), so no handler has to remember to do it.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.accesslog import route_template
from collector.contract import contract_of
from collector.errors import TooManyRequests, Unauthorized
from collector.pages import too_many_tries
from models.audit import AuditLog
from models.keys import find_api_key
from models.ratelimit import RateLimits, client_address

__all__ = [
    "API_PREFIX",
    "FEED",
    "LINK_PATHS",
    "ApiKeyMiddleware",
    "LinkLimits",
    "audited",
]

log = logging.getLogger("rapport.audit")

API_PREFIX = "/api/v1/"
LINK_PATHS = ("/s/", "/p/", "/api/v1/responses/")
# The feed a brand's systems send per contractor and per job: writes, and far
# too many to audit one by one. Everything else behind a key is audited.
FEED = frozenset({("POST", "/api/v1/contractors"), ("POST", "/api/v1/jobs")})


def audited(method: str, template: str) -> bool:
    return (method, template) not in FEED and method not in ("HEAD", "OPTIONS")


def _status_watcher(send: Send, seen: list[int]) -> Send:
    async def watch(message: Message) -> None:
        if message["type"] == "http.response.start":
            seen.append(int(message["status"]))
        await send(message)

    return watch


class LinkLimits:
    """Unknown survey links (404s of /s/, /p/ and /api/v1/responses/) count against
    the address that asked; past RAPPORT_LIMIT_UNKNOWN_LINKS it gets 429 for a while."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LINK_PATHS):
            await self.app(scope, receive, send)
            return
        address = client_address(scope.get("client"))
        wait = await self.limits.retry_after("link", address)
        if wait is not None:
            response = (TooManyRequests("Too many unknown survey links from your address.", wait).response()
                        if scope["path"].startswith(API_PREFIX) else too_many_tries(Request(scope), wait))
            await response(scope, receive, send)
            return
        seen: list[int] = []
        await self.app(scope, receive, _status_watcher(send, seen))
        if seen and seen[0] == 404:
            await self.limits.failed("link", address)


class ApiKeyMiddleware:
    """The API mount's middleware: every call needs `Authorization: Bearer <key>`,
    except those whose route's contract is public (answering a link by its
    token, the OpenAPI document). Refusals are ApiErrors, answered by the app's
    handlers like any other; so is a database that cannot be reached."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute], limits: RateLimits, audit: AuditLog) -> None:
        self.app = app
        self.routes = routes  # the mount's
        self.limits = limits
        self.audit = audit

    def public(self, scope: Scope) -> bool:
        """Whether the route this call reaches (or would, with another method) declares itself public."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                contract = contract_of(getattr(route, "endpoint", None), scope["method"])
                return contract is not None and contract.public
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope):
            await self.app(scope, receive, send)
            return
        address = client_address(scope.get("client"))
        wait = await self.limits.retry_after("key", address)
        if wait is not None:  # refused before the lookup: a right guess now would prove nothing
            raise TooManyRequests("Too many wrong API keys from your address.", wait)
        request = Request(scope)
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        record = await find_api_key(key=key.strip()) if scheme.lower() == "bearer" else None
        if record is None:
            await self.limits.failed("key", address)
            raise Unauthorized("A valid API key is required: send 'Authorization: Bearer <key>'. "
                               "Create one with 'rapport apikey create NAME'.",
                               headers={"WWW-Authenticate": "Bearer"})
        scope.setdefault("state", {})["api_key"] = record.name
        seen: list[int] = []
        await self.app(scope, receive, _status_watcher(send, seen))
        template = route_template(scope) or scope["path"]
        if audited(scope["method"], template):
            params: dict[str, Any] = {**dict(request.query_params), **scope.get("path_params", {})}
            try:
                await self.audit.record(actor_kind="api_key", actor=record.name,
                                        action=f"{scope['method']} {template}", params=params,
                                        status=seen[0] if seen else None, client=address)
            except Exception as exc:  # the answer is sent; a lost entry is logged, not raised
                log.warning("audit entry not written (%s) for %s %s", type(exc).__name__, scope["method"], template)
