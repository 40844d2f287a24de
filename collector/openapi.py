"""The OpenAPI 3.1 document of /api/v1, assembled from each routes module's OPENAPI_PATHS.

Each module that adds /api/v1 routes exports `OPENAPI_PATHS` (and, if it
needs shared schemas, `OPENAPI_SCHEMAS`); this module merges whatever is there.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector import analytics_api, api, followups, forget, transfer, webhooks_api

__all__ = ["OPENAPI_PATHS", "document", "routes"]

SOURCES: tuple[ModuleType, ...] = (api, transfer, analytics_api, forget, webhooks_api, followups)

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {"application/json": {}}}},
        }
    }
}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for source in (*SOURCES, None):
        found = OPENAPI_PATHS if source is None else getattr(source, "OPENAPI_PATHS", {})
        for path, operations in found.items():
            paths.setdefault(path, {}).update(operations)
        if source is not None:
            schemas.update(getattr(source, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rapport collector API",
            "version": "1",
            "description": "Survey links out, answers in. Every call needs "
            "`Authorization: Bearer <key>` (create one with `rapport apikey create NAME`), "
            "except answering a link and this document. Any call may answer 503 with Retry-After "
            "while the database is unavailable (retry with the same submission_id: it is stored once), "
            "413 when its body is larger than the route accepts (a survey answer 32 KB, other JSON 1 MB, "
            "a CSV import 32 MB) and 400 naming the field for a NUL character, an unpaired surrogate, "
            "JSON nested more than 8 levels, a repeated key or a date outside 1900-2200.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": dict(sorted(paths.items())),
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())


routes: list[BaseRoute] = [Route("/api/v1/openapi.json", openapi_json, methods=["GET"])]
