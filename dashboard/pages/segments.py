"""Segments: the index, its dimensions and the customer numbers by region, service type or tenure."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import data
from dashboard.components import card, count, fmt, graph, hidden_cell, notice, page_head, scroll_box, table
from dashboard.figures import HIDDEN_WITH, gap_words, hidden_label, segments_heatmap
from models.settings import settings

__all__ = [
    "BREAKDOWNS",
    "layout",
    "matrix",
    "render",
    "segments_view",
]

dash.register_page(__name__, path="/segments", name="Segments", title="Segments · Rapport", order=3)

BREAKDOWNS = {"region": "Region", "service_type": "Service type", "tenure_band": "Tenure"}


def layout(**query: Any) -> html.Div:
    """The view for the address's filters and breakdown, drawn in the page's own request;
    the breakdown's radio redraws the body in place (`segments_view`)."""
    by = query.get("by") if query.get("by") in BREAKDOWNS else "region"
    return html.Div([
        page_head("Segments", "Where the bond is weak: every group's index, dimensions and customer numbers.",
                  html.Div(className="controls", children=[
                      html.Span("Break down by", className="control-label"),
                      dcc.RadioItems(id="segments-by", value=by, inline=True, className="radio-inline",
                                     options=[{"label": v, "value": k} for k, v in BREAKDOWNS.items()]),
                  ])),
        dcc.Store(id="segments-query", data=query),
        dcc.Loading(html.Div(segments_view(query, by), id="segments-body"), type="dot", delay_show=300),
    ])


@callback(Output("segments-body", "children"), Input("segments-query", "data"), Input("segments-by", "value"),
          prevent_initial_call=True)
def segments_view(query: dict[str, Any] | None, by: str | None) -> Any:
    """The body for a query string's filters and a breakdown: in the layout at first,
    then again (a callback) when the radio picks another breakdown."""
    run = data.current_runner()
    filters = data.filters_for(run, query or {})
    group_by = by if by in BREAKDOWNS else "region"
    return render(data.segments_view(run, filters, group_by=group_by), group_by=group_by)


def matrix(report: dict[str, Any]) -> dict[str, Any]:
    """Rows (groups), columns (measures), values, which cells are hidden and each cell's
    tested gap from the company figure (`dashboard.data.segment_gaps`, None where none
    was tested): the heatmap's and the table's common ground. Pulse measures of a
    suppressed group are hidden; customer measures are not under the contractors' privacy rule."""
    index, customer = report["index"], report["customer"]
    dims = index.get("dimensions", [])
    columns = ["CEI", *[d["label"] for d in dims], "CSAT %", "NPS", "Pulse response %", "Customer response %"]
    formats = ["{:.0f}"] * (1 + len(dims)) + ["{:.0f}", "{:+.0f}", "{:.0f}", "{:.0f}"]
    by_group = {row["group"]: row for row in customer.get("groups", [])}
    keys = ["cei", *[d["id"] for d in dims], "csat_pct", "nps", "pulse_response_rate", "response_rate"]
    tested = report.get("gaps") or {}
    names, values, hidden, counts, gaps = [], [], [], [], []
    for row in index.get("groups", []):
        c = by_group.get(row["group"], {})
        suppressed = bool(row.get("suppressed"))
        pulse = [row.get("cei"), *[(row.get("dimensions") or {}).get(d["id"], {}).get("score") for d in dims]]
        names.append(row["group"] or "(none)")
        pulse_rate = None if suppressed else _pct(row.get("response_rate"))
        values.append([*pulse, c.get("csat_pct"), c.get("nps"), pulse_rate, _pct(c.get("response_rate"))])
        # a shown group can still hide one figure: a dimension scored by too few of its people
        hidden.append([suppressed or value is None for value in pulse] + [False, False, pulse_rate is None, False])
        counts.append((row.get("n_contractors", 0), c.get("n", 0), row.get("reason")))
        gaps.append([(tested.get(row["group"]) or {}).get(key) for key in keys])
    overall, customer_overall = index.get("overall") or {}, customer.get("overall") or {}
    company_pulse = [None] * (1 + len(dims)) if overall.get("suppressed") else [
        overall.get("cei"), *[(overall.get("dimensions") or {}).get(d["id"], {}).get("score") for d in dims]]
    company = [*company_pulse, customer_overall.get("csat_pct"), customer_overall.get("nps"),
               None if overall.get("suppressed") else _pct(overall.get("response_rate")),
               _pct(customer_overall.get("response_rate"))]
    return {"rows": names, "columns": columns, "values": values, "hidden": hidden, "formats": formats,
            "counts": counts, "company": company, "gaps": gaps}


