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

import calendar
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np

from models.db import connection, dialect
from models.entities import PulseWave
from models.settings import settings
from surveys import stats
from surveys.privacy import filter_allowed, suppressed_groups
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

    def week_start(self, column: str) -> str:
        if self.postgres:
            return f"CAST(date_trunc('week', {column} AT TIME ZONE 'UTC') AS DATE)"
        return f"date({column}, 'weekday 0', '-6 days')"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await connection().execute_query_dict(sql, self.params)


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


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


async def _pulse_sizes(
    *, window: Window, population: Population, key: str | None
) -> dict[Any, list[int]]:
    """Distinct contractors with a pulse response in the window, per group: for
    the full filter set first, then for every proper subset of the filters
    (the parents the filtered group could be subtracted from)."""
    q = _Sql()
    conds = _conditions(q, population, window.end)
    names = list(conds)
    subsets = [s for k in range(len(names), -1, -1) for s in combinations(names, k)]
    columns = ", ".join(
        f"COUNT(DISTINCT CASE WHEN {' AND '.join(conds[n] for n in subset) or '1 = 1'} "
        f"THEN r.contractor_id END) AS n{index}"
        for index, subset in enumerate(subsets)
    )
    sql = (
        f"SELECT {_key_sql(q, key, window.end)} AS g, {columns} "
        "FROM pulse_responses r JOIN contractors c ON c.id = r.contractor_id "
        f"WHERE {q.between('r.submitted_at', window)} GROUP BY 1"
    )
    return {row["g"]: [_i(row[f"n{i}"]) for i in range(len(subsets))] for row in await q.rows(sql)}


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


def _base_cte(q: _Sql, window: Window, population: Population, key: str | None) -> str:
    """The window's pulse responses of the population, each with its group `g`."""
    where = [q.between("r.submitted_at", window), *_conditions(q, population, window.end).values()]
    return (
        f"base AS (SELECT {_key_sql(q, key, window.end)} AS g, r.id AS rid, "
        "r.contractor_id AS cid, r.cei AS cei, r.comment AS comment "
        "FROM pulse_responses r JOIN contractors c ON c.id = r.contractor_id "
        f"WHERE {' AND '.join(where)})"
    )


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


async def _index_sums(
    *, window: Window, population: Population, key: str | None, survey: Survey, with_alpha: bool
) -> dict[Any, dict[str, Any]]:
    """Per group: contractor and response counts, sums of contractor means
    (CEI and each dimension), favourable counts and reliability."""
    out: dict[Any, dict[str, Any]] = {}

    def group(g: Any) -> dict[str, Any]:
        return out.setdefault(g, {"nc": 0, "nr": 0, "cei_sum": 0.0, "cei_n": 0, "dims": {}, "rel": {}})

    q = _Sql()
    sql = (
        f"WITH {_base_cte(q, window, population, key)}, "
        "pc AS (SELECT g, cid, AVG(cei) AS cei, COUNT(*) AS nr FROM base GROUP BY g, cid) "
        "SELECT g, COUNT(*) AS nc, SUM(nr) AS nr, SUM(cei) AS cei_sum, COUNT(cei) AS cei_n "
        "FROM pc GROUP BY g"
    )
    for row in await q.rows(sql):
        entry = group(row["g"])
        entry.update(nc=_i(row["nc"]), nr=_i(row["nr"]), cei_sum=_f(row["cei_sum"]) or 0.0,
                     cei_n=_i(row["cei_n"]))

    q = _Sql()
    sql = (
        f"WITH {_base_cte(q, window, population, key)}, "
        "pd AS (SELECT b.g AS g, b.cid AS cid, s.dimension AS dim, AVG(s.score) AS score, "
        "SUM(s.favourable) AS fav, SUM(s.answered) AS ans "
        "FROM base b JOIN pulse_scores s ON s.response_id = b.rid GROUP BY b.g, b.cid, s.dimension) "
        "SELECT g, dim, SUM(score) AS score_sum, COUNT(*) AS score_n, SUM(fav) AS fav, SUM(ans) AS ans "
        "FROM pd GROUP BY g, dim"
    )
    for row in await q.rows(sql):
        group(row["g"])["dims"][row["dim"]] = (
            _f(row["score_sum"]) or 0.0, _i(row["score_n"]), _i(row["fav"]), _i(row["ans"]))

    if with_alpha:
        # Complete responses of a dimension are those whose stored score counted
        # all k items; a response's total is answered × mean = k × (1 + score / 25).
        q = _Sql()
        k_case = " ".join(
            f"WHEN {q.p(d.id)} THEN {int(len(survey.items(d.id)))}" for d in survey.dimensions
        )
        where = " AND ".join([
            q.between("r.submitted_at", window),
            *_conditions(q, population, window.end).values(),
        ])
        # The completeness test sits inside the sums, not in WHERE: as a filter
        # it makes PostgreSQL misjudge the row count and pick a nested loop.
        complete = f"s.answered = (CASE s.dimension {k_case} ELSE -1 END)"
        key_sql = _key_sql(q, key, window.end)
        joins = ("FROM pulse_responses r JOIN contractors c ON c.id = r.contractor_id "
                 "JOIN pulse_scores s ON s.response_id = r.id ")
        total = "ROUND(s.answered * (1 + s.score / 25.0))"
        sql = (
            f"SELECT {key_sql} AS g, s.dimension AS dim, a.item AS item, "
            f"SUM(CASE WHEN {complete} THEN 1 ELSE 0 END) AS n, "
            f"SUM(CASE WHEN {complete} THEN a.value ELSE 0 END) AS s, "
            f"SUM(CASE WHEN {complete} THEN a.value * a.value ELSE 0 END) AS ss {joins}"
            "JOIN pulse_item_answers a ON a.response_id = s.response_id AND a.dimension = s.dimension "
            f"WHERE {where} GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {key_sql} AS g, s.dimension AS dim, '' AS item, COUNT(*) AS n, "
            f"SUM({total}) AS s, SUM({total} * {total}) AS ss {joins}WHERE {where} AND {complete} "
            "GROUP BY 1, 2, 3"
        )
        sums: dict[tuple[Any, str], dict[str, tuple[int, int, int]]] = {}
        for row in await q.rows(sql):
            sums.setdefault((row["g"], row["dim"]), {})[row["item"]] = (
                _i(row["n"]), round(float(row["s"])), round(float(row["ss"])))
        for (g, dim), by_item in sums.items():
            total = by_item.pop("", None)
            k = len(survey.items(dim)) if dim in {d.id for d in survey.dimensions} else 0
            group(g)["rel"][dim] = _reliability(k, [by_item[i] for i in sorted(by_item)], total)
    return out


