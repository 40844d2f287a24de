"""Report: one printable page per period and segment, to forward.

The Overview's figures (the same reports, and the same tiles and trend charts:
dashboard.tiles, so its changes are tested and its gaps marked alike) with the
linkage's headline, the filters they were made with and the privacy note, laid
out on a sheet that prints on one A4 or Letter page (dashboard/assets/report.css).
Charts are drawn as static SVG by the dashboard's own plotly.js: no CDN, no
hover, nothing that a printout would lose. Behind the same sign-in and the same
privacy gate as every view: the numbers come from dashboard.data.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import data
from dashboard.figures import CONFIG, Figure
from dashboard.tiles import kpi_tiles, trend_charts, waves_note
from models.settings import settings

__all__ = ["CHART_HEIGHT", "PRIVACY", "STATIC", "filters_line", "layout", "render", "report_link", "report_view"]

dash.register_page(__name__, path="/report", name="Report", title="Report · Rapport", order=9)

CHART_HEIGHT = 185
STATIC: Any = {**CONFIG, "staticPlot": True, "displayModeBar": False}
PRIVACY = ("Confidential, not anonymous. Pulse scores come only from pulse waves that have closed and are never "
           "shown for fewer than {min_group} contractors; a hidden figure is marked, never left blank. Customer "
           "numbers are not under this rule. Results are associations, not causes.")


def layout(**query: Any) -> html.Div:
    """The report for the address's filters, drawn in the page's own request (no second callback)."""
    return html.Div(className="report", children=[
        html.Div(className="report-actions", children=[
            html.Button("Print or save as PDF", id="report-print", type="button", className="button button-primary"),
            html.Span("One page, A4 or Letter. Change the filters above to change the report.", className="muted"),
        ]),
        html.Article(className="report-sheet", id="report-sheet",
                     children=html.Div(report_view(query), id="report-body")),
    ])


def report_view(query: dict[str, Any]) -> Any:
    """The sheet's content for a query string's filters."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    report = data.report_view(run, filters)
    return render(report, report["linkage"], filters, user=data.current_user(), today=date.today())


@callback(Output("shell-report", "href"), Input("url", "search"))
def report_link(search: str | None) -> str:
    """The shell's "Print report" link: this report for whatever the current view's address holds."""
    params = parse_qsl((search or "").lstrip("?"))
    return str(dash.get_relative_path("/report")) + ("?" + urlencode(params) if params else "")


def _small(figure: Figure) -> Figure:
    """The figure at the sheet's size: shorter, tighter margins, smaller type (the long
    axis titles within the small chart's height)."""
    layout = figure["layout"]
    layout.update(height=CHART_HEIGHT, margin={"l": 48, "r": 8, "t": 32, "b": 36},
                  title={**layout.get("title", {}), "font": {**layout.get("title", {}).get("font", {}), "size": 13}},
                  font={**layout.get("font", {}), "size": 10})
    yaxis = layout.setdefault("yaxis", {})
    yaxis["title"] = {**yaxis.get("title", {}), "font": {**yaxis.get("title", {}).get("font", {}), "size": 8}}
    return figure


def _chart(id_: str, figure: Figure) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=_small(figure), config=STATIC, style={"height": f"{CHART_HEIGHT}px"},
                     className="report-chart")


def filters_line(filters: data.Filters) -> str:
    """The segment a report is about, in words.

    >>> filters_line(data.Filters(date(2026, 11, 2), date(2026, 11, 29), region="North"))
    'Region: North · Service type: all · Tenure: all'
    """
    return " · ".join(f"{label}: {value or 'all'}" for label, value in (
        ("Region", filters.region), ("Service type", filters.service_type), ("Tenure", filters.tenure_band)))


def render(overview: dict[str, Any], linkage: dict[str, Any], filters: data.Filters, *, user: str,
           today: date) -> Any:
    previous = overview["index_previous"]["window"]
    head = html.Header(className="report-head", children=[
        html.Div([
            html.H1(f"{settings.brand} · Connection & customer experience", className="report-title"),
            html.P(id="report-period", className="report-period", children=(
                f"{filters.start:%-d %b %Y} – {filters.end:%-d %b %Y}, compared with "
                f"{date.fromisoformat(previous['from']):%-d %b %Y} – {date.fromisoformat(previous['to']):%-d %b %Y}")),
            html.P(filters_line(filters), id="report-filters", className="report-filters"),
        ]),
        html.P(f"Rapport · printed {today:%-d %b %Y} by {user}", className="report-printed"),
    ])
    tiles = html.Div(className="report-kpis", id="report-kpis",
                     children=kpi_tiles(overview, against=filters.comparison_label, prefix="report"))
    charts = html.Div(className="report-charts", children=[
        _chart(f"report-{suffix}", figure) for suffix, figure in trend_charts(overview)])
    notes = [html.P([html.Strong("Linkage. "), _linkage_sentence(linkage)], id="report-linkage")]
    waiting = waves_note(overview)
    if waiting:
        notes.append(html.P(id="report-waves", children=[html.Strong("Not in the pulse figures. "), waiting]))
    notes.append(html.P([html.Strong("Privacy. "), PRIVACY.format(min_group=settings.min_group)],
                        id="report-privacy"))
    return [head, tiles, charts, html.Div(className="report-notes", children=notes)]


def _linkage_sentence(report: dict[str, Any]) -> str:
    """The linkage report's own headline (its words follow the interval), or why there is none."""
    if report.get("headline") and not report.get("suppressed"):
        return str(report["headline"])
    return (f"Not enough contractors with pulse and customer answers in this selection to measure it (at least "
            f"{settings.min_group} are needed).")
