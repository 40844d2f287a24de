"""The Dash app factory: the shell every page shares.

One layout for every view: a top bar (brand, navigation, the signed-in user
and a sign-out button), a filter bar (date range, region, service type,
tenure band, a period preset and what to compare with) and the page. The
filters and every page's own controls (VIEW_CONTROLS) live in the URL's query
string, so a view can be shared or reloaded by its address; the navigation
links carry the filters along (not another page's controls).

A page control is written into the address in the browser (assets/rapport.js,
`history.replaceState`), not by navigating: the page keeps its charts instead
of being built again, and a dragged slider leaves no trail of history entries.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
from dash import ClientsideFunction, Dash, Input, Output, ctx, dcc, html, no_update

from dashboard import casework, data
from models.settings import settings

__all__ = [
    "FILTER_KEYS",
    "HERE",
    "INDEX",
    "NAV",
    "PREFIX",
    "VIEW_CONTROLS",
    "control_key",
    "create_dash_app",
    "shell",
]

PREFIX = "/dashboard/"
HERE = Path(__file__).parent
NAV = (
    ("overview", "Overview", "/"),
    ("linkage", "Linkage", "/linkage"),
    ("drivers", "Drivers", "/drivers"),
    ("segments", "Segments", "/segments"),
    ("followup", "Follow-up", "/followup"),
    ("comments", "What contractors say", "/comments"),
)
# Dash's page, with the language declared and its scripts outside a <footer> (a second
# "contentinfo" landmark beside the shell's own footer).
INDEX = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <div class="dash-scripts">
            {%config%}
            {%scripts%}
            {%renderer%}
        </div>
    </body>
</html>"""
FILTER_KEYS = ("from", "to", "period", "compare", "region", "service_type", "tenure")
# Each page's own controls, kept in the query string under the part of the id after
# the page's prefix ("linkage-lag" -> lag); the page's layout reads them back. The
# Follow-up list's and the comments' controls (show, sort, q, page; theme, ctheme, q, page) are
# links and a GET form of their own.
VIEW_CONTROLS = ("linkage-lag", "segments-by")
# The loading dot around the views watches the page router's output only (a page's own
# controls have their own); typed Any: Dash declares the prop as an empty TypedDict.
_PAGE_LOADS: Any = {"_pages_content": "children"}


def control_key(component_id: str) -> str:
    """The query-string key of a page control (the same rule as assets/rapport.js).

    >>> control_key("linkage-lag"), control_key("segments-by")
    ('lag', 'by')
    """
    return component_id.split("-", 1)[1]


def create_dash_app() -> Dash:
    """A fresh Dash app with every page registered (assets and scripts served locally)."""
    app = Dash(
        "dashboard",
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        requests_pathname_prefix=PREFIX,
        serve_locally=True,
        suppress_callback_exceptions=True,
        use_async=False,
        title=f"{settings.brand} · Rapport",
        update_title=None,  # type: ignore[arg-type]  # Dash documents None: no "Updating..." title
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        index_string=INDEX,
    )
    app.layout = shell
    _register_shell_callbacks(app)
    return app


