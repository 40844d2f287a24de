"""The Dash app factory: the shell every page shares.

One layout for every view: a top bar (brand, navigation, the signed-in user
and a sign-out button), a filter bar (date range, region, service type,
tenure band) and the page. The filters live in the URL's query string, so a
view can be shared by copying its address; the navigation links carry the
query string along.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
from dash import Dash, Input, Output, ctx, dcc, html, no_update

from dashboard import data
from models.settings import settings

__all__ = ["NAV", "PREFIX", "create_dash_app"]

PREFIX = "/dashboard/"
HERE = Path(__file__).parent
NAV = (
    ("overview", "Overview", "/"),
    ("linkage", "Linkage", "/linkage"),
    ("drivers", "Drivers", "/drivers"),
    ("segments", "Segments", "/segments"),
    ("followup", "Follow-up", "/followup"),
)
FILTER_KEYS = ("from", "to", "region", "service_type", "tenure")


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
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
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
                            dcc.Input(type="hidden", name="csrf", value=session.get("csrf", "")),
                            html.Button("Sign out", type="submit", className="button button-quiet"),
                        ],
                    ),
                ],
            ),
            _filter_bar(options),
            html.Main(className="page", children=dash.page_container),
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
    unseen = data.alert_count(data.current_runner(), username=user) if user else 0
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

    return html.Section(
        className="filterbar",
        **{"aria-label": "Filters"},
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
            dropdown("filters-region", "Region", options.get("regions", []), "All regions"),
            dropdown("filters-service", "Service type", options.get("service_types", []), "All service types"),
            dropdown("filters-tenure", "Tenure", options.get("tenure_bands", []), "All tenures"),
        ],
    )


def _register_shell_callbacks(app: Dash) -> None:
    @app.callback(
        Output("filters-dates", "start_date"),
        Output("filters-dates", "end_date"),
        Output("filters-region", "value"),
        Output("filters-service", "value"),
        Output("filters-tenure", "value"),
        Output("url", "search"),
        Input("url", "search"),
        Input("filters-dates", "start_date"),
        Input("filters-dates", "end_date"),
        Input("filters-region", "value"),
        Input("filters-service", "value"),
        Input("filters-tenure", "value"),
    )
    def sync_filters(search: str | None, start: str | None, end: str | None, region: str | None,
                     service: str | None, tenure: str | None) -> tuple[Any, ...]:
        """URL → filter bar on load and on back/forward; filter bar → URL on change."""
        params = dict(parse_qsl((search or "").lstrip("?")))
        if ctx.triggered_id in (None, "url"):
            return (
                params.get("from", no_update), params.get("to", no_update),
                params.get("region"), params.get("service_type"), params.get("tenure"),
                no_update,
            )
        chosen = {"from": (start or "")[:10], "to": (end or "")[:10], "region": region,
                  "service_type": service, "tenure": tenure}
        kept = {k: v for k, v in params.items() if k not in FILTER_KEYS}
        merged = {k: v for k, v in chosen.items() if v} | kept
        new_search = "?" + urlencode(merged) if merged else ""
        if new_search == (search or ""):
            return (no_update,) * 6
        return (no_update,) * 5 + (new_search,)

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
