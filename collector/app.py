"""The collector: a Starlette app that hands out survey links and takes answers.

Routes come from one module per concern; this module only assembles them,
opens the database in the lifespan and puts the guards (collector.guards) in front.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from collector import analytics_api, api, forget, openapi, pages, transfer
from collector.guards import ApiKeyMiddleware, LinkLimits
from models.audit import AuditLog
from models.db import health, tortoise_config
from models.ratelimit import RateLimits

__all__ = ["create_app"]


async def healthz(request: Request) -> Response:
    report = await health()
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


def create_app(database_url: str | None = None, *, rate_limits: RateLimits | None = None) -> Starlette:
    """The collector on `database_url` (default: settings); failures are counted in
    `rate_limits` (default: RAPPORT_RATE_LIMIT_STORAGE)."""
    config = tortoise_config(database_url)
    limits = rate_limits or RateLimits()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config), limits:
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            *pages.routes,
            *api.routes,
            *transfer.routes,
            *analytics_api.routes,
            *forget.routes,
            *openapi.routes,
        ],
        middleware=[
            Middleware(LinkLimits, limits=limits),
            Middleware(ApiKeyMiddleware, limits=limits, audit=AuditLog()),
        ],
        lifespan=lifespan,
    )
