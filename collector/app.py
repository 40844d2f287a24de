"""The collector: a Starlette app that hands out survey links and takes answers.

Routes come from one module per concern; this module only assembles them,
opens the database in the lifespan and puts the guards in front.
Middleware, outermost first: the access log, gzip, the address guard and the
unknown-link limit. The JSON API is one `Mount("/api/v1", ...)` whose own
middleware is the API key guard with its audit (collector.access), and inside
it the error handlers, so the audit sees each refusal's status. Errors are
mapped to answers in `collector.faults` (and `collector.errors` for the API).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from tortoise.contrib.starlette import RegisterTortoise

from collector import analytics_api, api, followups, forget, openapi, pages, transfer, webhooks_api, worker
from collector.access import ApiKeyMiddleware, LinkLimits
from collector.accesslog import AccessLog
from collector.faults import exception_handlers, unavailable_headers
from collector.guards import AddressGuard
from collector.settings import settings as collector_settings
from models.audit import AuditLog
from models.db import health, tortoise_config
from models.ratelimit import RateLimits

__all__ = ["GZIP_MINIMUM", "create_app", "healthz", "serve_app"]

GZIP_MINIMUM = 1000  # bytes: smaller answers (a submission's 201) are not worth the CPU


async def healthz(request: Request) -> Response:
    """{"status": "ok"} or 503 {"status": "unavailable"}; why goes to the log only."""
    if await health():
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "unavailable"}, status_code=503, headers=unavailable_headers())


@asynccontextmanager
async def _worker_task(config: worker.WorkerConfig | None) -> AsyncIterator[None]:
    """The webhook worker as a background task of the lifespan, stopped with it."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_until(stop, config))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)


def create_app(database_url: str | None = None, *, rate_limits: RateLimits | None = None,
               worker_config: worker.WorkerConfig | None = None, with_worker: bool = False) -> Starlette:
    """The collector on `database_url` (default: settings); failures are counted in
    `rate_limits` (default: RAPPORT_RATE_LIMIT_STORAGE). `with_worker` runs the
    webhook worker (collector.worker) inside it, as `rapport serve` does."""
    config = tortoise_config(database_url)
    limits = rate_limits or RateLimits()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config), limits:
            if with_worker:
                async with _worker_task(worker_config):
                    yield
            else:
                yield

    api_routes = [*api.routes, *transfer.routes, *analytics_api.routes, *forget.routes, *followups.routes,
                  *webhooks_api.routes,
                  Route("/openapi.json", openapi.openapi_json, methods=["GET"])]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            *pages.routes,
            Mount(
                "/api/v1",
                routes=api_routes,
                middleware=[
                    Middleware(ApiKeyMiddleware, routes=api_routes, limits=limits, audit=AuditLog()),
                    Middleware(ExceptionMiddleware, handlers=dict(exception_handlers)),
                ],
            ),
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM),
            Middleware(AddressGuard),
            Middleware(LinkLimits, limits=limits),
        ],
        exception_handlers=dict(exception_handlers),
        lifespan=lifespan,
    )


def serve_app() -> Starlette:
    """The collector as `rapport serve` runs it: with the worker unless RAPPORT_WORKER_IN_SERVE=off."""
    return create_app(with_worker=collector_settings.worker_in_serve)
