"""Follow-up: every detractor (NPS 0–6 or CSAT 1–2) is a case to assign, note and close.

The list's controls (show, sort, search, page) live in the URL's query string
next to the filters: links and a GET form change it, so a view can be shared
and Back works. Each case acts in place: its "Act on this case" disclosure
holds real buttons (assign, add a note, root cause, close, reopen), each
changing that one case and redrawing its state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import casework, data
from dashboard.components import card, fmt, notice, page_head, query_value, search_form, table, view_href
from models.followup import ROOT_CAUSES, SHOW, SORTS, Case, CaseChange, CaseError, CaseNotFound, SegmentTiming
from models.settings import settings

__all__ = [
    "CAUSE_LABELS",
    "CONTROL_KEYS",
    "SEGMENT_LABELS",
    "SHOW_LABELS",
    "SORT_LABELS",
    "controls_of",
    "followup_act",
    "followup_view",
    "href",
    "layout",
    "render",
]

dash.register_page(__name__, path="/followup", name="Follow-up", title="Follow-up · Rapport", order=4)

SHOW_LABELS = {"open": "Open", "closed": "Closed", "all": "All"}
SORT_LABELS = {"oldest": "Oldest first", "newest": "Newest first", "contractor": "Contractor", "job": "Job"}
CAUSE_LABELS = {"contractor": "Contractor", "process": "Process", "platform": "Platform", "other": "Other"}
CONTROL_KEYS = ("show", "sort", "q", "page")
SEGMENT_LABELS = {"region": "Region", "service_type": "Service type"}



def controls_of(query: dict[str, Any]) -> dict[str, Any]:
    """The list's controls from the query string, bad values replaced by the defaults.

    >>> controls_of({"show": "closed", "page": "3", "sort": "loud"})
    {'show': 'closed', 'sort': 'oldest', 'q': '', 'page': 3}
    """
    show = query_value(query, "show")
    sort = query_value(query, "sort")
    try:
        page = max(1, int(query_value(query, "page") or 1))
    except ValueError:
        page = 1
    return {"show": show if show in SHOW else "open", "sort": sort if sort in SORTS else "oldest",
            "q": query_value(query, "q")[:100], "page": page}


def href(query: dict[str, Any], **changes: Any) -> str:
    """This page's address with `changes` to its controls (components.view_href)."""
    return view_href("/followup", query, **changes)


def layout(**query: Any) -> html.Div:
    chosen = controls_of(query)
    return html.Div([
        page_head(
            "Follow-up",
            "Every customer who answered NPS 0–6 or CSAT 1–2 is a case: assign it, note what was done, "
            "name the root cause, close it with an outcome.",
        ),
        html.Div(className="followup-controls", children=[
            _choice("Show", "followup-show", SHOW_LABELS, chosen["show"], query, "show"),
            _choice("Sort", "followup-sort", SORT_LABELS, chosen["sort"], query, "sort"),
            search_form("/followup", query, id="followup", label="Job or contractor", value=chosen["q"],
                        placeholder="e.g. JOB-77 or C-1001"),
        ]),
        html.Div(followup_view(query), id="followup-table"),
    ])


def _choice(label: str, id_: str, labels: dict[str, str], current: str, query: dict[str, Any],
            key: str) -> html.Nav:
    landmark: dict[str, Any] = {"aria-label": label}
    chosen: dict[str, Any] = {"aria-current": "true"}
    options: list[Any] = [
        html.Span(text, id=f"{id_}-{value}", className="chip chip-active", **chosen) if value == current
        else dcc.Link(text, href=href(query, **{key: value}), id=f"{id_}-{value}", className="chip")
        for value, text in labels.items()
    ]
    return html.Nav(className="followup-choice", id=id_, **landmark,
                    children=[html.Span(label, className="control-label"), *options])