def shell() -> html.Div:
    """The shared frame, built per page load (fresh filter options, current user)."""
    import flask

    options = data.filter_options(data.current_runner())
    scope = flask.request.environ.get("asgi.scope", {})
    session = scope.get("session", {})
    return html.Div(
        className="app",
        children=[
            dcc.Location(id="url", refresh="callback-nav"),  # a new query string re-renders the page
            html.Header(
                className="topbar",
                children=[
                    html.Div(
                        className="brand",
                        children=[html.Span(className="brand-mark"), html.Span(settings.brand),
                                  html.Span("Rapport", className="brand-product")],
                    ),
                    html.Nav(
                        className="nav",
                        children=[
                            dcc.Link(label, id=f"nav-{key}", href=dash.get_relative_path(path), className="nav-link")
                            for key, label, path in NAV
                        ],
                    ),
                    html.Form(
                        className="user",
                        method="POST",
                        action="/logout",
                        children=[
                            _alerts_link(session.get("user", "")),
                            html.Span(session.get("user", ""), className="user-name", id="shell-user"),
                            dcc.Link("E-mail digest", href=dash.get_relative_path("/digest"), id="shell-digest",
                                     className="user-digest"),
                            dcc.Input(type="hidden", name="csrf", value=session.get("csrf", "")),
                            html.Button("Sign out", type="submit", className="button button-quiet"),
                        ],
                    ),
                ],
            ),
            _filter_bar(options),
            # a view is drawn in the page router's own callback (each page's `layout`), so
            # the dot shows while a slow view (or a filter's new figures) is on its way
            html.Main(className="page", children=dcc.Loading(
                dash.page_container, target_components=_PAGE_LOADS, type="dot",
                delay_show=300, show_initially=False)),
            html.Footer(
                className="footer",
                children=(
                    "Results are associations, not causes. Pulse scores are never shown for fewer than "
                    f"{settings.min_group} contractors."
                ),
            ),
        ],
    )


def _alerts_link(user: str) -> dcc.Link:
    """The header's link to the user's alerts, with how many are not yet seen."""
    unseen = casework.alert_count(data.current_runner(), username=user) if user else 0
    return dcc.Link(["Alerts ", html.Span(str(unseen), className="alerts-count" + (" alerts-new" if unseen else ""))],
                    href=dash.get_relative_path("/alerts"), id="shell-alerts", className="nav-link",
                    title=f"{unseen} new alert{'' if unseen == 1 else 's'}")


def _filter_bar(options: dict[str, Any]) -> html.Section:
    defaults = data.default_filters(options)

    def dropdown(id_: str, label: str, values: list[str], placeholder: str) -> html.Label:
        return html.Label(
            className="filter",
            children=[
                html.Span(label, className="filter-label"),
                dcc.Dropdown(id=id_, options=[{"label": v, "value": v} for v in values],
                             placeholder=placeholder, clearable=True, className="filter-dropdown"),
            ],
        )

    landmark: dict[str, Any] = {"aria-label": "Filters"}
    return html.Section(
        className="filterbar",
        **landmark,
        children=[
            html.Label(
                className="filter filter-dates",
                children=[
                    html.Span("Period", className="filter-label"),
                    dcc.DatePickerRange(
                        id="filters-dates",
                        start_date=defaults.start.isoformat(),
                        end_date=defaults.end.isoformat(),
                        display_format="D MMM YYYY",
                        first_day_of_week=1,
                        minimum_nights=0,
                        className="filter-daterange",
                    ),
                ],
            ),
            html.Label(
                className="filter",
                children=[
                    html.Span("Preset", className="filter-label"),
                    dcc.Dropdown(id="filters-preset", placeholder="Custom dates", clearable=True,
                                 searchable=False, className="filter-dropdown",
                                 options=[{"label": v, "value": k} for k, v in data.PRESETS.items()]),
                ],
            ),
            html.Label(
                className="filter",
                children=[
                    html.Span("Compare with", className="filter-label"),
                    dcc.Dropdown(id="filters-compare", value="previous", clearable=False, searchable=False,
                                 className="filter-dropdown",
                                 options=[{"label": v, "value": k} for k, v in data.COMPARISONS.items()]),
                ],
            ),
            dropdown("filters-region", "Region", options.get("regions", []), "All regions"),
            dropdown("filters-service", "Service type", options.get("service_types", []), "All service types"),
            dropdown("filters-tenure", "Tenure", options.get("tenure_bands", []), "All tenures"),
            # its address follows the view's (dashboard/pages/report.py)
            dcc.Link("Print report", href=dash.get_relative_path("/report"), id="shell-report",
                     className="button filter-report"),
        ],
    )


