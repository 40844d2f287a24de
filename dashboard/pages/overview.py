"""Overview: the index and the customer numbers for the period, against the period before."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import data
from dashboard.components import card, count, delta, fmt, graph, kpi, notice, page_head
from dashboard.figures import trend_figure
from models.settings import settings

dash.register_page(__name__, path="/", name="Overview", title="Overview · Rapport", order=0)


def layout(**query: Any) -> html.Div:
    return html.Div([
        page_head("Overview", "How connected and empowered contractors feel, and what customers experience.",
                  html.Div(id="overview-period", className="muted")),
        dcc.Store(id="overview-query", data=query),
        dcc.Loading(html.Div(id="overview-body"), type="dot", delay_show=300),
    ])


@callback(
    Output("overview-body", "children"),
    Output("overview-period", "children"),
    Input("overview-query", "data"),
)
def overview_view(query: dict[str, Any] | None) -> tuple[Any, str]:
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    report = data.overview_view(run, filters)
    previous = report["index_previous"]["window"]
    period = (f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}, compared with the {filters.comparison_label} "
              f"{previous['from']} – {previous['to']}")
    return render(report, against=filters.comparison_label), period


def render(report: dict[str, Any], *, against: str = "previous period") -> Any:
    index, before = report["index"]["overall"], report["index_previous"]["overall"]
    customer, customer_before = report["customer"]["overall"], report["customer_previous"]["overall"]
    tiles = html.Div(className="grid grid-kpi", id="overview-kpis", children=[
        _cei_tile(index, before, against),
        kpi("CSAT", customer.get("csat_pct"), unit="%", pattern="{:.0f}", id="overview-csat",
            change=delta(customer.get("csat_pct"), customer_before.get("csat_pct"), unit=" pts", against=against),
            note=f"share answering 4–5 · mean {fmt(customer.get('csat_mean'), '{:.2f}')} / 5"),
        kpi("NPS", customer.get("nps"), pattern="{:+.0f}", id="overview-nps",
            change=delta(customer.get("nps"), customer_before.get("nps"), pattern="{:+.0f}", against=against),
            note="% promoters − % detractors, −100 to +100"),
        kpi("Customer effort", customer.get("ces_mean"), unit="/ 7", pattern="{:.2f}", id="overview-ces",
            change=delta(customer.get("ces_mean"), customer_before.get("ces_mean"), pattern="{:+.2f}",
                         against=against),
            note=f"mean of 1–7 (higher is easier) · {fmt(customer.get('ces_pct'), '{:.0f}')} % answer 5–7"),
        kpi("Customer response rate", _pct(customer.get("response_rate")), unit="%", pattern="{:.0f}",
            id="overview-rate",
            change=delta(_pct(customer.get("response_rate")), _pct(customer_before.get("response_rate")),
                         unit=" pts", against=against),
            note=f"{customer.get('n', 0):,} answers for {customer.get('jobs', 0):,} jobs"),
        _pulse_rate_tile(index, before, against),
    ])
    index_trend = report["index"].get("trend", [])
    customer_trend = report["customer"].get("trend", [])
    charts = html.Div(className="grid grid-2", children=[
        card(graph("overview-cei-trend", trend_figure(
            index_trend, x="wave", y="cei", title="CEI by pulse wave", x_title="Pulse wave",
            y_title="CEI (0–100)", y_range=(0, 100), count="n_contractors",
            empty="No pulse wave with enough contractors in this period."))),
        card(graph("overview-csat-trend", trend_figure(
            customer_trend, x="week", y="csat_pct", title="CSAT by week", x_title="Week of job completion (ISO)",
            y_title="CSAT, % answering 4–5", y_range=(0, 100), hover_unit=" %", count="n"))),
        card(graph("overview-nps-trend", trend_figure(
            customer_trend, x="week", y="nps", title="NPS by week", x_title="Week of job completion (ISO)",
            y_title="NPS (−100 to +100)", count="n"))),
        card(graph("overview-rate-trend", trend_figure(
            [{**p, "rate_pct": _pct(p.get("response_rate"))} for p in customer_trend], x="week", y="rate_pct",
            title="Customer response rate by week", x_title="Week of job completion (ISO)",
            y_title="Answers per job, %", y_range=(0, 100), hover_unit=" %", count="jobs"))),
    ])
    parts: list[Any] = [tiles]
    waiting = [w for w in report["index"].get("waves", []) if w.get("state") != "reported"]
    if waiting:
        parts.append(notice(
            "Some pulse waves are not in these figures yet.",
            " ".join(
                f"{w['wave']}: still open until {w['closes_at'][:10]}"
                + (f", {_pct(w['response_rate']):.0f} % answered so far." if w.get("response_rate") is not None
                   else ".")
                if w["state"] == "open" else
                f"{w['wave']}: fewer than {settings.min_group} contractors answered, so it is left out."
                for w in waiting)
            + " Pulse scores come only from closed waves, so no one's answers can be told apart as they arrive.",
            id="overview-waves"))
    if not customer.get("n") and not index.get("n_responses"):
        parts.append(notice("No answers in this period.",
                            "Nothing was answered between these dates for this selection. Widen the period or "
                            "clear a filter.", id="overview-empty"))
    parts.append(charts)
    return parts


def _cei_tile(index: dict[str, Any], before: dict[str, Any], against: str) -> html.Div:
    if index.get("suppressed") or index.get("cei") is None:
        why = (index.get("reason") or f"Fewer than {settings.min_group} contractors answered the pulse for this "
               "selection, so the index is not shown.") if index.get("suppressed") else (
               "No pulse wave closed in this period.")
        return kpi("Connection & Empowerment Index", None, id="overview-cei",
                   hidden=f"hidden (<{settings.min_group})" if index.get("suppressed") else "no data", note=why)
    previous = None if before.get("suppressed") else before.get("cei")
    return kpi("Connection & Empowerment Index", index["cei"], unit="/ 100", id="overview-cei",
               change=delta(index["cei"], previous, unit=" pts", against=against),
               note=f"{fmt(index.get('cei_favourable_pct'), '{:.0f}')} % favourable · "
                    f"{count(index.get('n_contractors'))} contractors · {index.get('n_waves', 0)} closed wave(s)")


def _pulse_rate_tile(index: dict[str, Any], before: dict[str, Any], against: str) -> html.Div:
    """Share of the pulse invites of waves that opened in the period that were answered;
    the responses submitted in the period stay visible underneath."""
    label, tile = "Pulse response rate", "overview-pulse"
    answered = (f"{count(index.get('n_responses'))} responses from {count(index.get('n_contractors'))} "
                "contractors in waves closed in this period")
    if index.get("suppressed"):
        return kpi(label, None, id=tile, hidden=f"hidden (<{settings.min_group})",
                   note=f"{answered} · too few contractors to show a rate")
    if index.get("response_rate") is None:
        return kpi(label, None, id=tile, hidden="no invites", note=f"{answered} · no pulse wave opened in it")
    return kpi(label, _pct(index["response_rate"]), unit="%", pattern="{:.0f}", id=tile,
               change=delta(_pct(index["response_rate"]), _pct(before.get("response_rate")), unit=" pts",
                            against=against),
               note=f"{answered} · {count(index.get('n_invited'))} invited")


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share
