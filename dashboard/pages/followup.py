"""Follow-up: recent unhappy customers (NPS 0–6 or CSAT 1–2), to close the loop."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.dash_table.DataTable import DataTable

from dashboard import data
from dashboard.components import card, notice, page_head
from dashboard.figures import FONT
from models.followup import Detractor

__all__ = [
    "COLUMNS",
    "HANDLED_CHOICES",
    "followup_mark",
    "followup_view",
    "layout",
    "render_table",
    "rows_of",
]

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
    Output("followup-rows", "active_cell"),
    Input("followup-rows", "active_cell"),
    State("followup-marked", "data"),
    prevent_initial_call=True,
)
def followup_mark(cell: dict[str, Any] | None, marked: int | None) -> tuple[Any, Any, None]:
    """A click on a row's action cell: mark handled (by the signed-in user, now) or reopen."""
    if not cell or cell.get("column_id") != "action" or cell.get("row_id") is None:
        return no_update, no_update, None
    response_id, _, to = str(cell["row_id"]).partition(":")
    handled = to == "done"
    if not data.mark_detractor(data.current_runner(), response_id=int(response_id), handled=handled,
                               by=data.current_user()):
        return no_update, "That response is no longer a detractor.", None
    return (marked or 0) + 1, "Marked handled." if handled else "Moved back to the to-do list.", None


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


COLUMNS: list[Any] = [  # DataTable's column specs
    {"id": "submitted", "name": "Submitted"},
    {"id": "job", "name": "Job"},
    {"id": "contractor", "name": "Contractor"},
    {"id": "csat", "name": "CSAT", "type": "numeric"},
    {"id": "nps", "name": "NPS", "type": "numeric"},
    {"id": "comment", "name": "Comment"},
    {"id": "status", "name": "Status"},
    {"id": "action", "name": ""},
]


def rows_of(detractors: list[Detractor]) -> list[dict[str, Any]]:
    """One table row per detractor; `id` says which response and what its button does."""
    return [
        {
            "id": f"{d.response_id}:{'open' if d.handled else 'done'}",
            "submitted": f"{d.submitted_at:%d %b, %H:%M}",
            "job": f"{d.job_external_id} · {d.service_type}",
            "contractor": f"{d.contractor_name} ({d.contractor_external_id}, {d.region})",
            "csat": d.csat,
            "nps": d.nps,
            "comment": d.comment or "–",
            "status": (f"handled by {d.handled_by or '?'}, {d.handled_at:%d %b %H:%M}" if d.handled_at
                       else "to do"),
            "action": "Reopen" if d.handled else "Mark handled",
        }
        for d in detractors
    ]


def render_table(rows: list[Detractor], *, show: str, filters: data.Filters) -> Any:
    period = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
    if not rows:
        what = {"open": "No unhandled detractors", "done": "Nothing handled yet",
                "all": "No detractors"}.get(show, "No detractors")
        return notice(f"{what} in {period}.",
                      "A detractor is a customer who answered NPS 0–6 or CSAT 1–2. Widen the period or "
                      "clear a filter to see more.", id="followup-empty")
    more = f" (the newest {data.DETRACTOR_ROWS})" if len(rows) >= data.DETRACTOR_ROWS else ""
    return html.Div([
        html.P(f"{len(rows)} customer{'s' if len(rows) != 1 else ''} in {period}{more}. "
               "Red: the answer that makes them a detractor.", className="card-sub"),
        DataTable(
            id="followup-rows",
            columns=COLUMNS,
            data=list[Any](rows_of(rows)),
            page_size=20,
            style_as_list_view=True,
            cell_selectable=True,
            style_table={"overflowX": "auto"},
            style_header={"backgroundColor": "#fafbfc", "color": "#52606d", "fontWeight": 600,
                          "fontSize": "12px", "textTransform": "uppercase", "borderBottom": "1px solid #d9e2ec"},
            style_cell={"fontFamily": FONT, "fontSize": "14px", "padding": "8px 10px", "textAlign": "left",
                        "whiteSpace": "normal", "height": "auto", "border": "none",
                        "borderBottom": "1px solid #d9e2ec", "color": "#1f2933"},
            style_cell_conditional=[
                {"if": {"column_id": "comment"}, "minWidth": "260px", "maxWidth": "420px"},
                {"if": {"column_id": ["csat", "nps"]}, "textAlign": "right", "width": "56px"},
                {"if": {"column_id": "action"}, "width": "150px", "minWidth": "150px", "textAlign": "center"},
                {"if": {"column_id": "submitted"}, "color": "#52606d", "width": "110px", "whiteSpace": "nowrap"},
            ],
            style_data_conditional=[
                {"if": {"column_id": "action"}, "backgroundColor": "#1f4e79", "color": "white",
                 "fontWeight": 600, "cursor": "pointer", "boxShadow": "inset 0 0 0 7px white",
                 "borderRadius": "12px"},
                {"if": {"column_id": "action", "filter_query": '{action} = "Reopen"'},
                 "backgroundColor": "#e6eef6", "color": "#1f4e79"},
                {"if": {"column_id": "csat", "filter_query": "{csat} <= 2"}, "color": "#b42318", "fontWeight": 700},
                {"if": {"column_id": "nps", "filter_query": "{nps} <= 6"}, "color": "#b42318", "fontWeight": 700},
                {"if": {"column_id": "status", "filter_query": '{status} = "to do"'}, "color": "#b54708"},
                {"if": {"state": "active"}, "border": "none", "backgroundColor": "inherit"},
            ],
            css=[{"selector": ".dash-spreadsheet td.focused", "rule": "background-color: inherit !important;"}],
        ),
    ])