def followup_view(query: dict[str, Any]) -> Any:
    """The list and the time to act for a query string's filters and controls (drawn in
    the page's own request: no second callback)."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    chosen = controls_of(query)
    segment = "service_type" if filters.region else "region"
    view = casework.followup_view(run, filters, show=chosen["show"], sort=chosen["sort"], search=chosen["q"] or None,
                              page=chosen["page"], segment=segment)
    found = view["cases"]
    return render(found.cases, total=found.total, page=found.page, pages=found.pages, query=query, chosen=chosen,
                  filters=filters, timing=view["timing"], users=view["assignees"], segment=segment)


def render(cases: list[Case], *, total: int, page: int, pages: int, query: dict[str, Any], chosen: dict[str, Any],
           filters: data.Filters, timing: list[SegmentTiming], users: list[str], segment: str) -> Any:
    now = datetime.now(UTC)
    target = settings.followup_target_hours
    period = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}"
    what = {"open": "open case", "closed": "closed case", "all": "case"}[chosen["show"]]
    found = f" matching “{chosen['q']}”" if chosen["q"] else ""
    summary = html.P(
        [html.Strong(f"{total:,} {what}{'' if total == 1 else 's'}"), f"{found} answered in {period}."
         + (f" Page {page} of {pages}." if pages > 1 else "")],
        id="followup-total", className="card-sub")
    if not cases:
        body: Any = notice(f"No {what}s{found} in {period}.",
                           "A detractor is a customer who answered NPS 0–6 or CSAT 1–2. Widen the period, "
                           "show all cases or clear the search.", id="followup-empty")
    else:
        body = html.Ol([_case_item(c, now=now, target=target, users=users) for c in cases],
                       className="case-list", id="followup-rows")
    return html.Div([
        card(summary, body, _pager(query, page, pages), id="followup-list"),
        card(_timing_table(timing, segment, target), title="Time to act",
             sub=f"Hours from the answer to the first action (assignment, note or close) and to the close, "
                 f"median per {SEGMENT_LABELS[segment].lower()}, against the {target} h target "
                 f"(RAPPORT_FOLLOWUP_TARGET_HOURS). Past target: open longer than that, or closed later.",
             id="followup-timing"),
    ])


def _pager(query: dict[str, Any], page: int, pages: int) -> Any:
    if pages <= 1:
        return None
    links: list[Any] = []
    if page > 1:
        links.append(dcc.Link("← Previous", href=href(query, page=page - 1), className="button",
                              id="followup-previous"))
    links.append(html.Span(f"Page {page} of {pages}", className="muted"))
    if page < pages:
        links.append(dcc.Link("Next →", href=href(query, page=page + 1), className="button", id="followup-next"))
    landmark: dict[str, Any] = {"aria-label": "Pages"}
    return html.Nav(links, className="pager", **landmark)


def _age(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def _scores(case: Case) -> list[Any]:
    out: list[Any] = []
    for label, value, bad in (("NPS", case.nps, case.nps is not None and case.nps <= 6),
                              ("CSAT", case.csat, case.csat is not None and case.csat <= 2)):
        if value is not None:
            out.append(html.Span(f"{label} {value}", className="score score-bad" if bad else "score"))
    return out


def _case_item(case: Case, *, now: datetime, target: int, users: list[str]) -> html.Li:
    late = not case.closed and case.past_target(now, target)
    key = {"case": case.id}
    return html.Li(className="case case-late" if late else "case", id={"type": "followup-case", **key}, children=[
        html.Div(className="case-head", children=[
            html.Strong(case.job_external_id, className="case-job"),
            html.Span(f"{case.contractor_name} ({case.contractor_external_id}, {case.region or 'no region'}"
                      f"{', ' + case.service_type if case.service_type else ''})", className="case-who"),
            *_scores(case),
            html.Span(f"answered {case.submitted_at:%d %b %H:%M} · {_age(case.age_hours(now))}"
                      + (" · past target" if late else ""), className="case-age"),
        ]),
        html.P(case.comment or "No comment.", className="case-comment"),
        html.Div(_state(case), id={"type": "followup-state", **key}, className="case-state", role="status"),
        html.Details(className="case-act", children=[
            html.Summary("Act on this case", className="button", id={"type": "followup-open", **key}),
            html.Div(className="case-form", children=[
                html.Div(className="case-field", children=[
                    html.Span("Assign to", className="control-label"),
                    dcc.RadioItems(id={"type": "followup-assignee", **key}, options=users, value=case.assignee,
                                   inline=True, className="radio-inline case-assignees"),
                    html.Button("Assign", id={"type": "followup-assign", **key}, className="button", type="button"),
                ]),
                html.Div(className="case-field", children=[
                    html.Span("Root cause", className="control-label"),
                    dcc.RadioItems(id={"type": "followup-cause", **key}, value=case.root_cause, inline=True,
                                   options=[{"label": CAUSE_LABELS[c], "value": c} for c in ROOT_CAUSES],
                                   className="radio-inline"),
                    html.Button("Save root cause", id={"type": "followup-set-cause", **key}, className="button",
                                type="button"),
                ]),
                html.Div(className="case-field case-field-wide", children=[
                    html.Label([html.Span("Note", className="control-label"),
                                dcc.Textarea(id={"type": "followup-note", **key}, className="case-text",
                                             placeholder="What was done or learned")]),
                    html.Button("Add note", id={"type": "followup-add-note", **key}, className="button",
                                type="button"),
                ]),
                html.Div(className="case-field case-field-wide", children=[
                    html.Label([html.Span("Outcome", className="control-label"),
                                dcc.Input(id={"type": "followup-outcome", **key}, type="text",
                                          className="followup-input", placeholder="e.g. refunded and apologised")]),
                    html.Button("Close case", id={"type": "followup-close", **key},
                                className="button button-primary", type="button"),
                    html.Button("Reopen", id={"type": "followup-reopen", **key}, className="button", type="button"),
                ]),
            ]),
        ]),
    ])


def _state(case: Case, message: str | None = None) -> list[Any]:
    parts = [
        html.Span("Closed" if case.closed else "Open", className="tag tag-closed" if case.closed else "tag tag-open"),
        html.Span(f"assigned to {case.assignee}" if case.assignee else "unassigned"),
    ]
    if case.customer_ref:
        parts.append(html.Span(f"customer ref {case.customer_ref}"))
    if case.root_cause:
        parts.append(html.Span(f"root cause: {CAUSE_LABELS.get(case.root_cause, case.root_cause)}"))
    if case.closed:
        parts.append(html.Span(f"closed by {case.closed_by} {case.closed_at:%d %b %H:%M}: {case.outcome}"))
    notes = [html.Li([html.Span(f"{n.author}, {n.at:%d %b %H:%M}: ", className="muted"), n.text])
             for n in case.notes]
    return [
        html.Div(parts, className="case-facts"),
        html.Ul(notes, className="case-notes") if notes else None,
        html.P(message, className="case-message") if message else None,
    ]


@callback(
    Output({"type": "followup-state", "case": MATCH}, "children"),
    Output({"type": "followup-note", "case": MATCH}, "value"),
    Output({"type": "followup-outcome", "case": MATCH}, "value"),
    Input({"type": "followup-assign", "case": MATCH}, "n_clicks"),
    Input({"type": "followup-set-cause", "case": MATCH}, "n_clicks"),
    Input({"type": "followup-add-note", "case": MATCH}, "n_clicks"),
    Input({"type": "followup-close", "case": MATCH}, "n_clicks"),
    Input({"type": "followup-reopen", "case": MATCH}, "n_clicks"),
    State({"type": "followup-assignee", "case": MATCH}, "value"),
    State({"type": "followup-cause", "case": MATCH}, "value"),
    State({"type": "followup-note", "case": MATCH}, "value"),
    State({"type": "followup-outcome", "case": MATCH}, "value"),
    prevent_initial_call=True,
)
def followup_act(_assign: Any, _cause: Any, _note: Any, _close: Any, _reopen: Any, assignee: str | None,
                 cause: str | None, note: str | None, outcome: str | None) -> tuple[Any, Any, Any]:
    """One button of one case: change it as the signed-in user, then redraw its state."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update, no_update
    action, case_id = str(trigger["type"]).removeprefix("followup-"), int(trigger["case"])
    change, done = {
        "assign": (CaseChange(assignee=assignee or None), f"Assigned to {assignee}." if assignee else "Unassigned."),
        "set-cause": (CaseChange(root_cause=cause), "Root cause saved."),
        "add-note": (CaseChange(note=note), "Note added."),
        "close": (CaseChange(outcome=outcome), "Case closed."),
        "reopen": (CaseChange(reopen=True), "Case reopened."),
    }[action]
    run = data.current_runner()
    try:
        case = casework.change_followup(run, case_id=case_id, change=change, by=data.current_user())
    except CaseNotFound:
        return [html.P("This case no longer exists.", className="case-message")], no_update, no_update
    except CaseError as problem:
        case = casework.followup_case(run, case_id=case_id)
        message = {"note": "Write a note first.", "outcome": "Write the outcome first."}.get(
            str(problem).split(" ", 1)[0], f"Not done: {problem}.")
        return _state(case, message), no_update, no_update
    return (_state(case, done), "" if action == "add-note" else no_update,
            "" if action == "close" else no_update)


