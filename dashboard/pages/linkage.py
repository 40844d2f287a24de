"""Linkage: does the index move with what customers experience? Associations, not causes."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
from dash import Input, Output, callback, dcc, html, no_update

from dashboard import data
from dashboard.components import card, fmt, graph, hidden_cell, notice, page_head, table
from dashboard.figures import HIDDEN_WITH, empty_figure, hidden_label, lag_figure, linkage_bands
from models.settings import settings

__all__ = [
    "MAX_LAG_WEEKS",
    "OUTCOMES",
    "future_note",
    "headline",
    "layout",
    "linkage_lags",
    "linkage_lags_figure",
    "linkage_view",
    "render",
]

dash.register_page(__name__, path="/linkage", name="Linkage", title="Linkage · Rapport", order=1)

OUTCOMES = {"csat": "CSAT (1–5)", "promoters": "NPS promoters (%)", "ces": "Effort (CES, 1–7)"}
MAX_LAG_WEEKS = 8


def layout(**query: Any) -> html.Div:
    """The view for the address's filters and lag, its headline drawn in the page's own
    request; the lag chart follows from its own callback (`linkage_lags`), the slider
    redraws the body in place (`linkage_view`)."""
    try:
        lag = min(MAX_LAG_WEEKS, max(0, int(query.get("lag", 0))))
    except (TypeError, ValueError):
        lag = 0
    return html.Div([
        page_head(
            "Linkage",
            "Contractors' index in the period against the satisfaction of their customers, some weeks later.",
            html.Div(className="controls slider-wrap", children=[
                html.Span("Customers measured", className="control-label"),
                html.Div(style={"flex": "1"}, children=dcc.Slider(
                    id="linkage-lag", min=0, max=MAX_LAG_WEEKS, step=1, value=lag,
                    marks={w: ("same time" if w == 0 else f"+{w} wk") for w in range(0, MAX_LAG_WEEKS + 1, 2)},
                    tooltip={"always_visible": False, "template": "{value} weeks later"},
                    allow_direct_input=False,
                )),
            ]),
        ),
        dcc.Store(id="linkage-query", data=query),
        dcc.Store(id="linkage-lag-points"),
        dcc.Loading(html.Div(linkage_view(query, lag), id="linkage-body"), type="dot", delay_show=300),
        card(dcc.Loading(graph("linkage-lags", empty_figure("How the link holds over time", "Loading…",
                                                               height=300)), type="dot", delay_show=300),
             html.P("Each point: the same contractors' index in the period against their customers' "
                    "satisfaction that many weeks later, with its 95 % confidence interval. A link that holds "
                    "at longer lags fits the idea that the bond comes first, but still does not prove it.",
                    className="legend"),
             id="linkage-lags-card"),
    ])


@callback(Output("linkage-lag-points", "data"), Input("linkage-query", "data"))
def linkage_lags(query: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Apart from the main view, so the headline does not wait for the nine lags (and the
    slider, which only picks one of them, does not recompute them)."""
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    return data.linkage_by_lag(run, filters, max_weeks=MAX_LAG_WEEKS)


@callback(Output("linkage-lags", "figure"), Input("linkage-lag-points", "data"), Input("linkage-lag", "value"))
def linkage_lags_figure(points: list[dict[str, Any]] | None, lag: int | None) -> Any:
    """The lag chart, with the lag the slider picked highlighted (redrawn, not recomputed)."""
    if points is None:
        return no_update
    return lag_figure(points, title="How the link holds over time: r by lag", selected=int(lag or 0))


@callback(Output("linkage-body", "children"), Input("linkage-query", "data"), Input("linkage-lag", "value"),
          prevent_initial_call=True)
def linkage_view(query: dict[str, Any] | None, lag: int | None) -> Any:
    """The headline, bands and correlations for a query string's filters at one lag: in
    the layout at first, then again (a callback) when the slider picks another lag."""
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    report = data.linkage_view(run, filters, lag_weeks=int(lag or 0))
    return render(report, lag_weeks=int(lag or 0), today=date.today())


def _main(report: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in report.get("correlations", []) if c["x"] == "cei" and c["y"] == "csat"), None)


def headline(report: dict[str, Any]) -> str:
    """The report's own headline (surveys.association's words, which follow the
    interval); when the main cell is hidden, why."""
    if report.get("headline"):
        return str(report["headline"])
    main = _main(report) or {}
    why = f" ({main['reason']})" if main.get("reason") else ""
    return f"Not enough contractors in this selection to measure the association{why}."


def future_note(report: dict[str, Any], *, lag_weeks: int, today: date) -> Any:
    """When the customer window of a lag ends after today, say so: its last weeks have
    no answers yet, so the lag rests on fewer customers (or none)."""
    window = report.get("customer_window") or {}
    if not lag_weeks or not window.get("to") or date.fromisoformat(window["to"][:10]) <= today:
        return None
    ends = date.fromisoformat(window["to"][:10])
    days = (ends - today).days
    starts = date.fromisoformat(window["from"][:10])
    whole = starts > today
    return notice(
        "These customers have not answered yet." if whole else "Part of this customer window is still to come.",
        f"At +{lag_weeks} week{'s' if lag_weeks > 1 else ''} the customers are those of "
        f"{window['from']} – {window['to']}, which "
        + ("lies wholly in the future: no customer of that window has answered yet."
           if whole else f"ends {days} day{'s' if days != 1 else ''} after today: only the answers up to today "
                         "count, so fewer contractors have enough customers at this lag.")
        + " Choose a shorter lag or an earlier period to compare like with like.",
        warn=True, id="linkage-future")