def _register_shell_callbacks(app: Dash) -> None:
    @app.callback(
        Output("filters-dates", "start_date"),
        Output("filters-dates", "end_date"),
        Output("filters-region", "value"),
        Output("filters-service", "value"),
        Output("filters-tenure", "value"),
        Output("filters-preset", "value"),
        Output("filters-compare", "value"),
        Output("url", "search"),
        Input("url", "search"),
        Input("filters-dates", "start_date"),
        Input("filters-dates", "end_date"),
        Input("filters-region", "value"),
        Input("filters-service", "value"),
        Input("filters-tenure", "value"),
        Input("filters-preset", "value"),
        Input("filters-compare", "value"),
    )
    def sync_filters(search: str | None, start: str | None, end: str | None, region: str | None,
                     service: str | None, tenure: str | None, preset: str | None,
                     compare: str | None) -> tuple[Any, ...]:
        """URL → filter bar on load and on back/forward; filter bar → URL on change."""
        params = dict(parse_qsl((search or "").lstrip("?")))
        if ctx.triggered_id in (None, "url"):
            period = params.get("period") if params.get("period") in data.PRESETS else None
            dates: tuple[Any, Any] = (params.get("from", no_update), params.get("to", no_update))
            if period in data.RELATIVE_PRESETS:
                chosen = data.filters_for(data.current_runner(), {"period": period})
                dates = (chosen.start.isoformat(), chosen.end.isoformat())
            return (
                *dates, params.get("region"), params.get("service_type"), params.get("tenure"),
                period, params.get("compare") if params.get("compare") in data.COMPARISONS else "previous",
                no_update,
            )
        start, end = (start or "")[:10], (end or "")[:10]
        dates_out: tuple[Any, Any] = (no_update, no_update)
        if ctx.triggered_id == "filters-dates":
            preset = None  # dates picked by hand: no preset any more
        elif ctx.triggered_id == "filters-preset" and preset in data.RELATIVE_PRESETS:
            chosen = data.filters_for(data.current_runner(), {"period": preset})
            start, end = chosen.start.isoformat(), chosen.end.isoformat()
            dates_out = (start, end)
        elif ctx.triggered_id == "filters-preset" and preset == "last-year" and start and end:
            earlier = data.year_earlier(date.fromisoformat(start), date.fromisoformat(end))
            start, end = earlier[0].isoformat(), earlier[1].isoformat()
            dates_out = (start, end)
        relative = preset in data.RELATIVE_PRESETS
        picked = {"from": None if relative else start, "to": None if relative else end, "period": preset,
                  "compare": compare if compare in data.COMPARISONS and compare != "previous" else None,
                  "region": region, "service_type": service, "tenure": tenure}
        kept = {k: v for k, v in params.items() if k not in FILTER_KEYS}
        merged = {k: v for k, v in picked.items() if v} | kept
        new_search = "?" + urlencode(merged) if merged else ""
        new_preset: Any = preset if ctx.triggered_id == "filters-dates" and preset is None else no_update
        if new_search == (search or ""):
            return (*dates_out, no_update, no_update, no_update, new_preset, no_update, no_update)
        return (*dates_out, no_update, no_update, no_update, new_preset, no_update, new_search)

    for control in VIEW_CONTROLS:
        # a page control → the address, in place (see the module's docstring); the shell's
        # `url` learns the new query string without a navigation
        app.clientside_callback(
            ClientsideFunction(namespace="rapport", function_name="keepInUrl"),
            Output("url", "search", allow_duplicate=True),
            Input(control, "value"),
            prevent_initial_call=True,
        )

    @app.callback(
        [Output(f"nav-{key}", "href") for key, _, _ in NAV]
        + [Output(f"nav-{key}", "className") for key, _, _ in NAV],
        Input("url", "search"),
        Input("url", "pathname"),
    )
    def nav_links(search: str | None, pathname: str | None) -> list[str]:
        """Navigation keeps the filters (not a page's own controls) and marks the current page."""
        params = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k in FILTER_KEYS]
        suffix = "?" + urlencode(params) if params else ""
        current = dash.strip_relative_path(pathname or PREFIX) or ""
        hrefs = [dash.get_relative_path(path) + suffix for _, _, path in NAV]
        classes = ["nav-link nav-link-active" if path.strip("/") == current else "nav-link" for _, _, path in NAV]
        return hrefs + classes
