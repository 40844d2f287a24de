"""Drivers: which dimensions matter most for customer satisfaction, beside how they score."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import data
from dashboard.components import card, fmt, graph, hidden_cell, notice, page_head, table
from dashboard.figures import drivers_figure
from models.settings import settings

__all__ = ["drivers_view", "layout", "ordered", "render"]

dash.register_page(__name__, path="/drivers", name="Drivers", title="Drivers · Rapport", order=2)


def layout(**query: Any) -> html.Div:
    """The view for the address's filters, drawn in the page's own request (no second callback)."""
    return html.Div([
        page_head("Drivers", "Which dimensions are associated with customer satisfaction, how sure that is, "
                             "and how contractors rate each today."),
        html.Div(drivers_view(query), id="drivers-body"),
    ])


def drivers_view(query: dict[str, Any]) -> Any:
    """The body for a query string's filters."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    report = data.drivers_view(run, filters)
    return render(report, data.dimension_levers(), report.get("reading"))


def render(report: dict[str, Any], levers: list[dict[str, str]], reading: list[str] | None = None) -> Any:
    drivers = report["linkage"].get("drivers")
    index = report["index"]["overall"]
    if not drivers or not drivers.get("dimensions"):
        return notice("Not enough contractors to rank the drivers.",
                      f"Ranking needs at least {settings.min_group} contractors (and ideally 85 or more) with pulse "
                      "answers in the period and customer answers for their jobs. Widen the period or clear a "
                      "filter.", id="drivers-empty")
    by_id = {d["id"]: d for d in levers}
    ranked = ordered(drivers["dimensions"], levers)
    tiers = drivers.get("tiers") or [[d["id"] for d in ranked]]
    tier_size = {i + 1: len(t) for i, t in enumerate(tiers)}
    figure = drivers_figure(
        [{**d, "label": d.get("label") or by_id.get(d["id"], {}).get("label", d["id"])} for d in ranked],
        title="Relative importance for CSAT", r_squared=drivers.get("r_squared"))
    rows = []
    for d in ranked:
        dim = (index.get("dimensions") or {}).get(d["id"], {})
        lever = by_id.get(d["id"], {})
        score_cells: list[Any]
        if index.get("suppressed") or dim.get("score") is None:
            # hidden for the whole selection, or for this dimension alone (scored by too few)
            score_cells = [hidden_cell(settings.min_group), html.Td("", className="num")]
        else:
            score_cells = [
                html.Td([html.Div(fmt(dim["score"], "{:.0f}")),
                         html.Div(_margin(dim.get("score_ci")), className="muted ci")], className="num"),
                html.Td(fmt(dim.get("favourable_pct"), "{:.0f} %"), className="num"),
            ]
        reliability = ""
        if dim.get("reliability_low"):
            reliability = f"reliability {fmt(dim.get('reliability'), '{:.2f}')} (< 0.70: read with care)"
        rows.append(html.Tr([
            html.Td(_tier_label(d.get("tier") or 1, tier_size.get(d.get("tier") or 1, 1)), className="num muted"),
            html.Td([html.Div(lever.get("label") or d.get("label") or d["id"], style={"fontWeight": 600}),
                     html.Div(lever.get("levers", ""), className="levers"),
                     html.Div(reliability, className="levers", style={"color": "#b54708"}) if reliability else None]),
            html.Td(className="num", children=[
                html.Div(fmt(d.get("share"), "{:.0f} %")),
                html.Div(_range(d.get("share_ci"), "{:.0f}–{:.0f} %"), className="muted ci"),
                html.Div(className="bar", children=html.Span(style={"width": f"{d.get('share') or 0:.0f}%"})),
            ]),
            html.Td(className="num", children=[
                html.Div(fmt(d.get("r"), "{:+.2f}")),
                html.Div(_range({"low": d.get("r_ci_low"), "high": d.get("r_ci_high")}, "{:+.2f} to {:+.2f}"),
                         className="muted ci"),
            ]),
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
                html.P((reading or ["Importance could not be set beside its uncertainty for this selection."])[0],
                       className="headline", style={"fontSize": "1rem"}, id="drivers-headline"),
                *[html.P(sentence, className="reading") for sentence in (reading or [])[1:]],
                html.P("Importance says which dimensions go together with CSAT in this data, not that changing "
                       "one will change CSAT.", className="caveat"),
                title="How to read this", id="drivers-reading",
            ),
        ]),
        card(table([("Group", "num"), "Dimension and what it stands for", ("Importance (95 % CI)", "num"),
                    ("r with CSAT (95 % CI)", "num"), ("Score (0–100)", "num"), ("Favourable", "num")],
                   rows, id="drivers-table"),
             title="Dimensions by importance for CSAT",
             sub="Group: dimensions in one group cannot be told apart (\"1=\" shares first place); within a "
                 "group they are in the survey's order. Score: contractors' mean, rescaled 0–100, ± its margin "
                 "of error. Favourable: share answering 4–5."),
    ]


def ordered(dimensions: list[dict[str, Any]], levers: list[dict[str, str]]) -> list[dict[str, Any]]:
    """By group (tier), and within one in the survey's order: dimensions that cannot be
    told apart get no rank between them that the data do not support."""
    order = [d["id"] for d in levers]
    return sorted(dimensions, key=lambda d: (d.get("tier") or 1, order.index(d["id"]) if d["id"] in order else 99))


def _tier_label(tier: int, size: int) -> str:
    """'1' for a tier of one, '1=' for a tier shared by several dimensions."""
    return f"{tier}=" if size > 1 else str(tier)


def _range(ci: dict[str, Any] | None, pattern: str) -> str:
    if not ci or ci.get("low") is None or ci.get("high") is None:
        return ""
    return pattern.format(ci["low"], ci["high"]).replace("-", "−")


def _margin(ci: dict[str, Any] | None) -> str:
    return "" if not ci or ci.get("margin") is None else f"± {ci['margin']:.1f}"