def _cell(value: float | None, pattern: str, gap: dict[str, Any] | None) -> html.Td:
    """A shown figure; ▲ or ▼ when its gap from the company figure is beyond noise, and
    the test's words on hover either way."""
    marker = "" if not gap or not gap.get("clear") else " ▲" if gap["difference"] > 0 else " ▼"
    return html.Td(fmt(value, pattern) + marker, className="num" + (" gap-clear" if marker else ""),
                   title=gap_words(gap).removeprefix(" · ") if gap else None)


def _pct(rate: float | None) -> float | None:
    return None if rate is None else 100.0 * rate


def render(report: dict[str, Any], *, group_by: str) -> Any:
    m = matrix(report)
    label = BREAKDOWNS[group_by]
    if report["index"].get("refused"):
        return notice("Pulse scores need one attribute at a time.", report["index"]["refused"], warn=True,
                      id="segments-refused")
    if not m["rows"]:
        return notice("No groups in this period.", "No contractor answered the pulse in this selection. Widen "
                      "the period or clear a filter.", id="segments-empty")
    labels = [hidden_label(settings.min_group) if not isinstance(n, int) and str(n).startswith("fewer")
              else HIDDEN_WITH for n, _, _ in m["counts"]]
    figure = segments_heatmap(m["rows"], m["columns"], m["values"], m["hidden"], title=f"By {label.lower()}",
                              row_title=label, min_group=settings.min_group, formats=m["formats"],
                              hidden_text=labels, company=m["company"], gaps=m["gaps"])
    body = []
    for name, values, hidden, (n_contractors, n_customers, reason), text, gaps in zip(
            m["rows"], m["values"], m["hidden"], m["counts"], labels, m["gaps"], strict=True):
        cells: list[Any] = [html.Td(name, style={"fontWeight": 600})]
        for value, is_hidden, pattern, gap in zip(values, hidden, m["formats"], gaps, strict=True):
            cells.append(hidden_cell(settings.min_group, text=text, reason=reason) if is_hidden
                         else _cell(value, pattern, gap))
        cells += [html.Td(count(n_contractors), className="num"), html.Td(count(n_customers), className="num")]
        body.append(html.Tr(cells))
    hidden_names = [name for name, h in zip(m["rows"], m["hidden"], strict=True) if h[0]]
    legend = html.P([html.Span(className="swatch swatch-below"), " ▼ below the company figure beyond noise ",
                     html.Span(className="swatch swatch-level"), " no clear gap ",
                     html.Span(className="swatch swatch-above"), " ▲ above it beyond noise; ",
                     html.Span(className="swatch swatch-hidden"), f" {hidden_label(settings.min_group)}: fewer than "
                     f"{settings.min_group} contractors answered, so the group's pulse scores are not shown. "
                     f"{HIDDEN_WITH}: hidden with a smaller group, which the totals or another breakdown would "
                     "otherwise reveal. Pulse scores come from waves that have closed. "
                     "Customer numbers are not under this rule and are always shown."],
                    className="legend", id="segments-legend")
    sub = ("Colour: each group's difference from the company figure of the same measure, in points, on one "
           "scale for every column (full colour at 10 points or more), only where the gap is beyond noise: a z "
           "test of the group against the company it belongs to, at 95 % (bootstrap errors for pulse scores, "
           "Wilson for percentages, the NPS formula for NPS; docs/metrics.md). Any other gap is white, "
           "whatever its size: with these numbers it could be chance. Pulse scores are 0–100; CSAT % is the "
           "share of customers answering 4–5; NPS runs from −100 to +100. Pulse response % is the share of "
           "invited contractors who answered the closed waves; customer response % the share of jobs whose "
           "customer answered.")
    parts: list[Any] = []
    if hidden_names:
        parts.append(notice(
            f"Pulse scores hidden for {', '.join(hidden_names)} to protect contractors.",
            f"A group's scores are shown only when at least {settings.min_group} contractors answered; see the "
            "legend under the chart.", warn=True, id="segments-hidden"))
    parts += [
        card(scroll_box(graph("segments-heatmap", figure), label=f"Heatmap by {label.lower()}"), legend, sub=sub),
        card(table([label, *[(c, "num") for c in m["columns"]], ("Contractors", "num"), ("Customer answers", "num")],
                   body, id="segments-table"),
             title=f"Table by {label.lower()}"),
    ]
    return parts