def render(report: dict[str, Any], *, lag_weeks: int, today: date | None = None) -> Any:
    when = ("customers in the same period" if lag_weeks == 0
            else f"customers {lag_weeks} week{'s' if lag_weeks > 1 else ''} later "
                 f"({report['customer_window']['from']} – {report['customer_window']['to']})")
    future = future_note(report, lag_weeks=lag_weeks, today=today or date.today())
    if report.get("suppressed") or not report.get("n"):
        return [part for part in (future, notice(
            "Not enough contractors to show the linkage.",
            f"The linkage needs at least {settings.min_group} contractors, each with a pulse answer in a wave that "
            f"closed in the period (with at least {settings.min_group} answers) and at least "
            f"{report.get('min_responses', 3)} customer answers for {when}. "
            f"{report.get('reason') or ''}", id="linkage-empty")) if part is not None]
    main = _main(report) or {}
    power = report.get("power") or {}
    caveats = [html.P(report.get("wording") or "These are associations, not causes.", className="caveat")]
    partial = main.get("partial") or {}
    if partial.get("r") is not None:
        caveats.append(html.P(
            f"Controlling for region, service type and tenure: partial r = {partial['r']:.2f} "
            f"(95 % CI {fmt(partial.get('ci_low'), '{:.2f}')}–{fmt(partial.get('ci_high'), '{:.2f}')}).",
            className="caveat"))
    if power.get("message"):
        caveats.append(html.P(power["message"], className="caveat", id="linkage-power"))
    headline_card = card(
        html.P([html.Strong(headline(report))], className="headline", id="linkage-headline"),
        html.P(f"p {_p(main.get('p_value'))} · Spearman ρ = {fmt(main.get('rho'), '{:.2f}')} · "
               f"pulse waves closed {report['window']['from']} – {report['window']['to']} "
               f"({', '.join(report.get('waves', [])) or 'none'}), {when}.", className="caveat"),
        *caveats,
    )
    bands = report.get("bands", [])
    chart = card(graph("linkage-bands", linkage_bands(
        bands, min_group=settings.min_group,
        title="Customer satisfaction by CEI band")),
        html.P(_bands_legend(bands), className="legend", id="linkage-bands-legend"))
    parts = [headline_card, html.Div(className="grid grid-2", children=[chart, _correlation_card(report)])]
    return parts if future is None else [future, *parts]


def _correlation_card(report: dict[str, Any]) -> html.Section:
    labels = {"cei": "CEI"} | {d["id"]: d["label"] for d in _dimensions(report)}
    grid: dict[str, dict[str, dict[str, Any]]] = {}
    for c in report.get("correlations", []):
        grid.setdefault(c["x"], {})[c["y"]] = c
    rows = []
    for x, by_y in grid.items():
        cells = [html.Td(labels.get(x, x), style={"fontWeight": 600 if x == "cei" else 400})]
        for y in OUTCOMES:
            c = by_y.get(y)
            if c is not None and c.get("suppressed"):
                cells.append(hidden_cell(settings.min_group, reason=c.get("reason")))
                continue
            if c is None or c.get("r") is None:
                cells.append(html.Td("–", className="num muted"))
                continue
            significant = c.get("p_adjusted") is not None and c["p_adjusted"] < 0.05
            cells.append(html.Td(className="num", children=[
                html.Div(f"{c['r']:+.2f}", style={"fontWeight": 700 if significant else 400}),
                html.Div(f"[{fmt(c.get('ci_low'), '{:.2f}')}, {fmt(c.get('ci_high'), '{:.2f}')}] · "
                         f"p adj {_p(c.get('p_adjusted'))}", className="muted", style={"fontSize": ".78rem"}),
            ]))
        rows.append(html.Tr(cells))
    return card(
        table(["", *[(label, "num") for label in OUTCOMES.values()]], rows, id="linkage-correlations"),
        html.P("r with its 95 % confidence interval; p adjusted for the many comparisons on this table "
               "(Benjamini–Hochberg). Bold: adjusted p < 0.05. Effort uses the CES 2.0 wording (higher = easier), "
               "so a positive r is good news. "
               f"{hidden_label(settings.min_group)}: fewer than {settings.min_group} contractors with both values.",
               className="legend"),
        title="Each dimension against each customer outcome",
        sub=f"Pearson r over {report.get('n', 0):,} contractors.",
    )


def _dimensions(report: dict[str, Any]) -> list[dict[str, Any]]:
    drivers = report.get("drivers") or {}
    return list(drivers.get("dimensions", []))


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _bands_legend(bands: list[dict[str, Any]]) -> str:
    """What the chart shows, and why a band is hidden."""
    text = ("Each bar: the contractors whose index falls in that band of 20 points, and their customers' mean "
            "satisfaction; the count is a range, never exact, and no index average is shown, so no single "
            "contractor can be worked out.")
    if any(b.get("csat_mean") is None for b in bands):
        text += (f" {hidden_label(settings.min_group)}: fewer than {settings.min_group} contractors in the band "
                 f"(or none). {HIDDEN_WITH}: hidden with a smaller hidden band, which could otherwise be worked out.")
    return text
