"""The headline tiles and trend charts of a period, shared by the Overview and the printable report.

One builder, so the report forwarded to a colleague carries exactly what the
Overview shows: the same figures with their margins of error, the same tested
changes ("no clear change" where a change is within noise), the same marks on
hidden and unfinished waves and weeks. Each page gives the ids their prefix
("overview-cei", "report-cei") and its own frame (cards, or a printed sheet).
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.components import count, delta, fmt, kpi, margin, plural
from dashboard.figures import trend_figure
from models.settings import settings
from surveys.association import listed

__all__ = ["kpi_tiles", "trend_charts", "waves_note"]


def kpi_tiles(report: dict[str, Any], *, against: str, prefix: str) -> list[html.Div]:
    """The six headline tiles of `dashboard.data.overview_view` (or `report_view`): CEI, CSAT,
    NPS, customer effort, customer and pulse response rates, each change tested against
    `against` ('previous period' or 'same period last year')."""
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

    return [
        _cei_tile(index, before, changes.get("cei"), against, f"{prefix}-cei"),
        kpi("CSAT", customer.get("csat_pct"), unit="%", pattern="{:.0f}", id=f"{prefix}-csat",
            error=margin(customer.get("csat_pct_ci"), "{:.1f}"),
            change=customer_delta("csat_pct", unit=" pts"),
            note=f"share answering 4–5 · mean {fmt(customer.get('csat_mean'), '{:.2f}')} / 5 · "
                 f"{plural(customer.get('n', 0), 'answer')} · ± 95 % margin (Wilson)"),
        kpi("NPS", customer.get("nps"), pattern="{:+.0f}", id=f"{prefix}-nps",
            error=margin(customer.get("nps_ci"), "{:.0f}"),
            change=customer_delta("nps", pattern="{:+.0f}"),
            note="% promoters − % detractors, −100 to +100 · ± 95 % margin"),
        kpi("Customer effort", customer.get("ces_mean"), unit="/ 7", pattern="{:.2f}", id=f"{prefix}-ces",
            error=margin(customer.get("ces_mean_ci"), "{:.2f}"),
            change=customer_delta("ces_mean", pattern="{:+.2f}"),
            note=f"mean of 1–7 (higher is easier) · {fmt(customer.get('ces_pct'), '{:.0f}')} % answer 5–7"),
        kpi("Customer response rate", _pct(customer.get("response_rate")), unit="%", pattern="{:.0f}",
            id=f"{prefix}-rate",
            change=customer_delta("response_rate", unit=" pts"),
            note=f"{plural(customer.get('n', 0), 'answer')} for {plural(customer.get('jobs', 0), 'job')}"
                 + _in_progress_weeks(report["customer"].get("trend", []))),
        _pulse_rate_tile(index, before, changes.get("pulse_response_rate"), against, f"{prefix}-pulse"),
    ]


def trend_charts(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """The four trend charts as (id suffix, figure): CEI by wave, CSAT, NPS and the customer
    response rate by week, with their 95 % bands; a hidden wave, an open wave, a week in
    progress or cut by the period's edge drawn as a marked, labelled gap or point."""
    index_trend = report["index"].get("trend", [])
    customer_trend = report["customer"].get("trend", [])
    wave_marks = [{"x": p["wave"], "text": "in progress" if p.get("state") == "open" else "hidden",
                   "reason": p.get("reason") or ""}
                  for p in index_trend if p.get("state") in ("open", "too_few") or p.get("suppressed")]
    week_marks = [{"x": p["week"], "text": "in progress" if p.get("state") == "in_progress" else "part week",
                   "reason": "the week is not over: answers are still arriving" if p.get("state") == "in_progress"
                   else "only part of this week is in the period"}
                  for p in customer_trend if p.get("state") in ("in_progress", "partial")]
    return [
        ("cei-trend", trend_figure(
            [{**p, **_band(p.get("cei_ci"))} for p in index_trend], x="wave", y="cei", title="CEI by pulse wave",
            x_title="Pulse wave", y_title="CEI (0–100), 95 % CI", y_range=(0, 100), count="n_contractors",
            empty="No pulse wave with enough contractors in this period.", marks=wave_marks)),
        ("csat-trend", trend_figure(
            [{**p, **_band(p.get("csat_pct_ci"))} for p in customer_trend], x="week", y="csat_pct",
            title="CSAT by week", x_title="Week of job completion (ISO)",
            y_title="CSAT, % answering 4–5, 95 % CI", y_range=(0, 100), hover_unit=" %", count="n",
            marks=week_marks)),
        ("nps-trend", trend_figure(
            [{**p, **_band(p.get("nps_ci"))} for p in customer_trend], x="week", y="nps", title="NPS by week",
            x_title="Week of job completion (ISO)", y_title="NPS (−100 to +100), 95 % CI", count="n",
            marks=week_marks)),
        ("rate-trend", trend_figure(
            [{**p, "rate_pct": _pct(p.get("response_rate"))} for p in customer_trend], x="week", y="rate_pct",
            title="Customer response rate by week", x_title="Week of job completion (ISO)",
            y_title="Answers per job, %", y_range=(0, 100), hover_unit=" %", count="jobs", marks=week_marks)),
    ]


