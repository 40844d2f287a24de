"""The dashboard's Webhooks page: endpoints with their events by state, and failed
deliveries listed (issue 11: failed deliveries are visible), never the secret."""

from __future__ import annotations

from typing import Any

from dashboard import casework, data
from models.entities import WebhookDelivery
from models.webhooks import add_endpoint
from tests.dashboard.test_data import _text, loop_thread, world_run  # noqa: F401 (fixtures)


def _page() -> Any:
    from dashboard.app import create_dash_app

    create_dash_app()  # registers the pages
    from dashboard.pages import webhooks

    return webhooks


def test_failed_deliveries_are_listed_and_the_secret_is_not(world_run: data.Runner) -> None:  # noqa: F811
    page = _page()
    endpoints, failed = casework.webhook_deliveries(world_run)
    assert "No webhooks yet." in _text(page.render(endpoints, failed))

    async def one_failed() -> str:
        endpoint, secret = await add_endpoint(url="https://brand.example/hook", events=["customer_response.created"])
        from models import outbox

        await outbox.emit("customer_response.created", {"job": "J-1"})
        await outbox.emit("customer_response.created", {"job": "J-2"})
        first = await WebhookDelivery.filter(endpoint_id=endpoint.id).order_by("id").first()
        assert first is not None
        await WebhookDelivery.filter(id=first.id).update(status="failed", attempts=9, last_status=503,
                                                         last_error="HTTP 503 from the receiver")
        return secret

    secret = world_run(one_failed())
    endpoints, failed = casework.webhook_deliveries(world_run)
    assert [(e.pending, e.failed, e.delivered) for e in endpoints] == [(1, 1, 0)]
    assert [d.last_status for d in failed] == [503]
    text = _text(page.render(endpoints, failed))
    assert "https://brand.example/hook" in text and "Failed deliveries" in text
    assert "HTTP 503 from the receiver" in text and "rapport webhook replay" in text
    assert secret not in text
