"""Small pieces of layout every page uses: page head, cards, KPI tiles, notices, tables.

Pure: plain values in, Dash components out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import dash
from dash import dcc, html

from dashboard.figures import CONFIG, Figure, hidden_label

__all__ = [
    "card",
    "count",
    "delta",
    "fmt",
    "graph",
    "hidden_cell",
    "kpi",
    "margin",
    "notice",
    "page_head",
    "plural",
    "query_value",
    "scroll_box",
    "search_form",
    "signed",
    "table",
    "view_href",
]


def fmt(value: float | None, pattern: str = "{:.1f}") -> str:
    """A number for a person; '–' when there is none.

    A value that rounds to zero carries no sign ("-0" and "+0" read as a change):

    >>> fmt(41.234), fmt(None), fmt(3, "{:+.0f}"), fmt(-0.4, "{:+.0f}"), fmt(0.04, "{:+.1f}")
    ('41.2', '–', '+3', '0', '0.0')
    """
    return "–" if value is None else _unsigned_zero(pattern.format(value))


def count(value: int | str | None) -> str:
    """A head count as the reports give it: exact with thousands separators,
    or a band such as "fewer than 5" for a hidden group."""
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else str(value)


def page_head(title: str, subtitle: str, *extra: Any) -> html.Div:
    return html.Div(className="page-head", children=[
        html.Div([html.H1(title, className="page-title"), html.P(subtitle, className="page-sub")]),
        *extra,
    ])


def card(*children: Any, title: str | None = None, sub: str | None = None, id: str | None = None,
         className: str = "") -> html.Section:
    head: list[Any] = []
    if title:
        head.append(html.H2(title, className="card-title"))
    if sub:
        head.append(html.P(sub, className="card-sub"))
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return html.Section(className=f"card {className}".strip(), children=[*head, *children], **kwargs)


def graph(id: str, figure: Figure) -> dcc.Graph:
    """A chart as tall as its figure says (so cards of a row line up) and as wide as its card."""
    height = figure.get("layout", {}).get("height") or 320
    return dcc.Graph(id=id, figure=figure, config=CONFIG, style={"height": f"{height}px"})


def signed(value: float, pattern: str = "{:+.1f}") -> str:
    """A change as text with a true minus sign, and no sign at all on a change that rounds to zero.

    >>> signed(-0.04), signed(0.04, "{:+.0f}"), signed(2.35), signed(-3.0, "{:+.0f}")
    ('0.0', '0', '+2.4', '−3')
    """
    return _unsigned_zero(pattern.format(value)).replace("-", "−")


def _unsigned_zero(text: str) -> str:
    """A formatted number without its sign when it shows no digit but zeros."""
    return text if any(ch in "123456789" for ch in text) else text.lstrip("+-")


def delta(current: float | None, previous: float | None, *, unit: str = "", higher_is_better: bool = True,
          pattern: str = "{:+.1f}", test: Mapping[str, Any] | None = None,
          against: str = "previous period") -> html.Div:
    """'▲ +2.1 pts vs previous period', coloured by whether the change is good news;
    `against` names what the period is compared with.

    With `test` (a `surveys.uncertainty.Change` as a dict) the arrow and the colour
    appear only for a change beyond noise (`clear`); otherwise the change reads
    "no clear change" in a neutral colour, with its 95 % interval. A change that
    rounds to zero has no sign and no colour."""
    if current is None or previous is None:
        return html.Div(f"no comparison: {against} has no data", className="kpi-delta delta-flat")
    change = current - previous
    text = signed(change, pattern)
    if text.strip("0.,") == "":
        return html.Div(f"no change vs {against}", className="kpi-delta delta-flat")
    interval = ""
    if test is not None:
        interval = f" (95 % CI {signed(test['low'], pattern)} to {signed(test['high'], pattern)})"
        if not test.get("clear"):
            return html.Div(f"no clear change vs {against}: {text}{unit}{interval}",
                            className="kpi-delta delta-flat", title=test.get("test", ""))
    good = (change > 0) == higher_is_better
    arrow = "▲" if change > 0 else "▼"
    return html.Div(f"{arrow} {text}{unit} vs {against}{interval}",
                    className=f"kpi-delta {'delta-up' if good else 'delta-down'}",
                    title=(test or {}).get("test", ""))


def plural(n: int | str | None, word: str, words: str | None = None) -> str:
    """A count with its noun: '1 contractor', '2 contractors', 'fewer than 5 contractors'.

    >>> plural(1, "contractor"), plural(1200, "response"), plural("fewer than 5", "contractor")
    ('1 contractor', '1,200 responses', 'fewer than 5 contractors')
    """
    return f"{count(n)} {word if n == 1 else (words or word + 's')}"


def margin(ci: Mapping[str, Any] | None, pattern: str = "{:.1f}") -> str:
    """'± 2.1' from an interval's dict (its half-width), or '' without one."""
    return "" if not ci or ci.get("margin") is None else f"± {pattern.format(ci['margin'])}"


