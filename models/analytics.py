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
import hashlib
import math
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, fields
from dataclasses import field as dc_field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np

from models.db import connection, dialect
from models.entities import PulseWave
from models.waves import WaveStatus, waves_in
from models.settings import settings
from surveys import stats
from surveys.privacy import band, filter_allowed, publishable, suppressed_groups
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
    "OneAttribute",
    "index_by_wave",
    "index_report",
    "linkage_report",
    "refused_report",
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
    for name, limit in zip(TENURE_BANDS, _tenure_limits(end)):
        if started_on > limit:
            return name
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
    for g in suppressed_groups(shown, min_group, [g for g in shown if reasons[g] is not None]):
        reasons[g] = reasons[g] or REASON_NEXT
    return reasons


def _reason_row(reason: str | None) -> dict[str, Any]:
    return {"suppressed": reason is not None, "reason": reason}


# --- the index -------------------------------------------------------------------------
#
# Pulse figures are built from *units*: the respondents of one reported wave
# (closed, closing in the window, at least min_group respondents; see
# models/waves.py) who share one value of one attribute, or all of them. Per
# wave and per figure (respondents, each dimension, each dimension's complete
# answers for reliability, comments), `surveys.privacy.publishable` decides
# which units may be reported, from the counts per combination of region,
# service type and tenure band. A row adds up the units it may use, so any
# two rows differ by whole units, each of at least min_group people, and no
# combination of shown units isolates fewer (docs/metrics.md, "Privacy").
# Tenure bands are taken at each wave's close, so a unit never changes with
# the window.

ATTRIBUTES = ("region", "service_type", "tenure_band")
REASON_WAVE_OPEN = "the wave is still open; figures appear once it closes"
REASON_WAVE_SMALL = "fewer than {m} contractors answered this wave"
REASON_NO_WAVE = "no wave with at least {m} answers closed in this period"
REASON_NOBODY = "no contractor of this selection answered a wave that closed in this period"
REASON_UNIT = "fewer than {m} contractors, or hidden with a small group that the totals would otherwise reveal"


class OneAttribute(ValueError):
    """Pulse figures are filtered or broken down by one attribute at a time."""

    def __init__(self, parameter: str) -> None:
        super().__init__(
            "pulse figures can be filtered or broken down by one of region, service type and tenure band "
            "at a time (two at once could single out a contractor); "
            f"remove '{parameter}' or the other one")
        self.parameter = parameter


def _variance(n: int, s: int, ss: int) -> float | None:
    """Sample variance (n − 1) from a count, a sum and a sum of squares of integers, exactly."""
    if n < 2:
        return None
    return (ss * n - s * s) / (n * (n - 1))


def _reliability(k: int, items: list[tuple[int, int, int]], total: tuple[int, int, int] | None) -> dict[str, Any]:
    """Cronbach's alpha (and Spearman-Brown for two items) from SQL sums over
    the same complete responses for every term."""
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


async def _gather(*queries: Awaitable[Any]) -> list[Any]:
    """Independent queries side by side on PostgreSQL (each takes a pooled
    connection: two cores), one after the other on SQLite (one connection)."""
    if dialect() == "postgres":
        return list(await asyncio.gather(*queries))
    return [await query for query in queries]


def _complete_sql(q: _Sql, survey: Survey, answered: str = "s.answered", dimension: str = "s.dimension") -> str:
    """True for a stored dimension score that counted all k items of its dimension."""
    k_case = " ".join(f"WHEN {q.p(d.id)} THEN {int(len(survey.items(d.id)))}" for d in survey.dimensions)
    return f"{answered} = (CASE {dimension} {k_case} ELSE -1 END)"


def _dimension_sums_sql(q: _Sql, keys: dict[str, str], source: str, where: str, survey: Survey | None) -> str:
    """Per `keys` (alias: expression) and dimension, over pulse_scores `p`:
    score_n, score_sum, fav, ans."""
    columns = ", ".join(f"{expr} AS {alias}" for alias, expr in keys.items())
    by = ", ".join(str(i) for i in range(1, len(keys) + 2))  # the keys and the dimension
    sums = "COUNT(*) AS score_n, SUM(p.score) AS score_sum, SUM(p.favourable) AS fav, SUM(p.answered) AS ans"
    return f"SELECT {columns}, p.dimension AS dim, {sums} FROM pulse_scores p {source}WHERE {where} GROUP BY {by}"


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