async def _comments(*, window: Window, population: Population, key: str | None) -> dict[Any, list[str]]:
    """Up to MAX_COMMENTS recent pulse comments per group, in alphabetical order
    (not in time order, which could help single someone out)."""
    q = _Sql()
    sql = (
        f"WITH {_base_cte(q, window, population, key)} "
        "SELECT g, comment FROM (SELECT g, comment, ROW_NUMBER() OVER "
        "(PARTITION BY g ORDER BY rid DESC) AS rn FROM base "
        "WHERE comment IS NOT NULL AND comment <> '') AS t "
        f"WHERE rn <= {MAX_COMMENTS}"
    )
    out: dict[Any, list[str]] = {}
    for row in await q.rows(sql):
        out.setdefault(row["g"], []).append(row["comment"])
    return {g: sorted(texts) for g, texts in out.items()}


def _index_row(
    group: Any,
    sums: dict[str, Any] | None,
    reason: str | None,
    survey: Survey,
    comments: list[str] | None,
) -> dict[str, Any]:
    sums = sums or {"nc": 0, "nr": 0, "cei_sum": 0.0, "cei_n": 0, "dims": {}, "rel": {}}
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


async def _index_rows(
    *, window: Window, population: Population, key: str | None, survey: Survey,
    min_group: int, min_comment_group: int, with_alpha: bool, waves: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    breakdown = key is not None
    sizes = await _pulse_sizes(window=window, population=population, key=key)
    if not breakdown and not sizes:
        sizes = {0: [0] * (2 ** len(population.active()))}
    reasons = _privacy(sizes, min_group, breakdown=breakdown)
    comment_reasons = _privacy(sizes, max(min_comment_group, min_group), breakdown=breakdown)
    sums = await _index_sums(window=window, population=population, key=key, survey=survey,
                             with_alpha=with_alpha)
    allowed_comments = any(r is None for r in comment_reasons.values())
    comments = await _comments(window=window, population=population, key=key) if allowed_comments else {}
    rows = []
    for g in sorted((g for g in sizes if sizes[g][0] > 0 or not breakdown),
                    key=lambda g: _group_order(key, g, waves)):
        row = _index_row(
            _group_label(key, g, waves), sums.get(g), reasons[g], survey,
            comments.get(g, []) if comment_reasons[g] is None else None,
        )
        if key == "wave":
            wave = waves.get(int(g), {})
            row.update(wave=wave.get("name"), opens_at=wave.get("opens_at"), closes_at=wave.get("closes_at"))
        rows.append(row)
    return rows


async def index_report(
    *,
    window: Window,
    population: Population = Population(),
    group_by: str | None = None,
    min_group: int,
    min_comment_group: int,
) -> dict[str, Any]:
    """The CEI and its dimensions for the population, overall, per group and per wave."""
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    survey = pulse_survey()
    waves = await _waves()
    common = dict(window=window, population=population, survey=survey, min_group=min_group,
                  min_comment_group=min_comment_group, waves=waves)
    overall = await _index_rows(key=None, with_alpha=True, **common)  # type: ignore[arg-type]
    groups = (
        await _index_rows(key=group_by, with_alpha=True, **common)  # type: ignore[arg-type]
        if group_by else []
    )
    trend = groups if group_by == "wave" else await _index_rows(
        key="wave", with_alpha=False, **common)  # type: ignore[arg-type]
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
    *, window: Window, population: Population, key: str | None, weekly: bool = False
) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    for table, select in (("customer_responses cr", _CUSTOMER_SUMS), ("jobs cr", "COUNT(*) AS jobs")):
        q = _Sql()
        key_sql = q.week_start("cr.completed_at") if weekly else _key_sql(q, key, window.end)
        where = [q.between("cr.completed_at", window), *_conditions(q, population, window.end).values()]
        sql = (
            f"SELECT {key_sql} AS g, {select} FROM {table} "
            f"JOIN contractors c ON c.id = cr.contractor_id WHERE {' AND '.join(where)} GROUP BY 1"
        )
        for row in await q.rows(sql):
            g = str(row["g"]) if weekly else row["g"]
            entry = out.setdefault(g, dict.fromkeys(_SUM_KEYS, 0))
            entry.update({k: _i(v) for k, v in row.items() if k != "g"})
    return out