def kpi(label: str, value: float | None, *, unit: str = "", pattern: str = "{:.1f}",
        change: html.Div | None = None, note: str | None = None, hidden: str | None = None,
        id: str | None = None, error: str | None = None) -> html.Div:
    """One headline number, with its margin of error (`error`, e.g. '± 2.1') beside it.
    `hidden` replaces the value with the reason it is not shown."""
    kwargs: dict[str, Any] = {"id": id} if id else {}
    if hidden:
        return html.Div(className="card kpi kpi-hidden", **kwargs, children=[
            html.Div(label, className="kpi-label"),
            html.Div(hidden, className="kpi-value"),
            html.Div(note or "", className="kpi-note"),
        ])
    return html.Div(className="card kpi", **kwargs, children=[
        html.Div(label, className="kpi-label"),
        html.Div([fmt(value, pattern), html.Span(unit, className="kpi-unit") if unit else None,
                  html.Span(f" {error}", className="kpi-margin", title="95 % margin of error") if error else None],
                 className="kpi-value"),
        change if change is not None else html.Div(className="kpi-delta"),
        html.Div(note or "", className="kpi-note"),
    ])


def notice(title: str, body: str, *, warn: bool = False, id: str | None = None) -> html.Div:
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return html.Div(className="notice notice-warn" if warn else "notice", role="status", **kwargs,
                    children=[html.Strong(title), html.Span(body)])


def hidden_cell(min_group: int, *, text: str | None = None, reason: str | None = None) -> html.Td:
    """A suppressed value: the word 'hidden' and why, never a blank or a zero."""
    return html.Td(text or hidden_label(min_group), className="cell-hidden num",
                   title=reason or f"Fewer than {min_group} contractors answered")


def table(header: Sequence[str | tuple[str, str]], rows: Sequence[Any], *, id: str | None = None) -> html.Div:
    """A plain table; a header given as (label, 'num') is right-aligned. On a narrow screen it
    scrolls sideways in its own box, which the keyboard can reach (tab, then arrow keys)."""
    ths = [html.Th(h[0], className=h[1]) if isinstance(h, tuple) else html.Th(h) for h in header]
    kwargs: dict[str, Any] = {"id": id} if id else {}
    region: dict[str, Any] = {"aria-label": "Table"}
    return html.Div(className="table-wrap", tabIndex="0", role="region", **region, children=html.Table(
        className="table", **kwargs, children=[html.Thead(html.Tr(ths)), html.Tbody(list(rows))]))


def scroll_box(*children: Any, label: str) -> html.Div:
    """Content that keeps a minimum width (a chart with many columns) and scrolls sideways in
    its own box on a narrow screen, never the page; reachable by keyboard."""
    region: dict[str, Any] = {"aria-label": label}
    return html.Div(className="scroll-x", tabIndex="0", role="region", children=list(children), **region)


def query_value(query: Mapping[str, Any], key: str) -> str:
    """One value of a page's query string as text: stripped, without NUL characters (a shared
    link may hold anything), '' when absent, the first of a repeated key.

    >>> query_value({"q": [" la\\x00te ", "x"], "page": "2"}, "q"), query_value({}, "page")
    ('late', '')
    """
    value = query.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).replace("\x00", "").strip() if value is not None else ""


def view_href(path: str, query: Mapping[str, Any], **changes: Any) -> str:
    """The address of the view at `path` with `changes` to its query string: the rest kept
    (the filters, the other controls), empty values dropped, back to page 1 unless a page is given.

    >>> view_href("/followup", {"region": "North", "page": "3"}, sort="newest")
    '/dashboard/followup?region=North&sort=newest'
    """
    params = {k: query_value(query, k) for k in query if query_value(query, k)}
    params.pop("page", None)
    params.update({k: str(v) for k, v in changes.items()})
    params = {k: v for k, v in params.items() if v and not (k == "page" and v == "1")}
    return str(dash.get_relative_path(path)) + ("?" + urlencode(params) if params else "")


def search_form(path: str, query: Mapping[str, Any], *, id: str, label: str, value: str, placeholder: str,
                max_length: int | None = None) -> html.Form:
    """A view's search box: a plain GET form to the view's own address that keeps the rest of
    the query string (the filters, the other controls) and starts again at page 1."""
    kept = [dcc.Input(type="hidden", name=k, value=query_value(query, k)) for k in query
            if k not in ("q", "page") and query_value(query, k)]
    limit: dict[str, Any] = {"maxLength": max_length} if max_length else {}
    return html.Form(className="followup-search", method="GET", action=dash.get_relative_path(path),
                     role="search", children=[
        *kept,
        html.Label(label, htmlFor=f"{id}-q", className="control-label"),
        dcc.Input(id=f"{id}-q", name="q", type="search", value=value, placeholder=placeholder,
                  className="followup-input", **limit),
        html.Button("Search", type="submit", className="button", id=f"{id}-search"),
    ])

