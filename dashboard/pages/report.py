"""Report: one printable page per period and segment, to forward.

The Overview's figures (the same reports, tiles and trend charts) with the
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
from dashboard.components import count, delta, fmt, kpi
from dashboard.figures import CONFIG, Figure, trend_figure
from models.settings import settings

__all__ = ["CHART_HEIGHT", "PRIVACY", "STATIC", "filters_line", "layout", "render", "report_link", "report_view"]

dash.register_page(__name__, path="/report", name="Report", title="Report · Rapport", order=9)

CHART_HEIGHT = 200
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


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _small(figure: Figure) -> Figure:
    """The figure at the sheet's size: shorter, tighter margins, smaller type."""
    layout = figure["layout"]
    layout.update(height=CHART_HEIGHT, margin={"l": 48, "r": 8, "t": 36, "b": 40},
                  title={**layout.get("title", {}), "font": {**layout.get("title", {}).get("font", {}), "size": 13}},
                  font={**layout.get("font", {}), "size": 10})
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
    index, before = overview["index"]["overall"], overview["index_previous"]["overall"]
    customer, customer_before = overview["customer"]["overall"], overview["customer_previous"]["overall"]
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
    tiles = html.Div(className="report-kpis", id="report-kpis", children=[
        _cei_tile(index, before),
        kpi("CSAT", customer.get("csat_pct"), unit="%", pattern="{:.0f}", id="report-csat",
            change=delta(customer.get("csat_pct"), customer_before.get("csat_pct"), unit=" pts"),
            note=f"answering 4–5 · mean {fmt(customer.get('csat_mean'), '{:.2f}')} / 5"),
        kpi("NPS", customer.get("nps"), pattern="{:+.0f}", id="report-nps",
            change=delta(customer.get("nps"), customer_before.get("nps"), pattern="{:+.0f}"),
            note="% promoters − % detractors"),
        kpi("Customer effort", customer.get("ces_mean"), unit="/ 7", pattern="{:.2f}", id="report-ces",
            change=delta(customer.get("ces_mean"), customer_before.get("ces_mean"), pattern="{:+.2f}"),
            note=f"mean of 1–7 · {fmt(customer.get('ces_pct'), '{:.0f}')} % answer 5–7"),
        kpi("Customer response rate", _pct(customer.get("response_rate")), unit="%", pattern="{:.0f}",
            id="report-rate",
            change=delta(_pct(customer.get("response_rate")), _pct(customer_before.get("response_rate")),
                         unit=" pts"),
            note=f"{customer.get('n', 0):,} answers for {customer.get('jobs', 0):,} jobs"),
        _pulse_tile(index, before),
    ])
    index_trend, customer_trend = overview["index"].get("trend", []), overview["customer"].get("trend", [])
    charts = html.Div(className="report-charts", children=[
        _chart("report-cei-trend", trend_figure(
            index_trend, x="wave", y="cei", title="CEI by pulse wave", x_title="Pulse wave", y_title="CEI (0–100)",
            y_range=(0, 100), count="n_contractors", empty="No pulse wave with enough contractors.")),
        _chart("report-csat-trend", trend_figure(
            customer_trend, x="week", y="csat_pct", title="CSAT by week", x_title="Week of job completion (ISO)",
            y_title="CSAT, %", y_range=(0, 100), count="n")),
        _chart("report-nps-trend", trend_figure(
            customer_trend, x="week", y="nps", title="NPS by week", x_title="Week of job completion (ISO)",
            y_title="NPS", count="n")),
        _chart("report-rate-trend", trend_figure(
            [{**p, "rate_pct": _pct(p.get("response_rate"))} for p in customer_trend], x="week", y="rate_pct",
            title="Customer response rate by week", x_title="Week of job completion (ISO)",
            y_title="Answers per job, %", y_range=(0, 100), count="jobs")),
    ])
    notes = [html.P([html.Strong("Linkage. "), _linkage_sentence(linkage)], id="report-linkage")]
    waiting = [w for w in overview["index"].get("waves", []) if w.get("state") != "reported"]
    if waiting:
        notes.append(html.P(id="report-waves", children=[html.Strong("Not in the pulse figures. "), " ".join(
            f"{w['wave']}: open until {str(w['closes_at'])[:10]}." if w["state"] == "open" else
            f"{w['wave']}: fewer than {settings.min_group} contractors answered." for w in waiting)]))
    notes.append(html.P([html.Strong("Privacy. "), PRIVACY.format(min_group=settings.min_group)],
                        id="report-privacy"))
    return [head, tiles, charts, html.Div(className="report-notes", children=notes)]


def _linkage_sentence(report: dict[str, Any]) -> str:
    """The linkage report's own headline (its words follow the interval), or why there is none."""
    if report.get("headline") and not report.get("suppressed"):
        return str(report["headline"])
    return (f"Not enough contractors with pulse and customer answers in this selection to measure it (at least "
            f"{settings.min_group} are needed).")


def _cei_tile(index: dict[str, Any], before: dict[str, Any]) -> html.Div:
    label = "Connection & Empowerment Index"
    if index.get("suppressed"):
        return kpi(label, None, id="report-cei", hidden=f"hidden (<{settings.min_group})",
                   note=f"fewer than {settings.min_group} contractors answered")
    if index.get("cei") is None:
        return kpi(label, None, id="report-cei", hidden="no data", note="no pulse wave closed in the period")
    previous = None if before.get("suppressed") else before.get("cei")
    return kpi(label, index["cei"], unit="/ 100", id="report-cei", change=delta(index["cei"], previous, unit=" pts"),
               note=f"{count(index.get('n_contractors'))} contractors · {index.get('n_waves', 0)} closed wave(s)")


def _pulse_tile(index: dict[str, Any], before: dict[str, Any]) -> html.Div:
    label = "Pulse response rate"
    if index.get("suppressed"):
        return kpi(label, None, id="report-pulse", hidden=f"hidden (<{settings.min_group})",
                   note="too few contractors to show a rate")
    if index.get("response_rate") is None:
        return kpi(label, None, id="report-pulse", hidden="no invites", note="no pulse wave opened in the period")
    return kpi(label, _pct(index["response_rate"]), unit="%", pattern="{:.0f}", id="report-pulse",
               change=delta(_pct(index["response_rate"]), _pct(before.get("response_rate")), unit=" pts"),
               note=f"{count(index.get('n_responses'))} answers · {count(index.get('n_invited'))} invited")