Cell = tuple[str, str, int]  # region, service type, tenure band code at the wave's close
Selector = tuple[int, Any] | None  # (index in ATTRIBUTES, value), or everyone


def _selects(selector: Selector, cell: Cell) -> bool:
    return selector is None or cell[selector[0]] == selector[1]


@dataclass
class _Family:
    """Counts per wave and cell of the people behind one kind of figure, and
    the units each wave may report for it."""

    counts: dict[int, dict[Cell, int]]
    min_group: int
    shown: dict[int, tuple[frozenset[Any], ...] | None] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shown = {w: publishable(cells, self.min_group) for w, cells in self.counts.items()}

    def allows(self, wave: int, selector: Selector) -> bool:
        shown = self.shown.get(wave)
        return shown is not None and (selector is None or selector[1] in shown[selector[0]])


def _lim_sql(q: _Sql, waves: list[WaveStatus]) -> str:
    """A CTE `lim(w, b3, b12, b24)`: each wave's tenure limits at its close."""
    cast = ("::int", "::date") if q.postgres else ("", "")
    values = ", ".join(
        f"({q.p(w.id)}{cast[0]}, " + ", ".join(f"{q.p(b)}{cast[1]}" for b in _tenure_limits(w.closes_at.date())) + ")"
        for w in waves)
    return f"WITH lim(w, b3, b12, b24) AS (VALUES {values}) "


_BAND_AT_CLOSE = ("(CASE WHEN c.started_on IS NULL THEN -1 WHEN c.started_on > lim.b3 THEN 0 "
                  "WHEN c.started_on > lim.b12 THEN 1 WHEN c.started_on > lim.b24 THEN 2 ELSE 3 END)")


def _cell(row: dict[str, Any]) -> Cell:
    return (row["region"], row["service_type"], int(row["band"]))


@dataclass
class _Units:
    """Everything the index reads, per reported wave and cell."""

    respondents: dict[int, dict[Cell, set[int]]]
    comments: dict[int, dict[Cell, list[str]]]
    invited: dict[int, dict[Cell, list[int]]]  # [invited, answered]
    dims: dict[tuple[int, Cell, str], list[float]]  # n, score_sum, fav, ans
    totals: dict[tuple[int, Cell, str], list[int]]  # complete responses: n, sum, sum of squares of item totals
    items: dict[tuple[int, Cell, str], dict[str, list[int]]]  # complete responses, per item: n, sum, sum of squares


