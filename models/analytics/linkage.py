"""The linkage of contractors' CEI with their customers' satisfaction:
correlations, drivers and CSAT by fixed CEI band, none of which lets anyone
add pulse values back up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

from models.analytics.scope import (
    DRIVER_CITATION,
    DRIVER_METHOD,
    LINKAGE_GROUP_BY,
    MODERATE_R,
    OUTCOMES,
    WORDING,
    Population,
    Window,
    pulse_survey,
)
from models.db import side_by_side
from models.settings import settings
from models.sql import Query, count, real
from models.waves import WaveStatus, waves_in
from surveys import stats, uncertainty
from surveys.association import linkage_headline
from surveys.privacy import band, filter_allowed, suppressed_groups
from surveys.schema import Survey
from surveys.scoring import PROMOTER_MIN
from surveys.tenure import tenure_band

__all__ = [
    "CEI_BANDS",
    "COUNT_STEPS",
    "REASON_BAND",
    "REASON_BAND_NEXT",
    "REASON_CELL",
    "REASON_COMPLEMENT",
    "REASON_NEXT",
    "REASON_SMALL",
    "linkage_lags",
    "linkage_report",
]

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


class _Linked(NamedTuple):
    """One contractor's aggregates; never leaves this module. (A named tuple:
    the lag chart makes one per contractor and lag.)"""

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


def _customer_sums(q: Query, windows: Sequence[Window], min_responses: int) -> str:
    """Each contractor's customer sums per window (`k`, its index in `windows`),
    for contractors with at least `min_responses` responses for jobs completed
    in it, in one statement that reads each response once, however much the
    windows overlap: the windows' edges cut time into spans, the responses are
    summed per contractor and span (one range scan of the completed_at index),
    and each window adds up the spans it covers (VALUES rows of window, span).
    The lag chart's nine windows of a year would otherwise aggregate nine years."""
    def total(name: str) -> str:  # an integer (PostgreSQL sums bigints as numeric, read back slowly)
        return f"CAST(SUM(spans.{name}) AS BIGINT) AS {name}"

    edges = sorted({edge for w in windows for edge in w.bounds})
    span = "CASE " + " ".join(f"WHEN cr.completed_at < {q.p(edge, 'timestamptz')} THEN {i}"
                              for i, edge in enumerate(edges[1:-1])) + f" ELSE {len(edges) - 2} END" \
        if len(edges) > 2 else "0"
    covers = ", ".join(f"({k}, {i})" for k, w in enumerate(windows) for i in range(len(edges) - 1)
                       if w.bounds[0] <= edges[i] and edges[i + 1] <= w.bounds[1])
    return (
        f"WITH spans AS (SELECT cr.contractor_id AS cid, {span} AS s, COUNT(*) AS n, "
        "COUNT(cr.csat) AS n_csat, SUM(cr.csat) AS csat, COUNT(cr.nps) AS n_nps, "
        f"SUM(CASE WHEN cr.nps >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters, "
        "COUNT(cr.ces) AS n_ces, SUM(cr.ces) AS ces FROM customer_responses cr "
        f"WHERE {q.between('cr.completed_at', (edges[0], edges[-1]))} GROUP BY 1, 2), "
        f"w(k, s) AS (VALUES {covers}) "
        f"SELECT w.k AS k, spans.cid AS cid, {total('n_csat')}, {total('csat')}, {total('n_nps')}, "
        f"{total('promoters')}, {total('n_ces')}, {total('ces')} FROM w JOIN spans ON spans.s = w.s "
        f"GROUP BY w.k, spans.cid HAVING SUM(spans.n) >= {q.p(min_responses)}")


