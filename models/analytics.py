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
         "n_invited": int,                # pulse invites of waves that opened in the window
         "response_rate": float|None,     # answered invites / n_invited, 0–1
         "cei": float|None, "cei_favourable_pct": float|None,
         "dimensions": {dim_id: {"score", "favourable_pct", "alpha",
                                 "spearman_brown", "reliability",
                                 "reliability_low": bool|None, "n_complete"}},
         "suppressed": bool, "reason": str | None,
         "comments": [str] | None, "comments_suppressed": bool}
  A suppressed row keeps its counts and has every score null (never 0).
  n_invited counts the invites of waves that *opened* in the window, for the
  row's contractors (a wave row: that wave's, so 0 for a wave that opened
  before the window); response_rate is the share of them answered (whenever
  submitted), null when n_invited is 0 or the row is suppressed.

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

import asyncio
import calendar
import functools
import math
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np

from models.db import connection, dialect
from models.entities import PulseWave
from models.settings import settings
from models.waves import WaveStatus, waves_in
from surveys import stats
from surveys.association import linkage_headline
from surveys.privacy import band, figure_allowed, filter_allowed, suppressed_groups
from surveys.schema import Survey, builtin_survey, load_survey
from surveys.scoring import nps as nps_score
from surveys.scoring import share_percent

__all__ = [
    "CUSTOMER_GROUP_BY",
    "GROUP_BY",
    "LINKAGE_GROUP_BY",
    "TENURE_BANDS",
    "Population",
    "Window",
    "customer_report",
    "filter_options",
    "index_report",
    "linkage_report",
]

GROUP_BY = ("region", "service_type", "tenure_band", "wave")
# Customer answers belong to jobs, not to pulse waves: no wave breakdown there.
CUSTOMER_GROUP_BY = ("region", "service_type", "tenure_band")
LINKAGE_GROUP_BY = ("region", "service_type", "tenure_band")
TENURE_BANDS = ("under 3 months", "3–12 months", "1–2 years", "2 years +")
UNKNOWN_TENURE = "unknown"
OUTCOMES = ("csat", "promoters", "ces")
MODERATE_R = 0.3
MAX_BINS = 10
MAX_COMMENTS = 20
RELIABILITY_FLOOR = 0.7  # Nunnally (1978)
WORDING = (
    "These are associations, not causes: contractors who feel more connected may "
    "serve customers better, happier customers may make contractors feel better, "
    "or both may follow something else."
)
DRIVER_METHOD = "Johnson's relative weights"
DRIVER_CITATION = (
    "Johnson, J. W. (2000). A heuristic method for estimating the relative weight of "
    "predictor variables in multiple regression. Multivariate Behavioral Research, 35(1), 1–19."
)


@dataclass(frozen=True)
class Window:
    """Inclusive dates [start, end], in UTC."""

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

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 UTC, the day after end 00:00 UTC)."""
        return (
            datetime.combine(self.start, time(), UTC),
            datetime.combine(self.end + timedelta(days=1), time(), UTC),
        )

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class Population:
    """Filters on contractors; None means everyone."""

    region: str | None = None
    service_type: str | None = None
    tenure_band: str | None = None

    def __post_init__(self) -> None:
        if self.tenure_band is not None and self.tenure_band not in (*TENURE_BANDS, UNKNOWN_TENURE):
            raise ValueError(f"tenure_band must be one of {', '.join(TENURE_BANDS)}")

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- SQL plumbing ------------------------------------------------------------------


class _Sql:
    """Collects parameters and hands out numbered placeholders (?N on SQLite,
    $N on PostgreSQL), so fragments can be written in any order."""

    def __init__(self) -> None:
        self.postgres = dialect() == "postgres"
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        if not self.postgres:
            if isinstance(value, datetime):
                value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
            elif isinstance(value, date):
                value = value.isoformat()
        self.params.append(value)
        n = len(self.params)
        return f"${n}" if self.postgres else f"?{n}"

    def between(self, column: str, window: Window) -> str:
        low, high = window.bounds
        return f"{column} >= {self.p(low)} AND {column} < {self.p(high)}"

    def day(self, column: str) -> str:
        """The UTC calendar day of a timestamp (cheaper to group by than its week)."""
        if self.postgres:
            return f"CAST({column} AT TIME ZONE 'UTC' AS DATE)"
        return f"date({column})"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await connection().execute_query_dict(sql, self.params)


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


@functools.lru_cache(maxsize=64)
def _tenure_limits(end: date) -> tuple[date, date, date]:
    return _months_before(end, 3), _months_before(end, 12), _months_before(end, 24)


def tenure_band(started_on: date | None, end: date) -> str:
    """The tenure band at `end`: under 3 months, 3–12 months, 1–2 years, 2 years +."""
    if started_on is None:
        return UNKNOWN_TENURE
    for band, limit in zip(TENURE_BANDS, _tenure_limits(end)):
        if started_on > limit:
            return band
    return TENURE_BANDS[-1]


def _tenure_sql(q: _Sql, end: date) -> str:
    """Tenure band as a code: -1 unknown, else the index in TENURE_BANDS."""
    b3, b12, b24 = (q.p(limit) for limit in _tenure_limits(end))
    return (
        "(CASE WHEN c.started_on IS NULL THEN -1 "
        f"WHEN c.started_on > {b3} THEN 0 WHEN c.started_on > {b12} THEN 1 "
        f"WHEN c.started_on > {b24} THEN 2 ELSE 3 END)"
    )


def _band_code(band: str) -> int:
    return -1 if band == UNKNOWN_TENURE else TENURE_BANDS.index(band)


def _band_name(code: Any) -> str:
    code = int(code)
    return UNKNOWN_TENURE if code < 0 else TENURE_BANDS[code]


def _conditions(q: _Sql, population: Population, end: date) -> dict[str, str]:
    """One SQL condition per active filter, on the contractor `c`."""
    out = {}
    for name, value in population.active().items():
        if name == "tenure_band":
            out[name] = f"{_tenure_sql(q, end)} = {q.p(_band_code(value))}"
        else:
            out[name] = f"c.{name} = {q.p(value)}"
    return out


def _key_sql(q: _Sql, key: str | None, end: date, wave_column: str = "r.wave_id") -> str:
    if key is None:
        return "0"
    if key == "tenure_band":
        return _tenure_sql(q, end)
    if key == "wave":
        return wave_column
    return f"c.{key}"


def _num(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | float) else value


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _i(value: Any) -> int:
    return 0 if value is None else int(value)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


@functools.cache
def pulse_survey() -> Survey:
    """The pulse definition in force (the configured file, else the bundled one)."""
    return load_survey(settings.pulse_survey) if settings.pulse_survey else builtin_survey("pulse")


def _dimensions(survey: Survey) -> list[dict[str, str]]:
    return [{"id": d.id, "label": d.labels.get("en", d.id)} for d in survey.dimensions]


# --- privacy -------------------------------------------------------------------------

REASON_SMALL = "fewer than {m} contractors"
REASON_NEXT = "hidden with a smaller hidden group, which the total would otherwise reveal"
REASON_COMPLEMENT = "the filter leaves out fewer than {m} contractors, who could be worked out by subtraction"


def _privacy(
    sizes: dict[Any, list[int]], min_group: int, *, breakdown: bool
) -> dict[Any, str | None]:
    """The reason each group is hidden, or None when it may be shown.

    ``sizes[g]`` = [filtered size, size of each parent]. A group needs
    min_group contractors and must pass the complement rule against every
    parent (`filter_allowed`); within a breakdown the next-smallest rule
    (`suppressed_groups`) applies, also to groups hidden by the complement rule.
    """
    reasons: dict[Any, str | None] = {}
    for g, (n, *parents) in sizes.items():
        if n < min_group:
            reasons[g] = REASON_SMALL.format(m=min_group)
        elif not all(filter_allowed(n, parent, min_group) for parent in parents):
            reasons[g] = REASON_COMPLEMENT.format(m=min_group)
        else:
            reasons[g] = None
    if not breakdown:
        return reasons
    shown = {g: v[0] for g, v in sizes.items() if v[0] > 0}
    for g in suppressed_groups(shown, min_group):
        reasons[g] = reasons[g] or REASON_NEXT
    while True:
        hidden = [g for g in shown if reasons[g] is not None]
        visible = [g for g in shown if reasons[g] is None]
        hidden_size = sum(shown[g] for g in hidden)
        if not visible or not (len(hidden) == 1 or 0 < hidden_size < min_group):
            return reasons
        smallest = min(visible, key=lambda g: (shown[g], str(g)))
        reasons[smallest] = REASON_NEXT


def _reason_row(reason: str | None) -> dict[str, Any]:
    return {"suppressed": reason is not None, "reason": reason}


# --- the index -------------------------------------------------------------------------


def _variance(n: int, s: int, ss: int) -> float | None:
    """Sample variance (n − 1) from a count, a sum and a sum of squares of integers, exactly."""
    if n < 2:
        return None
    return (ss * n - s * s) / (n * (n - 1))


def _reliability(k: int, items: list[tuple[int, int, int]], total: tuple[int, int, int] | None) -> dict[str, Any]:
    """Cronbach's alpha (and Spearman-Brown for two items) from SQL sums."""
    out: dict[str, Any] = {"alpha": None, "spearman_brown": None, "reliability": None,
                           "reliability_low": None, "n_complete": total[0] if total else 0}
    if total is None or len(items) != k or k < 2:
        return out
    variances = [_variance(*item) for item in items]
    total_variance = _variance(*total)
    if total_variance is None or any(v is None for v in variances):
        return out
    alpha = stats.cronbach_alpha_from_variances(variances, total_variance)  # type: ignore[arg-type]
    out["alpha"] = alpha
    reliability = alpha
    if k == 2:
        v1, v2 = variances
        if v1 and v2:  # both > 0
            covariance = (total_variance - v1 - v2) / 2.0  # type: ignore[operator]
            r = max(-1.0, min(1.0, covariance / math.sqrt(v1 * v2)))
            reliability = out["spearman_brown"] = stats.spearman_brown(r)
        else:
            reliability = None
    out["reliability"] = reliability
    out["reliability_low"] = None if reliability is None else reliability < RELIABILITY_FLOOR
    return out