def waves_note(report: dict[str, Any]) -> str | None:
    """Why some pulse waves are not in the figures, or None: open, hidden for too few
    answers, or closed and answered but hidden for this selection (its group, or a group
    that the totals would otherwise reveal, is too small in that wave)."""
    waiting = [w for w in report["index"].get("waves", []) if w.get("state") != "reported"]
    reported = {w["wave"] for w in report["index"].get("waves", []) if w.get("state") == "reported"}
    hidden_here = [p for p in report["index"].get("trend", []) if p.get("suppressed") and p.get("wave") in reported]
    if not waiting and not hidden_here:
        return None
    return " ".join([
        *(f"{w['wave']}: in progress, open until {str(w['closes_at'])[:10]}"
          + (f", {_pct(w['response_rate']):.0f} % answered so far." if w.get("response_rate") is not None else ".")
          if w["state"] == "open" else
          f"{w['wave']}: fewer than {settings.min_group} contractors answered, so it is hidden (drawn as a marked "
          "gap)." for w in waiting),
        *(f"{p['wave']}: hidden for this selection: {p.get('reason') or 'too few contractors'} (a marked gap)."
          for p in hidden_here),
        "Pulse scores and changes come only from closed waves, so no one's answers can be told apart as they arrive.",
    ])


def _band(ci: dict[str, Any] | None) -> dict[str, Any]:
    return {"ci_low": ci["low"], "ci_high": ci["high"]} if ci else {}


def _in_progress_weeks(trend: list[dict[str, Any]]) -> str:
    current = [p["week"] for p in trend if p.get("state") == "in_progress"]
    return f" · {listed(current)} in progress, left out of the change" if current else ""


def _cei_tile(index: dict[str, Any], before: dict[str, Any], test: dict[str, Any] | None,
              against: str, tile: str) -> html.Div:
    label = "Connection & Empowerment Index"
    if index.get("suppressed") or index.get("cei") is None:
        why = (index.get("reason") or f"Fewer than {settings.min_group} contractors answered the pulse for this "
               "selection, so the index is not shown.") if index.get("suppressed") else (
               "No pulse wave closed in this period.")
        return kpi(label, None, id=tile,
                   hidden=f"hidden (<{settings.min_group})" if index.get("suppressed") else "no data", note=why)
    previous = None if before.get("suppressed") else before.get("cei")
    return kpi(label, index["cei"], unit="/ 100", id=tile,
               error=margin(index.get("cei_ci")),
               change=delta(index["cei"], previous, unit=" pts", test=test, against=against),
               note=f"{fmt(index.get('cei_favourable_pct'), '{:.0f}')} % favourable · "
                    f"{plural(index.get('n_contractors'), 'contractor')} · "
                    f"{plural(index.get('n_waves', 0), 'closed wave')} · ± 95 % margin (bootstrap)")


def _pulse_rate_tile(index: dict[str, Any], before: dict[str, Any], test: dict[str, Any] | None,
                     against: str, tile: str) -> html.Div:
    """Share of the pulse invitations of the closed waves that were answered: the
    answered invitations over the invited, both on the tile, so they add up."""
    label = "Pulse response rate"
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
               change=delta(_pct(index["response_rate"]), previous, unit=" pts", test=test, against=against),
               note=note)


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share
