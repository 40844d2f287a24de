"""Drivers: which dimensions matter most for customer satisfaction, beside how they score."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import data
from dashboard.components import card, fmt, graph, hidden_cell, notice, page_head, table
from dashboard.figures import drivers_figure
from models.settings import settings

__all__ = ["drivers_view", "layout", "render"]

dash.register_page(__name__, path="/drivers", name="Drivers", title="Drivers · Rapport", order=2)


def layout(**query: Any) -> html.Div:
    return html.Div([
        page_head("Drivers", "Where to invest: the dimensions ranked by how much they account for customer "
                             "satisfaction, with how contractors rate each today."),
        dcc.Store(id="drivers-query", data=query),
        dcc.Loading(html.Div(id="drivers-body"), type="dot", delay_show=300),
    ])


@callback(Output("drivers-body", "children"), Input("drivers-query", "data"))
def drivers_view(query: dict[str, Any] | None) -> Any:
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    report = data.drivers_view(run, filters)
    return render(report, data.dimension_levers())


def render(report: dict[str, Any], levers: list[dict[str, str]]) -> Any:
    drivers = report["linkage"].get("drivers")
    index = report["index"]["overall"]
    if not drivers or not drivers.get("dimensions"):
        return notice("Not enough contractors to rank the drivers.",
                      f"Ranking needs at least {settings.min_group} contractors (and ideally 85 or more) with pulse "
                      "answers in the period and customer answers for their jobs. Widen the period or clear a "
                      "filter.", id="drivers-empty")
    by_id = {d["id"]: d for d in levers}
    ranked = sorted(drivers["dimensions"], key=lambda d: -(d.get("share") or 0))
    figure = drivers_figure(
        [{**d, "label": d.get("label") or by_id.get(d["id"], {}).get("label", d["id"])} for d in ranked],
        title="Relative importance for CSAT", r_squared=drivers.get("r_squared"))
    rows = []
    for rank, d in enumerate(ranked, start=1):
        dim = (index.get("dimensions") or {}).get(d["id"], {})
        lever = by_id.get(d["id"], {})
        score_cells: list[Any]
        if index.get("suppressed") or dim.get("score") is None:
            # hidden for the whole selection, or for this dimension alone (scored by too few)
            score_cells = [hidden_cell(settings.min_group), html.Td("", className="num")]
        else:
            score_cells = [
                html.Td(fmt(dim["score"], "{:.0f}"), className="num"),
                html.Td(fmt(dim.get("favourable_pct"), "{:.0f} %"), className="num"),
            ]
        reliability = ""
        if dim.get("reliability_low"):
            reliability = f"reliability {fmt(dim.get('reliability'), '{:.2f}')} (< 0.70: read with care)"
        rows.append(html.Tr([
            html.Td(str(rank), className="num muted"),
            html.Td([html.Div(lever.get("label") or d.get("label") or d["id"], style={"fontWeight": 600}),
                     html.Div(lever.get("levers", ""), className="levers"),
                     html.Div(reliability, className="levers", style={"color": "#b54708"}) if reliability else None]),
            html.Td(className="num", children=[
                html.Div(fmt(d.get("share"), "{:.0f} %")),
                html.Div(className="bar", children=html.Span(style={"width": f"{d.get('share') or 0:.0f}%"})),
            ]),
            html.Td(fmt(d.get("r"), "{:+.2f}"), className="num"),
            *score_cells,
        ]))
    method = drivers.get("method", "relative weights")
    citation = drivers.get("citation", "")
    return [
        html.Div(className="grid grid-2", children=[
            card(graph("drivers-figure", figure),
                 html.P(f"{method}: each dimension's share of the CSAT variance the six dimensions explain "
                        f"together, over {drivers.get('n', 0):,} contractors. {citation}", className="legend")),
            card(
                html.P("Invest first where importance is high and the score is low: that is where a better "
                       "experience for contractors is most associated with happier customers.",
                       className="headline", style={"fontSize": "1rem"}),
                html.P("Importance says which dimensions go together with CSAT in this data, not that changing "
                       "one will change CSAT.", className="caveat"),
                title="How to read this",
            ),
        ]),
        card(table(["#", "Dimension and what it stands for", ("Importance", "num"), ("r with CSAT", "num"),
                    ("Score (0–100)", "num"), ("Favourable", "num")], rows, id="drivers-table"),
             title="Dimensions ranked by importance for CSAT",
             sub="Score: contractors' mean, rescaled 0–100. Favourable: share answering 4–5."),
    ]