def _index_row(
    group: Any,
    sums: dict[str, Any] | None,
    reason: str | None,
    survey: Survey,
    comments: list[str] | None,
) -> dict[str, Any]:
    sums = sums or _empty_sums()
    hidden = reason is not None
    dims: dict[str, Any] = {}
    fav_total = ans_total = 0
    for d in survey.dimensions:
        score_sum, score_n, fav, ans = sums["dims"].get(d.id, (0.0, 0, 0, 0))
        fav_total, ans_total = fav_total + fav, ans_total + ans
        rel = sums["rel"].get(d.id) or _reliability(0, [], None)
        dims[d.id] = {
            "score": None if hidden or not score_n else score_sum / score_n,
            "favourable_pct": None if hidden else share_percent(fav, ans),
            "n_contractors": None if hidden else score_n,
            **({k: None for k in rel} if hidden else rel),
        }
    return {
        "group": group,
        "n_contractors": sums["nc"],
        "n_responses": sums["nr"],
        "n_invited": sums["ni"],
        "response_rate": None if hidden or not sums["ni"] else sums["na"] / sums["ni"],
        "cei": None if hidden or not sums["cei_n"] else sums["cei_sum"] / sums["cei_n"],
        "cei_favourable_pct": None if hidden else share_percent(fav_total, ans_total),
        "dimensions": dims,
        **_reason_row(reason),
        "comments": comments,
        "comments_suppressed": comments is None,
    }


def _group_label(key: str | None, g: Any, waves: dict[int, dict[str, Any]]) -> Any:
    if key == "tenure_band":
        return _band_name(g)
    if key == "wave":
        return waves.get(int(g), {}).get("name", str(g))
    return None if key is None else g


def _group_order(key: str | None, g: Any, waves: dict[int, dict[str, Any]]) -> tuple[Any, ...]:
    if key == "tenure_band":
        return (int(g) if int(g) >= 0 else 99,)
    if key == "wave":
        return (waves.get(int(g), {}).get("opens_at", ""), str(g))
    return (str(g),)


async def _waves() -> dict[int, dict[str, Any]]:
    rows = await PulseWave.all().order_by("opens_at").values("id", "name", "opens_at", "closes_at")
    return {
        row["id"]: {"name": row["name"], "opens_at": row["opens_at"].isoformat(),
                    "closes_at": row["closes_at"].isoformat()}
        for row in rows
    }


async def _gather(*queries: Awaitable[Any]) -> list[Any]:
    """Independent queries side by side on PostgreSQL (each takes a pooled
    connection: two cores), one after the other on SQLite (one connection)."""
    if dialect() == "postgres":
        return list(await asyncio.gather(*queries))
    return [await query for query in queries]


@dataclass(frozen=True)
class _Person:
    """One contractor's attributes for grouping and filtering, the tenure band
    as its code at the window's end; never leaves this module."""

    region: str
    service_type: str
    tenure_band: int


def _filters(population: Population) -> list[tuple[str, Any]]:
    """The active filters as (attribute, value), a tenure band as its code."""
    return [(name, _band_code(value) if name == "tenure_band" else value)
            for name, value in population.active().items()]


