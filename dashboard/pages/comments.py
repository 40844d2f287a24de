"""What contractors say: their pulse comments per closed wave, beside customers' comments.

Contractors' comments appear only for groups that pass the comment gate (the
index's, models.analytics.index.comment_gate); a hidden wave says why, never
how many. Each wave counts its comments by theme (the survey file's keyword
lists, surveys/themes.py). Customers' comments are every answer with one,
newest first, paged, with CSAT, NPS, the job's day and its segment, never the
contractor. The view's controls (a contractors' theme, a customers' theme, a
search, the customers' page) live in the URL as links and a GET form, like
Follow-up's, so a copied or reloaded address shows the same view.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
from dash import dcc, html

from dashboard import data
from dashboard.components import card, notice, page_head, query_value, search_form, view_href
from models.analytics.comments import MAX_SEARCH

__all__ = ["CONTROL_KEYS", "comments_view", "controls_of", "href", "layout", "render"]

dash.register_page(__name__, path="/comments", name="What contractors say",
                   title="What contractors say · Rapport", order=6)

CONTROL_KEYS = ("theme", "ctheme", "q", "page")


def controls_of(query: dict[str, Any], themes: dict[str, list[tuple[str, str]]]) -> data.CommentChoice:
    """The view's controls from the query string; an unknown theme or a bad page is dropped.

    >>> themes = {"pulse": [("trust", "Trust")], "customer": [("courtesy", "Courtesy")]}
    >>> controls_of({"theme": "trust", "ctheme": "pay", "page": "x", "q": " late "}, themes)
    CommentChoice(theme='trust', customer_theme=None, search='late', page=1)
    """
    theme, ctheme = query_value(query, "theme"), query_value(query, "ctheme")
    try:
        page = max(1, min(10_000, int(query_value(query, "page")[:6] or 1)))
    except ValueError:
        page = 1
    return data.CommentChoice(
        theme=theme if theme in {t for t, _ in themes["pulse"]} else None,
        customer_theme=ctheme if ctheme in {t for t, _ in themes["customer"]} else None,
        search=query_value(query, "q")[:MAX_SEARCH] or None, page=page)


def href(query: dict[str, Any], **changes: Any) -> str:
    """This page's address with `changes` to its controls (components.view_href)."""
    return view_href("/comments", query, **changes)


def layout(**query: Any) -> html.Div:
    choice = controls_of(query, data.comment_themes())
    return html.Div([
        page_head(
            "What contractors say",
            "Contractors' own words from the pulse, per closed wave, for groups large enough to keep them "
            "confidential; customers' comments beside them, every answer.",
            search_form("/comments", query, id="comments", label="Search the comments", value=choice.search or "",
                        placeholder="e.g. training", max_length=MAX_SEARCH),
        ),
        html.Div(comments_view(query, choice), id="comments-body"),
    ])