async def _read_units(waves: list[WaveStatus], survey: Survey) -> _Units:
    """The index's four reads, each one pass over one table (joined to the
    contractors and the waves' tenure limits), grouped by wave and cell."""
    units = _Units({}, {}, {}, {}, {}, {})
    if not waves:
        return units
    people, scores, items, invites = _Sql(), _Sql(), _Sql(), _Sql()
    cell = f"c.region AS region, c.service_type AS service_type, {_BAND_AT_CLOSE} AS band"
    responses_sql = (
        f"{_lim_sql(people, waves)}SELECT r.wave_id AS w, r.contractor_id AS cid, {cell}, r.comment AS comment "
        "FROM pulse_responses r JOIN lim ON lim.w = r.wave_id JOIN contractors c ON c.id = r.contractor_id")
    scores_sql = (
        f"{_lim_sql(scores, waves)}SELECT p.wave_id AS w, {cell}, p.dimension AS dim, p.answered AS k, "
        "COUNT(*) AS n, SUM(p.score) AS score_sum, SUM(p.favourable) AS fav, SUM(p.answered) AS ans, "
        "SUM(p.item_sum) AS ts, SUM(p.item_sum * p.item_sum) AS tss FROM pulse_scores p "
        "JOIN lim ON lim.w = p.wave_id JOIN contractors c ON c.id = p.contractor_id GROUP BY 1, 2, 3, 4, 5, 6")
    items_sql = (
        f"{_lim_sql(items, waves)}SELECT a.wave_id AS w, {cell}, a.dimension AS dim, a.item AS item, "
        "COUNT(*) AS n, SUM(a.value) AS s, SUM(a.value * a.value) AS ss FROM pulse_item_answers a "
        "JOIN lim ON lim.w = a.wave_id JOIN contractors c ON c.id = a.contractor_id "
        "JOIN pulse_scores s ON s.response_id = a.response_id AND s.dimension = a.dimension "
        f"AND {_complete_sql(items, survey)} GROUP BY 1, 2, 3, 4, 5, 6")
    invites_sql = (
        f"{_lim_sql(invites, waves)}SELECT i.wave_id AS w, {cell}, COUNT(*) AS invited, COUNT(r.id) AS answered "
        "FROM pulse_invites i JOIN lim ON lim.w = i.wave_id JOIN contractors c ON c.id = i.contractor_id "
        "LEFT JOIN pulse_responses r ON r.wave_id = i.wave_id AND r.contractor_id = i.contractor_id "
        "GROUP BY 1, 2, 3, 4")
    response_rows, score_rows, item_rows, invite_rows = await _gather(
        people.rows(responses_sql), scores.rows(scores_sql), items.rows(items_sql), invites.rows(invites_sql))
    for row in response_rows:
        key = _cell(row)
        units.respondents.setdefault(row["w"], {}).setdefault(key, set()).add(row["cid"])
        if row["comment"]:
            units.comments.setdefault(row["w"], {}).setdefault(key, []).append(row["comment"])
    for row in invite_rows:
        units.invited.setdefault(row["w"], {})[_cell(row)] = [_i(row["invited"]), _i(row["answered"])]
    complete = {d.id: len(survey.items(d.id)) for d in survey.dimensions}
    for row in score_rows:
        key = (row["w"], _cell(row), row["dim"])
        sums = units.dims.setdefault(key, [0, 0.0, 0, 0])
        for i, name in enumerate(("n", "score_sum", "fav", "ans")):
            sums[i] += _f(row[name]) if name == "score_sum" else _i(row[name])  # type: ignore[operator]
        if _i(row["k"]) == complete.get(row["dim"]):
            total = units.totals.setdefault(key, [0, 0, 0])
            total[0] += _i(row["n"])
            total[1] += round(float(row["ts"] or 0))
            total[2] += round(float(row["tss"] or 0))
    for row in item_rows:
        by_item = units.items.setdefault((row["w"], _cell(row), row["dim"]), {})
        by_item[row["item"]] = [_i(row["n"]), _i(row["s"]), _i(row["ss"])]
    return units


_COMMENT_ORDER_KEY = b"rapport comment order"


def _comment_order(text: str) -> bytes:
    """A fixed order that says nothing about who wrote what, or when."""
    return hashlib.blake2b(text.encode(), key=_COMMENT_ORDER_KEY, digest_size=8).digest()