def _timing_table(rows: list[SegmentTiming], segment: str, target: int) -> Any:
    if not rows:
        return notice("No cases in the period.", "Time to act appears once there are detractors.",
                      id="followup-timing-empty")

    def share(part: int, whole: int) -> str:
        return f"{part / whole * 100:.0f} %" if whole else "–"

    body = [
        html.Tr(className="row-total" if r.segment == "All" else ("row-late" if r.past_target else None), children=[
            html.Td(r.segment),
            html.Td(f"{r.cases:,}", className="num"),
            html.Td(f"{r.open:,}", className="num"),
            html.Td(f"{r.past_target:,}", className="num cell-late" if r.past_target else "num"),
            html.Td(fmt(r.first_action_hours, "{:.0f} h"), className="num"),
            html.Td(share(r.first_action_within, r.acted), className="num"),
            html.Td(fmt(r.close_hours, "{:.0f} h"), className="num"),
            html.Td(share(r.closed_within, r.closed), className="num"),
        ])
        for r in rows
    ]
    return table([SEGMENT_LABELS[segment], ("Cases", "num"), ("Open", "num"), (f"Past {target} h", "num"),
                  ("First action", "num"), ("Within", "num"), ("Close", "num"), ("Within", "num")],
                 body, id="followup-timing-table")
