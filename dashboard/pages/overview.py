"""Overview: the index and the customer numbers for the period, against the period before."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import data
from dashboard.components import card, count, delta, fmt, graph, kpi, margin, notice, page_head, plural
from dashboard.figures import trend_figure
from models.settings import settings
from surveys.association import listed

__all__ = ["layout", "overview_view", "render"]

dash.register_page(__name__, path="/", name="Overview", title="Overview · Rapport", order=0)


def layout(**query: Any) -> html.Div:
    """The view for the address's filters, drawn in the page's own request: the page
    router's callback answers with the figures, not with a second callback to wait for."""
    body, period = overview_view(query)
    return html.Div([
        page_head("Overview", "How connected and empowered contractors feel, and what customers experience.",
                  html.Div(period, id="overview-period", className="muted")),
        html.Div(body, id="overview-body"),
    ])


def overview_view(query: dict[str, Any]) -> tuple[Any, str]:
    """The body and the period line for a query string's filters."""
    run = data.current_runner()
    filters = data.filters_for(run, query)
    report = data.overview_view(run, filters)
    previous = report["index_previous"]["window"]
    period = (f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}, compared with the {filters.comparison_label} "
              f"{previous['from']} – {previous['to']}")
    return render(report, against=filters.comparison_label), period


def render(report: dict[str, Any], *, against: str = "previous period") -> Any:
    index, before = report["index"]["overall"], report["index_previous"]["overall"]
    customer = report["customer"]["overall"]
    done, done_before = report["customer"].get("complete") or {}, report["customer_previous"].get("complete") or {}
    changes = report.get("changes") or {}
    weeks = done.get("weeks") or []
    customer_against = (f"{against} (complete weeks {weeks[0]}–{weeks[-1]})" if len(weeks) > 1
                        else f"{against} (complete week {weeks[0]})" if weeks else against)

    def customer_delta(key: str, **kwargs: Any) -> html.Div:
        scale = 100.0 if key == "response_rate" else 1.0
        now, then = done.get(key), done_before.get(key)
        return delta(None if now is None else scale * now, None if then is None else scale * then,
                     test=changes.get(key), against=customer_against, **kwargs)

    tiles = html.Div(className="grid grid-kpi", id="overview-kpis", children=[
        _cei_tile(index, before, changes.get("cei"), against),
        kpi("CSAT", customer.get("csat_pct"), unit="%", pattern="{:.0f}", id="overview-csat",
            error=margin(customer.get("csat_pct_ci"), "{:.1f}"),
            change=customer_delta("csat_pct", unit=" pts"),
            note=f"share answering 4–5 · mean {fmt(customer.get('csat_mean'), '{:.2f}')} / 5 · "
                 f"{plural(customer.get('n', 0), 'answer')} · ± 95 % margin (Wilson)"),
        kpi("NPS", customer.get("nps"), pattern="{:+.0f}", id="overview-nps",
            error=margin(customer.get("nps_ci"), "{:.0f}"),
            change=customer_delta("nps", pattern="{:+.0f}"),
            note="% promoters − % detractors, −100 to +100 · ± 95 % margin"),
        kpi("Customer effort", customer.get("ces_mean"), unit="/ 7", pattern="{:.2f}", id="overview-ces",
            error=margin(customer.get("ces_mean_ci"), "{:.2f}"),
            change=customer_delta("ces_mean", pattern="{:+.2f}"),
            note=f"mean of 1–7 (higher is easier) · {fmt(customer.get('ces_pct'), '{:.0f}')} % answer 5–7"),
        kpi("Customer response rate", _pct(customer.get("response_rate")), unit="%", pattern="{:.0f}",
            id="overview-rate",
            change=customer_delta("response_rate", unit=" pts"),
            note=f"{plural(customer.get('n', 0), 'answer')} for {plural(customer.get('jobs', 0), 'job')}"
                 + _in_progress_weeks(report["customer"].get("trend", []))),
        _pulse_rate_tile(index, before, changes.get("pulse_response_rate"), against),
    ])
    index_trend = report["index"].get("trend", [])
    customer_trend = report["customer"].get("trend", [])
    wave_marks = [{"x": p["wave"], "text": "in progress" if p.get("state") == "open" else "hidden",
                   "reason": p.get("reason") or ""}
                  for p in index_trend if p.get("state") in ("open", "too_few") or p.get("suppressed")]
    week_marks = [{"x": p["week"], "text": "in progress" if p.get("state") == "in_progress" else "part week",
                   "reason": "the week is not over: answers are still arriving" if p.get("state") == "in_progress"
                   else "only part of this week is in the period"}
                  for p in customer_trend if p.get("state") in ("in_progress", "partial")]
    charts = html.Div(className="grid grid-2", children=[
        card(graph("overview-cei-trend", trend_figure(
            [{**p, **_band(p.get("cei_ci"))} for p in index_trend], x="wave", y="cei", title="CEI by pulse wave",
            x_title="Pulse wave", y_title="CEI (0–100), 95 % CI", y_range=(0, 100), count="n_contractors",
            empty="No pulse wave with enough contractors in this period.", marks=wave_marks))),
        card(graph("overview-csat-trend", trend_figure(
            [{**p, **_band(p.get("csat_pct_ci"))} for p in customer_trend], x="week", y="csat_pct",
            title="CSAT by week", x_title="Week of job completion (ISO)",
            y_title="CSAT, % answering 4–5, 95 % CI", y_range=(0, 100), hover_unit=" %", count="n",
            marks=week_marks))),
        card(graph("overview-nps-trend", trend_figure(
            [{**p, **_band(p.get("nps_ci"))} for p in customer_trend], x="week", y="nps", title="NPS by week",
            x_title="Week of job completion (ISO)", y_title="NPS (−100 to +100), 95 % CI", count="n",
            marks=week_marks))),
        card(graph("overview-rate-trend", trend_figure(
            [{**p, "rate_pct": _pct(p.get("response_rate"))} for p in customer_trend], x="week", y="rate_pct",
            title="Customer response rate by week", x_title="Week of job completion (ISO)",
            y_title="Answers per job, %", y_range=(0, 100), hover_unit=" %", count="jobs", marks=week_marks))),
    ])
    parts: list[Any] = [tiles]
    waiting = [w for w in report["index"].get("waves", []) if w.get("state") != "reported"]
    if waiting:
        parts.append(notice(
            "Some pulse waves are not in these figures yet.",
            " ".join(
                f"{w['wave']}: in progress, open until {w['closes_at'][:10]}"
                + (f", {_pct(w['response_rate']):.0f} % answered so far." if w.get("response_rate") is not None
                   else ".")
                if w["state"] == "open" else
                f"{w['wave']}: fewer than {settings.min_group} contractors answered, so it is hidden "
                "(drawn as a marked gap)."
                for w in waiting)
            + " Pulse scores and changes come only from closed waves, so no one's answers can be told apart "
              "as they arrive.",
            id="overview-waves"))
    if not customer.get("n") and not index.get("n_responses"):
        parts.append(notice("No answers in this period.",
                            "Nothing was answered between these dates for this selection. Widen the period or "
                            "clear a filter.", id="overview-empty"))
    parts.append(charts)
    return parts