async def _linked_contractors(
    *, waves: list[WaveStatus], end: date, customer_windows: Sequence[Window], min_responses: int,
    survey: Survey, dimensions: bool = True,
) -> list[list[_Linked]]:
    """For each customer window, one row per contractor with a pulse response in
    one of `waves` and at least `min_responses` customer responses for jobs
    completed in that window, in contractor order. CEI and dimension means are
    over the contractor's responses in those waves; customer means over the
    customer window. Without `dimensions` the dimension means are not read
    (`dims` is empty): the lag chart needs only the CEI. Each side is one query,
    whatever the number of windows."""
    if not waves or not customer_windows:
        return [[] for _ in customer_windows]
    dims = [d.id for d in survey.dimensions]
    pulse_q, scores_q, customers_q = Query(), Query(), Query()
    in_pulse = ", ".join(pulse_q.p(w.id) for w in waves)
    in_scores = ", ".join(scores_q.p(w.id) for w in waves)
    reads = [
        pulse_q.rows(
            "SELECT p.cid AS cid, p.cei AS cei, c.region AS region, c.service_type AS service_type, "
            "c.started_on AS started_on FROM (SELECT r.contractor_id AS cid, AVG(r.cei) AS cei "
            f"FROM pulse_responses r WHERE r.wave_id IN ({in_pulse}) GROUP BY r.contractor_id) p "
            "JOIN contractors c ON c.id = p.cid"),
        customers_q.rows(_customer_sums(customers_q, customer_windows, min_responses)),
    ]
    if dimensions:
        # each mean as (contractor, dimension) groups give it, then one row per contractor
        # (a row per contractor and dimension read back cost more than the query)
        columns = ", ".join(f"MAX(CASE WHEN s.dim = {scores_q.p(d)} THEN s.score END) AS d{i}"
                            for i, d in enumerate(dims))
        reads.append(scores_q.rows(
            f"SELECT s.cid AS cid, {columns} FROM (SELECT p.contractor_id AS cid, p.dimension AS dim, "
            f"AVG(p.score) AS score FROM pulse_scores p WHERE p.wave_id IN ({in_scores}) "
            "GROUP BY p.contractor_id, p.dimension) s GROUP BY s.cid"))
    pulse_rows, customer_rows, *score_rows = await side_by_side(*reads)
    means = {row["cid"]: tuple(real(row[f"d{i}"]) for i in range(len(dims))) for row in score_rows[0]} \
        if score_rows else {}
    customers: list[dict[int, dict[str, Any]]] = [{} for _ in customer_windows]
    for row in customer_rows:
        customers[int(row["k"])][row["cid"]] = row
    pulse_by_id = {row["cid"]: row for row in pulse_rows}
    known = {cid for window in customers for cid in window} & pulse_by_id.keys()
    bands: dict[date | None, str] = {}  # many contractors share a start date
    pulse_side: dict[int, _Linked] = {}
    for cid in sorted(known):
        person = pulse_by_id[cid]
        started = person["started_on"]
        if isinstance(started, str):
            started = date.fromisoformat(started[:10])
        if started not in bands:
            bands[started] = tenure_band(started, end)
        pulse_side[cid] = _Linked(
            region=person["region"],
            service_type=person["service_type"],
            tenure_band=bands[started],
            tenure_years=None if started is None else (end - started).days / 365.25,
            cei=real(person["cei"]),
            dims=means.get(cid, (None,) * len(dims)) if dimensions else (),
            csat=None, promoters=None, ces=None,
        )
    out = []
    for window in customers:
        linked = []
        for cid in sorted(window.keys() & pulse_side.keys()):
            c = window[cid]
            linked.append(pulse_side[cid]._replace(
                csat=count(c["csat"]) / count(c["n_csat"]) if count(c["n_csat"]) else None,
                promoters=100 * count(c["promoters"]) / count(c["n_nps"]) if count(c["n_nps"]) else None,
                ces=count(c["ces"]) / count(c["n_ces"]) if count(c["n_ces"]) else None,
            ))
        out.append(linked)
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


def _cei_csat_cell(members: Sequence[_Linked], min_group: int) -> dict[str, Any]:
    """CEI × CSAT over the members with both values (`_correlation_cell`): the
    same arithmetic as that cell of `_grid`, without building every column."""
    cei = np.array([np.nan if c.cei is None else c.cei for c in members], dtype=float)
    csat = np.array([np.nan if c.csat is None else c.csat for c in members], dtype=float)
    both = ~np.isnan(cei) & ~np.isnan(csat)
    return _correlation_cell(stats.correlate(cei[both], csat[both]), min_group)


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
    for cell, p, pp in zip(cells, adjusted, adjusted_partial, strict=True):
        cell["p_adjusted"] = p
        cell["partial"]["p_adjusted"] = pp
    return cells