def _subsets(filters: list[tuple[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    """The full filter set first, then every proper subset of it (the parents
    a filtered group could be subtracted from)."""
    return [s for k in range(len(filters), -1, -1) for s in combinations(filters, k)]


def _fits(attributes: Any, subset: Iterable[tuple[str, Any]]) -> bool:
    get = attributes.get if isinstance(attributes, dict) else functools.partial(getattr, attributes)
    return all(get(name) == value for name, value in subset)


async def _people(end: date) -> dict[int, _Person]:
    """Every contractor's region, service type and tenure band (≤ a few thousand rows)."""
    q = _Sql()
    sql = (f"SELECT c.id AS id, c.region AS region, c.service_type AS service_type, "
           f"{_tenure_sql(q, end)} AS band FROM contractors c")
    return {row["id"]: _Person(row["region"], row["service_type"], int(row["band"]))
            for row in await q.rows(sql)}


def _group_sizes(
    units: Iterable[tuple[Any, Any, int]], subsets: list[tuple[tuple[str, Any], ...]]
) -> dict[Any, list[int]]:
    """Distinct contractors per group for the full filter set and each parent,
    from (group, attributes, contractors) units."""
    sizes: dict[Any, list[int]] = {}
    for g, attributes, n in units:
        counts = sizes.setdefault(g, [0] * len(subsets))
        for index, subset in enumerate(subsets):
            if _fits(attributes, subset):
                counts[index] += n
    return sizes


def _empty_sums() -> dict[str, Any]:
    return {"nc": 0, "nr": 0, "ni": 0, "na": 0, "cei_sum": 0.0, "cei_n": 0, "dims": {}, "rel": {}, "totals": {}}


def _add_dim(entry: dict[str, Any], dim: str, score_sum: float, score_n: int, fav: int, ans: int) -> None:
    s, n, f, a = entry["dims"].get(dim, (0.0, 0, 0, 0))
    entry["dims"][dim] = (s + score_sum, n + score_n, f + fav, a + ans)


def _complete_sql(q: _Sql, survey: Survey, answered: str = "s.answered", dimension: str = "s.dimension") -> str:
    """True for a stored dimension score that counted all k items of its dimension."""
    k_case = " ".join(f"WHEN {q.p(d.id)} THEN {int(len(survey.items(d.id)))}" for d in survey.dimensions)
    return f"{answered} = (CASE {dimension} {k_case} ELSE -1 END)"


def _dimension_sums_sql(q: _Sql, keys: dict[str, str], source: str, where: str, survey: Survey | None) -> str:
    """Per `keys` (alias: expression) and dimension, over pulse_scores `p`
    (`source` may join contractors `c`): score_n, score_sum, fav, ans and,
    given the survey, the reliability totals tn, ts, tss (count, sum and sum
    of squares of the item totals) over complete dimensions only.

    The big pass groups by the number of items answered too, so the
    completeness test (a CASE on the dimension) runs once per group in the
    outer query rather than once per row."""
    columns = ", ".join(f"{expr} AS {alias}" for alias, expr in keys.items())
    by = ", ".join(str(i) for i in range(1, len(keys) + 2))  # the keys and the dimension
    sums = "COUNT(*) AS score_n, SUM(p.score) AS score_sum, SUM(p.favourable) AS fav, SUM(p.answered) AS ans"
    if survey is None:
        return f"SELECT {columns}, p.dimension AS dim, {sums} FROM pulse_scores p {source}WHERE {where} GROUP BY {by}"
    inner = (f"SELECT {columns}, p.dimension AS dim, p.answered AS k, {sums}, SUM(p.item_sum) AS ts, "
             f"SUM(p.item_sum * p.item_sum) AS tss FROM pulse_scores p {source}WHERE {where} "
             f"GROUP BY {by}, {len(keys) + 2}")
    complete = _complete_sql(q, survey, "t.k", "t.dim")
    return (
        f"SELECT {', '.join(f't.{alias}' for alias in keys)}, t.dim, SUM(t.score_n) AS score_n, "
        "SUM(t.score_sum) AS score_sum, SUM(t.fav) AS fav, SUM(t.ans) AS ans, "
        f"SUM(CASE WHEN {complete} THEN t.score_n ELSE 0 END) AS tn, "
        f"SUM(CASE WHEN {complete} THEN t.ts ELSE 0 END) AS ts, "
        f"SUM(CASE WHEN {complete} THEN t.tss ELSE 0 END) AS tss FROM ({inner}) AS t GROUP BY {by}"
    )


async def _contractor_responses(window: Window) -> list[dict[str, Any]]:
    """Per contractor with a pulse response in the window: responses (nr) and mean CEI."""
    q = _Sql()
    return await q.rows(
        "SELECT r.contractor_id AS cid, COUNT(*) AS nr, AVG(r.cei) AS cei FROM pulse_responses r "
        f"WHERE {q.between('r.submitted_at', window)} GROUP BY r.contractor_id")


async def _contractor_dimensions(window: Window, dims: list[str]) -> dict[int, tuple[float | None, ...]]:
    """Each contractor's mean score per dimension over the window (None where
    they have none), in the order of `dims`: one row per contractor."""
    q = _Sql()
    per_dimension = _dimension_sums_sql(q, {"cid": "p.contractor_id"}, "", q.between("p.submitted_at", window), None)
    columns = ", ".join(f"MAX(CASE WHEN t.dim = {q.p(d)} THEN t.score_sum / t.score_n END) AS d{i}"
                        for i, d in enumerate(dims))
    rows = await q.rows(f"SELECT t.cid AS cid, {columns} FROM ({per_dimension}) AS t GROUP BY t.cid")
    return {row["cid"]: tuple(_f(row[f"d{i}"]) for i in range(len(dims))) for row in rows}


async def _group_dimensions(
    *, window: Window, population: Population, key: str | None, survey: Survey
) -> list[dict[str, Any]]:
    """Per group `g` (0 without a key) and dimension, over the contractors of
    the population: n contractors with a score, mean_sum (the sum of their
    mean scores: a group's score is the mean of its contractors' means), fav,
    ans and the reliability totals (tn, ts, tss). Per-contractor means stay
    inside the database."""
    q = _Sql()
    per_contractor = _dimension_sums_sql(q, {"cid": "p.contractor_id"}, "", q.between("p.submitted_at", window),
                                         survey)
    conds = list(_conditions(q, population, window.end).values())
    return await q.rows(
        f"SELECT {_key_sql(q, key, window.end)} AS g, m.dim AS dim, COUNT(*) AS n, "
        "SUM(m.score_sum / m.score_n) AS mean_sum, SUM(m.fav) AS fav, SUM(m.ans) AS ans, SUM(m.tn) AS tn, "
        f"SUM(m.ts) AS ts, SUM(m.tss) AS tss FROM ({per_contractor}) AS m JOIN contractors c ON c.id = m.cid "
        f"{'WHERE ' + ' AND '.join(conds) + ' ' if conds else ''}GROUP BY 1, 2")


async def _wave_cells(
    window: Window, names: list[str], survey: Survey
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per wave and combination of the filtered attributes: responses (one per
    contractor and wave, so also contractors) and CEI sums; and per dimension
    the score sums, item counts and reliability totals."""
    q, s = _Sql(), _Sql()
    keys = ", ".join(str(i) for i in range(1, len(names) + 2))
    columns = [f"{_key_sql(q, name, window.end)} AS {name}" for name in names]
    responses = q.rows(
        f"SELECT {', '.join(['r.wave_id AS w', *columns])}, COUNT(*) AS n, SUM(r.cei) AS cei_sum, "
        f"COUNT(r.cei) AS cei_n FROM pulse_responses r "
        f"{'JOIN contractors c ON c.id = r.contractor_id ' if names else ''}"
        f"WHERE {q.between('r.submitted_at', window)} GROUP BY {keys}")
    scores = s.rows(_dimension_sums_sql(
        s, {"w": "p.wave_id", **{name: _key_sql(s, name, window.end) for name in names}},
        "JOIN contractors c ON c.id = p.contractor_id " if names else "", s.between("p.submitted_at", window),
        survey))
    return await _gather(responses, scores)  # type: ignore[return-value]


async def _invite_cells(window: Window) -> list[dict[str, Any]]:
    """Per wave that opened in the window and combination of region, service
    type and tenure band: the pulse invites and how many were answered (at
    any time). The one read of the invites, rolled up here into the overall
    row, the groups and the trend; a few hundred rows at most. (wave,
    contractor) is unique in both tables, so the join counts each invite once.
    The responses table has no window column to carry this: an invite
    belongs to the window its wave opened in, answered whenever."""
    q = _Sql()
    rows = await q.rows(
        f"SELECT i.wave_id AS w, c.region AS region, c.service_type AS service_type, "
        f"{_tenure_sql(q, window.end)} AS tenure_band, COUNT(*) AS invited, COUNT(r.id) AS answered "
        "FROM pulse_invites i JOIN pulse_waves pw ON pw.id = i.wave_id "
        "JOIN contractors c ON c.id = i.contractor_id "
        "LEFT JOIN pulse_responses r ON r.wave_id = i.wave_id AND r.contractor_id = i.contractor_id "
        f"WHERE {q.between('pw.opens_at', window)} GROUP BY 1, 2, 3, 4")
    for row in rows:
        row["tenure_band"] = int(row["tenure_band"])
    return rows


def _add_invites(
    sums: dict[Any, dict[str, Any]], cells: list[dict[str, Any]], filters: list[tuple[str, Any]], key: str | None
) -> None:
    """Add the invite cells that pass the filters to each group's sums (the
    group: everyone for None, else the cell's wave or contractor attribute)."""
    for cell in cells:
        if _fits(cell, filters):
            entry = sums.setdefault(0 if key is None else cell["w" if key == "wave" else key], _empty_sums())
            entry["ni"] += _i(cell["invited"])
            entry["na"] += _i(cell["answered"])


async def _item_sums(
    *, window: Window, population: Population, key: str | None, survey: Survey
) -> dict[tuple[Any, str], dict[str, tuple[int, int, int]]]:
    """Per group, dimension and item, over complete responses: the count, sum
    and sum of squares of the answers. Summed over every answer, minus those
    of the (rare) incomplete dimensions, so the big pass needs no join to
    the dimension scores."""
    def sql(q: _Sql, incomplete: bool) -> str:
        conds = _conditions(q, population, window.end)
        where = [q.between("a.submitted_at", window), *conds.values()]
        people = "JOIN contractors c ON c.id = a.contractor_id " if conds or key not in (None, "wave") else ""
        scores = ""
        if incomplete:
            scores = "JOIN pulse_scores s ON s.response_id = a.response_id AND s.dimension = a.dimension "
            where.append(f"NOT ({_complete_sql(q, survey)})")
        return (
            f"SELECT {_key_sql(q, key, window.end, 'a.wave_id')} AS g, a.dimension AS dim, a.item AS item, "
            "COUNT(*) AS n, SUM(a.value) AS s, SUM(a.value * a.value) AS ss FROM pulse_item_answers a "
            f"{people}{scores}WHERE {' AND '.join(where)} GROUP BY 1, 2, 3"
        )

    q, s = _Sql(), _Sql()
    every, incomplete = await _gather(q.rows(sql(q, False)), s.rows(sql(s, True)))
    sums: dict[tuple[Any, str], dict[str, tuple[int, int, int]]] = {}
    for rows, sign in ((every, 1), (incomplete, -1)):
        for row in rows:
            by_item = sums.setdefault((row["g"], row["dim"]), {})
            n, s1, s2 = by_item.get(row["item"], (0, 0, 0))
            by_item[row["item"]] = (n + sign * _i(row["n"]), s1 + sign * _i(row["s"]), s2 + sign * _i(row["ss"]))
    return sums


def _add_totals(entry: dict[str, Any], row: dict[str, Any]) -> None:
    """Add a row's reliability totals (count, sum, sum of squares) to a group's sums."""
    n, s1, s2 = entry["totals"].get(row["dim"], (0, 0, 0))
    entry["totals"][row["dim"]] = (n + _i(row["tn"]), s1 + round(float(row["ts"] or 0)),
                                   s2 + round(float(row["tss"] or 0)))


def _reliabilities(
    sums: dict[tuple[Any, str], dict[str, tuple[int, int, int]]], level: dict[Any, dict[str, Any]],
    survey: Survey, *, pooled: bool,
) -> dict[Any, dict[str, dict[str, Any]]]:
    """Reliability per group and dimension from the item sums and the level's
    totals; `pooled` adds the groups' item sums together first (they
    partition the population: one overall figure)."""
    if pooled:
        merged: dict[tuple[Any, str], dict[str, tuple[int, int, int]]] = {}
        for (_, dim), by_item in sums.items():
            target = merged.setdefault((0, dim), {})
            for item, (n, s, ss) in by_item.items():
                n0, s0, ss0 = target.get(item, (0, 0, 0))
                target[item] = (n0 + n, s0 + s, ss0 + ss)
        sums = merged
    sums = {key: dict(by_item) for key, by_item in sums.items()}
    for g, entry in level.items():
        for dim, total in entry["totals"].items():
            if total[0]:
                sums.setdefault((g, dim), {})[""] = total
    dims = {d.id for d in survey.dimensions}
    out: dict[Any, dict[str, dict[str, Any]]] = {}
    for (g, dim), by_item in sums.items():
        by_item = dict(by_item)
        total = by_item.pop("", None)
        k = len(survey.items(dim)) if dim in dims else 0
        out.setdefault(g, {})[dim] = _reliability(k, [by_item[i] for i in sorted(by_item)], total)
    return out


async def _comments(
    *, window: Window, population: Population, key: str | None
) -> tuple[list[str], dict[Any, list[str]], dict[Any, list[str]]]:
    """Up to MAX_COMMENTS recent pulse comments overall, per group and per wave,
    each in alphabetical order (not in time order, which could help single
    someone out)."""
    q = _Sql()
    where = [q.between("r.submitted_at", window), *_conditions(q, population, window.end).values(),
             "r.comment IS NOT NULL", "r.comment <> ''"]
    sql = (
        f"SELECT comment, g, w, rn0, rn1, rn2 FROM (SELECT r.comment AS comment, "
        f"{_key_sql(q, key, window.end)} AS g, r.wave_id AS w, "
        "ROW_NUMBER() OVER (ORDER BY r.id DESC) AS rn0, "
        f"ROW_NUMBER() OVER (PARTITION BY {_key_sql(q, key, window.end)} ORDER BY r.id DESC) AS rn1, "
        "ROW_NUMBER() OVER (PARTITION BY r.wave_id ORDER BY r.id DESC) AS rn2 "
        "FROM pulse_responses r JOIN contractors c ON c.id = r.contractor_id "
        f"WHERE {' AND '.join(where)}) AS t "
        f"WHERE rn0 <= {MAX_COMMENTS} OR rn1 <= {MAX_COMMENTS} OR rn2 <= {MAX_COMMENTS}"
    )
    overall: list[str] = []
    groups: dict[Any, list[str]] = {}
    waves: dict[Any, list[str]] = {}
    for row in await q.rows(sql):
        if row["rn0"] <= MAX_COMMENTS:
            overall.append(row["comment"])
        if row["rn1"] <= MAX_COMMENTS:
            groups.setdefault(row["g"], []).append(row["comment"])
        if row["rn2"] <= MAX_COMMENTS:
            waves.setdefault(row["w"], []).append(row["comment"])
    return (sorted(overall), {g: sorted(t) for g, t in groups.items()},
            {w: sorted(t) for w, t in waves.items()})


def _rows(
    *, key: str | None, sizes: dict[Any, list[int]], sums: dict[Any, dict[str, Any]],
    rel: dict[Any, dict[str, dict[str, Any]]], comments: dict[Any, list[str]], survey: Survey,
    min_group: int, min_comment_group: int, waves: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The rows of one level (overall, a breakdown, the trend) from its sums."""
    breakdown = key is not None
    reasons = _privacy(sizes, min_group, breakdown=breakdown)
    comment_reasons = _privacy(sizes, max(min_comment_group, min_group), breakdown=breakdown)
    rows = []
    for g in sorted((g for g in sizes if sizes[g][0] > 0 or not breakdown),
                    key=lambda g: _group_order(key, g, waves)):
        entry = sums.get(g) or _empty_sums()
        entry = {**entry, "rel": rel.get(g, {})}
        row = _index_row(
            _group_label(key, g, waves), entry, reasons[g], survey,
            comments.get(g, []) if comment_reasons[g] is None else None,
        )
        if key == "wave":
            wave = waves.get(int(g), {})
            row.update(wave=wave.get("name"), opens_at=wave.get("opens_at"), closes_at=wave.get("closes_at"))
        rows.append(row)
    return rows


def _may_show_comments(sizes: dict[Any, list[int]], min_group: int, min_comment_group: int,
                       breakdown: bool) -> bool:
    reasons = _privacy(sizes, max(min_comment_group, min_group), breakdown=breakdown)
    return any(r is None for r in reasons.values())


async def index_report(
    *,
    window: Window,
    population: Population = Population(),
    group_by: str | None = None,
    min_group: int,
    min_comment_group: int,
) -> dict[str, Any]:
    """The CEI and its dimensions for the population, overall, per group and per wave.

    Side by side: per-contractor response counts and CEI means (for group
    sizes and the CEI), dimension sums per group of contractors (each
    contractor's mean taken inside the database), per-wave sums (for the
    trend and a wave breakdown), the item sums per group (reliability) and
    the invite counts per wave and contractor attributes; the levels are
    rolled up here from them. Each scans one table; none joins responses.
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    survey = pulse_survey()
    filters = _filters(population)
    subsets = _subsets(filters)
    names = [name for name, _ in filters]
    by_contractor = group_by if group_by != "wave" else None
    (waves, people, per_contractor, group_dims, (per_wave, per_wave_dims), reliability,
     invites) = await _gather(
        _waves(), _people(window.end), _contractor_responses(window),
        _group_dimensions(window=window, population=population, key=by_contractor, survey=survey),
        _wave_cells(window, names, survey),
        _item_sums(window=window, population=population, key=group_by, survey=survey), _invite_cells(window),
    )
    chosen = {row["cid"] for row in per_contractor if _fits(people[row["cid"]], filters)}

    def contractor_level(key: str | None) -> tuple[dict[Any, list[int]], dict[Any, dict[str, Any]]]:
        def g(cid: int) -> Any:
            return 0 if key is None else getattr(people[cid], key)
        sizes = _group_sizes(((g(row["cid"]), people[row["cid"]], 1) for row in per_contractor), subsets)
        sums: dict[Any, dict[str, Any]] = {}
        for row in per_contractor:
            if row["cid"] in chosen:
                entry = sums.setdefault(g(row["cid"]), _empty_sums())
                entry["nc"] += 1
                entry["nr"] += _i(row["nr"])
                if row["cei"] is not None:
                    entry["cei_sum"] += float(row["cei"])
                    entry["cei_n"] += 1
        for row in group_dims:  # grouped by `by_contractor`: the overall row adds them all up
            entry = sums.setdefault(0 if key is None else row["g"], _empty_sums())
            _add_dim(entry, row["dim"], _f(row["mean_sum"]) or 0.0, _i(row["n"]), _i(row["fav"]), _i(row["ans"]))
            _add_totals(entry, row)
        return sizes, sums

    def wave_level() -> tuple[dict[Any, list[int]], dict[Any, dict[str, Any]]]:
        sizes = _group_sizes(((row["w"], row, _i(row["n"])) for row in per_wave), subsets)
        sums: dict[Any, dict[str, Any]] = {}
        for row in per_wave:
            if _fits(row, filters):
                entry = sums.setdefault(row["w"], _empty_sums())
                entry["nc"] += _i(row["n"])
                entry["nr"] += _i(row["n"])
                entry["cei_sum"] += _f(row["cei_sum"]) or 0.0
                entry["cei_n"] += _i(row["cei_n"])
        for row in per_wave_dims:
            if _fits(row, filters):
                entry = sums.setdefault(row["w"], _empty_sums())
                _add_dim(entry, row["dim"], _f(row["score_sum"]) or 0.0, _i(row["score_n"]), _i(row["fav"]),
                         _i(row["ans"]))
                _add_totals(entry, row)
        return sizes, sums

    overall_sizes, overall_sums = contractor_level(None)
    if not overall_sizes:
        overall_sizes = {0: [0] * len(subsets)}
    _add_invites(overall_sums, invites, filters, None)
    trend_sizes, trend_sums = wave_level()
    _add_invites(trend_sums, invites, filters, "wave")
    if group_by == "wave":
        group_sizes, group_sums = trend_sizes, trend_sums
    elif group_by:
        group_sizes, group_sums = contractor_level(group_by)
        _add_invites(group_sums, invites, filters, group_by)
    else:
        group_sizes, group_sums = {}, {}
    levels = [(None, overall_sizes), ("wave", trend_sizes)] + ([(group_by, group_sizes)] if group_by else [])
    comments: tuple[list[str], dict[Any, list[str]], dict[Any, list[str]]] = ([], {}, {})
    if any(_may_show_comments(sizes, min_group, min_comment_group, key is not None) for key, sizes in levels):
        comments = await _comments(window=window, population=population, key=group_by)
    common = dict(survey=survey, min_group=min_group, min_comment_group=min_comment_group, waves=waves)
    overall = _rows(key=None, sizes=overall_sizes, sums=overall_sums,
                    rel=_reliabilities(reliability, overall_sums, survey, pooled=True), comments={0: comments[0]},
                    **common)  # type: ignore[arg-type]
    groups = _rows(key=group_by, sizes=group_sizes, sums=group_sums,
                   rel=_reliabilities(reliability, group_sums, survey, pooled=False), comments=comments[1],
                   **common) if group_by else []  # type: ignore[arg-type]
    trend = groups if group_by == "wave" else _rows(
        key="wave", sizes=trend_sizes, sums=trend_sums, rel={}, comments=comments[2],
        **common)  # type: ignore[arg-type]
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "min_group": min_group,
        "min_comment_group": min_comment_group,
        "cei_unit": "contractor",
        "dimensions": _dimensions(survey),
        "overall": overall[0],
        "groups": groups,
        "trend": trend,
    }


async def filter_options() -> dict[str, Any]:
    """The values the filters offer and the span of dates with data."""
    q = _Sql()
    regions = [r["v"] for r in await q.rows(
        "SELECT DISTINCT region AS v FROM contractors WHERE region <> '' ORDER BY 1")]
    services = [r["v"] for r in await q.rows(
        "SELECT DISTINCT service_type AS v FROM contractors WHERE service_type <> '' ORDER BY 1")]
    span = (await q.rows(
        "SELECT MIN(d) AS first, MAX(d) AS last FROM ("
        "SELECT MIN(submitted_at) AS d FROM pulse_responses UNION ALL "
        "SELECT MAX(submitted_at) FROM pulse_responses UNION ALL "
        "SELECT MIN(completed_at) FROM customer_responses UNION ALL "
        "SELECT MAX(completed_at) FROM customer_responses) AS t"))[0]

    def day(value: Any) -> str | None:
        if value is None:
            return None
        return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10]

    waves = await _waves()
    return {
        "regions": regions,
        "service_types": services,
        "tenure_bands": list(TENURE_BANDS),
        "waves": list(waves.values()),
        "first_date": day(span["first"]),
        "last_date": day(span["last"]),
    }


# --- customer metrics -------------------------------------------------------------------

_CUSTOMER_SUMS = (
    "COUNT(*) AS n, COUNT(cr.csat) AS n_csat, SUM(cr.csat) AS csat_sum, "
    "SUM(CASE WHEN cr.csat >= 4 THEN 1 ELSE 0 END) AS csat_top, "
    "COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= 9 THEN 1 ELSE 0 END) AS promoters, "
    "SUM(CASE WHEN cr.nps <= 6 THEN 1 ELSE 0 END) AS detractors, "
    "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces_sum, SUM(CASE WHEN cr.ces >= 5 THEN 1 ELSE 0 END) AS ces_top, "
    "COUNT(cr.promise_kept) AS n_promise, SUM(CASE WHEN cr.promise_kept THEN 1 ELSE 0 END) AS kept"
)
_SUM_KEYS = ("n", "n_csat", "csat_sum", "csat_top", "n_nps", "promoters", "detractors",
             "n_ces", "ces_sum", "ces_top", "n_promise", "kept", "jobs")


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
    }


async def _customer_sums(
    *, window: Window, population: Population, key: str | None
) -> tuple[dict[str, dict[str, int]], dict[Any, dict[str, int]]]:
    """Sums per ISO week of completion, and per group: responses and jobs are
    each read once, by day and group, and rolled up here into Monday-based
    weeks and into groups. (PostgreSQL estimates the number of days from the
    statistics migration 0002 creates, so it aggregates in parallel.)"""
    async def sums(table: str, select: str) -> list[dict[str, Any]]:
        q = _Sql()
        conds = _conditions(q, population, window.end)
        join = "JOIN contractors c ON c.id = cr.contractor_id " if conds or key else ""
        where = [q.between("cr.completed_at", window), *conds.values()]
        return await q.rows(f"SELECT {q.day('cr.completed_at')} AS k, {_key_sql(q, key, window.end)} AS g, "
                            f"{select} FROM {table} {join}WHERE {' AND '.join(where)} GROUP BY 1, 2")

    rows = await _gather(sums("customer_responses cr", _CUSTOMER_SUMS), sums("jobs cr", "COUNT(*) AS jobs"))
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
        into[k] += _i(sums.get(k))


async def customer_report(
    *, window: Window, population: Population = Population(), group_by: str | None = None
) -> dict[str, Any]:
    """Customer metrics over jobs completed in the window (not under the
    contractors' anonymity rule: customers are not the protected party)."""
    if group_by is not None and group_by not in CUSTOMER_GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(CUSTOMER_GROUP_BY)}")
    weeks, by_group = await _customer_sums(window=window, population=population, key=group_by)
    overall = dict.fromkeys(_SUM_KEYS, 0)
    for sums in weeks.values():  # ISO weeks partition the window: the overall is their sum
        _add(overall, sums)
    trend = []
    for week_start in sorted(weeks):
        monday = date.fromisoformat(week_start)
        year, week, _ = monday.isocalendar()
        trend.append({"week": f"{year}-W{week:02d}", "week_start": week_start,
                      **_customer_row(None, weeks[week_start])})
    groups = []
    if group_by:
        for g in sorted(by_group, key=lambda g: _group_order(group_by, g, {})):
            groups.append(_customer_row(_group_label(group_by, g, {}), by_group[g]))
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "overall": _customer_row(None, overall),
        "groups": groups,
        "trend": trend,
    }


