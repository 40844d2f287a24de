"""A structured access log: one JSON line per request on the `rapport.access` logger.

Each line holds the method, the route template (`/s/{token}`, never the
token), the status, the duration in milliseconds and the API key's name when
one was used. Never the query string, the body or any header: tokens, answers
and filter values stay out of the log.

    {"method": "POST", "route": "/api/v1/responses/{token}", "status": 201, "ms": 3.1, "key": null}
"""

from __future__ import annotations

import json
import logging
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "access_log", "route_template"]

access_log = logging.getLogger("rapport.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def remember(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(json.dumps({
                    "method": scope["method"],
                    "route": route_template(scope) or "(unmatched)",
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "key": scope.get("state", {}).get("api_key"),
                }))


def route_template(scope: Scope) -> str | None:
    """The matched route's whole path template (`/api/v1/responses/{token}`, its
    mount's prefix included); a static file's mount; else None."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return None
    if isinstance(route, Mount):  # a mount of routes matched none of them; a mounted app answers itself
        return None if route.routes else path
    prefix = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))):]
    return prefix + path
