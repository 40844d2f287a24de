"""Alerts: what the signed-in user subscribed to, and what was raised for them.

Three kinds (models.alerts): a detractor in my regions; the CEI of a segment
dropped by more than X points between closed waves (privacy-gated figures
only); the response rate of an open wave under Y % a day before it closes.
The worker evaluates them; each alert is also sent as a webhook (alert.*).
The header counts the alerts not yet seen.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import casework, data
from dashboard.components import card, notice, page_head
from models.alerts import CEI_GROUPS, KINDS, AlertError, describe

__all__ = [
    "GROUP_LABELS",
    "KIND_LABELS",
    "alerts_act",
    "alerts_view",
    "layout",
]


dash.register_page(__name__, path="/alerts", name="Alerts", title="Alerts · Rapport", order=5)

KIND_LABELS = {
    "detractor": "A detractor in my regions",
    "cei_drop": "CEI of a segment dropped by more than X points between closed waves",
    "response_rate": "Response rate of an open wave under Y % a day before it closes",
}
GROUP_LABELS = {"region": "Region", "service_type": "Service type", "tenure_band": "Tenure band"}


def layout(**query: Any) -> html.Div:
    regions = data.filter_options(data.current_runner()).get("regions", [])
    return html.Div([
        page_head("Alerts", "Be told when something needs you: choose what, and it also goes to the brand's "
                            "systems as a webhook (alert.detractor, alert.cei_drop, alert.response_rate).",
                  html.Button("Mark all as seen", id="alerts-seen", className="button", type="button")),
        html.Div(id="alerts-status", role="status", className="muted"),
        html.P(["Failed webhook deliveries are listed on ",
                dcc.Link("Webhooks", href=dash.get_relative_path("/webhooks"), id="alerts-webhooks-link"), "."],
               className="muted"),
        dcc.Store(id="alerts-query", data=query),
        dcc.Store(id="alerts-changed", data=0),
        html.Div(id="alerts-body"),
        card(
            html.Div(className="case-form", children=[
                html.Div(className="case-field case-field-wide", children=[
                    html.Span("Tell me when", className="control-label"),
                    dcc.RadioItems(id="alerts-kind", value="detractor",
                                   options=[{"label": KIND_LABELS[k], "value": k} for k in KINDS]),
                ]),
                html.Div(className="case-field", children=[
                    html.Span("Regions (detractors)", className="control-label"),
                    dcc.Dropdown(id="alerts-regions", options=regions, multi=True, placeholder="Choose regions",
                                 className="case-dropdown"),
                ]),
                html.Div(className="case-field", children=[
                    html.Span("Segment (CEI drop)", className="control-label"),
                    dcc.RadioItems(id="alerts-group", value="region", inline=True, className="radio-inline",
                                   options=[{"label": GROUP_LABELS[g], "value": g} for g in CEI_GROUPS]),
                ]),
                html.Label(className="case-field", children=[
                    html.Span("X points or Y %", className="control-label"),
                    dcc.Input(id="alerts-threshold", type="number", min=0, max=100, step="any",
                              className="followup-input"),
                ]),
                html.Button("Subscribe", id="alerts-subscribe", className="button button-primary", type="button"),
            ]),
            title="Subscribe", id="alerts-form",
        ),
    ])


@callback(
    Output("alerts-body", "children"),
    Input("alerts-query", "data"),
    Input("alerts-changed", "data"),
)
def alerts_view(_query: dict[str, Any] | None, _changed: int | None) -> Any:
    view = casework.alerts_view(data.current_runner(), username=data.current_user())
    raised = view["alerts"]
    if not raised:
        alert_list: Any = notice("No alerts yet.", "Subscribe below; the worker checks every few minutes.",
                                 id="alerts-empty")
    else:
        alert_list = html.Ul(id="alerts-list", className="case-list", children=[_alert_item(a) for a in raised])
    subscriptions = view["subscriptions"]
    sub_list = html.P("No subscriptions.", className="muted") if not subscriptions else html.Ul(
        id="alerts-subscriptions", className="case-list", children=[
            html.Li(className="case", children=html.Div(className="case-head", children=[
                html.Span(describe(s)),
                html.Button("Remove", id={"type": "alerts-remove", "sub": s.id}, className="button", type="button"),
            ])) for s in subscriptions])
    return html.Div([card(alert_list, title="Your alerts"), card(sub_list, title="Your subscriptions")])


def _alert_item(alert: Any) -> html.Li:
    return html.Li(className="case" if alert.seen else "case case-late", children=html.Div(
        className="case-head", children=[
        html.Strong("seen" if alert.seen else "new", className="tag" if alert.seen else "tag tag-open"),
        html.Span(alert.message),
        html.Span(f"{alert.at:%d %b %H:%M}", className="case-age"),
    ]))


@callback(
    Output("alerts-changed", "data"),
    Output("alerts-status", "children"),
    Input("alerts-subscribe", "n_clicks"),
    Input("alerts-seen", "n_clicks"),
    Input({"type": "alerts-remove", "sub": ALL}, "n_clicks"),
    State("alerts-kind", "value"),
    State("alerts-regions", "value"),
    State("alerts-group", "value"),
    State("alerts-threshold", "value"),
    State("alerts-changed", "data"),
    prevent_initial_call=True,
)
def alerts_act(_subscribe: Any, _seen: Any, _remove: Any, kind: str, regions: list[str] | None, group: str | None,
               threshold: float | None, changed: int | None) -> tuple[Any, Any]:
    """Subscribe, remove a subscription or mark every alert seen, as the signed-in user."""
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update
    run, user, trigger = data.current_runner(), data.current_user(), ctx.triggered_id
    if trigger == "alerts-seen":
        done = casework.mark_alerts_seen(run, username=user)
        message = f"{done} alert{'' if done == 1 else 's'} marked as seen."
    elif trigger == "alerts-subscribe":
        try:
            casework.subscribe_alert(run, username=user, kind=kind, regions=regions if kind == "detractor" else None,
                                 group_by=group if kind == "cei_drop" else None,
                                 threshold=None if kind == "detractor" else threshold)
        except AlertError as problem:
            return no_update, f"Not subscribed: {problem}."
        message = f"Subscribed: {KIND_LABELS[kind]}."
    elif isinstance(trigger, dict):
        casework.unsubscribe_alert(run, username=user, subscription_id=int(trigger["sub"]))
        message = "Subscription removed."
    else:
        return no_update, no_update
    return (changed or 0) + 1, message
