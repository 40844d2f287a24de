"""Analytics: the CEI, customer metrics and their linkage, aggregated in SQL.

The one query layer for both the JSON API (`collector/analytics_api.py`) and
the dashboard: every formula lives in `surveys.scoring` / `surveys.stats` and
every aggregation here, so no number is computed twice. Every function is
async, takes keyword-only arguments and returns a JSON-ready dict.
docs/metrics.md explains each number in plain words.

Public surface
--------------
GROUP_BY = ("region", "service_type", "tenure_band", "wave")
TENURE_BANDS = ("under 3 months", "3–12 months", "1–2 years", "2 years +")
    Tenure runs from `contractors.started_on` to the window's end; a contractor
    without a start date falls in the band "unknown".
Window(start, end)      inclusive dates; .previous() is the same length just before.
Population(region=None, service_type=None, tenure_band=None)   filters.

filter_options() -> {"regions": [str], "service_types": [str],
    "tenure_bands": [str], "waves": [{"name", "opens_at", "closes_at"}],
    "first_date": "YYYY-MM-DD" | None, "last_date": "YYYY-MM-DD" | None}

index_report(*, window, population=Population(), group_by=None,
             min_group, min_comment_group, now=None, trend_margins=True,
             group_margins=True) -> {
    "window": {"from", "to"}, "population": {...}, "group_by": str | None,
    "min_group": int, "min_comment_group": int,
    "cei_unit": "response", "waves_rule": "closed in the window",
    "dimensions": [{"id", "label"}],
    "overall": ROW, "groups": [ROW],
    "trend": [ROW + {"wave", "opens_at", "closes_at", "state"}],   # every wave considered
    "waves": [{"wave", "opens_at", "closes_at", "state": "reported"|"too_few"|"open",
               "n_invited", "n_contractors", "response_rate"}]}
  ROW = {"group": str | None, "n_contractors": int | band, "n_responses": int | None,
         "n_waves": int, "n_invited": int | None, "response_rate": float | None,
         "cei": float|None, "cei_favourable_pct": float|None,
         "dimensions": {dim_id: {"score", "favourable_pct", "n_contractors", "alpha",
                                 "spearman_brown", "reliability",
                                 "reliability_low": bool|None, "n_complete"}},
         "suppressed": bool, "reason": str | None,
         "comments": [str] | None, "comments_suppressed": bool}
  Pulse figures come from the waves that closed in the window with at least
  min_group answers, pooled over the units each figure's gate allows (see
  "the index" below). A suppressed row has every score null (never 0) and a
  banded head count ("fewer than 5", "5 or more"). A filter and a breakdown
  on different attributes raise OneAttribute. Each row carries "cei_ci" and a
  "score_ci" per dimension (bootstrap margins); trend_margins=False and
  group_margins=False leave them null on the trend's and the groups' rows
  (the overall row keeps its own).
index_by_wave(...)  the same rows per reported wave and group (the aggregate export).

customer_report(*, window, population=Population(), group_by=None) -> {
    "window", "population", "group_by",
    "overall": CROW, "groups": [CROW], "trend": [CROW + {"week": "2026-W45", "week_start"}]}
  CROW = {"group", "n" (responses), "jobs", "response_rate" (0–1),
          "csat_mean", "csat_pct", "nps", "promoters_pct", "detractors_pct",
          "ces_mean", "ces_pct", "promise_kept_pct"}
  "trend" is by ISO week of the job's completion (weeks start on Monday).

period_changes(index, index_before, customer, customer_before) -> {figure: CHANGE | None}
segment_gaps(index_report, customer_report) -> {group: {figure: CHANGE}}
  Changes between periods and segments' gaps from the whole, tested beyond
  noise from the reports' intervals (changes.py; surveys.uncertainty).

contractor_comments(*, window, population=Population(), theme=None, search=None,
                    min_group, min_comment_group, now=None) -> {
    "themes": [{"id", "label"}], "theme", "search", "threshold", "max_per_wave", "refused",
    "waves": [{"wave", "closes_on", "state", "shown", "reason", "n_comments", "n_matching",
               "themes": {id: n} | None, "comments": [{"text", "themes": [id]}]}]}
  Newest closed wave first; comments only where the index's comment gate allows.
customer_comments(*, window, population=Population(), theme=None, search=None, page=1,
                  page_size=20) -> {"counts": {id: n}, "total", "page", "pages",
    "comments": [{"day", "csat", "nps", "region", "service_type", "text", "themes"}], ...}

linkage_report(*, window, population=Population(), lag_days=0, group_by=None,
               min_group, min_responses=None, now=None) -> {...}
  r, its CI, p, rho and n over contractors, CSAT by fixed CEI bands; the
  shape is in its docstring. No per-contractor value leaves this module.
linkage_lags(*, window, population=Population(), lags_days, min_group, min_responses=None,
             now=None) -> [{"lag_days", "customer_window", "n", "suppressed", "reason", "cei_csat"}]
  the lag chart: per lag, linkage_report's population, gate and CEI × CSAT cell, all lags at once.
"""

from models.analytics.changes import period_changes, segment_gaps
from models.analytics.comments import contractor_comments, customer_comments
from models.analytics.customer import customer_report
from models.analytics.index import (
    OneAttribute,
    index_by_wave,
    index_report,
    refused_report,
)
from models.analytics.linkage import linkage_lags, linkage_report
from models.analytics.scope import (
    CUSTOMER_GROUP_BY,
    GROUP_BY,
    LINKAGE_GROUP_BY,
    Population,
    Window,
    filter_options,
    pulse_survey,
)
from surveys.tenure import TENURE_BANDS, tenure_band, tenure_code

__all__ = [
    "CUSTOMER_GROUP_BY",
    "GROUP_BY",
    "LINKAGE_GROUP_BY",
    "TENURE_BANDS",
    "OneAttribute",
    "Population",
    "Window",
    "contractor_comments",
    "customer_comments",
    "customer_report",
    "filter_options",
    "index_by_wave",
    "index_report",
    "linkage_lags",
    "linkage_report",
    "period_changes",
    "pulse_survey",
    "refused_report",
    "segment_gaps",
    "tenure_band",
    "tenure_code",
]
