"""Follow-up: recent unhappy customers (NPS 0–6 or CSAT 1–2), to close the loop."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import data
from dashboard.components import card, fmt, notice, page_head, table
from models.followup import Detractor

dash.register_page(__name__, path="/followup", name="Follow-up", title="Follow-up · Rapport", order=4)

HANDLED_CHOICES = [
    {"label": "To do", "value": "open"},
    {"label": "Handled", "value": "done"},
    {"label": "All", "value": "all"},
]


def layout(**query: Any) -> html.Div:
    show = query.get("show") if query.get("show") in ("open", "done", "all") else "open"
    return html.Div([
        page_head(
            "Follow-up",
            "Customers who answered NPS 0–6 or CSAT 1–2 in the period: reach out, then mark them handled.",
            html.Div(className="controls", children=[
                html.Span("Show", className="control-label"),
                dcc.RadioItems(id="followup-show", options=HANDLED_CHOICES, value=show, inline=True,
                               className="radio-inline"),
            ]),
        ),
        dcc.Store(id="followup-query", data=query),
        dcc.Store(id="followup-marked", data=0),
        html.Div(id="followup-status", className="muted", role="status"),
        dcc.Loading(card(html.Div(id="followup-table")), type="dot", delay_show=300),
    ])


@callback(
    Output("followup-marked", "data"),
    Output("followup-status", "children"),
    Input({"type": "followup-mark", "response": ALL, "to": ALL}, "n_clicks"),
    State("followup-marked", "data"),
    prevent_initial_call=True,
)
def followup_mark(clicks: list[int | None], marked: int | None) -> tuple[Any, Any]:
    """A row's button: mark handled (by the signed-in user, now) or reopen.

    Separate from the table's callback: new rows' buttons appearing must not
    count as clicks (their n_clicks is 0)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks) or not ctx.triggered[0]["value"]:
        return no_update, no_update
    handled = trigger["to"] == "done"
    if not data.mark_detractor(data.current_runner(), response_id=int(trigger["response"]), handled=handled,
                               by=data.current_user()):
        return no_update, "That response is no longer a detractor."
    return (marked or 0) + 1, "Marked handled." if handled else "Moved back to the to-do list."


@callback(
    Output("followup-table", "children"),
    Input("followup-query", "data"),
    Input("followup-show", "value"),
    Input("followup-marked", "data"),
)
def followup_view(query: dict[str, Any] | None, show: str, _marked: int | None) -> Any:
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    handled_filter = {"open": False, "done": True}.get(show)
    return render_table(data.detractors(run, filters, handled=handled_filter), show=show, filters=filters)


def render_table(rows: list[Detractor], *, show: str, filters: data.Filters) -> Any:
    period = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
    if not rows:
        what = {"open": "No unhandled detractors", "done": "Nothing handled yet",
                "all": "No detractors"}.get(show, "No detractors")
        return notice(f"{what} in {period}.",
                      "A detractor is a customer who answered NPS 0–6 or CSAT 1–2. Widen the period or "
                      "clear a filter to see more.", id="followup-empty")
    body = [
        html.Tr(id=f"followup-row-{row.response_id}", children=[
            html.Td(f"{row.submitted_at:%d %b %Y}", className="muted"),
            html.Td([html.Div(row.job_external_id), html.Div(row.service_type, className="muted")]),
            html.Td([html.Div(row.contractor_name),
                     html.Div(f"{row.contractor_external_id} · {row.region}", className="muted")]),
            html.Td(_score_tag("CSAT", row.csat, bad=row.csat is not None and row.csat <= 2), className="num"),
            html.Td(_score_tag("NPS", row.nps, bad=row.nps is not None and row.nps <= 6), className="num"),
            html.Td(row.comment or html.Span("no comment", className="muted"), className="comment"),
            html.Td(_handled_cell(row)),
        ])
        for row in rows
    ]
    more = f" (the newest {data.DETRACTOR_ROWS})" if len(rows) >= data.DETRACTOR_ROWS else ""
    return html.Div([
        html.P(f"{len(rows)} customer{'s' if len(rows) != 1 else ''} in {period}{more}.", className="card-sub"),
        table(["Submitted", "Job", "Contractor", ("CSAT", "num"), ("NPS", "num"), "Comment", "Status"], body,
              id="followup-rows"),
    ])


def _score_tag(label: str, value: int | None, *, bad: bool) -> Any:
    if value is None:
        return html.Span("–", className="muted", title=f"{label} not answered")
    return html.Span(fmt(value, "{:.0f}"), className="tag tag-bad" if bad else "tag tag-muted")


def _handled_cell(row: Detractor) -> Any:
    if row.handled:
        when = f"{row.handled_at:%d %b %H:%M}" if row.handled_at else ""
        return html.Div([
            html.Span("Handled", className="tag tag-ok"),
            html.Div(f"by {row.handled_by or '?'} · {when}", className="muted"),
            html.Button("Reopen", id={"type": "followup-mark", "response": row.response_id, "to": "open"},
                        className="button", n_clicks=0),
        ])
    return html.Button("Mark handled", id={"type": "followup-mark", "response": row.response_id, "to": "done"},
                       className="button button-primary", n_clicks=0)
