"""Pure figure builders: report dicts in, Plotly figures out (no I/O, no Dash).

Every chart has a title, axis titles with units and the dashboard's palette
and system fonts. A suppressed value is drawn as a hatched "hidden" cell or a
grey "hidden" bar, never as a blank, a zero or a pale colour.

A figure is the plain dict `dcc.Graph` takes ({"data": [...], "layout": {...}},
the form plotly.js reads), written out rather than built with
`plotly.graph_objects`, whose validation of every property cost 7–15 ms a chart
(a third of the Overview's drawing on the server); the tests read each figure
back through `go.Figure`, which validates it against plotly's schema. The
layout carries plotly.py's default template, as a `go.Figure` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.io as pio

__all__ = [
    "CONFIG",
    "DIVERGING",
    "DIVERGING_SPAN",
    "FONT",
    "HIDDEN_WITH",
    "PALETTE",
    "Figure",
    "drivers_figure",
    "empty_figure",
    "gap_words",
    "hidden_label",
    "lag_figure",
    "linkage_bands",
    "segments_heatmap",
    "trend_figure",
]

PALETTE = {
    "ink": "#1f2933",
    "muted": "#52606d",
    "line": "#d9e2ec",
    "brand": "#1f4e79",
    "accent": "#0f766e",
    "soft": "#e6eef6",
    "hidden": "#eceff3",
    "hatch": "#aab4c0",
    "bad": "#b42318",
    "good": "#2f7d32",
}
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# Orange below, blue above, white at 0 (ColorBrewer PuOr/RdBu family: safe for the common
# colour-vision deficiencies); both ends dark enough for white text, the middle for dark text.
DIVERGING = [[0.0, "#b35806"], [0.25, "#f1a340"], [0.5, "#f7f7f7"], [0.75, "#6fa8d6"], [1.0, "#1f4e79"]]
DIVERGING_SPAN = 10  # points either side of the company figure at which the colour is full
CONFIG: Any = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


HIDDEN_WITH = "hidden*"  # a group hidden so that a smaller hidden one cannot be worked out
Figure = dict[str, Any]  # {"data": [trace, ...], "layout": {...}}
# plotly.py's default template ("plotly"), which go.Figure() puts in every layout: read once
_TEMPLATE: dict[str, Any] = pio.templates[pio.templates.default].to_plotly_json()


def hidden_label(min_group: int) -> str:
    """The words a suppressed cell shows.

    >>> hidden_label(5)
    'hidden (<5)'
    """
    return f"hidden (<{min_group})"


def _base(title: str, *, height: int = 320) -> Figure:
    """An empty chart in the dashboard's style: its title, fonts, margins and axes."""
    return {"data": [], "layout": {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15, "color": PALETTE["ink"]}},
        "font": {"family": FONT, "size": 12, "color": PALETTE["ink"]},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
        "hoverlabel": {"font": {"family": FONT}},
        "showlegend": False,
        "xaxis": {"showgrid": False, "linecolor": PALETTE["line"], "ticks": "outside", "tickcolor": PALETTE["line"]},
        "yaxis": {"gridcolor": "#eef2f6", "zeroline": False, "linecolor": PALETTE["line"]},
        "template": _TEMPLATE,
    }}