# --- linkage ------------------------------------------------------------------------------
#
# The linkage's population moves with lag_days, the window and the filters, so
# nothing it returns may let anyone add CEIs back up (issue 8): no mean CEI of
# any set of contractors, no fitted line, no exact count of a CEI band; a
# correlation only over at least min_group contractors. See docs/metrics.md, "Linkage".

CEI_BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 100))  # [low, high), the last [80, 100]
COUNT_STEPS = (10, 20, 50, 100)  # where a band's shown count steps up: "5–9", "10–19", "20–49", "50–99", "100 or more"
REASON_CELL = "fewer than {m} contractors with both values"
REASON_BAND = "fewer than {m} contractors in this band"
REASON_BAND_NEXT = "hidden with a smaller hidden band, which the other bands would otherwise reveal"
_CORRELATION_KEYS = ("r", "ci_low", "ci_high", "p_value", "rho")


@dataclass(frozen=True)
class _Linked:
    """One contractor's aggregates; never leaves this module."""

    region: str
    service_type: str
    tenure_band: str
    tenure_years: float | None
    cei: float | None
    dims: tuple[float | None, ...]
    csat: float | None
    promoters: float | None
    ces: float | None


async def _reported_waves(window: Window, min_group: int, now: datetime | None) -> list[WaveStatus]:
    """The waves whose answers the linkage may use: closed in the window, with at
    least min_group respondents (models.waves decides which)."""
    return [w for w in await waves_in(window.start, window.end, min_group=min_group, now=now) if w.reported]