class _Index:
    """The gates and the pooled rows of one index report."""

    def __init__(self, units: _Units, waves: list[WaveStatus], survey: Survey, min_group: int,
                 min_comment_group: int) -> None:
        self.units, self.survey, self.min_group = units, survey, min_group
        self.waves = [w for w in waves if w.reported]
        ids = [w.id for w in self.waves]
        counts = {w: {c: len(p) for c, p in units.respondents.get(w, {}).items()} for w in ids}
        self.people = _Family(counts, min_group)
        self.commented = _Family(counts, max(min_group, min_comment_group))
        self.dimension: dict[str, _Family] = {}
        self.complete: dict[str, _Family] = {}
        for d in survey.dimensions:
            self.dimension[d.id] = _Family(self._counts(ids, units.dims, d.id), min_group)
            self.complete[d.id] = _Family(self._counts(ids, units.totals, d.id), min_group)

    @staticmethod
    def _counts(ids: list[int], table: dict[tuple[int, Cell, str], Any], dim: str) -> dict[int, dict[Cell, int]]:
        out: dict[int, dict[Cell, int]] = {w: {} for w in ids}
        for (w, cell, d), sums in table.items():
            if d == dim and w in out:
                out[w][cell] = int(sums[0])
        return out

    def values(self, attribute: int) -> list[Any]:
        """The values of an attribute among the respondents of the reported waves."""
        return sorted({cell[attribute] for w in self.waves for cell in self.units.respondents.get(w.id, {})},
                      key=lambda v: (v < 0, v) if attribute == 2 else (str(v),))

    def row(self, selector: Selector, waves: list[WaveStatus]) -> dict[str, Any]:
        """The pooled figures of the selector's units over `waves`, each figure
        from the units that its own gate allows."""
        m = self.min_group
        shown = [w.id for w in waves if self.people.allows(w.id, selector)]
        everyone = {cid for w in waves for cell, who in self.units.respondents.get(w.id, {}).items()
                    if _selects(selector, cell) for cid in who}
        if not shown:
            return self._hidden(len(everyone), REASON_UNIT.format(m=m) if everyone else REASON_NOBODY)
        cells = [(w, cell) for w in shown for cell in self.units.respondents.get(w, {}) if _selects(selector, cell)]
        contractors = {cid for w, cell in cells for cid in self.units.respondents[w][cell]}
        invited = answered = 0
        for w in shown:
            for cell, (i, a) in self.units.invited.get(w, {}).items():
                if _selects(selector, cell):
                    invited, answered = invited + i, answered + a
        dims, fav_total, ans_total, weighted, weights = {}, 0, 0, 0.0, 0.0
        for d in self.survey.dimensions:
            allowed = {w for w in shown if self.dimension[d.id].allows(w, selector)}
            n = score_sum = fav = ans = 0
            for w, cell in cells:
                if w in allowed and (s := self.units.dims.get((w, cell, d.id))):
                    n, score_sum, fav, ans = n + s[0], score_sum + s[1], fav + s[2], ans + s[3]
            score = score_sum / n if n else None
            if score is not None:
                weighted, weights = weighted + d.weight * score, weights + d.weight
                fav_total, ans_total = fav_total + fav, ans_total + ans
            dims[d.id] = {"score": score, "favourable_pct": share_percent(fav, ans) if n else None,
                          "n_contractors": n if n else None, **self._reliability(d.id, selector, allowed, cells)}
        return {
            "n_contractors": len(contractors),
            "n_responses": sum(len(self.units.respondents[w][cell]) for w, cell in cells),
            "n_waves": len(shown),
            "n_invited": invited,
            "response_rate": answered / invited if invited else None,
            "cei": weighted / weights if weights else None,
            "cei_favourable_pct": share_percent(fav_total, ans_total),
            "dimensions": dims,
            "suppressed": False,
            "reason": None,
            **self._comments(selector, shown),
        }

    def _reliability(self, dim: str, selector: Selector, allowed: set[int],
                     cells: list[tuple[int, Cell]]) -> dict[str, Any]:
        k = len(self.survey.items(dim))
        total = [0, 0, 0]
        by_item: dict[str, list[int]] = {}
        for w, cell in cells:
            if w not in allowed or not self.complete[dim].allows(w, selector):
                continue
            for i, v in enumerate(self.units.totals.get((w, cell, dim), (0, 0, 0))):
                total[i] += v
            for item, sums in self.units.items.get((w, cell, dim), {}).items():
                into = by_item.setdefault(item, [0, 0, 0])
                for i, v in enumerate(sums):
                    into[i] += v
        return _reliability(k, [tuple(by_item[i]) for i in sorted(by_item)],  # type: ignore[misc]
                            tuple(total) if total[0] else None)  # type: ignore[arg-type]

    def _comments(self, selector: Selector, shown: list[int]) -> dict[str, Any]:
        allowed = [w for w in shown if self.commented.allows(w, selector)]
        if not allowed:
            return {"comments": None, "comments_suppressed": True}
        texts = [t for w in allowed for cell, some in self.units.comments.get(w, {}).items()
                 if _selects(selector, cell) for t in some]
        return {"comments": sorted(sorted(texts, key=_comment_order)[:MAX_COMMENTS]), "comments_suppressed": False}

    def _hidden(self, n: int, reason: str | None) -> dict[str, Any]:
        empty = {k: None for k in ("score", "favourable_pct", "n_contractors", "alpha", "spearman_brown",
                                   "reliability", "reliability_low", "n_complete")}
        return {
            "n_contractors": band(n, self.min_group) if n < self.min_group else f"{self.min_group} or more",
            "n_responses": None, "n_waves": 0, "n_invited": None, "response_rate": None,
            "cei": None, "cei_favourable_pct": None,
            "dimensions": {d.id: dict(empty) for d in self.survey.dimensions},
            "suppressed": True, "reason": reason, "comments": None, "comments_suppressed": True,
        }