def comments_view(query: dict[str, Any], choice: data.CommentChoice) -> Any:
    """Both columns for a query string's filters and controls (drawn in the page's own
    request: no second callback)."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    return render(data.comments_view(run, filters, choice), query=query, choice=choice)


def render(view: dict[str, Any], *, query: dict[str, Any], choice: data.CommentChoice) -> html.Div:
    return html.Div(className="grid grid-2 comments-grid", children=[
        _contractors(view["contractors"], query, choice),
        _customers(view["customers"], query, choice),
    ])


def _chips(label: str, id_: str, key: str, themes: list[dict[str, str]], counts: dict[str, int] | None,
           current: str | None, query: dict[str, Any]) -> html.Nav:
    """The theme filter as links: "All" and each theme with its count."""
    chosen: dict[str, Any] = {"aria-current": "true"}
    options: list[Any] = []
    for value, text in [(None, "All"), *((t["id"], t["label"]) for t in themes)]:
        shown = text if value is None or counts is None else f"{text} {counts.get(value, 0):,}"
        item_id = f"{id_}-{value or 'all'}"
        if value == current:
            options.append(html.Span(shown, id=item_id, className="chip chip-active", **chosen))
        else:
            options.append(dcc.Link(shown, href=href(query, **{key: value or ""}), id=item_id, className="chip"))
    landmark: dict[str, Any] = {"aria-label": label}
    return html.Nav(className="followup-choice comments-themes", id=id_, **landmark,
                    children=[html.Span(label, className="control-label"), *options])


def _tags(ids: list[str], labels: dict[str, str]) -> Any:
    return html.Span([html.Span(labels[i], className="tag tag-theme") for i in ids], className="comment-tags") \
        if ids else None


def _contractors(report: dict[str, Any], query: dict[str, Any], choice: data.CommentChoice) -> html.Section:
    labels = {t["id"]: t["label"] for t in report["themes"]}
    sub = (f"Per closed wave, newest first, for groups of {report['threshold']} or more who answered. Each wave's "
           f"themes count its comments by the survey file's keywords; up to {report['max_per_wave']} comments "
           "a wave are listed, in an order that says nothing about who wrote them or when.")
    if report.get("refused"):
        return card(notice("Comments are not shown for this selection.", report["refused"], id="comments-refused"),
                    title="Contractors", sub=sub, id="comments-contractors")
    totals: dict[str, int] = dict.fromkeys(labels, 0)
    for wave in report["waves"]:
        for theme_id, n in (wave["themes"] or {}).items():
            totals[theme_id] += n
    waves: list[Any] = [_wave(w, labels, choice) for w in report["waves"]]
    if not waves:
        waves = [notice("No pulse wave in this period.", "Widen the period to see contractors' comments.",
                        id="comments-no-wave")]
    return card(_chips("Theme", "comments-theme", "theme", report["themes"], totals, choice.theme, query),
                html.Div(waves, className="comment-waves"), title="Contractors", sub=sub, id="comments-contractors")


def _wave(wave: dict[str, Any], labels: dict[str, str], choice: data.CommentChoice) -> html.Article:
    closes = date.fromisoformat(wave["closes_on"])
    head = html.H3([wave["wave"], html.Span(f" · {'closes' if wave['state'] == 'open' else 'closed'} "
                                             f"{closes:%d %b %Y}", className="muted")], className="wave-title")
    if not wave["shown"]:
        why = "In progress." if wave["state"] == "open" else "Hidden."
        return html.Article([head, html.P([html.Strong(why + " "), wave["reason"]],
                                          className="comment-hidden")], className="comment-wave wave-hidden")
    counts = [html.Li([labels[t], " ", html.Strong(f"{n:,}", className="theme-count")])
              for t, n in wave["themes"].items() if n]
    narrowed = choice.theme is not None or choice.search is not None
    listed = len(wave["comments"])
    summary = (f"{wave['n_matching']:,} of {wave['n_comments']:,} comments match" if narrowed
               else f"{wave['n_comments']:,} comment{'' if wave['n_comments'] == 1 else 's'}")
    if listed < (wave["n_matching"] or 0):
        summary += f"; {listed} listed"
    items = [html.Li([html.P(c["text"], className="comment-text"), _tags(c["themes"], labels)], className="comment")
             for c in wave["comments"]]
    named: dict[str, Any] = {"aria-label": f"Themes in {wave['wave']}"}
    return html.Article(className="comment-wave", children=[
        head,
        html.P(summary + ".", className="card-sub"),
        html.Ul(counts, className="theme-counts", **named) if counts
        else html.P("No theme found in these comments.", className="card-sub"),
        html.Ul(items, className="comment-list") if items else None,
    ])


def _customers(report: dict[str, Any], query: dict[str, Any], choice: data.CommentChoice) -> html.Section:
    labels = {t["id"]: t["label"] for t in report["themes"]}
    sub = ("Every customer answer with a comment about a job in the period, newest first, whatever its score; "
           "the job's day and segment, never the contractor.")
    narrowed = choice.customer_theme is not None or choice.search is not None
    total = report["total"]
    head = html.P([html.Strong(f"{total:,} comment{'' if total == 1 else 's'}"),
                   f" of {report['n_comments']:,} match." if narrowed else ".",
                   f" Page {report['page']} of {report['pages']}." if report["pages"] > 1 else ""],
                  id="comments-customer-total", className="card-sub")
    items = []
    for c in report["comments"]:
        segment = " · ".join(v for v in (c["region"], c["service_type"]) if v)
        scores = [f"{name} {c[key]}" for name, key in (("CSAT", "csat"), ("NPS", "nps")) if c[key] is not None]
        facts = [f"{date.fromisoformat(c['day']):%d %b %Y}", segment, *scores]
        items.append(html.Li(className="comment", children=[
            html.P(" · ".join(f for f in facts if f), className="comment-facts muted"),
            html.P(c["text"], className="comment-text"), _tags(c["themes"], labels)]))
    body: Any = html.Ul(items, className="comment-list", id="comments-customer-list") if items else notice(
        "No customer comments here.", "Widen the period, choose another theme or clear the search.",
        id="comments-customer-empty")
    return card(_chips("Theme", "comments-ctheme", "ctheme", report["themes"], report["counts"],
                       choice.customer_theme, query),
                head, body, _pager(query, report["page"], report["pages"]),
                title="Customers", sub=sub, id="comments-customers")


def _pager(query: dict[str, Any], page: int, pages: int) -> Any:
    if pages <= 1:
        return None
    links: list[Any] = []
    if page > 1:
        links.append(dcc.Link("← Newer", href=href(query, page=page - 1), className="button", id="comments-previous"))
    links.append(html.Span(f"Page {page} of {pages}", className="muted"))
    if page < pages:
        links.append(dcc.Link("Older →", href=href(query, page=page + 1), className="button", id="comments-next"))
    landmark: dict[str, Any] = {"aria-label": "Customer comment pages"}
    return html.Nav(links, className="pager", **landmark)