async def _linked_contractors(
    *, waves: list[WaveStatus], end: date, customer_window: Window, min_responses: int, survey: Survey
) -> list[_Linked]:
    """One row per contractor with a pulse response in one of `waves` and at
    least `min_responses` customer responses for jobs completed in
    `customer_window`. CEI and dimension means are over the contractor's
    responses in those waves; customer means over the customer window."""
    if not waves:
        return []
    dims = [d.id for d in survey.dimensions]
    pulse_q, scores_q, customers_q = _Sql(), _Sql(), _Sql()
    in_pulse = ", ".join(pulse_q.p(w.id) for w in waves)
    in_scores = ", ".join(scores_q.p(w.id) for w in waves)
    pulse = pulse_q.rows(
        "SELECT r.contractor_id AS cid, AVG(r.cei) AS cei FROM pulse_responses r "
        f"WHERE r.wave_id IN ({in_pulse}) GROUP BY r.contractor_id")
    scores = scores_q.rows(
        "SELECT p.contractor_id AS cid, p.dimension AS dim, AVG(p.score) AS score FROM pulse_scores p "
        f"WHERE p.wave_id IN ({in_scores}) GROUP BY p.contractor_id, p.dimension")
    customers = customers_q.rows(
        "SELECT cr.contractor_id AS cid, COUNT(cr.csat) AS n_csat, SUM(cr.csat) AS csat, "
        "COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= 9 THEN 1 ELSE 0 END) AS promoters, "
        "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces FROM customer_responses cr "
        f"WHERE {customers_q.between('cr.completed_at', customer_window)} GROUP BY cr.contractor_id "
        f"HAVING COUNT(*) >= {customers_q.p(min_responses)}")
    people = _Sql().rows("SELECT id, region, service_type, started_on FROM contractors")
    pulse_rows, score_rows, customer_rows, people_rows = await _gather(pulse, scores, customers, people)
    means: dict[int, list[float | None]] = {}
    for row in score_rows:
        if row["dim"] in dims:
            means.setdefault(row["cid"], [None] * len(dims))[dims.index(row["dim"])] = _f(row["score"])
    cu = {row["cid"]: row for row in customer_rows}
    who = {row["id"]: row for row in people_rows}
    out = []
    for row in sorted(pulse_rows, key=lambda r: r["cid"]):
        c = cu.get(row["cid"])
        if c is None:
            continue
        person = who[row["cid"]]
        started = person["started_on"]
        if isinstance(started, str):
            started = date.fromisoformat(started[:10])
        out.append(_Linked(
            region=person["region"],
            service_type=person["service_type"],
            tenure_band=tenure_band(started, end),
            tenure_years=None if started is None else (end - started).days / 365.25,
            cei=_f(row["cei"]),
            dims=tuple(means.get(row["cid"], [None] * len(dims))),
            csat=_i(c["csat"]) / _i(c["n_csat"]) if _i(c["n_csat"]) else None,
            promoters=100 * _i(c["promoters"]) / _i(c["n_nps"]) if _i(c["n_nps"]) else None,
            ces=_i(c["ces"]) / _i(c["n_ces"]) if _i(c["n_ces"]) else None,
        ))
    return out


