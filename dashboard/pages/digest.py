"""E-mail digest: the signed-in user turns their weekly digest on or off, and sets its address.

The same setting as `rapport digest subscribe|unsubscribe NAME` (models.digest);
the digest itself is sent by `rapport digest send` or the worker's schedule.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import data
from dashboard.components import card, page_head
from models.settings import settings

__all__ = ["digest_load", "digest_save", "layout"]

dash.register_page(__name__, path="/digest", name="E-mail digest", title="E-mail digest · Rapport", order=10)


def layout(**query: Any) -> html.Div:
    return html.Div([
        page_head("E-mail digest", "The headline figures of the last four weeks, in your inbox once a week."),
        dcc.Store(id="digest-load", data=1),
        card(
            html.Form(className="digest-form", id="digest-form", children=[
                html.Label(htmlFor="digest-email", children="Send it to"),
                dcc.Input(id="digest-email", type="email", placeholder="you@example.com", autoComplete="email",
                          debounce=False, className="digest-email", maxLength=254),
                dcc.Checklist(id="digest-weekly", className="digest-weekly",
                              options=[{"label": " Send me the weekly digest", "value": "weekly"}], value=[]),
                html.Button("Save", id="digest-save", type="button", className="button button-primary"),
            ]),
            html.P(id="digest-status", role="status", className="muted"),
            html.P(f"Each digest covers the four weeks to the Sunday before it is sent: the index, CSAT, NPS, effort "
                   f"and response rates beside the four weeks before, with a link to the printable report. It "
                   f"follows the dashboard's privacy rules (no pulse figure for fewer than {settings.min_group} "
                   "contractors).", className="legend"),
            title="Your weekly digest",
        ),
    ])


@callback(
    Output("digest-email", "value"),
    Output("digest-weekly", "value"),
    Output("digest-status", "children"),
    Input("digest-load", "data"),
)
def digest_load(_: Any) -> tuple[Any, list[str], str]:
    current = data.digest_setting(data.current_runner(), username=data.current_user())
    return current.email or "", ["weekly"] if current.weekly else [], _status(current)


@callback(
    Output("digest-status", "children", allow_duplicate=True),
    Input("digest-save", "n_clicks"),
    State("digest-email", "value"),
    State("digest-weekly", "value"),
    prevent_initial_call=True,
)
def digest_save(clicks: int | None, email: str | None, weekly: list[str] | None) -> Any:
    if not clicks:
        return no_update
    try:
        saved = data.set_digest(data.current_runner(), username=data.current_user(),
                                weekly="weekly" in (weekly or []), email=(email or "").strip() or None)
    except ValueError as exc:
        return f"Not saved: {exc}."
    return "Saved. " + _status(saved)


def _status(current: Any) -> str:
    if not current.weekly:
        return "The weekly digest is off."
    sent = f" The last one went out on {current.last_sent:%-d %b %Y}." if current.last_sent else ""
    return f"The weekly digest is on, to {current.email}.{sent}"
