"""The Connection & Empowerment Index: pulse figures from closed waves,
through the privacy gate per wave and figure (see the section comment below
and docs/metrics.md, "Privacy")."""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

import numpy as np

from models.analytics.scope import (
    GROUP_BY,
    MAX_COMMENTS,
    RELIABILITY_FLOOR,
    Population,
    Window,
    dimension_labels,
    pulse_survey,
)
from models.db import side_by_side
from models.sql import Query, count, real
from models.waves import WaveStatus, waves_in
from surveys import stats, uncertainty
from surveys.privacy import band, publishable
from surveys.schema import Survey
from surveys.scoring import share_percent
from surveys.tenure import band_code, band_name, tenure_limits

__all__ = [
    "ATTRIBUTES",
    "REASON_NOBODY",
    "REASON_NO_WAVE",
    "REASON_UNIT",
    "REASON_WAVE_OPEN",
    "REASON_WAVE_SMALL",
    "Cell",
    "OneAttribute",
    "Selector",
    "comment_gate",
    "comment_order",
    "index_by_wave",
    "index_report",
    "pulse_selector",
    "read_comments",
    "refused_report",
    "selects",
]

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


Cell = tuple[str, str, int]  # region, service type, tenure band code at the wave's close
Selector = tuple[int, Any] | None  # (index in ATTRIBUTES, value), or everyone


def selects(selector: Selector, cell: Cell) -> bool:
    """Whether a unit's cell belongs to the selector's group (every cell, for everyone)."""
    return selector is None or cell[selector[0]] == selector[1]


@functools.lru_cache(maxsize=4096)
def _publishable(cells: frozenset[tuple[Cell, int]], min_group: int) -> tuple[frozenset[Any], ...] | None:
    """`publishable`, remembered: a closed wave's counts rarely change, and the
    dashboard asks for the same waves view after view."""
    return publishable(dict(cells), min_group)


# bootstrap_cei is a pure function of its arrays (seeded): its results are kept by a digest
# of them, so a row that recurs (the same overall or wave on the next view or filter back)
# is not resampled again. Bounded: the oldest go first.
_BOOTSTRAPS: OrderedDict[bytes, uncertainty.CeiBootstrap] = OrderedDict()
_BOOTSTRAPS_KEPT = 512


