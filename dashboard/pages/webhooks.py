"""Webhooks: every endpoint the brand registered, its events counted by state, and the
newest deliveries that failed after their retries (issue 11: failed deliveries are
visible). Replaying is done where the brand's engineers work: `rapport webhook replay ID`
or `POST /api/v1/webhooks/{id}/replay`. Never the secrets; never a pulse answer (none is
ever sent).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import casework, data
from dashboard.components import card, notice, page_head, table
from models.webhooks import Delivery, Endpoint

__all__ = ["layout", "render"]

dash.register_page(__name__, path="/webhooks", name="Webhooks", title="Webhooks · Rapport", order=7)


def layout(**query: Any) -> html.Div:
    endpoints, failed = casework.webhook_deliveries(data.current_runner())
    return render(endpoints, failed)


def render(endpoints: list[Endpoint], failed: list[Delivery]) -> html.Div:
    head = page_head("Webhooks", "What Rapport sends to the brand's systems: each endpoint's events by state, "
                                 "and the deliveries that failed after a day of retries.")
    if not endpoints:
        return html.Div([head, notice("No webhooks yet.", "Add one with `rapport webhook add URL --events …` "
                                      "or POST /api/v1/webhooks.", id="webhooks-none")])
    rows = [html.Tr([html.Td(str(e.id), className="num"), html.Td(e.url), html.Td(", ".join(e.events)),
                     html.Td(f"{e.pending:,}", className="num"),
                     html.Td(f"{e.failed:,}", className="num" + (" late" if e.failed else "")),
                     html.Td(f"{e.delivered:,}", className="num")]) for e in endpoints]
    parts: list[Any] = [head, card(table([("Id", "num"), "URL", "Events", ("Waiting", "num"), ("Failed", "num"),
                                          ("Delivered", "num")], rows, id="webhooks-endpoints"),
                                   title="Endpoints")]
    if failed:
        failed_rows = [html.Tr([html.Td(str(d.endpoint_id), className="num"), html.Td(d.event), html.Td(d.event_id),
                                html.Td(f"{d.created_at:%Y-%m-%d %H:%M} UTC"),
                                html.Td(str(d.attempts), className="num"),
                                html.Td(str(d.last_status or "–")), html.Td(d.last_error or "")]) for d in failed]
        parts.append(card(table([("Endpoint", "num"), "Event", "Event id", "Created", ("Attempts", "num"),
                                 "Last status", "Last error"], failed_rows, id="webhooks-failed"),
                          title="Failed deliveries",
                          sub="Send them again, with the same event id and body, with `rapport webhook replay "
                              "ENDPOINT_ID` or POST /api/v1/webhooks/{id}/replay."))
    else:
        parts.append(notice("No failed deliveries.", "Every event was delivered or is still being retried.",
                            id="webhooks-no-failures"))
    return html.Div(parts)
