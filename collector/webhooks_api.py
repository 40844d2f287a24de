"""Webhook endpoints over the API: `/api/v1/webhooks` (list, create, delete, the
deliveries of one, replay), behind the API key like the rest of /api/v1.

The signing secret is in the answer to the POST that creates the endpoint,
and nowhere after. docs/webhooks.md describes the events and the signature.
Each route declares its contract (collector.contract); refusals are ApiErrors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import Field
from pydantic_core import core_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from typing_extensions import TypedDict

from collector.contract import Body, FieldType, Query, Reply, by_method, operation, route
from collector.errors import NotFound
from collector.guards import ADMIN_LIMIT, BadInput
from models import outbox, webhooks

__all__ = [
    "Created",
    "Deliveries",
    "DeliveriesQuery",
    "Delivery",
    "Endpoint",
    "Moment",
    "Queued",
    "Replay",
    "StatusOrAll",
    "WebhookIn",
    "Webhooks",
    "create_webhook",
    "delete_webhook",
    "list_deliveries",
    "list_webhooks",
    "replay_webhook",
    "routes",
]

StatusOrAll = Literal[(*outbox.STATUSES, "all")]  # type: ignore[valid-type]  # the statuses are data
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Endpoint(TypedDict):
    id: int
    url: str
    events: list[str]
    created_at: Moment
    pending: int
    failed: int
    delivered: int


class Webhooks(TypedDict):
    webhooks: list[Endpoint]


class Created(Endpoint):
    secret: Annotated[str, Field(description="The signing secret, shown this once.")]


class Delivery(TypedDict):
    id: int
    endpoint: int
    event_id: str
    event: str
    created_at: Moment | None
    status: str
    attempts: int
    next_attempt_at: Moment | None
    last_attempt_at: Moment | None
    last_status: int | None
    last_error: str | None
    delivered_at: Moment | None


class Deliveries(TypedDict):
    deliveries: list[Delivery]


class Queued(TypedDict):
    queued: int


class WebhookIn(Body):
    invalid: ClassVar[dict[str, str]] = {
        "url": "url is required: the http:// or https:// address events are POSTed to",
        "events": "events is required: a list of event names",
    }

    url: Annotated[str, Field(description="The http:// or https:// address events are POSTed to.")]
    events: Annotated[list[str], Field(description=f"{', '.join(outbox.EVENTS)}, alert.<name> or "
                                                   f"{outbox.ALERT_ALL}")]


class _Since(FieldType):
    """An ISO 8601 instant with its time zone."""

    def check(self, value: Any, info: core_schema.ValidationInfo) -> datetime | None:
        if value is None:
            return None
        try:
            since = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            since = None
        if since is None:
            raise BadInput("since", "since must be an ISO 8601 date or instant")
        if since.tzinfo is None:
            raise BadInput("since", "since needs a time zone (2026-11-01T00:00:00Z)")
        return since

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"], "format": "date-time"}


class Replay(Body):
    """Which events to send again: those named, else those of `status` (created since `since`)."""

    invalid: ClassVar[dict[str, str]] = {
        "event_ids": "event_ids must be a list of event ids",
        "status": f"status must be one of {', '.join(outbox.STATUSES)} or all",
    }

    event_ids: list[str] | None = None
    status: StatusOrAll | None = None
    since: Annotated[datetime | None, _Since()] = None


class DeliveriesQuery(Query):
    invalid: ClassVar[dict[str, str]] = {
        "status": f"status must be one of {', '.join(outbox.STATUSES)} or all",
        "limit": "limit must be a whole number",
    }

    status: StatusOrAll | None = None
    limit: Annotated[int, Field(description="At most this many, newest first (at most 1000; below 1 "
                                                                  "counts as 1).")] = 100


def _id(request: Request) -> int:
    """The endpoint id of the path; one that is not a whole number is no webhook (a 404)."""
    text = request.path_params["id"]
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise NotFound(f"no webhook {text}")
    return int(text)


async def _existing(request: Request) -> int:
    endpoint_id = _id(request)
    if not any(e.id == endpoint_id for e in await webhooks.list_endpoints()):
        raise NotFound(f"no webhook {endpoint_id}")
    return endpoint_id


def _status(value: str | None, default: str) -> webhooks.Status | None:
    value = value or default
    return None if value == "all" else cast(webhooks.Status, value)


_NO_WEBHOOK = {404: "No webhook has this id."}


@operation(summary="List webhook endpoints (never their secrets)",
           responses={200: Reply("The endpoints with their events counted by status.", Webhooks)})
async def list_webhooks(request: Request) -> Response:
    return JSONResponse({"webhooks": [e.as_dict() for e in await webhooks.list_endpoints()]})


@operation(summary="Add a webhook endpoint; the answer carries its signing secret, shown this once",
           body=WebhookIn, body_limit=ADMIN_LIMIT, responses={201: Reply("Added.", Created)})
async def create_webhook(request: Request, body: WebhookIn) -> Response:
    try:
        endpoint, secret = await webhooks.add_endpoint(url=body.url, events=body.events)
    except outbox.UnknownEvent as problem:
        raise BadInput("events", str(problem)) from None
    except ValueError as problem:
        raise BadInput("url", str(problem)) from None
    return JSONResponse({**endpoint.as_dict(), "secret": secret}, status_code=201)


@operation(summary="Remove a webhook endpoint and its queue", responses={204: Reply("Removed.")},
           errors=_NO_WEBHOOK)
async def delete_webhook(request: Request) -> Response:
    endpoint_id = _id(request)
    if not await webhooks.remove_endpoint(endpoint_id=endpoint_id):
        raise NotFound(f"no webhook {request.path_params['id']}")
    return Response(status_code=204)


@operation(summary="The events of an endpoint and their delivery state, newest first", query=DeliveriesQuery,
           responses={200: Reply("The deliveries.", Deliveries)}, errors=_NO_WEBHOOK)
async def list_deliveries(request: Request, query: DeliveriesQuery) -> Response:
    endpoint_id = await _existing(request)
    rows = await webhooks.deliveries(endpoint_id=endpoint_id, status=_status(query.status, "all"),
                                     limit=min(max(query.limit, 1), 1000))
    return JSONResponse({"deliveries": [d.as_dict() for d in rows]})


@operation(summary="Send events again, in their order (default: the failed ones)", body=Replay,
           body_required=False, body_limit=ADMIN_LIMIT,
           responses={200: Reply("How many events were queued again.", Queued)}, errors=_NO_WEBHOOK)
async def replay_webhook(request: Request, body: Replay) -> Response:
    endpoint_id = await _existing(request)
    queued = await webhooks.replay(endpoint_id=endpoint_id, event_ids=body.event_ids or [],
                                   status=_status(body.status, "failed"), since=body.since)
    return JSONResponse(Queued(queued=queued))


routes: list[BaseRoute] = [
    route("/webhooks", by_method(get=list_webhooks, post=create_webhook), methods=["GET", "POST"]),
    route("/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    route("/webhooks/{id}/deliveries", list_deliveries, methods=["GET"]),
    route("/webhooks/{id}/replay", replay_webhook, methods=["POST"]),
]