def _bootstrap_cei(sums: np.ndarray, counts: np.ndarray, weights: dict[str, float]) -> uncertainty.CeiBootstrap:
    """`uncertainty.bootstrap_cei`, remembered by the content of its arguments."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (repr((sums.shape, sums.dtype.str, counts.dtype.str, sorted(weights.items()))).encode(),
                 np.ascontiguousarray(sums).tobytes(), np.ascontiguousarray(counts).tobytes()):
        digest.update(part)
    key = digest.digest()
    found = _BOOTSTRAPS.get(key)
    if found is None:
        found = _BOOTSTRAPS[key] = uncertainty.bootstrap_cei(sums, counts, weights)
        while len(_BOOTSTRAPS) > _BOOTSTRAPS_KEPT:
            _BOOTSTRAPS.popitem(last=False)
    else:
        _BOOTSTRAPS.move_to_end(key)
    return found


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


def comment_gate(respondents: dict[int, dict[Cell, set[int]]], waves: list[int], *, min_group: int,
                 min_comment_group: int) -> _Family:
    """The one gate of contractors' comments: per wave, the units whose comments may be
    shown, decided by `publishable` on the wave's respondents per cell with the
    threshold max(min_group, min_comment_group) (so a small group's sibling or
    complement is hidden with it). Every view of comments asks this gate."""
    counts = {w: {c: len(p) for c, p in respondents.get(w, {}).items()} for w in waves}
    return _Family(counts, max(min_group, min_comment_group))


def _lim_sql(q: Query, waves: list[WaveStatus]) -> str:
    """A CTE `lim(w, b3, b12, b24)`: each wave's tenure limits at its close."""
    cast = ("::int", "::date") if q.postgres else ("", "")
    values = ", ".join(
        f"({q.p(w.id)}{cast[0]}, " + ", ".join(f"{q.p(b)}{cast[1]}" for b in tenure_limits(w.closes_at.date())) + ")"
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
    # per wave and cell, each response's dimension scores: contractor ids, dimension
    # indexes and scores, for the bootstrap of the margins (never reported as such)
    scored: dict[tuple[int, Cell], tuple[list[int], list[int], list[float]]] = dc_field(default_factory=dict)


async def _read_units(waves: list[WaveStatus], survey: Survey) -> _Units:
    """The index's reads, each one pass over one table of the reported waves
    (joined only to the waves' tenure limits; invites also to the
    contractors), grouped by wave and cell: who answered, the comments, the
    dimension sums, the item sums of complete dimensions, the invites."""
    units = _Units()
    if not waves:
        return units
    people, comments, scores, items, invites, answers, each = (
        Query(), Query(), Query(), Query(), Query(), Query(), Query())

    listed = ", ".join(str(int(w.id)) for w in waves)

    responses_sql, comments_sql = _respondents_sql(people, listed), _comments_sql(listed)
    scores_sql = (
        f"SELECT p.wave_id AS w, {_frozen_cell('p')}, p.dimension AS dim, p.answered AS k, "
        "COUNT(*) AS n, SUM(p.score) AS score_sum, SUM(p.favourable) AS fav, SUM(p.answered) AS ans, "
        "SUM(p.item_sum) AS ts, SUM(p.item_sum * p.item_sum) AS tss FROM pulse_scores p "
        f"WHERE p.wave_id IN ({listed}) GROUP BY 1, 2, 3, 4, 5, 6")
    items_sql = (
        f"SELECT a.wave_id AS w, {_frozen_cell('a')}, a.item AS item, "  # an item names its dimension: one key less
        "COUNT(*) AS n, SUM(a.value) AS s, SUM(a.value * a.value) AS ss FROM pulse_item_answers a "
        f"WHERE a.wave_id IN ({listed}) AND a.complete GROUP BY 1, 2, 3, 4, 5")
    # Invites have no frozen groups: they go by the contractor's current ones,
    # while the answered ones go by their answer's frozen groups, so editing a
    # contractor moves an invite (which says nothing) but never an answer
    # (which would tell whether that person answered).
    invites_sql = (
        f"{_lim_sql(invites, waves)}SELECT i.wave_id AS w, c.region AS region, c.service_type AS service_type, "
        f"{_band_at_close('c')} AS band, COUNT(*) AS invited FROM pulse_invites i "
        "JOIN lim ON lim.w = i.wave_id JOIN contractors c ON c.id = i.contractor_id GROUP BY 1, 2, 3, 4")
    answered_sql = (
        f"SELECT r.wave_id AS w, {_frozen_cell('r')}, COUNT(*) AS answered FROM pulse_responses r "
        "JOIN pulse_invites i ON i.wave_id = r.wave_id AND i.contractor_id = r.contractor_id "
        f"WHERE r.wave_id IN ({listed}) GROUP BY 1, 2, 3, 4")
    each_sql = (
        f"SELECT p.wave_id AS w, {_frozen_cell('p')}, p.contractor_id AS cid, p.dimension AS dim, p.score AS score "
        f"FROM pulse_scores p WHERE p.wave_id IN ({listed})")
    response_rows, comment_rows, score_rows, item_rows, invite_rows, answered_rows, each_rows = await side_by_side(
        people.rows(responses_sql), comments.rows(comments_sql), scores.rows(scores_sql), items.rows(items_sql),
        invites.rows(invites_sql), answers.rows(answered_sql), each.rows(each_sql))
    position = {d.id: j for j, d in enumerate(survey.dimensions)}
    for row in each_rows:
        if row["dim"] in position and row["score"] is not None:
            cids, which, values = units.scored.setdefault((row["w"], _cell(row)), ([], [], []))
            cids.append(int(row["cid"]))
            which.append(position[row["dim"]])
            values.append(float(row["score"]))
    _gather(response_rows, comment_rows, units.respondents, units.comments)
    for row in invite_rows:
        units.invited.setdefault(row["w"], {}).setdefault(_cell(row), [0, 0])[0] = count(row["invited"])
    for row in answered_rows:
        units.invited.setdefault(row["w"], {}).setdefault(_cell(row), [0, 0])[1] = count(row["answered"])
    complete = {d.id: len(survey.items(d.id)) for d in survey.dimensions}
    for row in score_rows:
        key = (row["w"], _cell(row), row["dim"])
        sums = units.dims.setdefault(key, [0, 0.0, 0, 0])
        for i, name in enumerate(("n", "score_sum", "fav", "ans")):
            sums[i] += real(row[name]) if name == "score_sum" else count(row[name])  # type: ignore[operator]  # n, fav, ans: ints
        if count(row["k"]) == complete.get(row["dim"]):
            total = units.totals.setdefault(key, [0, 0, 0])
            total[0] += count(row["n"])
            total[1] += round(float(row["ts"] or 0))
            total[2] += round(float(row["tss"] or 0))
    dimension_of = {q.id: q.dimension for q in survey.questions if q.dimension}
    for row in item_rows:
        by_item = units.items.setdefault((row["w"], _cell(row), dimension_of.get(row["item"], "")), {})
        by_item[row["item"]] = [count(row["n"]), count(row["s"]), count(row["ss"])]
    return units


def _frozen_cell(t: str) -> str:
    """A row's groups as frozen when its response was stored (models.queries.frozen_groups)."""
    return f"{t}.region AS region, {t}.service_type AS service_type, {t}.tenure_band AS band"


def _respondents_sql(q: Query, listed: str) -> str:
    """Who answered, per wave and cell: the contractor ids as one list per row."""
    ids = "STRING_AGG(CAST(r.contractor_id AS TEXT), ',')" if q.postgres else "GROUP_CONCAT(r.contractor_id)"
    return (f"SELECT r.wave_id AS w, {_frozen_cell('r')}, {ids} AS who "
            f"FROM pulse_responses r WHERE r.wave_id IN ({listed}) GROUP BY 1, 2, 3, 4")


def _comments_sql(listed: str) -> str:
    """Every non-empty comment of the waves, with its wave and cell (and nothing else)."""
    return (f"SELECT r.wave_id AS w, {_frozen_cell('r')}, r.comment AS comment FROM pulse_responses r "
            f"WHERE r.wave_id IN ({listed}) AND r.comment IS NOT NULL AND r.comment <> ''")


def _gather(response_rows: list[dict[str, Any]], comment_rows: list[dict[str, Any]],
            respondents: dict[int, dict[Cell, set[int]]], comments: dict[int, dict[Cell, list[str]]]) -> None:
    for row in response_rows:
        respondents.setdefault(row["w"], {})[_cell(row)] = {int(i) for i in str(row["who"]).split(",")}
    for row in comment_rows:
        comments.setdefault(row["w"], {}).setdefault(_cell(row), []).append(row["comment"])


async def read_comments(waves: list[WaveStatus]) -> tuple[dict[int, dict[Cell, set[int]]],
                                                          dict[int, dict[Cell, list[str]]]]:
    """Who answered and the comments, per wave and cell, of `waves` (the reads of the
    index that the comments' gate and a view of comments need, and no more)."""
    respondents: dict[int, dict[Cell, set[int]]] = {}
    comments: dict[int, dict[Cell, list[str]]] = {}
    if waves:
        people, texts = Query(), Query()
        listed = ", ".join(str(int(w.id)) for w in waves)
        response_rows, comment_rows = await side_by_side(
            people.rows(_respondents_sql(people, listed)), texts.rows(_comments_sql(listed)))
        _gather(response_rows, comment_rows, respondents, comments)
    return respondents, comments


_COMMENT_ORDER_KEY = b"rapport comment order"


def comment_order(text: str) -> bytes:
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
        self.commented = comment_gate(units.respondents, ids, min_group=min_group, min_comment_group=min_comment_group)
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

    def row(self, selector: Selector, waves: list[WaveStatus], *, margins: bool = True) -> dict[str, Any]:
        """The pooled figures of the selector's units over `waves`, each figure
        from the units that its own gate allows; with `margins`, the CEI's and each
        dimension's margin of error too (a bootstrap: most of the row's cost),
        else those are null."""
        m = self.min_group
        shown = [w.id for w in waves if self.people.allows(w.id, selector)]
        everyone = {cid for w in waves for cell, who in self.units.respondents.get(w.id, {}).items()
                    if selects(selector, cell) for cid in who}
        if not shown:
            return self.hidden(len(everyone), REASON_UNIT.format(m=m) if everyone else REASON_NOBODY)
        cells = [(w, cell) for w in shown for cell in self.units.respondents.get(w, {}) if selects(selector, cell)]
        contractors = {cid for w, cell in cells for cid in self.units.respondents[w][cell]}
        invited = answered = 0
        for w in shown:
            for cell, (i, a) in self.units.invited.get(w, {}).items():
                if selects(selector, cell):
                    invited, answered = invited + i, answered + a
        dims, fav_total, ans_total, weighted, weights = {}, 0, 0, 0.0, 0.0
        allowed_by: dict[str, set[int]] = {}
        for d in self.survey.dimensions:
            allowed = allowed_by[d.id] = {w for w in shown if self.dimension[d.id].allows(w, selector)}
            n, score_sum, fav, ans = 0, 0.0, 0, 0
            for w, cell in cells:
                if w in allowed and (s := self.units.dims.get((w, cell, d.id))):
                    n, score_sum, fav, ans = n + int(s[0]), score_sum + s[1], fav + int(s[2]), ans + int(s[3])
            score = score_sum / n if n else None
            if score is not None:
                weighted, weights = weighted + d.weight * score, weights + d.weight
                fav_total, ans_total = fav_total + fav, ans_total + ans
            dims[d.id] = {"score": score, "favourable_pct": share_percent(fav, ans) if n else None,
                          "n_contractors": n if n else None, **self._reliability(d.id, selector, allowed, cells)}
        found = self._bootstrap(cells, allowed_by) if margins else None
        for d in self.survey.dimensions:
            interval = found.dimensions.get(d.id) if found else None
            dims[d.id]["score_ci"] = interval.as_dict() if interval else None
        return {
            "n_contractors": len(contractors),
            "n_responses": sum(len(self.units.respondents[w][cell]) for w, cell in cells),
            "n_waves": len(shown),
            "n_invited": invited,
            "n_answered": answered,
            "cei_ci": found.cei.as_dict() if found and found.cei else None,
            "response_rate": answered / invited if invited else None,
            "cei": weighted / weights if weights else None,
            "cei_favourable_pct": share_percent(fav_total, ans_total),
            "dimensions": dims,
            "suppressed": False,
            "reason": None,
            **self._comments(selector, shown),
        }

    def _bootstrap(self, cells: list[tuple[int, Cell]], allowed: dict[str, set[int]]) -> uncertainty.CeiBootstrap:
        """The CEI's and each dimension's margin: a bootstrap over the contractors
        of the row, each with the scores of the units each dimension's gate allows."""
        names = [d.id for d in self.survey.dimensions]
        keep = np.array([[w in allowed[d] for d in names] for w, _ in cells], dtype=bool)
        keep = keep.reshape(len(cells), len(names))
        ids: list[int] = []
        dim_index: list[int] = []
        values: list[float] = []
        for k, key in enumerate(cells):
            who, which, score = self.units.scored.get(key, ([], [], []))
            for cid, j, v in zip(who, which, score, strict=True):
                if keep[k, j]:
                    ids.append(cid)
                    dim_index.append(j)
                    values.append(v)
        people, rows = np.unique(np.array(ids, dtype=np.int64), return_inverse=True)
        sums = np.zeros((len(people), len(names)))
        counts = np.zeros((len(people), len(names)))
        np.add.at(sums, (rows, np.array(dim_index, dtype=np.int64)), np.array(values, dtype=float))
        np.add.at(counts, (rows, np.array(dim_index, dtype=np.int64)), 1.0)
        return _bootstrap_cei(sums, counts, {d.id: d.weight for d in self.survey.dimensions})

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
        return _reliability(k, [tuple(by_item[i]) for i in sorted(by_item)],  # type: ignore[misc]  # triples
                            tuple(total) if total[0] else None)  # type: ignore[arg-type]  # a triple

    def _comments(self, selector: Selector, shown: list[int]) -> dict[str, Any]:
        allowed = [w for w in shown if self.commented.allows(w, selector)]
        if not allowed:
            return {"comments": None, "comments_suppressed": True}
        texts = [t for w in allowed for cell, some in self.units.comments.get(w, {}).items()
                 if selects(selector, cell) for t in some]
        return {"comments": sorted(sorted(texts, key=comment_order)[:MAX_COMMENTS]), "comments_suppressed": False}

    def hidden(self, n: int, reason: str | None) -> dict[str, Any]:
        return _hidden_row(self.survey, self.min_group, n, reason)


def _hidden_row(survey: Survey, min_group: int, n: int, reason: str | None) -> dict[str, Any]:
    """A suppressed row: null figures (never 0), a banded head count, the reason."""
    empty = dict.fromkeys(("score", "score_ci", "favourable_pct", "n_contractors", "alpha", "spearman_brown",
                           "reliability", "reliability_low", "n_complete"))
    return {
        "n_contractors": band(n, min_group) if n < min_group else f"{min_group} or more",
        "n_responses": None, "n_waves": 0, "n_invited": None, "n_answered": None, "response_rate": None,
        "cei": None, "cei_ci": None, "cei_favourable_pct": None,
        "dimensions": {d.id: dict(empty) for d in survey.dimensions},
        "suppressed": True, "reason": reason, "comments": None, "comments_suppressed": True,
    }


async def _load(window: Window, min_group: int, min_comment_group: int,
                now: datetime | None) -> tuple[list[WaveStatus], list[WaveStatus], _Index]:
    """The waves of the window, those reported, and the index over them."""
    survey = pulse_survey()
    waves = await waves_in(window.start, window.end, min_group=min_group, now=now)
    reported = [w for w in waves if w.reported]
    return waves, reported, _Index(await _read_units(reported, survey), waves, survey, min_group, min_comment_group)


def pulse_selector(population: Population, group_by: str | None = None) -> Selector:
    """The one attribute a pulse report may filter on (checked against group_by)."""
    active = [(ATTRIBUTES.index(name), band_code(v) if name == "tenure_band" else v)
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
    _, reported, index = await _load(window, min_group, min_comment_group, now)
    rows = []
    for w in reported:
        rows.append({"wave": w.name, "group_by": None, "group": None, **index.row(None, [w])})
        for attribute, name in enumerate(ATTRIBUTES):
            for value in index.values(attribute):
                row = index.row((attribute, value), [w])
                if row["reason"] != REASON_NOBODY:
                    rows.append({"wave": w.name, "group_by": name,
                                 "group": band_name(value) if name == "tenure_band" else value, **row})
    return rows


def refused_report(*, window: Window, population: Population, group_by: str | None, reason: str,
                   min_group: int, min_comment_group: int) -> dict[str, Any]:
    """An index report with nothing in it but the reason (for a view that
    shows the refusal in place of figures)."""
    survey = pulse_survey()
    hidden = _hidden_row(survey, min_group, 0, reason)
    return {
        "window": window.as_dict(), "population": population.as_dict(), "group_by": group_by,
        "min_group": min_group, "min_comment_group": min_comment_group, "cei_unit": "response",
        "waves_rule": "closed in the window", "dimensions": dimension_labels(survey),
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
    trend_margins: bool = True,
    group_margins: bool = True,
) -> dict[str, Any]:
    """The CEI and its dimensions over the waves that closed in the window:
    overall, per group and per wave, every figure through the privacy gate.

    The overall row always carries its margins of error; the trend's rows only
    with `trend_margins` and the groups' only with `group_margins` (without,
    their `cei_ci` and `score_ci` are null and no bootstrap is run for them: a
    view that shows or tests no such margin need not pay for it).

    Raises ValueError for an unknown group_by and OneAttribute when a filter
    and a breakdown (or two filters) name different attributes.
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    selector = pulse_selector(population, group_by)
    waves, reported, index = await _load(window, min_group, min_comment_group, now)
    overall = {"group": None, **index.row(selector, reported)}
    if not reported:
        overall.update(suppressed=True, reason=REASON_NO_WAVE.format(m=min_group))
    trend = []
    for w in waves:
        if w.reported:
            row = index.row(selector, [w], margins=trend_margins)
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
            groups.append({"group": band_name(value) if group_by == "tenure_band" else value,
                           **index.row((attribute, value), reported, margins=group_margins)})
    return {
        "window": window.as_dict(),
        "population": population.as_dict(),
        "group_by": group_by,
        "min_group": min_group,
        "min_comment_group": min_comment_group,
        "cei_unit": "response",
        "waves_rule": "closed in the window",
        "dimensions": dimension_labels(index.survey),
        "overall": overall,
        "groups": groups,
        "trend": trend,
        "waves": [w.as_dict(min_group) for w in waves],
    }
