"""Overview: the index and the customer numbers for the period, against the period before."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import data
from dashboard.components import card, graph, notice, page_head
from dashboard.tiles import kpi_tiles, trend_charts, waves_note

__all__ = ["layout", "overview_view", "render"]

dash.register_page(__name__, path="/", name="Overview", title="Overview · Rapport", order=0)


def layout(**query: Any) -> html.Div:
    """The view for the address's filters, drawn in the page's own request: the page
    router's callback answers with the figures, not with a second callback to wait for."""
    body, period = overview_view(query)
    return html.Div([
        page_head("Overview", "How connected and empowered contractors feel, and what customers experience.",
                  html.Div(period, id="overview-period", className="muted")),
        html.Div(body, id="overview-body"),
    ])


def overview_view(query: dict[str, Any]) -> tuple[Any, str]:
    """The body and the period line for a query string's filters."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    report = data.overview_view(run, filters)
    previous = report["index_previous"]["window"]
    period = (f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}, compared with the {filters.comparison_label} "
              f"{previous['from']} – {previous['to']}")
    return render(report, against=filters.comparison_label), period


def render(report: dict[str, Any], *, against: str = "previous period") -> Any:
    index, customer = report["index"]["overall"], report["customer"]["overall"]
    parts: list[Any] = [html.Div(className="grid grid-kpi", id="overview-kpis",
                                 children=kpi_tiles(report, against=against, prefix="overview"))]
    waiting = waves_note(report)
    if waiting:
        parts.append(notice("Some pulse waves are not in these figures.", waiting, id="overview-waves"))
    if not customer.get("n") and not index.get("n_responses"):
        parts.append(notice("No answers in this period.",
                            "Nothing was answered between these dates for this selection. Widen the period or "
                            "clear a filter.", id="overview-empty"))
    parts.append(html.Div(className="grid grid-2", children=[
        card(graph(f"overview-{suffix}", figure)) for suffix, figure in trend_charts(report)]))
    return parts