def _matches(c: _Linked, filters: Iterable[tuple[str, str]]) -> bool:
    return all(getattr(c, name) == value for name, value in filters)


def _linkage_privacy(
    linked: list[_Linked], population: Population, key: str | None, min_group: int
) -> tuple[dict[Any, list[_Linked]], dict[Any, str | None]]:
    """Members and hide-reasons per group, with the same rules as the index."""
    filters = list(population.active().items())
    subsets = [s for k in range(len(filters), -1, -1) for s in combinations(filters, k)]
    groups: dict[Any, list[_Linked]] = {}
    sizes: dict[Any, list[int]] = {}
    for c in linked:
        g = getattr(c, key) if key else 0
        counts = sizes.setdefault(g, [0] * len(subsets))
        for index, subset in enumerate(subsets):
            counts[index] += _matches(c, subset)
        if _matches(c, filters):
            groups.setdefault(g, []).append(c)
    if key is None and not sizes:
        sizes[0] = [0] * len(subsets)
    return groups, _privacy(sizes, min_group, breakdown=key is not None)


def _cell_allowed(n: int, min_group: int) -> bool:
    """A correlation over n contractors may be shown: n of at least min_group.
    (No pulse sum over the linkage population is shown, so a cell leaving a
    few contractors out of it has nothing to be subtracted from.)"""
    return figure_allowed(n, n, min_group)