def _selector(population: Population, group_by: str | None) -> Selector:
    """The one attribute a pulse report may filter on (checked against group_by)."""
    active = [(ATTRIBUTES.index(name), _band_code(v) if name == "tenure_band" else v)
              for name, v in population.active().items()]
    if len(active) > 1:
        raise OneAttribute(ATTRIBUTES[active[1][0]])
    if active and group_by in ATTRIBUTES and ATTRIBUTES.index(group_by) != active[0][0]:
        raise OneAttribute("group_by")
    return active[0] if active else None


async def index_by_wave(*, window: Window, min_group: int, min_comment_group: int,
                        now: datetime | None = None) -> list[dict[str, Any]]:
    """Per reported wave of the window: the overall row and one row per group
    of each attribute that had respondents in it, through the same gates as
    `index_report` (the aggregate pulse export)."""
    survey = pulse_survey()
    waves = await waves_in(window.start, window.end, min_group=min_group, now=now)
    reported = [w for w in waves if w.reported]
    index = _Index(await _read_units(reported, survey), waves, survey, min_group, min_comment_group)
    rows = []
    for w in reported:
        rows.append({"wave": w.name, "group_by": None, "group": None, **index.row(None, [w])})
        for attribute, name in enumerate(ATTRIBUTES):
            for value in index.values(attribute):
                row = index.row((attribute, value), [w])
                if row["reason"] != REASON_NOBODY:
                    rows.append({"wave": w.name, "group_by": name,
                                 "group": _band_name(value) if name == "tenure_band" else value, **row})
    return rows


def refused_report(*, window: Window, population: Population, group_by: str | None, reason: str,
                   min_group: int, min_comment_group: int) -> dict[str, Any]:
    """An index report with nothing in it but the reason (for a view that
    shows the refusal in place of figures)."""
    survey = pulse_survey()
    hidden = _Index(_Units({}, {}, {}, {}, {}, {}), [], survey, min_group, min_comment_group)._hidden(0, reason)
    return {
        "window": window.as_dict(), "population": population.as_dict(), "group_by": group_by,
        "min_group": min_group, "min_comment_group": min_comment_group, "cei_unit": "response",
        "waves_rule": "closed in the window", "dimensions": _dimensions(survey),
        "overall": {"group": None, **hidden, "suppressed": True}, "groups": [], "trend": [], "waves": [],
        "refused": reason,
    }


