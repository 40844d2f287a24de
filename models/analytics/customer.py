"""Customer metrics over jobs completed in a window: CSAT, NPS, CES,
promise kept and response rate, overall, per group and per ISO week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.analytics.scope import (
    CUSTOMER_GROUP_BY,
    Population,
    Window,
    conditions,
    group_label,
    group_order,
    key_sql,
)
from models.db import side_by_side
from models.sql import Query, count
from surveys import uncertainty
from surveys.scoring import (
    CES_AGREE_MIN,
    CSAT_TOP_TWO_MIN,
    DETRACTOR_MAX,
    PROMOTER_MIN,
    share_percent,
)
from surveys.scoring import nps as nps_score

__all__ = ["customer_report", "week_state"]

# --- customer metrics -------------------------------------------------------------------

_CUSTOMER_SUMS = (
    "COUNT(*) AS n, COUNT(cr.csat) AS n_csat, SUM(cr.csat) AS csat_sum, "
    f"SUM(CASE WHEN cr.csat >= {CSAT_TOP_TWO_MIN} THEN 1 ELSE 0 END) AS csat_top, "
    f"COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters, "
    f"SUM(CASE WHEN cr.nps <= {DETRACTOR_MAX} THEN 1 ELSE 0 END) AS detractors, "
    "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces_sum, SUM(cr.ces * cr.ces) AS ces_sq, "
    f"SUM(CASE WHEN cr.ces >= {CES_AGREE_MIN} THEN 1 ELSE 0 END) "
    "AS ces_top, "
    "COUNT(cr.promise_kept) AS n_promise, SUM(CASE WHEN cr.promise_kept THEN 1 ELSE 0 END) AS kept"
)


_SUM_KEYS = ("n", "n_csat", "csat_sum", "csat_top", "n_nps", "promoters", "detractors",
             "n_ces", "ces_sum", "ces_sq", "ces_top", "n_promise", "kept", "jobs")


def _margin(interval: uncertainty.Interval | None) -> dict[str, Any] | None:
    return None if interval is None else interval.as_dict()


def _customer_row(group: Any, s: dict[str, int]) -> dict[str, Any]:
    """CSAT mean and top-two %, NPS, CES mean and 5–7 %, promise kept %, response rate."""
    return {
        "group": group,
        "n": s["n"],
        "jobs": s["jobs"],
        "response_rate": s["n"] / s["jobs"] if s["jobs"] else None,
        "csat_mean": s["csat_sum"] / s["n_csat"] if s["n_csat"] else None,
        "csat_pct": share_percent(s["csat_top"], s["n_csat"]),
        "nps": nps_score(s["promoters"], s["detractors"], s["n_nps"]),
        "promoters_pct": share_percent(s["promoters"], s["n_nps"]),
        "detractors_pct": share_percent(s["detractors"], s["n_nps"]),
        "ces_mean": s["ces_sum"] / s["n_ces"] if s["n_ces"] else None,
        "ces_pct": share_percent(s["ces_top"], s["n_ces"]),
        "promise_kept_pct": share_percent(s["kept"], s["n_promise"]),
        # 95 % margins of error (surveys.uncertainty; docs/metrics.md, "Margins of error")
        "csat_pct_ci": _margin(uncertainty.wilson_interval(s["csat_top"], s["n_csat"])),
        "nps_ci": _margin(uncertainty.nps_interval(s["promoters"], s["detractors"], s["n_nps"])),
        "ces_mean_ci": _margin(uncertainty.mean_interval(s["n_ces"], s["ces_sum"], s["ces_sq"])),
        "response_rate_ci": _margin(uncertainty.wilson_interval(s["n"], s["jobs"]) if s["n"] <= s["jobs"] else None),
    }


async def _customer_sums(
    *, window: Window, population: Population, key: str | None
) -> tuple[dict[str, dict[str, int]], dict[Any, dict[str, int]]]:
    """Sums per ISO week of completion, and per group: responses and jobs are
    each read once, by day and group, and rolled up here into Monday-based
    weeks and into groups. (PostgreSQL estimates the number of days from the
    statistics migration 0002 creates, so it aggregates in parallel.)"""
    async def sums(table: str, select: str) -> list[dict[str, Any]]:
        q = Query()
        conds = conditions(q, population, window.end)
        join = "JOIN contractors c ON c.id = cr.contractor_id " if conds or key else ""
        where = [q.between("cr.completed_at", window.bounds), *conds.values()]
        return await q.rows(f"SELECT {q.day('cr.completed_at')} AS k, {key_sql(q, key, window.end)} AS g, "
                            f"{select} FROM {table} {join}WHERE {' AND '.join(where)} GROUP BY 1, 2")

    rows = await side_by_side(sums("customer_responses cr", _CUSTOMER_SUMS), sums("jobs cr", "COUNT(*) AS jobs"))
    weeks: dict[str, dict[str, int]] = {}
    groups: dict[Any, dict[str, int]] = {}
    mondays: dict[Any, str] = {}
    for row in [*rows[0], *rows[1]]:
        if row["k"] not in mondays:
            day = row["k"] if isinstance(row["k"], date) else date.fromisoformat(str(row["k"]))
            mondays[row["k"]] = (day - timedelta(days=day.weekday())).isoformat()
        _add(weeks.setdefault(mondays[row["k"]], dict.fromkeys(_SUM_KEYS, 0)), row)
        if key:
            _add(groups.setdefault(row["g"], dict.fromkeys(_SUM_KEYS, 0)), row)
    return weeks, groups


def _add(into: dict[str, int], sums: dict[str, Any]) -> None:
    for k in _SUM_KEYS:
        into[k] += count(sums.get(k))


def week_state(monday: date, window: Window, today: date) -> str:
    """"complete", "partial" (the window holds only some of its days) or
    "in_progress" (the week has not ended yet: answers are still arriving).

    >>> w = Window(date(2026, 11, 1), date(2026, 11, 30))
    >>> [week_state(date(2026, 11, d), w, date(2026, 12, 10)) for d in (2, 30)]
    ['complete', 'partial']
    >>> [week_state(date(2026, 11, d), w, date(2026, 11, 25)) for d in (23, 30)]  # not over yet
    ['in_progress', 'in_progress']
    """
    sunday = monday + timedelta(days=6)
    if sunday >= today:
        return "in_progress"
    if monday < window.start or sunday > window.end:
        return "partial"
    return "complete"


async def customer_report(
    *, window: Window, population: Population = Population(), group_by: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Customer metrics over jobs completed in the window (not under the
    contractors' anonymity rule: customers are not the protected party).

    Each week of the trend says whether it is complete, partial (cut by the
    window) or in progress (not over on `today`); "complete" holds the
    figures over the complete weeks only, which is what a comparison between
    periods uses (a week still collecting answers is not a drop)."""
    today = today or datetime.now(UTC).date()
    if group_by is not None and group_by not in CUSTOMER_GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(CUSTOMER_GROUP_BY)}")
    weeks, by_group = await _customer_sums(window=window, population=population, key=group_by)
    overall = dict.fromkeys(_SUM_KEYS, 0)
    for sums in weeks.values():  # ISO weeks partition the window: the overall is their sum
        _add(overall, sums)
    trend = []
    complete = dict.fromkeys(_SUM_KEYS, 0)
    complete_weeks = []
    for week_start in sorted(weeks):
        monday = date.fromisoformat(week_start)
        year, week, _ = monday.isocalendar()
        state = week_state(monday, window, today)
        if state == "complete":
            _add(complete, weeks[week_start])
            complete_weeks.append(f"{year}-W{week:02d}")
        trend.append({"week": f"{year}-W{week:02d}", "week_start": week_start, "state": state,
                      **_customer_row(None, weeks[week_start])})
    groups = []
    if group_by:
        for g in sorted(by_group, key=lambda g: group_order(group_by, g, {})):
            groups.append(_customer_row(group_label(group_by, g, {}), by_group[g]))
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "overall": _customer_row(None, overall),
        "complete": {**_customer_row(None, complete), "weeks": complete_weeks},
        "groups": groups,
        "trend": trend,
    }