def _columns(members: Sequence[_Linked], dims: list[str]) -> dict[str, np.ndarray]:
    """The members' values as float columns (NaN where missing), built once."""
    def column(values: Iterable[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    out = {"cei": column(c.cei for c in members), "tenure": column(c.tenure_years for c in members)}
    for i, d in enumerate(dims):
        out[d] = column(c.dims[i] for c in members)
    for y in OUTCOMES:
        out[y] = column(getattr(c, y) for c in members)
    return out


def _correlation_cell(c: stats.Correlation, min_group: int) -> dict[str, Any]:
    """n (exact from min_group up, else its band), r, CI, p and rho; all null
    with a reason under min_group contractors."""
    shown = _cell_allowed(c.n, min_group)
    values = {"r": c.r, "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value, "rho": c.rho}
    return {"n": band(c.n, min_group), **(values if shown else dict.fromkeys(values)),
            "suppressed": not shown, "reason": None if shown else REASON_CELL.format(m=min_group)}


def _grid(members: list[_Linked], dims: list[str], min_group: int) -> list[dict[str, Any]]:
    """CEI and each dimension against each outcome: r, Fisher CI, p, rho, the
    partial r (region, service type, tenure), and BH-adjusted p-values over the
    cells shown. A cell (or its partial r) over fewer than min_group contractors
    is suppressed."""
    columns = _columns(members, dims)
    partials = stats.PartialCorrelator(
        {name: column.tolist() for name, column in columns.items()},
        [
            *stats.dummy_columns([c.region for c in members]),
            *stats.dummy_columns([c.service_type for c in members]),
            columns["tenure"].tolist(),
        ],
    )
    cells = []
    for x in ("cei", *dims):
        for y in OUTCOMES:
            both = ~np.isnan(columns[x]) & ~np.isnan(columns[y])
            cell = {"x": x, "y": y, **_correlation_cell(stats.correlate(columns[x][both], columns[y][both]),
                                                        min_group)}
            partial = (_correlation_cell(partials.correlate(x, y), min_group) if not cell["suppressed"]
                       else _correlation_cell(stats.Correlation(0, None, None, None, None, None), min_group))
            cell["partial"] = {k: v for k, v in partial.items() if k != "rho"}
            cells.append(cell)
    adjusted = stats.benjamini_hochberg([c["p_value"] for c in cells])
    adjusted_partial = stats.benjamini_hochberg([c["partial"]["p_value"] for c in cells])
    for cell, p, pp in zip(cells, adjusted, adjusted_partial):
        cell["p_adjusted"] = p
        cell["partial"]["p_adjusted"] = pp
    return cells


def _drivers(members: list[_Linked], survey: Survey, min_group: int) -> dict[str, Any] | None:
    """Relative weights of the dimensions for CSAT, and each dimension's r with
    CSAT, over at least min_group contractors. No dimension score: scores
    belong to the index, which gates them (the dashboard reads them there)."""
    dims = [d.id for d in survey.dimensions]
    columns = _columns(members, dims)
    complete = ~np.isnan(columns["csat"])
    for d in dims:
        complete &= ~np.isnan(columns[d])
    n = int(complete.sum())
    if n <= len(dims) + 1 or not _cell_allowed(n, min_group):
        return None
    result = stats.relative_weights(
        {d: columns[d][complete] for d in dims}, columns["csat"][complete],  # type: ignore[arg-type]
    )
    if result is None:
        return None
    rows = []
    for d in survey.dimensions:
        both = ~np.isnan(columns[d.id]) & ~np.isnan(columns["csat"])
        rows.append({
            "id": d.id,
            "label": d.labels.get("en", d.id),
            "weight": result.weights[d.id],
            "share": result.shares[d.id],
            "r": stats.pearson(columns[d.id][both], columns["csat"][both])
            if _cell_allowed(int(both.sum()), min_group) else None,
        })
    rows.sort(key=lambda r: -r["weight"])
    return {"method": DRIVER_METHOD, "citation": DRIVER_CITATION, "outcome": "csat",
            "r_squared": result.r_squared, "n": result.n, "dimensions": rows}


def _cei_band(cei: float) -> int:
    """The index in CEI_BANDS of a CEI (settled first, so a CEI of exactly 40
    falls in 40–60 on every backend)."""
    value = stats.settle(cei)
    for index, (_, high) in enumerate(CEI_BANDS[:-1]):
        if value < high:
            return index
    return len(CEI_BANDS) - 1


def _count_band(n: int, min_group: int) -> int | str:
    """A band's head count as shown: never exact. Under min_group — none
    included, so an empty band reads like a small one — "fewer than 5";
    else the step it falls in: "5–9", "10–19", "20–49", "50–99", "100 or more"."""
    if n < min_group:
        return band(n or 1, min_group) if min_group > 1 else 0
    steps = [min_group, *(s for s in COUNT_STEPS if s > min_group)]
    low = max(s for s in steps if s <= n)
    following = [s for s in steps if s > n]
    return f"{low}–{following[0] - 1}" if following else f"{low} or more"


def _bands(members: list[_Linked], min_group: int) -> list[dict[str, Any]]:
    """Customer satisfaction by fixed CEI band: per band its CSAT mean (the
    mean of its contractors' CSAT means) and its count as a step, never a
    CEI mean. A band of fewer than min_group contractors is hidden, and with
    it the next-smallest (`surveys.privacy.suppressed_groups`)."""
    members_by: dict[int, list[float]] = {i: [] for i in range(len(CEI_BANDS))}
    for c in members:
        if c.cei is not None and c.csat is not None:
            members_by[_cei_band(c.cei)].append(c.csat)
    sizes = {i: len(v) for i, v in members_by.items()}
    hidden = suppressed_groups(sizes, min_group)
    out = []
    for i, (low, high) in enumerate(CEI_BANDS):
        small = sizes[i] < min_group
        shown = not small and i not in hidden
        out.append({
            "band": f"{low}–{high}",
            "cei_from": low,
            "cei_to": high,
            "n": _count_band(sizes[i], min_group),
            "csat_mean": stats.mean(members_by[i]) if shown else None,
            "suppressed": not shown,
            "reason": None if shown else REASON_BAND.format(m=min_group) if small else REASON_BAND_NEXT,
        })
    return out


def _power(n: int) -> dict[str, Any]:
    needed = stats.min_sample_size(MODERATE_R)
    adequate = n >= needed
    return {
        "n_needed": needed,
        "power": stats.power_for(MODERATE_R, n),
        "adequate": adequate,
        "message": None if adequate else (
            f"Too few contractors to detect a moderate association: {n} here, about {needed} "
            f"are needed to detect r = {MODERATE_R} at 80 % power. This is not evidence of no effect."
        ),
    }


def _headline(cell: dict[str, Any] | None) -> str | None:
    """The headline sentence: surveys.association's words, which follow the interval."""
    if not cell or cell["r"] is None or cell["ci_low"] is None or cell["ci_high"] is None:
        return None
    return linkage_headline(cell["r"], cell["ci_low"], cell["ci_high"], cell["n"])


def _group_rows(linked: list[_Linked], population: Population, group_by: str, min_group: int,
                dims: list[str]) -> list[dict[str, Any]]:
    """CEI × CSAT per group: r, CI, p, rho, n and the CSAT mean, hidden like
    the index's groups, and each correlation over at least min_group
    contractors. No group CEI: a CEI mean over a population that moves by one
    contractor at a time would give that contractor's CEI away."""
    by_group, reasons = _linkage_privacy(linked, population, group_by, min_group)
    rows = []
    for g in sorted(reasons, key=lambda g: str(g)):
        part = by_group.get(g, [])
        if not part and reasons[g] is not None and not any(getattr(c, group_by) == g for c in linked):
            continue
        reason = reasons[g]
        columns = _columns(part, dims)
        both = ~np.isnan(columns["cei"]) & ~np.isnan(columns["csat"])
        cell = _correlation_cell(stats.correlate(columns["cei"][both], columns["csat"][both]), min_group)
        if reason is None and cell["suppressed"]:
            reason = cell["reason"]
        shown = reason is None
        rows.append({
            "group": g,
            "suppressed": not shown,
            "reason": reason,
            "n_contractors": band(len(part), min_group),
            "csat_mean": stats.mean([c.csat for c in part if c.csat is not None]) if shown else None,
            **{k: cell[k] if shown else None for k in _CORRELATION_KEYS},
            "n": cell["n"],
        })
    return rows


async def linkage_report(
    *,
    window: Window,
    population: Population = Population(),
    lag_days: int = 0,
    group_by: str | None = None,
    min_group: int,
    min_responses: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How contractors' CEI moves with their customers' satisfaction `lag_days` later.

    The pulse side is the waves that closed in the window with at least
    min_group respondents (`models.waves`); the customer side the jobs
    completed in the window shifted by lag_days. A contractor counts with a
    response in one of those waves and at least `min_responses` customer
    responses (the deployment's RAPPORT_MIN_CUSTOMER_RESPONSES unless given;
    the API does not take it). Returns::

        {"window", "customer_window": {"from", "to"}, "lag_days", "min_responses", "min_group",
         "population", "group_by", "waves": [wave name],
         "n": int, "suppressed": bool, "reason", "wording": str, "headline": str | None,
         "power": {"n_needed", "power", "adequate", "message"},
         "correlations": [CELL],   # x in cei + each dimension, y in csat, promoters, ces
         "drivers": {"method", "citation", "outcome": "csat", "r_squared", "n",
                     "dimensions": [{"id", "label", "weight", "share", "r"}]} | None,
         "bands": [{"band": "0–20", "cei_from", "cei_to", "n": "fewer than 5" | "5–9" | …,
                    "csat_mean", "suppressed", "reason"}],
         "groups": [{"group", "suppressed", "reason", "n_contractors", "csat_mean",
                     "r", "ci_low", "ci_high", "p_value", "rho", "n"}]}
        CELL = {"x", "y", "n", "r", "ci_low", "ci_high", "p_value", "p_adjusted", "rho",
                "suppressed", "reason", "partial": {"n", "r", "ci_low", "ci_high", "p_value",
                "p_adjusted", "suppressed", "reason"}}

    Counts under min_group read "fewer than 5"; correlations over fewer
    than min_group contractors are null with a reason. No CEI mean of any
    set of contractors, no fitted line, no per-contractor value.
    """
    if group_by is not None and group_by not in LINKAGE_GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(LINKAGE_GROUP_BY)}")
    min_responses = settings.min_customer_responses if min_responses is None else min_responses
    if min_responses < 1:
        raise ValueError("min_responses must be at least 1")
    survey = pulse_survey()
    dims = [d.id for d in survey.dimensions]
    customer_window = window.shifted(lag_days)
    waves = await _reported_waves(window, min_group, now)
    linked = await _linked_contractors(waves=waves, end=window.end, customer_window=customer_window,
                                       min_responses=min_responses, survey=survey)
    members_by, reasons = _linkage_privacy(linked, population, None, min_group)
    members = members_by.get(0, [])
    reason = reasons[0]
    hidden = reason is not None
    grid = [] if hidden else _grid(members, dims, min_group)
    main = next((c for c in grid if c["x"] == "cei" and c["y"] == "csat"), None)
    return {
        "window": window.as_dict(),
        "customer_window": customer_window.as_dict(),
        "lag_days": lag_days,
        "min_responses": min_responses,
        "min_group": min_group,
        "population": population.as_dict(),
        "group_by": group_by,
        "waves": [w.name for w in waves],
        "n": len(members),
        **_reason_row(reason),
        "wording": WORDING,
        "headline": _headline(main),
        "power": _power(len(members)),
        "correlations": grid,
        "drivers": None if hidden else _drivers(members, survey, min_group),
        "bands": [] if hidden else _bands(members, min_group),
        "groups": _group_rows(linked, population, group_by, min_group, dims) if group_by else [],
    }
