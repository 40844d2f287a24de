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
             min_group, min_comment_group, now=None) -> {
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
  on different attributes raise OneAttribute.
index_by_wave(...)  the same rows per reported wave and group (the aggregate export).

customer_report(*, window, population=Population(), group_by=None) -> {
    "window", "population", "group_by",
    "overall": CROW, "groups": [CROW], "trend": [CROW + {"week": "2026-W45", "week_start"}]}
  CROW = {"group", "n" (responses), "jobs", "response_rate" (0–1),
          "csat_mean", "csat_pct", "nps", "promoters_pct", "detractors_pct",
          "ces_mean", "ces_pct", "promise_kept_pct"}
  "trend" is by ISO week of the job's completion (weeks start on Monday).

linkage_report(*, window, population=Population(), lag_days=0, group_by=None,
               min_group, min_responses=None, now=None) -> {...}
  r, its CI, p, rho and n over contractors, CSAT by fixed CEI bands; the
  shape is in its docstring. No per-contractor value leaves this module.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from dataclasses import field as dc_field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np

from models.db import connection, dialect, side_by_side
from models.entities import PulseWave
from models.queries import survey_in_force
from models.settings import settings
from models.waves import WaveStatus, waves_in
from surveys import stats
from surveys.association import linkage_headline
from surveys.privacy import band, filter_allowed, publishable, suppressed_groups
from surveys.schema import Survey
from surveys.scoring import CES_AGREE_MIN, CSAT_TOP_TWO_MIN, DETRACTOR_MAX, PROMOTER_MIN
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


def tenure_code(started_on: date | None, end: date) -> int:
    """The tenure band at `end` as stored with a pulse response: -1 unknown, else its index."""
    return _band_code(tenure_band(started_on, end))


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


def pulse_survey() -> Survey:
    """The pulse definition in force (models.queries.survey_in_force, the one loader)."""
    return survey_in_force("pulse")


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


def _reliability(k: int, items: list[tuple[int, int, int]], total: tuple[int, int, int] | None) -> dict[str, Any]:
    """Reliability (surveys.stats) when every one of the k items has sums, with the Nunnally flag."""
    found = stats.reliability_from_sums(items if len(items) == k else [], total)
    low = None if found.reliability is None else found.reliability < RELIABILITY_FLOOR
    return {"alpha": found.alpha, "spearman_brown": found.spearman_brown, "reliability": found.reliability,
            "reliability_low": low, "n_complete": found.n_complete}


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


@functools.lru_cache(maxsize=4096)
def _publishable(cells: frozenset[tuple[Cell, int]], min_group: int) -> tuple[frozenset[Any], ...] | None:
    """`publishable`, remembered: a closed wave's counts rarely change, and the
    dashboard asks for the same waves view after view."""
    return publishable(dict(cells), min_group)


@dataclass
class _Family:
    """Counts per wave and cell of the people behind one kind of figure, and
    the units each wave may report for it."""

    counts: dict[int, dict[Cell, int]]
    min_group: int
    shown: dict[int, tuple[frozenset[Any], ...] | None] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shown = {w: _publishable(frozenset(cells.items()), self.min_group) for w, cells in self.counts.items()}

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


def _band_at_close(who: str) -> str:
    """The tenure band code of `who` (a table with started_on) at its wave's close (`lim`)."""
    return (f"(CASE WHEN {who}.started_on IS NULL THEN -1 WHEN {who}.started_on > lim.b3 THEN 0 "
            f"WHEN {who}.started_on > lim.b12 THEN 1 WHEN {who}.started_on > lim.b24 THEN 2 ELSE 3 END)")


def _cell(row: dict[str, Any]) -> Cell:
    return (row["region"] or "", row["service_type"] or "", int(row["band"]))


@dataclass
class _Units:
    """Everything the index reads, per reported wave and cell."""

    respondents: dict[int, dict[Cell, set[int]]] = dc_field(default_factory=dict)
    comments: dict[int, dict[Cell, list[str]]] = dc_field(default_factory=dict)
    invited: dict[int, dict[Cell, list[int]]] = dc_field(default_factory=dict)  # [invited, answered]
    dims: dict[tuple[int, Cell, str], list[float]] = dc_field(default_factory=dict)  # n, score_sum, fav, ans
    # complete responses: n, sum and sum of squares of the item totals; and per item
    totals: dict[tuple[int, Cell, str], list[int]] = dc_field(default_factory=dict)
    items: dict[tuple[int, Cell, str], dict[str, list[int]]] = dc_field(default_factory=dict)


async def _read_units(waves: list[WaveStatus], survey: Survey) -> _Units:
    """The index's reads, each one pass over one table of the reported waves
    (joined only to the waves' tenure limits; invites also to the
    contractors), grouped by wave and cell: who answered, the comments, the
    dimension sums, the item sums of complete dimensions, the invites."""
    units = _Units()
    if not waves:
        return units
    people, comments, scores, items, invites = _Sql(), _Sql(), _Sql(), _Sql(), _Sql()

    def cell(t: str) -> str:
        """A row's groups as frozen when its response was stored (models.queries.freeze_groups)."""
        return f"{t}.region AS region, {t}.service_type AS service_type, {t}.tenure_band AS band"

    listed = ", ".join(str(int(w.id)) for w in waves)

    # who answered, per wave and cell: the contractor ids as one list per row
    ids = "STRING_AGG(CAST(r.contractor_id AS TEXT), ',')" if people.postgres else "GROUP_CONCAT(r.contractor_id)"
    responses_sql = (
        f"SELECT r.wave_id AS w, {cell('r')}, {ids} AS who "
        f"FROM pulse_responses r WHERE r.wave_id IN ({listed}) GROUP BY 1, 2, 3, 4")
    comments_sql = (
        f"SELECT r.wave_id AS w, {cell('r')}, r.comment AS comment FROM pulse_responses r "
        f"WHERE r.wave_id IN ({listed}) AND r.comment IS NOT NULL AND r.comment <> ''")
    scores_sql = (
        f"SELECT p.wave_id AS w, {cell('p')}, p.dimension AS dim, p.answered AS k, "
        "COUNT(*) AS n, SUM(p.score) AS score_sum, SUM(p.favourable) AS fav, SUM(p.answered) AS ans, "
        "SUM(p.item_sum) AS ts, SUM(p.item_sum * p.item_sum) AS tss FROM pulse_scores p "
        f"WHERE p.wave_id IN ({listed}) GROUP BY 1, 2, 3, 4, 5, 6")
    items_sql = (
        f"SELECT a.wave_id AS w, {cell('a')}, a.item AS item, "  # an item names its dimension: one key less
        "COUNT(*) AS n, SUM(a.value) AS s, SUM(a.value * a.value) AS ss FROM pulse_item_answers a "
        f"WHERE a.wave_id IN ({listed}) AND a.complete GROUP BY 1, 2, 3, 4, 5")
    # invites (participation, not answers) go by the contractor's current groups
    invites_sql = (
        f"{_lim_sql(invites, waves)}SELECT i.wave_id AS w, c.region AS region, c.service_type AS service_type, "
        f"{_band_at_close('c')} AS band, COUNT(*) AS invited, COUNT(r.id) AS answered "
        "FROM pulse_invites i JOIN lim ON lim.w = i.wave_id JOIN contractors c ON c.id = i.contractor_id "
        "LEFT JOIN pulse_responses r ON r.wave_id = i.wave_id AND r.contractor_id = i.contractor_id "
        "GROUP BY 1, 2, 3, 4")
    response_rows, comment_rows, score_rows, item_rows, invite_rows = await side_by_side(
        people.rows(responses_sql), comments.rows(comments_sql), scores.rows(scores_sql), items.rows(items_sql),
        invites.rows(invites_sql))
    for row in response_rows:
        units.respondents.setdefault(row["w"], {})[_cell(row)] = {int(i) for i in str(row["who"]).split(",")}
    for row in comment_rows:
        units.comments.setdefault(row["w"], {}).setdefault(_cell(row), []).append(row["comment"])
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
    dimension_of = {q.id: q.dimension for q in survey.questions}
    for row in item_rows:
        by_item = units.items.setdefault((row["w"], _cell(row), dimension_of.get(row["item"], "")), {})
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
            return self.hidden(len(everyone), REASON_UNIT.format(m=m) if everyone else REASON_NOBODY)
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

    def hidden(self, n: int, reason: str | None) -> dict[str, Any]:
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
    hidden = _Index(_Units(), [], survey, min_group, min_comment_group).hidden(0, reason)
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
            row = index.hidden(0, None)
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
    f"SUM(CASE WHEN cr.csat >= {CSAT_TOP_TWO_MIN} THEN 1 ELSE 0 END) AS csat_top, "
    f"COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters, "
    f"SUM(CASE WHEN cr.nps <= {DETRACTOR_MAX} THEN 1 ELSE 0 END) AS detractors, "
    f"COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces_sum, SUM(CASE WHEN cr.ces >= {CES_AGREE_MIN} THEN 1 ELSE 0 END) "
    "AS ces_top, "
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
        f"COUNT(cr.nps) AS n_nps, SUM(CASE WHEN cr.nps >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters, "
        "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces FROM customer_responses cr "
        f"WHERE {customers_q.between('cr.completed_at', customer_window)} GROUP BY cr.contractor_id "
        f"HAVING COUNT(*) >= {customers_q.p(min_responses)}")
    people = _Sql().rows("SELECT id, region, service_type, started_on FROM contractors")
    pulse_rows, score_rows, customer_rows, people_rows = await side_by_side(pulse, scores, customers, people)
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
    return n >= min_group


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