def empty_figure(title: str, message: str, *, height: int = 320) -> Figure:
    """A titled chart that says, in words, why there is nothing to draw."""
    fig = _base(title, height=height)
    layout = fig["layout"]
    layout["xaxis"]["visible"] = False
    layout["yaxis"]["visible"] = False
    layout["annotations"] = [{"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                              "showarrow": False, "font": {"size": 13, "color": PALETTE["muted"]}}]
    return fig


def trend_figure(
    points: Sequence[Mapping[str, Any]],
    *,
    x: str,
    y: str,
    title: str,
    x_title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
    hover_unit: str = "",
    count: str | None = None,
    empty: str = "No data in this period.",
    marks: Sequence[Mapping[str, Any]] = (),
) -> Figure:
    """A line over time; points whose value is None (suppressed or empty) leave a gap.

    Points with `ci_low`/`ci_high` get their 95 % interval as error bars. Each of
    `marks` ({"x", "text", "reason"}) shades its period and labels it — "hidden"
    for a wave the privacy gate hides, "in progress" for an open wave or a week
    not over — so nothing disappears without a word; a marked point that has a
    value is drawn hollow (it is not comparable with the others yet)."""
    usable = [p for p in points if p.get(x) is not None]
    if not any(p.get(y) is not None for p in usable) and not marks:
        return empty_figure(title, empty)
    fig = _base(title)
    counts = [p.get(count) if count else None for p in usable]
    marked = {m["x"] for m in marks}
    has_ci = any(p.get("ci_low") is not None for p in usable)
    fig["data"].append(dict(
        type="scatter",
        x=[p[x] for p in usable],
        y=[p.get(y) for p in usable],
        mode="lines+markers",
        line={"color": PALETTE["brand"], "width": 2.5},
        marker={"size": 7, "color": ["white" if p[x] in marked else PALETTE["brand"] for p in usable],
                "line": {"color": PALETTE["brand"], "width": 2}},
        connectgaps=False,
        customdata=counts,
        error_y={"type": "data", "symmetric": False, "color": PALETTE["muted"], "thickness": 1, "width": 3,
                 "visible": has_ci,
                 "array": [(p["ci_high"] - p[y]) if p.get("ci_high") is not None and p.get(y) is not None else 0
                           for p in usable],
                 "arrayminus": [(p[y] - p["ci_low"]) if p.get("ci_low") is not None and p.get(y) is not None
                                else 0 for p in usable]},
        hovertemplate="%{x}<br>%{y:.1f}" + hover_unit + ("<br>n = %{customdata}" if count else "")
        + "<extra></extra>",
    ))
    categories = [p[x] for p in usable]
    layout = fig["layout"]
    for m in marks:
        if m["x"] not in categories:
            continue
        at = categories.index(m["x"])
        # a band over the whole height of the plot at that category (plotly's add_vrect)
        layout.setdefault("shapes", []).append(
            {"type": "rect", "x0": at - 0.45, "x1": at + 0.45, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
             "fillcolor": PALETTE["hidden"], "opacity": 0.8, "layer": "below", "line": {"width": 0}})
        layout.setdefault("annotations", []).append(
            {"x": m["x"], "y": 0.5, "yref": "paper", "text": str(m["text"]).replace(" ", "<br>"),
             "showarrow": False, "font": {"size": 11, "color": PALETTE["muted"]},
             "hovertext": f"{m['x']}: {m.get('reason') or m['text']}", "name": f"mark {m['x']}"})
    layout["xaxis"].update(title={"text": x_title}, type="category", categoryorder="array",
                           categoryarray=categories)
    layout["yaxis"]["title"] = {"text": y_title}
    if y_range:
        layout["yaxis"]["range"] = list(y_range)
    return fig


def linkage_bands(
    bands: Sequence[Mapping[str, Any]],
    *,
    title: str,
    min_group: int = 5,
    x_title: str = "Connection & Empowerment Index band (0–100); n = contractors in the band",
    y_title: str = "Customer satisfaction, mean (1–5)",
) -> Figure:
    """Customer satisfaction by fixed CEI band: one bar per band, labelled with its
    count as a step ("n 10–19"). A hidden band is drawn as a grey bar that
    says so ("hidden (<5)", or "hidden*" when hidden with a smaller one), with its
    reason on hover. Never a contractor, never a CEI mean.
    """
    if not any(b.get("csat_mean") is not None for b in bands):
        return empty_figure(title, f"No CEI band holds {min_group} or more contractors.", height=380)
    fig = _base(title, height=380)
    labels = [str(b["band"]) for b in bands]
    shown = [b for b in bands if b.get("csat_mean") is not None]
    fig["data"].append(dict(
        type="bar",
        x=[str(b["band"]) for b in shown],
        y=[b["csat_mean"] for b in shown],
        marker={"color": PALETTE["brand"]},
        text=[f"{b['csat_mean']:.2f}<br><span style='font-size:11px'>n {b['n']}</span>" for b in shown],
        textposition="outside",
        cliponaxis=False,
        customdata=[str(b["n"]) for b in shown],
        hovertemplate="CEI %{x}: CSAT %{y:.2f}, %{customdata} contractors<extra></extra>",
        name="shown",
    ))
    hidden = [b for b in bands if b.get("csat_mean") is None]
    if hidden:
        small = hidden_label(min_group)
        fig["data"].append(dict(
            type="bar",
            x=[str(b["band"]) for b in hidden],
            y=[5.0] * len(hidden),
            marker={"color": PALETTE["hidden"]},
            text=[(small if str(b.get("n", "")).startswith("fewer") else HIDDEN_WITH).replace(" (", "<br>(")
                  for b in hidden],
            textposition="inside",
            textangle=0,
            insidetextanchor="middle",
            textfont={"color": PALETTE["muted"]},
            customdata=[b.get("reason") or "hidden" for b in hidden],
            hovertemplate="CEI %{x}: hidden, %{customdata}<extra></extra>",
            name="hidden",
        ))
    layout = fig["layout"]
    layout.update(barmode="overlay", bargap=0.25, uniformtext={"minsize": 11, "mode": "show"})
    layout["xaxis"].update(title={"text": x_title}, type="category", categoryorder="array", categoryarray=labels)
    layout["yaxis"].update(title={"text": y_title}, range=[1, 5.6], tickvals=[1, 2, 3, 4, 5])
    return fig


def lag_figure(points: Sequence[Mapping[str, Any]], *, title: str, selected: int | None = None) -> Figure:
    """r (with its 95 % CI) of CEI × CSAT for each lag in weeks; lags without enough
    contractors are left out, and the chart says so when none has."""
    shown = [p for p in points if p.get("r") is not None]
    if not shown:
        return empty_figure(title, "Too few contractors with customers at any lag.", height=300)
    fig = _base(title, height=300)
    layout = fig["layout"]
    # r = 0 across the whole width (plotly's add_hline)
    layout["shapes"] = [{"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": 0, "y1": 0, "yref": "y",
                         "line": {"color": PALETTE["line"], "width": 1}}]
    fig["data"].append(dict(
        type="scatter",
        x=[p["lag_weeks"] for p in shown],
        y=[p["r"] for p in shown],
        mode="lines+markers",
        line={"color": PALETTE["brand"], "width": 2},
        marker={"size": [12 if p["lag_weeks"] == selected else 8 for p in shown],
                "color": [PALETTE["accent"] if p["lag_weeks"] == selected else PALETTE["brand"] for p in shown]},
        error_y={"type": "data", "symmetric": False, "color": PALETTE["muted"], "thickness": 1.2, "width": 4,
                 "array": [(p["ci_high"] - p["r"]) if p.get("ci_high") is not None else 0 for p in shown],
                 "arrayminus": [(p["r"] - p["ci_low"]) if p.get("ci_low") is not None else 0 for p in shown]},
        customdata=[p.get("n", 0) for p in shown],
        hovertemplate="%{x} weeks later: r = %{y:.2f}, %{customdata} contractors<extra></extra>",
    ))
    layout["xaxis"].update(title={"text": "Customers measured this many weeks after the pulse"}, dtick=1,
                           range=[-0.5, max(p["lag_weeks"] for p in points) + 0.5])
    layout["yaxis"].update(title={"text": "Pearson r, CEI × CSAT (95 % CI)"}, range=[-0.2, 1])
    missing = [p["lag_weeks"] for p in points if p.get("r") is None]
    if missing:
        weeks = ", ".join(str(w) for w in missing)
        layout["annotations"] = [{
            "text": f"No point at {weeks} week{'s' if missing != [1] else ''}: too few contractors "
                    "with customers answered that late (yet).",
            "x": 1, "y": 0.98, "xref": "paper", "yref": "paper", "xanchor": "right", "showarrow": False,
            "font": {"size": 12, "color": PALETTE["muted"]}}]
    return fig


def drivers_figure(dimensions: Sequence[Mapping[str, Any]], *, title: str, r_squared: float | None) -> Figure:
    """Relative importance per dimension (`share`: % of the explained variance). Rows that
    carry a `tier` (dimensions that cannot be told apart share one) keep the order given,
    first on top, with their 95 % bootstrap interval (`share_ci`) as error bars; others
    are sorted largest on top."""
    rows = [d for d in dimensions if d.get("share") is not None]
    if not rows:
        return empty_figure(title, "Too few contractors to rank the drivers.")
    rows = list(reversed(rows)) if any("tier" in d for d in rows) else sorted(rows, key=lambda d: d["share"])
    fig = _base(title, height=60 + 44 * len(rows))
    cis = [d.get("share_ci") or {} for d in rows]
    fig["data"].append(dict(
        type="bar",
        x=[d["share"] for d in rows],
        y=[d.get("label", d["id"]) for d in rows],
        orientation="h",
        marker={"color": PALETTE["brand"]},
        text=[f"{d['share']:.0f} %" for d in rows],
        textposition="inside" if any(cis) else "outside",
        insidetextanchor="start",
        cliponaxis=False,
        error_x={"type": "data", "symmetric": False, "color": PALETTE["ink"], "thickness": 1.4, "width": 5,
                 "array": [max(0.0, c["high"] - d["share"]) if c else 0 for c, d in zip(cis, rows, strict=True)],
                 "arrayminus": [max(0.0, d["share"] - c["low"]) if c else 0 for c, d in zip(cis, rows, strict=True)],
                 "visible": any(cis)},
        customdata=[f"{c['low']:.0f}–{c['high']:.0f} %" if c else "" for c in cis],
        hovertemplate="%{y}: %{x:.1f} % of the explained variance"
        + (" (95 % CI %{customdata})" if any(cis) else "") + "<extra></extra>",
    ))
    note = f" (R² = {r_squared:.2f})" if r_squared is not None else ""
    top = max(max(d["share"], (c or {}).get("high", 0.0)) for d, c in zip(rows, cis, strict=True))
    layout = fig["layout"]
    layout["xaxis"].update(title={"text": f"Share of explained CSAT variance, %{note}"
                                          + (", 95 % CI" if any(cis) else "")}, range=[0, top * 1.15])
    layout["yaxis"]["gridcolor"] = "white"
    layout["margin"] = {"l": 110, "r": 40, "t": 48, "b": 48}
    return fig


def _hatch(col: int, row: int, *, strokes: int = 5) -> str:
    """An SVG path of diagonal strokes filling the cell at (col, row) of a categorical grid."""
    x0, y0 = col - 0.5, row - 0.5
    parts = []
    for k in range(1, 2 * strokes):
        c = k / strokes  # the stroke u + v = c, clipped to the unit cell
        u0, v0 = (c - 1, 1.0) if c > 1 else (0.0, c)
        u1, v1 = (1.0, c - 1) if c > 1 else (c, 0.0)
        parts.append(f"M {x0 + u0:.3f},{y0 + v0:.3f} L {x0 + u1:.3f},{y0 + v1:.3f}")
    return " ".join(parts)


def gap_words(tested: Mapping[str, Any] | None) -> str:
    """How a segment's tested gap from the company figure reads (after its size).

    >>> gap_words({"clear": True, "low": 1.2, "high": 6.3, "test": "z test"})
    ' · beyond noise (95 % CI +1.2 to +6.3; z test)'
    >>> gap_words({"clear": False, "low": -2.0, "high": 4.1, "test": "z test"}), gap_words(None)
    (' · no clear gap (95 % CI −2.0 to +4.1; z test)', ' · not tested')
    """
    if not tested:
        return " · not tested"
    verdict = "beyond noise" if tested.get("clear") else "no clear gap"
    low, high = (f"{tested[k]:+.1f}".replace("-", "−") for k in ("low", "high"))
    return f" · {verdict} (95 % CI {low} to {high}; {tested.get('test', '')})"


def segments_heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    hidden: Sequence[Sequence[bool]],
    *,
    title: str,
    row_title: str,
    min_group: int,
    formats: Sequence[str] | None = None,
    hidden_text: Sequence[str] | None = None,
    company: Sequence[float | None] | None = None,
    gaps: Sequence[Sequence[Mapping[str, Any] | None]] | None = None,
) -> Figure:
    """Groups × measures, coloured by the difference from the company figure of the same
    measure (`company`, one per column), on one diverging scale centred at 0 and capped at
    ±DIVERGING_SPAN points: orange below the company, blue above, white level with it. A
    hidden cell has no colour at all: it is hatched and says so (`hidden_text` per row, by
    default 'hidden (<min_group)'), so it can never be read as a pale value.

    With `gaps` (per cell, the tested gap from the company figure as a
    `surveys.uncertainty.Change` dict, or None where none could be tested) only a gap
    beyond noise is coloured and marked ▲ or ▼ (not by colour alone); any other cell is
    white, "no clear gap", whatever its size."""
    if not rows:
        return empty_figure(title, "No groups in this period.")
    formats = formats or ["{:.0f}"] * len(columns)
    company = list(company) if company is not None else [None] * len(columns)
    diffs: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    hatched: list[tuple[int, int]] = []
    for i in range(len(rows)):
        drow: list[float | None] = []
        trow: list[str] = []
        hrow: list[str] = []
        for j in range(len(columns)):
            value, base = values[i][j], company[j]
            if hidden[i][j]:
                drow.append(None)
                words = hidden_text[i] if hidden_text else hidden_label(min_group)
                # two short lines fit a tablet's narrow cells; the words are the legend's
                trow.append(words.replace(" (", "<br>("))
                hrow.append(words)
                hatched.append((j, i))
            elif value is None:
                drow.append(None)
                trow.append("no data")
                hrow.append("no data")
            else:
                difference = None if base is None else value - base
                words = "" if difference is None else \
                    f", {difference:+.1f} points against the company's {formats[j].format(base)}"
                if gaps is not None and difference is not None:
                    tested = gaps[i][j]
                    if not (tested and tested.get("clear")):
                        difference = None
                    words += gap_words(tested)
                drow.append(0.0 if difference is None else difference)
                trow.append(formats[j].format(value) + ("" if difference is None or gaps is None
                                                        else " ▲" if difference > 0 else " ▼"))
                hrow.append(formats[j].format(value) + words)
        diffs.append(drow)
        text.append(trow)
        hover.append(hrow)
    fig = _base(title, height=max(300, 150 + 40 * len(rows)))
    fig["data"].append(dict(
        type="heatmap",
        z=diffs,
        x=list(columns),
        y=list(rows),
        text=text,
        texttemplate="%{text}",
        textfont={"size": 12},
        colorscale=DIVERGING,
        zmin=-DIVERGING_SPAN,
        zmax=DIVERGING_SPAN,
        zmid=0,
        showscale=True,
        colorbar={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0, "xanchor": "left", "len": 0.6,
                  "thickness": 10, "outlinewidth": 0,
                  "title": {"text": "Difference from the company figure, points", "side": "top",
                            "font": {"size": 12}},
                  "tickvals": [-DIVERGING_SPAN, -DIVERGING_SPAN / 2, 0, DIVERGING_SPAN / 2, DIVERGING_SPAN],
                  "ticktext": [f"−{DIVERGING_SPAN} or less", f"−{DIVERGING_SPAN // 2}", "0",
                               f"+{DIVERGING_SPAN // 2}", f"+{DIVERGING_SPAN} or more"]},
        xgap=2,
        ygap=2,
        hovertemplate="%{y} · %{x}: %{customdata}<extra></extra>",
        customdata=hover,
    ))
    layout = fig["layout"]
    layout.update(plot_bgcolor="white", margin={"l": 140, "r": 16, "t": 72, "b": 72})
    if hatched:
        layout["shapes"] = [{"type": "path", "path": _hatch(j, i), "xref": "x", "yref": "y", "layer": "below",
                             "line": {"color": PALETTE["hatch"], "width": 1.5}} for j, i in hatched]
    layout["xaxis"].update(side="top", automargin=True, showgrid=False)
    layout["yaxis"].update(title={"text": row_title}, autorange="reversed", showgrid=False, automargin=True)
    return fig