async def customer_report(
    *, window: Window, population: Population = Population(), group_by: str | None = None
) -> dict[str, Any]:
    """Customer metrics over jobs completed in the window (not under the
    contractors' anonymity rule: customers are not the protected party)."""
    if group_by is not None and group_by not in CUSTOMER_GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(CUSTOMER_GROUP_BY)}")
    weeks = await _customer_sums(window=window, population=population, key=None, weekly=True)
    overall = dict.fromkeys(_SUM_KEYS, 0)
    for sums in weeks.values():  # ISO weeks partition the window: the overall is their sum
        for k in _SUM_KEYS:
            overall[k] += sums[k]
    trend = []
    for week_start in sorted(weeks):
        monday = date.fromisoformat(week_start)
        year, week, _ = monday.isocalendar()
        trend.append({"week": f"{year}-W{week:02d}", "week_start": week_start,
                      **_customer_row(None, weeks[week_start])})
    groups = []
    if group_by:
        sums = await _customer_sums(window=window, population=population, key=group_by)
        for g in sorted(sums, key=lambda g: _group_order(group_by, g, {})):
            groups.append(_customer_row(_group_label(group_by, g, {}), sums[g]))
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "overall": _customer_row(None, overall),
        "groups": groups,
        "trend": trend,
    }


# --- linkage ------------------------------------------------------------------------------


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


