"""The collector: a Starlette app that hands out survey links and takes answers.

Routes come from one module per concern; this module only assembles them,
opens the database in the lifespan and guards the admin API with keys.
Middleware, outermost first: the access log, gzip, the address guard, the
API key guard. Errors are mapped to answers in `collector.faults`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.contrib.starlette import RegisterTortoise

from collector import analytics_api, api, openapi, pages, transfer
from collector.accesslog import AccessLog
from collector.faults import exception_handlers, unavailable_headers, unavailable_response
from collector.guards import AddressGuard
from models.db import health, is_unavailable, tortoise_config
from models.keys import find_api_key

__all__ = ["create_app"]

API_PREFIX = "/api/v1/"
PUBLIC_API = ("/api/v1/responses/", "/api/v1/openapi.json")
GZIP_MINIMUM = 1000  # bytes: smaller answers (a submission's 201) are not worth the CPU


class ApiKeyMiddleware:
    """Every /api/v1 call needs `Authorization: Bearer <key>`, except the
    token-keyed response endpoint and the OpenAPI document."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX) or path.startswith(PUBLIC_API):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        try:
            record = await find_api_key(key=key.strip()) if scheme.lower() == "bearer" else None
        except Exception as exc:  # outside the router, so faults' handlers are called here
            if not is_unavailable(exc):
                raise
            await unavailable_response(request)(scope, receive, send)
            return
        if record is None:
            response = JSONResponse(
                {"error": "A valid API key is required: send 'Authorization: Bearer <key>'. "
                          "Create one with 'rapport apikey create NAME'."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = record.name
        await self.app(scope, receive, send)


async def healthz(request: Request) -> Response:
    """{"status": "ok"} or 503 {"status": "unavailable"}; why goes to the log only."""
    if await health():
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "unavailable"}, status_code=503, headers=unavailable_headers())


def create_app(database_url: str | None = None) -> Starlette:
    config = tortoise_config(database_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config):
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            *pages.routes,
            *api.routes,
            *transfer.routes,
            *analytics_api.routes,
            *openapi.routes,
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM),
            Middleware(AddressGuard),
            Middleware(ApiKeyMiddleware),
        ],
        exception_handlers=dict(exception_handlers),
        lifespan=lifespan,
    )
