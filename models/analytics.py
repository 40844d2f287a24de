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
             min_group, min_comment_group) -> {
    "window": {"from", "to"}, "population": {...}, "group_by": str | None,
    "min_group": int, "min_comment_group": int,
    "cei_unit": "contractor",            # group CEI = mean of contractor means
    "dimensions": [{"id", "label"}],
    "overall": ROW, "groups": [ROW], "trend": [ROW + {"wave", "opens_at", "closes_at"}]}
  ROW = {"group": str | None, "n_contractors": int, "n_responses": int,
         "cei": float|None, "cei_favourable_pct": float|None,
         "dimensions": {dim_id: {"score", "favourable_pct", "alpha",
                                 "spearman_brown", "reliability",
                                 "reliability_low": bool|None, "n_complete"}},
         "suppressed": bool, "reason": str | None,
         "comments": [str] | None, "comments_suppressed": bool}
  A suppressed row keeps its counts and has every score null (never 0).

customer_report(*, window, population=Population(), group_by=None) -> {
    "window", "population", "group_by",
    "overall": CROW, "groups": [CROW], "trend": [CROW + {"week": "2026-W45", "week_start"}]}
  CROW = {"group", "n" (responses), "jobs", "response_rate" (0–1),
          "csat_mean", "csat_pct", "nps", "promoters_pct", "detractors_pct",
          "ces_mean", "ces_pct", "promise_kept_pct"}
  "trend" is by ISO week of the job's completion (weeks start on Monday).

linkage_report(*, window, population=Population(), lag_days=0,
               min_responses=3, group_by=None, min_group) -> {
    "window", "customer_window": {"from", "to"}, "lag_days", "min_responses",
    "population", "group_by", "n": int, "suppressed": bool, "reason",
    "wording": str, "headline": str | None,
    "power": {"n_needed": 85, "power": float|None, "adequate": bool, "message": str|None},
    "correlations": [CORR]  # grid: x in cei + each dimension, y in csat, promoters, ces
    "drivers": {"method", "citation", "outcome": "csat", "r_squared", "n",
                "dimensions": [{"id","label","weight","share","r","score"}]} | None,
    "bins": [{"n", "cei", "csat"}], "fit": {"slope", "intercept"} | None,
    "groups": [{"group", "n", "suppressed", "reason", "cei", "csat_mean", "r",
                "ci_low", "ci_high", "p_value", "rho"}]}
  CORR = {"x": "cei"|dim, "y": "csat"|"promoters"|"ces", "n", "r", "ci_low",
          "ci_high", "p_value", "p_adjusted" (Benjamini-Hochberg over the grid),
          "rho", "partial": {"n","r","ci_low","ci_high","p_value","p_adjusted"}}
  No per-contractor value leaves this module; bins hold >= min_group contractors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = [
    "GROUP_BY",
    "TENURE_BANDS",
    "Population",
    "Window",
    "customer_report",
    "filter_options",
    "index_report",
    "linkage_report",
]

GROUP_BY = ("region", "service_type", "tenure_band", "wave")
TENURE_BANDS = ("under 3 months", "3–12 months", "1–2 years", "2 years +")


@dataclass(frozen=True)
class Window:
    """Inclusive dates [start, end] in UTC."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a window must not end before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Window:
        """The window of the same length that ends the day before this one starts."""
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def shifted(self, days: int) -> Window:
        return Window(self.start + timedelta(days=days), self.end + timedelta(days=days))

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class Population:
    region: str | None = None
    service_type: str | None = None
    tenure_band: str | None = None


async def filter_options() -> dict[str, Any]:
    raise NotImplementedError


async def index_report(
    *,
    window: Window,
    population: Population = Population(),
    group_by: str | None = None,
    min_group: int,
    min_comment_group: int,
) -> dict[str, Any]:
    raise NotImplementedError


async def customer_report(
    *, window: Window, population: Population = Population(), group_by: str | None = None
) -> dict[str, Any]:
    raise NotImplementedError


async def linkage_report(
    *,
    window: Window,
    population: Population = Population(),
    lag_days: int = 0,
    min_responses: int = 3,
    group_by: str | None = None,
    min_group: int,
) -> dict[str, Any]:
    raise NotImplementedError