async def _linked_contractors(
    *, window: Window, customer_window: Window, min_responses: int, survey: Survey
) -> list[_Linked]:
    """One row per contractor with a pulse response in `window` and at least
    `min_responses` customer responses for jobs completed in `customer_window`."""
    q = _Sql()
    dims = [d.id for d in survey.dimensions]
    dim_columns = ", ".join(
        f"AVG(CASE WHEN s.dimension = {q.p(d)} THEN s.score END) AS d{i}" for i, d in enumerate(dims)
    )
    pulse_window = q.between("r.submitted_at", window)
    sql = (
        "WITH p AS (SELECT r.contractor_id AS cid, AVG(r.cei) AS cei FROM pulse_responses r "
        f"WHERE {pulse_window} GROUP BY r.contractor_id), "
        f"d AS (SELECT r.contractor_id AS cid, {dim_columns} FROM pulse_responses r "
        f"JOIN pulse_scores s ON s.response_id = r.id WHERE {pulse_window} GROUP BY r.contractor_id), "
        "cu AS (SELECT cr.contractor_id AS cid, "
        "AVG(CAST(cr.csat AS DOUBLE PRECISION)) AS csat, "
        "AVG(CASE WHEN cr.nps >= 9 THEN 100.0 WHEN cr.nps IS NOT NULL THEN 0.0 END) AS promoters, "
        "AVG(CAST(cr.ces AS DOUBLE PRECISION)) AS ces FROM customer_responses cr "
        f"WHERE {q.between('cr.completed_at', customer_window)} GROUP BY cr.contractor_id "
        f"HAVING COUNT(*) >= {q.p(min_responses)}) "
        f"SELECT c.region AS region, c.service_type AS service_type, c.started_on AS started_on, "
        f"p.cei AS cei, {', '.join(f'd.d{i} AS d{i}' for i in range(len(dims)))}, "
        "cu.csat AS csat, cu.promoters AS promoters, cu.ces AS ces "
        "FROM p JOIN cu ON cu.cid = p.cid JOIN contractors c ON c.id = p.cid "
        "LEFT JOIN d ON d.cid = p.cid"
    )
    out = []
    for row in await q.rows(sql):
        started = row["started_on"]
        if isinstance(started, str):
            started = date.fromisoformat(started[:10])
        out.append(_Linked(
            region=row["region"],
            service_type=row["service_type"],
            tenure_band=tenure_band(started, window.end),
            tenure_years=None if started is None else (window.end - started).days / 365.25,
            cei=_f(row["cei"]),
            dims=tuple(_f(row[f"d{i}"]) for i in range(len(dims))),
            csat=_f(row["csat"]),
            promoters=_f(row["promoters"]),
            ces=_f(row["ces"]),
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


def _pairs(members: Sequence[_Linked], x: str, y: str, dims: list[str]) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for c in members:
        xv = c.cei if x == "cei" else c.dims[dims.index(x)]
        yv = getattr(c, y)
        if xv is not None and yv is not None:
            xs.append(xv)
            ys.append(yv)
    return xs, ys


def _covariates(members: Sequence[_Linked], keep: Sequence[bool]) -> list[list[float]]:
    chosen = [c for c, k in zip(members, keep) if k]
    return [
        *stats.dummy_columns([c.region for c in chosen]),
        *stats.dummy_columns([c.service_type for c in chosen]),
        [c.tenure_years or 0.0 for c in chosen],
    ]


def _correlation_dict(c: stats.Correlation) -> dict[str, Any]:
    return {"n": c.n, "r": c.r, "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value,
            "rho": c.rho}


def _grid(members: list[_Linked], dims: list[str]) -> list[dict[str, Any]]:
    """CEI and each dimension against each outcome: r, Fisher CI, p, rho, the
    partial r (region, service type, tenure), and BH-adjusted p-values."""
    cells = []
    with_tenure = [c for c in members if c.tenure_years is not None]
    for x in ("cei", *dims):
        for y in OUTCOMES:
            xs, ys = _pairs(members, x, y, dims)
            cell = {"x": x, "y": y, **_correlation_dict(stats.correlate(xs, ys))}
            keep = [
                (c.cei if x == "cei" else c.dims[dims.index(x)]) is not None and getattr(c, y) is not None
                for c in with_tenure
            ]
            pxs, pys = _pairs(with_tenure, x, y, dims)
            partial = stats.partial_correlate(pxs, pys, _covariates(with_tenure, keep))
            cell["partial"] = {k: v for k, v in _correlation_dict(partial).items() if k != "rho"}
            cells.append(cell)
    adjusted = stats.benjamini_hochberg([c["p_value"] for c in cells])
    adjusted_partial = stats.benjamini_hochberg([c["partial"]["p_value"] for c in cells])
    for cell, p, pp in zip(cells, adjusted, adjusted_partial):
        cell["p_adjusted"] = p
        cell["partial"]["p_adjusted"] = pp
    return cells


def _drivers(members: list[_Linked], survey: Survey) -> dict[str, Any] | None:
    dims = [d.id for d in survey.dimensions]
    complete = [c for c in members if c.csat is not None and all(v is not None for v in c.dims)]
    result = stats.relative_weights(
        {d: [c.dims[i] for c in complete] for i, d in enumerate(dims)},  # type: ignore[misc]
        [c.csat for c in complete],  # type: ignore[misc]
    ) if len(complete) > len(dims) + 1 else None
    if result is None:
        return None
    rows = []
    for i, d in enumerate(survey.dimensions):
        xs, ys = _pairs(members, d.id, "csat", dims)
        rows.append({
            "id": d.id,
            "label": d.labels.get("en", d.id),
            "weight": result.weights[d.id],
            "share": result.shares[d.id],
            "r": stats.pearson(xs, ys) if len(xs) >= 3 else None,
            "score": stats.mean([v for v in (c.dims[i] for c in members) if v is not None]),
        })
    rows.sort(key=lambda r: -r["weight"])
    return {"method": DRIVER_METHOD, "citation": DRIVER_CITATION, "outcome": "csat",
            "r_squared": result.r_squared, "n": result.n, "dimensions": rows}


def _bins(members: list[_Linked], min_group: int) -> tuple[list[dict[str, Any]], dict[str, float] | None]:
    """CEI quantile bins, each of at least min_group contractors, and the fitted line."""
    pairs = sorted((c.cei, c.csat) for c in members if c.cei is not None and c.csat is not None)
    fit = stats.linear_fit([p[0] for p in pairs], [p[1] for p in pairs]) if len(pairs) >= min_group else None
    count = min(MAX_BINS, len(pairs) // min_group)
    bins = []
    for chunk in (np.array_split(np.array(pairs), count) if count else []):
        bins.append({"n": int(len(chunk)), "cei": float(chunk[:, 0].mean()), "csat": float(chunk[:, 1].mean())})
    return bins, (None if fit is None else {"slope": fit[0], "intercept": fit[1]})


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
    if not cell or cell["r"] is None or cell["ci_low"] is None:
        return None
    direction = "more" if cell["r"] > 0 else "less"
    return (
        f"Contractors who feel more connected and empowered are associated with {direction} "
        f"satisfied customers: r = {cell['r']:.2f}, 95 % CI {cell['ci_low']:.2f} to "
        f"{cell['ci_high']:.2f}, {cell['n']} contractors."
    )


async def linkage_report(
    *,
    window: Window,
    population: Population = Population(),
    lag_days: int = 0,
    min_responses: int = 3,
    group_by: str | None = None,
    min_group: int,
) -> dict[str, Any]:
    """How contractors' CEI moves with their customers' satisfaction L days later."""
    if group_by is not None and group_by not in LINKAGE_GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(LINKAGE_GROUP_BY)}")
    if min_responses < 1:
        raise ValueError("min_responses must be at least 1")
    survey = pulse_survey()
    dims = [d.id for d in survey.dimensions]
    customer_window = window.shifted(lag_days)
    linked = await _linked_contractors(window=window, customer_window=customer_window,
                                       min_responses=min_responses, survey=survey)
    members_by, reasons = _linkage_privacy(linked, population, None, min_group)
    members = members_by.get(0, [])
    reason = reasons[0]
    hidden = reason is not None
    grid = [] if hidden else _grid(members, dims)
    main = next((c for c in grid if c["x"] == "cei" and c["y"] == "csat"), None)
    bins, fit = ([], None) if hidden else _bins(members, min_group)
    groups = []
    if group_by:
        by_group, group_reasons = _linkage_privacy(linked, population, group_by, min_group)
        for g in sorted(group_reasons, key=lambda g: str(g)):
            part = by_group.get(g, [])
            if not part and group_reasons[g] is not None and not any(
                    getattr(c, group_by) == g for c in linked):
                continue
            shown = group_reasons[g] is None
            xs, ys = _pairs(part, "cei", "csat", dims) if shown else ([], [])
            corr = _correlation_dict(stats.correlate(xs, ys)) if shown else dict.fromkeys(
                ("n", "r", "ci_low", "ci_high", "p_value", "rho"))
            groups.append({
                "group": g,
                **_reason_row(group_reasons[g]),
                "n_contractors": len(part),
                "cei": stats.mean([c.cei for c in part if c.cei is not None]) if shown else None,
                "csat_mean": stats.mean([c.csat for c in part if c.csat is not None]) if shown else None,
                **{k: v for k, v in corr.items() if k != "n"},
                "n": corr["n"],
            })
    return {
        "window": window.as_dict(),
        "customer_window": customer_window.as_dict(),
        "lag_days": lag_days,
        "min_responses": min_responses,
        "min_group": min_group,
        "population": population.as_dict(),
        "group_by": group_by,
        "n": len(members),
        **_reason_row(reason),
        "wording": WORDING,
        "headline": _headline(main),
        "power": _power(len(members)),
        "correlations": grid,
        "drivers": None if hidden else _drivers(members, survey),
        "bins": bins,
        "fit": fit,
        "groups": groups,
    }
