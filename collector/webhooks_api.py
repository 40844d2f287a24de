"""Webhook endpoints over the API: `/api/v1/webhooks` (list, create, delete, the
deliveries of one, replay), behind the API key like the rest of /api/v1.

The signing secret is in the answer to the POST that creates the endpoint,
and nowhere after. docs/webhooks.md describes the events and the signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.guards import ADMIN_LIMIT, BadInput, BodyLimit, parse_json
from models import outbox, webhooks

__all__ = ["OPENAPI_PATHS", "routes"]


def _object(raw: bytes) -> dict[str, Any]:
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise BadInput("body", "the body must be a JSON object")
    return body


def _not_found(endpoint_id: object) -> Response:
    return JSONResponse({"error": f"no webhook {endpoint_id}"}, status_code=404)


def _id(request: Request) -> int | None:
    """The endpoint id of the path, None when it is not a whole number (a 404)."""
    text = request.path_params["id"]
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


async def _exists(endpoint_id: int) -> bool:
    return any(e.id == endpoint_id for e in await webhooks.list_endpoints())


async def list_webhooks(request: Request) -> Response:
    return JSONResponse({"webhooks": [e.as_dict() for e in await webhooks.list_endpoints()]})


async def create_webhook(request: Request) -> Response:
    body = _object(await request.body())
    url, events = body.get("url"), body.get("events")
    if not isinstance(url, str):
        raise BadInput("url", "url is required: the http:// or https:// address events are POSTed to")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise BadInput("events", "events is required: a list of event names")
    try:
        endpoint, secret = await webhooks.add_endpoint(url=url, events=events)
    except outbox.UnknownEvent as problem:
        raise BadInput("events", str(problem)) from None
    except ValueError as problem:
        raise BadInput("url", str(problem)) from None
    return JSONResponse({**endpoint.as_dict(), "secret": secret}, status_code=201)


async def delete_webhook(request: Request) -> Response:
    endpoint_id = _id(request)
    if endpoint_id is None or not await webhooks.remove_endpoint(endpoint_id=endpoint_id):
        return _not_found(request.path_params["id"])
    return Response(status_code=204)


def _status(value: str | None, *, default: str | None) -> webhooks.Status | None:
    value = value or default
    if value in (None, "all"):
        return None
    if value not in webhooks.STATUSES:
        raise BadInput("status", f"status must be one of {', '.join(webhooks.STATUSES)} or all")
    return cast(webhooks.Status, value)


async def list_deliveries(request: Request) -> Response:
    endpoint_id = _id(request)
    if endpoint_id is None or not await _exists(endpoint_id):
        return _not_found(request.path_params["id"])
    status = _status(request.query_params.get("status"), default="all")
    try:
        limit = min(max(int(request.query_params.get("limit", "100")), 1), 1000)
    except ValueError:
        raise BadInput("limit", "limit must be a whole number") from None
    rows = await webhooks.deliveries(endpoint_id=endpoint_id, status=status, limit=limit)
    return JSONResponse({"deliveries": [d.as_dict() for d in rows]})


async def replay_webhook(request: Request) -> Response:
    endpoint_id = _id(request)
    body = _object(await request.body())
    if endpoint_id is None or not await _exists(endpoint_id):
        return _not_found(request.path_params["id"])
    event_ids = body.get("event_ids") or []
    if not isinstance(event_ids, list) or not all(isinstance(e, str) for e in event_ids):
        raise BadInput("event_ids", "event_ids must be a list of event ids")
    since = body.get("since")
    try:
        since_at = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        raise BadInput("since", "since must be an ISO 8601 date or instant") from None
    if since_at is not None and since_at.tzinfo is None:
        raise BadInput("since", "since needs a time zone (2026-11-01T00:00:00Z)")
    status = _status(body.get("status"), default="failed")
    queued = await webhooks.replay(endpoint_id=endpoint_id, event_ids=event_ids, status=status, since=since_at)
    return JSONResponse({"queued": queued})


_ADMIN = [Middleware(BodyLimit, limit=ADMIN_LIMIT)]

routes: list[BaseRoute] = [
    Route("/api/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks", create_webhook, methods=["POST"], middleware=_ADMIN),
    Route("/api/v1/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{id}/deliveries", list_deliveries, methods=["GET"]),
    Route("/api/v1/webhooks/{id}/replay", replay_webhook, methods=["POST"], middleware=_ADMIN),
]

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ENDPOINT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "url": {"type": "string"}, "events": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"}, "pending": {"type": "integer"},
        "failed": {"type": "integer"}, "delivered": {"type": "integer"},
    },
}
_NOT_FOUND = {"description": "No webhook has this id.", "content": _ERROR}
_BAD = {"description": "A field cannot be used; `field` names it.", "content": _ERROR}
_STATUS = {"type": "string", "enum": [*webhooks.STATUSES, "all"]}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/webhooks": {
        "get": {
            "summary": "List webhook endpoints (never their secrets)",
            "responses": {"200": {"description": "The endpoints with their events counted by status.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object",
                                      "properties": {"webhooks": {"type": "array", "items": _ENDPOINT}}}}}}},
        },
        "post": {
            "summary": "Add a webhook endpoint; the answer carries its signing secret, shown this once",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["url", "events"],
                "properties": {"url": {"type": "string"},
                               "events": {"type": "array", "items": {"type": "string"},
                                          "description": f"{', '.join(outbox.EVENTS)}, alert.<name> or "
                                          f"{outbox.ALERT_ALL}"}}}}}},
            "responses": {"201": {"description": "Added.", "content": {"application/json": {"schema": {
                "allOf": [_ENDPOINT, {"type": "object", "properties": {"secret": {"type": "string"}}}]}}}},
                "400": _BAD},
        },
    },
    "/api/v1/webhooks/{id}": {
        "delete": {"summary": "Remove a webhook endpoint and its queue", "parameters": [_ID],
                   "responses": {"204": {"description": "Removed."}, "404": _NOT_FOUND}},
    },
    "/api/v1/webhooks/{id}/deliveries": {
        "get": {
            "summary": "The events of an endpoint and their delivery state, newest first",
            "parameters": [_ID, {"name": "status", "in": "query", "schema": _STATUS},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": 1000}}],
            "responses": {"200": {"description": "The deliveries.", "content": {"application/json": {}}},
                          "400": _BAD, "404": _NOT_FOUND},
        }
    },
    "/api/v1/webhooks/{id}/replay": {
        "post": {
            "summary": "Send events again, in their order (default: the failed ones)",
            "parameters": [_ID],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"event_ids": {"type": "array", "items": {"type": "string"}},
                               "status": _STATUS, "since": {"type": "string", "format": "date-time"}}}}}},
            "responses": {"200": {"description": "How many events were queued again.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "properties": {"queued": {"type": "integer"}}}}}},
                          "400": _BAD, "404": _NOT_FOUND},
        }
    },
}