async def index_report(
    *,
    window: Window,
    population: Population = Population(),
    group_by: str | None = None,
    min_group: int,
    min_comment_group: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The CEI and its dimensions over the waves that closed in the window:
    overall, per group and per wave, every figure through the privacy gate.

    Raises ValueError for an unknown group_by and OneAttribute when a filter
    and a breakdown (or two filters) name different attributes.
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    selector = _selector(population, group_by)
    survey = pulse_survey()
    waves = await waves_in(window.start, window.end, min_group=min_group, now=now)
    reported = [w for w in waves if w.reported]
    index = _Index(await _read_units(reported, survey), waves, survey, min_group, min_comment_group)
    overall = {"group": None, **index.row(selector, reported)}
    if not reported:
        overall.update(suppressed=True, reason=REASON_NO_WAVE.format(m=min_group))
    trend = []
    for w in waves:
        if w.reported:
            row = index.row(selector, [w])
        else:
            row = index._hidden(0, None)
            row.update(suppressed=True, reason=REASON_WAVE_OPEN if w.state == "open"
                       else REASON_WAVE_SMALL.format(m=min_group))
        listed = w.as_dict(min_group)
        if w.reported:  # the row's own counts, for its population
            listed = {k: listed[k] for k in ("wave", "opens_at", "closes_at", "state")}
        elif selector is not None:  # a wave's progress, not a group's
            listed.update(n_contractors=None, n_invited=None, response_rate=None)
        trend.append({"group": w.name, **row, **listed})
    groups: list[dict[str, Any]] = []
    if group_by == "wave":
        groups = trend
    elif group_by:
        attribute = ATTRIBUTES.index(group_by)
        values = index.values(attribute)
        if selector is not None:
            values = [v for v in values if v == selector[1]]
        for value in values:
            groups.append({"group": _band_name(value) if group_by == "tenure_band" else value,
                           **index.row((attribute, value), reported)})
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "min_group": min_group,
        "min_comment_group": min_comment_group,
        "cei_unit": "response",
        "waves_rule": "closed in the window",
        "dimensions": _dimensions(survey),
        "overall": overall,
        "groups": groups,
        "trend": trend,
        "waves": [w.as_dict(min_group) for w in waves],
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

    rows = await PulseWave.all().order_by("opens_at").values("name", "opens_at", "closes_at")
    waves = [{"name": r["name"], "opens_at": r["opens_at"].isoformat(), "closes_at": r["closes_at"].isoformat()}
             for r in rows]
    return {
        "regions": regions,
        "service_types": services,
        "tenure_bands": list(TENURE_BANDS),
        "waves": waves,
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
    `min_responses` customer responses for jobs completed in `customer_window`.
    Pulse, dimension and customer means per contractor are read side by side
    and joined here."""
    dims = [d.id for d in survey.dimensions]
    q = _Sql()
    customers = q.rows(
        "SELECT cr.contractor_id AS cid, COUNT(cr.csat) AS n_csat, SUM(cr.csat) AS csat, "
        "COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= 9 THEN 1 ELSE 0 END) AS promoters, "
        "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces FROM customer_responses cr "
        f"WHERE {q.between('cr.completed_at', customer_window)} GROUP BY cr.contractor_id "
        f"HAVING COUNT(*) >= {q.p(min_responses)}")
    people = _Sql().rows("SELECT id, region, service_type, started_on FROM contractors")
    pulse, means, customer_rows, people_rows = await _gather(
        _contractor_responses(window), _contractor_dimensions(window, dims), customers, people)
    cu = {row["cid"]: row for row in customer_rows}
    who = {row["id"]: row for row in people_rows}
    out = []
    for row in sorted(pulse, key=lambda r: r["cid"]):
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
            tenure_band=tenure_band(started, window.end),
            tenure_years=None if started is None else (window.end - started).days / 365.25,
            cei=_f(row["cei"]),
            dims=means.get(row["cid"], (None,) * len(dims)),
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


def _pairs(members: Sequence[_Linked], x: str, y: str, dims: list[str]) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for c in members:
        xv = c.cei if x == "cei" else c.dims[dims.index(x)]
        yv = getattr(c, y)
        if xv is not None and yv is not None:
            xs.append(xv)
            ys.append(yv)
    return xs, ys


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


def _correlation_dict(c: stats.Correlation) -> dict[str, Any]:
    return {"n": c.n, "r": c.r, "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value,
            "rho": c.rho}


def _grid(members: list[_Linked], dims: list[str]) -> list[dict[str, Any]]:
    """CEI and each dimension against each outcome: r, Fisher CI, p, rho, the
    partial r (region, service type, tenure), and BH-adjusted p-values."""
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
            cell = {"x": x, "y": y, **_correlation_dict(stats.correlate(columns[x][both], columns[y][both]))}
            cell["partial"] = {k: v for k, v in _correlation_dict(partials.correlate(x, y)).items() if k != "rho"}
            cells.append(cell)
    adjusted = stats.benjamini_hochberg([c["p_value"] for c in cells])
    adjusted_partial = stats.benjamini_hochberg([c["partial"]["p_value"] for c in cells])
    for cell, p, pp in zip(cells, adjusted, adjusted_partial):
        cell["p_adjusted"] = p
        cell["partial"]["p_adjusted"] = pp
    return cells


def _drivers(members: list[_Linked], survey: Survey) -> dict[str, Any] | None:
    dims = [d.id for d in survey.dimensions]
    columns = _columns(members, dims)
    complete = ~np.isnan(columns["csat"])
    for d in dims:
        complete &= ~np.isnan(columns[d])
    result = stats.relative_weights(
        {d: columns[d][complete] for d in dims}, columns["csat"][complete],  # type: ignore[arg-type]
    ) if int(complete.sum()) > len(dims) + 1 else None
    if result is None:
        return None
    rows = []
    for d in survey.dimensions:
        both = ~np.isnan(columns[d.id]) & ~np.isnan(columns["csat"])
        present = columns[d.id][~np.isnan(columns[d.id])]
        rows.append({
            "id": d.id,
            "label": d.labels.get("en", d.id),
            "weight": result.weights[d.id],
            "share": result.shares[d.id],
            "r": stats.pearson(columns[d.id][both], columns["csat"][both]) if int(both.sum()) >= 3 else None,
            "score": stats.mean(present.tolist()),
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