def _drivers(members: list[_Linked], survey: Survey, min_group: int, intervals: bool = False) -> dict[str, Any] | None:
    """Relative weights of the dimensions for CSAT, and each dimension's r with
    CSAT (with its Fisher interval), over at least min_group contractors. With
    `intervals`, bootstrap intervals on each weight and share, and the tiers of
    dimensions that can be told apart (surveys.uncertainty.bootstrap_drivers).
    No dimension score: scores belong to the index, which gates them (the
    dashboard reads them there)."""
    dims = [d.id for d in survey.dimensions]
    columns = _columns(members, dims)
    complete = ~np.isnan(columns["csat"])
    for d in dims:
        complete &= ~np.isnan(columns[d])
    n = int(complete.sum())
    if n <= len(dims) + 1 or not _cell_allowed(n, min_group):
        return None
    result = stats.relative_weights(
        {d: columns[d][complete] for d in dims}, columns["csat"][complete],
    )
    if result is None:
        return None
    boot = uncertainty.bootstrap_drivers({d: columns[d][complete] for d in dims}, columns["csat"][complete]) \
        if intervals else None
    tier_of = {d: i + 1 for i, tier in enumerate(boot.tiers) for d in tier} if boot else {}
    rows: list[dict[str, Any]] = []
    for dim in survey.dimensions:
        both = ~np.isnan(columns[dim.id]) & ~np.isnan(columns["csat"])
        shown = _cell_allowed(int(both.sum()), min_group)
        c = stats.correlate(columns[dim.id][both], columns["csat"][both]) if shown else None
        rows.append({
            "id": dim.id,
            "label": dim.labels.get("en", dim.id),
            "weight": result.weights[dim.id],
            "share": result.shares[dim.id],
            "r": c.r if c else None,
            "r_ci_low": c.ci_low if c else None,
            "r_ci_high": c.ci_high if c else None,
            **({"weight_ci": boot.weights[dim.id].as_dict(), "share_ci": boot.shares[dim.id].as_dict(),
                "tier": tier_of[dim.id]} if boot else {}),
        })
    rows.sort(key=lambda r: -r["weight"])
    out = {"method": DRIVER_METHOD, "citation": DRIVER_CITATION, "outcome": "csat",
           "r_squared": result.r_squared, "n": result.n, "dimensions": rows}
    if boot:
        out.update(tiers=boot.tiers, replicates=boot.replicates,
                   test="percentile bootstrap over contractors; pairs of weights compared with Holm's correction")
    return out


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


def _group_rows(linked: list[_Linked], population: Population, group_by: str,
                min_group: int) -> list[dict[str, Any]]:
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
        cell = _cei_csat_cell(part, min_group)
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


def _min_responses(given: int | None) -> int:
    """The customer answers a contractor needs: `given`, else the deployment's setting."""
    min_responses = settings.min_customer_responses if given is None else given
    if min_responses < 1:
        raise ValueError("min_responses must be at least 1")
    return min_responses


async def linkage_report(
    *,
    window: Window,
    population: Population = Population(),
    lag_days: int = 0,
    group_by: str | None = None,
    min_group: int,
    min_responses: int | None = None,
    now: datetime | None = None,
    driver_intervals: bool = False,
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
                     "dimensions": [{"id", "label", "weight", "share", "r", "r_ci_low", "r_ci_high",
                                     + with driver_intervals: "weight_ci", "share_ci", "tier"}],
                     + with driver_intervals: "tiers": [[id]], "replicates", "test"} | None,
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
    min_responses = _min_responses(min_responses)
    survey = pulse_survey()
    dims = [d.id for d in survey.dimensions]
    customer_window = window.shifted(lag_days)
    waves = await _reported_waves(window, min_group, now)
    [linked] = await _linked_contractors(waves=waves, end=window.end, customer_windows=[customer_window],
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
        "drivers": None if hidden else _drivers(members, survey, min_group, driver_intervals),
        "bands": [] if hidden else _bands(members, min_group),
        "groups": _group_rows(linked, population, group_by, min_group) if group_by else [],
    }


async def linkage_lags(
    *,
    window: Window,
    population: Population = Population(),
    lags_days: Sequence[int],
    min_group: int,
    min_responses: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """CEI × CSAT for each lag in `lags_days`: per lag the same population,
    privacy gate and figures as ``linkage_report(lag_days=lag)`` (its "n",
    "suppressed", "reason" and its CEI × CSAT cell), read in one query per
    side for all the lags and without the figures the lag chart does not
    draw (the other cells, partial correlations, drivers, bands). Returns::

        [{"lag_days", "customer_window": {"from", "to"}, "n": int, "suppressed": bool, "reason",
          "cei_csat": {"n", "r", "ci_low", "ci_high", "p_value", "rho", "suppressed", "reason"} | None}]

    "cei_csat" is None where the report has no correlations (its population is hidden).
    """
    min_responses = _min_responses(min_responses)
    windows = [window.shifted(lag) for lag in lags_days]
    waves = await _reported_waves(window, min_group, now)
    linked_by_lag = await _linked_contractors(waves=waves, end=window.end, customer_windows=windows,
                                              min_responses=min_responses, survey=pulse_survey(),
                                              dimensions=False)
    out = []
    for lag, customer_window, linked in zip(lags_days, windows, linked_by_lag, strict=True):
        members_by, reasons = _linkage_privacy(linked, population, None, min_group)
        members = members_by.get(0, [])
        reason = reasons[0]
        out.append({
            "lag_days": lag,
            "customer_window": customer_window.as_dict(),
            "n": len(members),
            **_reason_row(reason),
            "cei_csat": None if reason is not None else _cei_csat_cell(members, min_group),
        })
    return out