def _band(ci: dict[str, Any] | None) -> dict[str, Any]:
    return {"ci_low": ci["low"], "ci_high": ci["high"]} if ci else {}


def _in_progress_weeks(trend: list[dict[str, Any]]) -> str:
    current = [p["week"] for p in trend if p.get("state") == "in_progress"]
    return f" · {listed(current)} in progress, left out of the change" if current else ""


def _cei_tile(index: dict[str, Any], before: dict[str, Any], test: dict[str, Any] | None,
              against: str) -> html.Div:
    if index.get("suppressed") or index.get("cei") is None:
        why = (index.get("reason") or f"Fewer than {settings.min_group} contractors answered the pulse for this "
               "selection, so the index is not shown.") if index.get("suppressed") else (
               "No pulse wave closed in this period.")
        return kpi("Connection & Empowerment Index", None, id="overview-cei",
                   hidden=f"hidden (<{settings.min_group})" if index.get("suppressed") else "no data", note=why)
    previous = None if before.get("suppressed") else before.get("cei")
    return kpi("Connection & Empowerment Index", index["cei"], unit="/ 100", id="overview-cei",
               error=margin(index.get("cei_ci")),
               change=delta(index["cei"], previous, unit=" pts", test=test, against=against),
               note=f"{fmt(index.get('cei_favourable_pct'), '{:.0f}')} % favourable · "
                    f"{plural(index.get('n_contractors'), 'contractor')} · "
                    f"{plural(index.get('n_waves', 0), 'closed wave')} · ± 95 % margin (bootstrap)")


def _pulse_rate_tile(index: dict[str, Any], before: dict[str, Any], test: dict[str, Any] | None,
                     against: str) -> html.Div:
    """Share of the pulse invitations of the closed waves that were answered: the
    answered invitations over the invited, both on the tile, so they add up."""
    label, tile = "Pulse response rate", "overview-pulse"
    if index.get("suppressed"):
        return kpi(label, None, id=tile, hidden=f"hidden (<{settings.min_group})",
                   note=f"{count(index.get('n_contractors'))} contractors · too few to show a rate")
    if index.get("response_rate") is None:
        return kpi(label, None, id=tile, hidden="no invites",
                   note=f"{plural(index.get('n_responses'), 'response')} · no invitations in the closed waves")
    answered, invited = index.get("n_answered") or 0, index.get("n_invited") or 0
    extra = (index.get("n_responses") or 0) - answered
    note = (f"{answered:,} of {plural(invited, 'invitation')} answered in "
            f"{plural(index.get('n_waves', 0), 'closed wave')} · {plural(index.get('n_contractors'), 'contractor')}")
    if extra > 0:
        note += f" · {plural(extra, 'answer')} without an invitation (imported) not in the rate"
    previous = None if before.get("suppressed") else _pct(before.get("response_rate"))
    return kpi(label, _pct(index["response_rate"]), unit="%", pattern="{:.0f}", id=tile,
               change=delta(_pct(index["response_rate"]), previous, unit=" pts", test=test,
                            against=against),
               note=note)


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share
