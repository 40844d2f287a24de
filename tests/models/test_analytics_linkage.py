"""The linkage part of models.analytics, attacked as a curious manager would (issue 8).

Its population moves with lag_days, the window and the filters, one
contractor at a time; nothing it returns may let anyone add CEIs back up.
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from scipy import stats as ss

from models.analytics import Population, Window, linkage_lags, linkage_report
from models.db import connection
from models.entities import PulseResponse
from tests import factories as f

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)  # wave C is still open
MIN_GROUP = 5
# Figures are not rounded, so a leak reproduces a stored mean to ~1e-12; the stored values are
# moved off the answers' coarse grid, so a match to 1e-6 is a leak and not a coincidence (at
# 1e-3, hundreds of unrelated figures times dozens of values would match by chance).
TOLERANCE = 1e-6
# numbers that describe the request or the bands' fixed edges, not the data
STRUCTURAL = {"cei_from", "cei_to", "min_group", "min_responses", "lag_days", "n_needed"}
BAND_KEYS = {"band", "cei_from", "cei_to", "n", "csat_mean", "suppressed", "reason"}
CORRELATION = ("r", "ci_low", "ci_high", "p_value", "rho")


def _leaves(value: Any, path: str = "") -> dict[str, float]:
    """Every number in a report by its path (structural fields left out)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {}
    if isinstance(value, int | float):
        return {path: float(value)}
    if isinstance(value, dict):
        return {p: v for k, item in value.items() if k not in STRUCTURAL
                for p, v in _leaves(item, f"{path}/{k}").items()}
    if isinstance(value, list):
        keyed = [item.get("group", item.get("band", i)) if isinstance(item, dict) and "x" not in item
                 else f"{item['x']}×{item['y']}" if isinstance(item, dict) else i
                 for i, item in enumerate(value)]
        return {p: v for k, item in zip(keyed, value, strict=True) for p, v in _leaves(item, f"{path}/{k}").items()}
    raise TypeError(type(value))


class MovingWorld:
    """north 14 plumbers, south 12 cleaners, tiny 3 cleaners of their own, each with a
    distinct CEI across the bands. Waves: A closes Mar 7 (all 29), B closes Mar 14 (north
    and south), D closes Mar 10 with 3 answers (too few), C still open at NOW. Customers:
    3 answers each on Mar 5, except five "movers" in north with 2 on Mar 5 and their third
    on Mar 14 + k (k = 1…5): with the pulse window Mar 1–14, lag_days = L takes movers
    1…L in, one contractor per day (up to L = 4; from 5 the answers of Mar 5 fall out)."""

    def __init__(self) -> None:
        self.world = f.World()
        self.secrets: dict[int, list[float]] = {}  # contractor -> CEI and dimension means, A+B and A
        self.movers: list[int] = []

    async def build(self) -> MovingWorld:
        w = self.world
        rng = random.Random(8)
        north = await f.contractors(w, 14, region="north", service_type="plumbing", started_on=date(2024, 1, 1))
        south = await f.contractors(w, 12, region="south", service_type="cleaning", started_on=date(2025, 12, 20))
        tiny = await f.contractors(w, 3, region="tiny", service_type="cleaning", started_on=date(2026, 2, 1))
        everyone = north + south + tiny
        a = await f.wave("A", date(2026, 2, 28), days=7)
        b = await f.wave("B", date(2026, 3, 7), days=7)
        d = await f.wave("D", date(2026, 3, 1), days=9)
        c = await f.wave("C", date(2026, 3, 14), days=14)
        self.open_wave = c
        levels = np.linspace(1.6, 4.9, len(everyone))
        for wave_, people, day in ((a, everyone, 2), (b, north + south, 9)):
            entries = [(p, f.answers_for(float(levels[everyone.index(p)]), rng, noise=0.4)) for p in people]
            await f.pulses(w, wave_, entries, submitted=f.at(date(2026, 3, day)))
        await f.pulses(w, d, [(p, f.answers_for(1.2, rng)) for p in north[:3]], submitted=f.at(date(2026, 3, 8)))
        await f.pulses(w, c, [(p, f.answers_for(4.9, rng)) for p in north[:8]], submitted=f.at(date(2026, 3, 16)))
        # Stored values off the answers' coarse grid (a fraction of a point each), so that a
        # number in a report equal to someone's mean is a leak, not a coincidence of round values.
        for table, column in (("pulse_responses", "cei"), ("pulse_scores", "score")):
            await connection().execute_script(
                f"UPDATE {table} SET {column} = {column} + ((id * 7919) % 997) / 1000.0 + 0.000371")
        both, first = await self._means([a.id, b.id]), await self._means([a.id])
        self.secrets = {cid: both[cid] + first[cid] for cid in both}  # a window may hold A alone
        self.movers = [p.id for p in north[:5]]
        entries = []
        for p in everyone:
            for _ in range(2 if p.id in self.movers else 3):
                entries.append((p, rng.randint(2, 5), rng.randint(5, 10), rng.randint(3, 7), True))
        await f.customers(w, entries, completed=f.at(date(2026, 3, 5)))
        for k, p in enumerate(north[:5], start=1):
            await f.customers(w, [(p, 4, 9, 6, True)], completed=f.at(date(2026, 3, 14) + timedelta(days=k)))
        return self

    @staticmethod
    async def _means(waves: list[int]) -> dict[int, list[float]]:
        """Each contractor's CEI mean and dimension means over the given waves, from the stored rows."""
        ids = ", ".join(str(w) for w in waves)
        conn = connection()
        ceis = await conn.execute_query_dict(
            f"SELECT contractor_id AS cid, cei FROM pulse_responses WHERE wave_id IN ({ids})")
        scores = await conn.execute_query_dict(
            f"SELECT contractor_id AS cid, dimension AS dim, score FROM pulse_scores WHERE wave_id IN ({ids})")
        out: dict[int, list[float]] = {}
        for cid in {r["cid"] for r in ceis}:
            values = [float(np.mean([r["cei"] for r in ceis if r["cid"] == cid]))]
            for d in f.SURVEY.dimensions:
                mine = [r["score"] for r in scores if r["cid"] == cid and r["dim"] == d.id]
                if mine:
                    values.append(float(np.mean(mine)))
            out[cid] = values
        return out


async def _report(**kwargs: Any) -> dict[str, Any]:
    return await linkage_report(min_group=MIN_GROUP, now=NOW, **kwargs)


def _check_shape(report: dict[str, Any]) -> None:
    """What no linkage report may carry, whatever was asked."""
    assert "bins" not in report and "fit" not in report
    for b in report["bands"]:
        assert set(b) == BAND_KEYS
        assert isinstance(b["n"], str)  # a step or "fewer than 5", never an exact count
        if b["suppressed"]:
            assert b["csat_mean"] is None and b["reason"]
    for cell in report["correlations"]:
        for row in (cell, cell["partial"]):
            if isinstance(row["n"], int) and row["n"] >= MIN_GROUP:
                assert not row["suppressed"]
            else:
                assert row["n"] in (0, f"fewer than {MIN_GROUP}") and row["suppressed"] and row["reason"]
                assert all(row.get(k) is None for k in (*CORRELATION, "p_adjusted"))
    for row in report["groups"]:
        assert "cei" not in row
        for count in (row["n"], row["n_contractors"]):
            assert count in (0, f"fewer than {MIN_GROUP}") or count >= MIN_GROUP
        if row["suppressed"]:
            assert row["csat_mean"] is None and all(row[k] is None for k in CORRELATION) and row["reason"]
    for d in (report["drivers"] or {}).get("dimensions", []):
        assert "score" not in d
    json.dumps(report)


def _no_secret_in(report: dict[str, Any], secrets: dict[int, list[float]]) -> None:
    """No figure is any contractor's CEI or dimension mean."""
    values = np.array([v for vs in secrets.values() for v in vs])
    for path, number in _leaves(report).items():
        if path.rsplit("/", 1)[1] not in ("n", "n_contractors"):
            assert not np.any(np.abs(values - number) < TOLERANCE), (path, number)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _products(report: dict[str, Any]) -> dict[str, tuple[Any, float]]:
    """What an analyst can add up from a report: every figure times the report's n and times
    its own row's count, and for every list of rows the sum of count × figure over the rows
    (attack 4, "adding up what is shown"). Each with the figures it came from."""
    out: dict[str, tuple[Any, float]] = {}

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            counts = [report["n"], *(c for c in (_count(value.get("n")), _count(value.get("n_contractors")))
                                     if c is not None)]
            for key, item in value.items():
                if key in STRUCTURAL or key in ("n", "n_contractors"):
                    continue
                if number(item):
                    for i, c in enumerate(counts):
                        out[f"{path}/{key}×{i}"] = (item, c * item)
                else:
                    walk(item, f"{path}/{key}")
        elif isinstance(value, list):
            rows = [v for v in value if isinstance(v, dict)]
            for i, item in enumerate(value):
                walk(item, f"{path}/{item.get('group', item.get('band', i)) if isinstance(item, dict) else i}")
            for key in {k for row in rows for k, v in row.items() if number(v)} - STRUCTURAL - {"n", "n_contractors"}:
                parts = [(row[key], c) for row in rows if number(row.get(key))
                         and (c := _count(row.get("n")) or _count(row.get("n_contractors"))) is not None]
                if parts:
                    out[f"{path}/Σ{key}"] = (tuple(parts), sum(v * c for v, c in parts))

    walk(report, "")
    return out


async def test_moving_lag_days_by_one_day_never_gives_the_contractor_who_entered(db: str) -> None:
    """Issue 8, attack 3: two requests one contractor apart. Whatever can be added up from
    each (`_products`), the difference between the two is none of the newcomer's CEI or
    dimension means. (The old quantile bins failed this exactly: Σ n × mean CEI.)"""
    world = await MovingWorld().build()
    window = Window(date(2026, 3, 1), date(2026, 3, 14))
    reports = [await _report(window=window, lag_days=lag, group_by="region") for lag in range(5)]
    compared = 0
    for lag, (before, after) in enumerate(pairwise(reports)):
        assert after["n"] == before["n"] + 1, "the premise: one more contractor per day of lag"
        newcomer = world.secrets[world.movers[lag]]
        one, two = _products(before), _products(after)
        for key in one.keys() & two.keys():
            if one[key][0] == two[key][0]:
                continue  # a figure that did not move tells nothing
            difference = two[key][1] - one[key][1]
            assert all(abs(difference - secret) > TOLERANCE for secret in newcomer), (lag, key)
            compared += 1
    assert compared > 100
    for report in reports:
        _check_shape(report)
        _no_secret_in(report, world.secrets)
    assert reports[0]["waves"] == ["A", "B"]  # D had three answers, C is open


async def test_all_lags_at_once_give_the_figures_of_one_report_per_lag(db: str) -> None:
    """The lag chart's path (`linkage_lags`: one query per side for every lag) gives each
    lag exactly what `linkage_report(lag_days=lag)` gives: the same customer window,
    population size, privacy gate and CEI × CSAT figures, to the last bit. The lags move
    the population one contractor a day (the movers), and the filters hide some of them."""
    await MovingWorld().build()
    lags = [*range(9), 14, 21, 28, 56]
    windows = [Window(date(2026, 3, 1), date(2026, 3, 14)), Window(date(2026, 3, 1), date(2026, 3, 13)),
               Window(date(2026, 2, 20), date(2026, 3, 20))]
    populations = [Population(), Population(region="north"), Population(region="tiny"),
                   Population(service_type="cleaning"), Population(tenure_band="3–12 months")]
    shown = hidden = 0
    for window in windows:
        for population in populations:
            together = await linkage_lags(window=window, population=population, lags_days=lags,
                                          min_group=MIN_GROUP, now=NOW)
            assert [row["lag_days"] for row in together] == lags
            for lag, row in zip(lags, together, strict=True):
                report = await _report(window=window, population=population, lag_days=lag)
                main = next((c for c in report["correlations"] if (c["x"], c["y"]) == ("cei", "csat")), None)
                expected = None if main is None else {k: v for k, v in main.items()
                                                      if k not in ("x", "y", "partial", "p_adjusted")}
                assert row == {"lag_days": lag, "customer_window": report["customer_window"], "n": report["n"],
                               "suppressed": report["suppressed"], "reason": report["reason"],
                               "cei_csat": expected}, (window, population, lag)
                shown += expected is not None and expected["r"] is not None
                hidden += report["suppressed"]
    assert shown > 30 and hidden > 30  # both sides of the gate were compared
    # the premise: the population moves with the lag (one mover a day), so the lags differ
    moving = await linkage_lags(window=windows[0], lags_days=range(5), min_group=MIN_GROUP, now=NOW)
    assert [row["n"] for row in moving] == [24, 25, 26, 27, 28]
    assert await linkage_lags(window=windows[0], lags_days=[], min_group=MIN_GROUP, now=NOW) == []


@pytest.mark.parametrize("group_by", [None, "region", "service_type", "tenure_band"])
async def test_every_window_filter_and_lag_keeps_to_the_rules(db: str, group_by: str | None) -> None:
    """From/to by one day (wave B in or out: a whole wave of 26), each filter and lag:
    no bin means, no fit, no exact band count, no group CEI, no driver score, every cell
    under min_group suppressed, and no contractor's CEI or dimension mean anywhere."""
    world = await MovingWorld().build()
    windows = [Window(date(2026, 3, 1), date(2026, 3, day)) for day in (13, 14, 15)]
    windows.append(Window(date(2026, 3, 2), date(2026, 3, 14)))
    populations = [Population(), Population(region="north"), Population(region="tiny"),
                   Population(service_type="cleaning"), Population(region="south", service_type="cleaning"),
                   Population(tenure_band="3–12 months"), Population(tenure_band="under 3 months")]
    seen = 0
    for window in windows:
        for population in populations:
            for lag in (0, 1, 3):
                report = await _report(window=window, population=population, lag_days=lag, group_by=group_by)
                _check_shape(report)
                _no_secret_in(report, world.secrets)
                seen += not report["suppressed"]
                if population.region == "tiny":
                    assert report["suppressed"] and report["correlations"] == [] and report["bands"] == []
    assert seen > 20
    # without wave B (it closes on the 14th) everyone's pulse side is wave A alone
    assert (await _report(window=windows[0]))["waves"] == ["A"]


async def test_an_open_wave_or_a_wave_of_too_few_changes_nothing(db: str) -> None:
    """Attack 7: one more answer in the open wave (or in a closed wave of three) is invisible."""
    world = await MovingWorld().build()
    window = Window(date(2026, 3, 1), date(2026, 3, 31))
    before = await _report(window=window, group_by="region")
    rng = random.Random(2)
    late = world.world.contractors[20]
    await f.pulses(world.world, world.open_wave, [(late, f.answers_for(1.0, rng))], submitted=f.at(date(2026, 3, 19)))
    assert await _report(window=window, group_by="region") == before
    assert before["waves"] == ["A", "B"]


async def test_bands_show_csat_by_fixed_cei_band_and_hide_small_ones_with_the_next_smallest(db: str) -> None:
    """Exact CEIs (every answer 2, 3, 4 or 5 gives 25, 50, 75, 100): 3 in 20–40, 6 in
    40–60, 12 in 60–80, 7 in 80–100 (100 belongs to the last band)."""
    world = f.World()
    w = await f.wave("w", date(2026, 3, 1), days=7)
    rng = random.Random(4)
    csat: dict[int, list[float]] = {}
    for value, count in ((2, 3), (3, 6), (4, 12), (5, 7)):
        people = await f.contractors(world, count, region=f"r{value}")
        await f.pulses(world, w, [(p, {q.id: value for q in f.ITEMS}) for p in people], submitted=f.at(date(2026, 3, 3)))
        for p in people:
            scores = [rng.randint(1, 5) for _ in range(3)]
            await f.customers(world, [(p, s, 8, 5, True) for s in scores], completed=f.at(date(2026, 3, 4)))
            csat.setdefault(value, []).append(float(np.mean(scores)))
    report = await _report(window=Window(date(2026, 3, 1), date(2026, 3, 8)))
    bands = {b["band"]: b for b in report["bands"]}
    assert list(bands) == ["0–20", "20–40", "40–60", "60–80", "80–100"]
    assert (bands["0–20"]["n"], bands["0–20"]["suppressed"]) == ("fewer than 5", True)  # empty reads as small
    assert (bands["20–40"]["n"], bands["20–40"]["csat_mean"]) == ("fewer than 5", None)
    assert bands["40–60"]["n"] == "5–9" and bands["40–60"]["suppressed"]  # the next-smallest
    assert "smaller hidden band" in bands["40–60"]["reason"]
    assert bands["60–80"]["n"] == "10–19" and bands["60–80"]["csat_mean"] == pytest.approx(np.mean(csat[4]))
    assert bands["80–100"]["n"] == "5–9" and bands["80–100"]["csat_mean"] == pytest.approx(np.mean(csat[5]))
    assert report["n"] == 28


async def test_a_cell_of_fewer_than_min_group_contractors_is_suppressed(db: str) -> None:
    """Attack 6: 'knowledge' answered by 3 of 12 contractors (an optional dimension)."""
    world = f.World()
    w = await f.wave("w", date(2026, 3, 1), days=7)
    rng = random.Random(6)
    people = await f.contractors(world, 12)
    entries = []
    for i, p in enumerate(people):
        given = f.answers_for(1 + 4 * rng.random(), rng)
        if i >= 3:
            given = {k: v for k, v in given.items() if not k.startswith("knowledge")}
        entries.append((p, given))
    await f.pulses(world, w, entries, submitted=f.at(date(2026, 3, 3)))
    await f.customers(world, [(p, rng.randint(1, 5), rng.randint(0, 10), rng.randint(1, 7), True)
                              for p in people for _ in range(3)], completed=f.at(date(2026, 3, 4)))
    report = await _report(window=Window(date(2026, 3, 1), date(2026, 3, 8)))
    _check_shape(report)
    cells = {(c["x"], c["y"]): c for c in report["correlations"]}
    for y in ("csat", "promoters", "ces"):
        hidden = cells[("knowledge", y)]
        assert hidden["suppressed"] and hidden["n"] == "fewer than 5" and hidden["r"] is None
        assert hidden["partial"]["r"] is None and hidden["p_adjusted"] is None
        assert "fewer than 5" in hidden["reason"]
        shown = cells[("trust", y)]
        assert not shown["suppressed"] and shown["n"] == 12 and shown["r"] is not None
    assert report["drivers"] is None  # relative weights need every dimension of 5 or more contractors


async def test_rho_counts_means_equal_in_exact_arithmetic_as_ties_on_every_backend(db: str) -> None:
    """A's CEIs 10.1 and 20.2, B's 10.2 and 20.1: both mean 15.15 in exact arithmetic,
    a few bits apart in floating point. rho must be the exact-arithmetic value."""
    world = f.World()
    people = await f.contractors(world, 7)
    w1 = await f.wave("w1", date(2026, 3, 1), days=7)
    w2 = await f.wave("w2", date(2026, 3, 8), days=7)
    rng = random.Random(9)
    for w in (w1, w2):
        await f.pulses(world, w, [(p, f.answers_for(3, rng)) for p in people], submitted=f.at(w.opens_at.date()))
    ceis = [("10.1", "20.2"), ("10.2", "20.1"), ("12", "12"), ("18.5", "18.5"), ("16", "16"),
            ("30.3", "0.1"), ("22", "23")]
    csats = [(4, 4, 4), (3, 3, 3), (2, 3, 2), (5, 4, 5), (4, 3, 3), (1, 2, 1), (5, 5, 4)]
    for p, (first, second), scores in zip(people, ceis, csats, strict=True):
        for w, value in ((w1, first), (w2, second)):
            await PulseResponse.filter(contractor_id=p.id, wave_id=w.id).update(cei=float(value))
        await f.customers(world, [(p, s, 8, 5, True) for s in scores], completed=f.at(date(2026, 3, 4)))
    report = await _report(window=Window(date(2026, 3, 1), date(2026, 3, 15)))
    main = next(c for c in report["correlations"] if c["x"] == "cei" and c["y"] == "csat")
    exact = [(Fraction(a) + Fraction(b)) / 2 for a, b in ceis]
    assert exact[0] == exact[1]
    means = [Fraction(sum(s), len(s)) for s in csats]
    expected = float(np.corrcoef(ss.rankdata([float(x) for x in exact]), ss.rankdata([float(m) for m in means]))[0, 1])
    assert main["rho"] == pytest.approx(expected, abs=1e-12)
    # the premise: the database's own averages of A and B are not equal (on this backend, or
    # in Python's floating point), so ranking them unrounded would split the tie
    rows = await connection().execute_query_dict(
        f"SELECT contractor_id AS cid, AVG(cei) AS m FROM pulse_responses "
        f"WHERE contractor_id IN ({people[0].id}, {people[1].id}) GROUP BY contractor_id")
    database = {r["cid"]: float(r["m"]) for r in rows}
    python = ((10.1 + 20.2) / 2, (10.2 + 20.1) / 2)
    assert database[people[0].id] != database[people[1].id] or python[0] != python[1]
    naive = [python[0], python[1], *(float(x) for x in exact[2:])]
    split = float(np.corrcoef(ss.rankdata(naive), ss.rankdata([float(m) for m in means]))[0, 1])
    assert abs(split - expected) > 0.01


async def test_no_association_is_claimed_when_r_is_zero_and_the_interval_spans_it(db: str) -> None:
    """Eight contractors whose CSAT does not move with their CEI: r = 0.00 exactly in
    exact arithmetic, the 95 % CI spans 0, and the headline claims nothing."""
    world = f.World()
    w = await f.wave("w", date(2026, 3, 1), days=7)
    people = await f.contractors(world, 8)
    values = [2, 2, 3, 3, 4, 4, 5, 5]  # CEI 25, 25, 50, 50, 75, 75, 100, 100
    scores = [3, 5, 4, 4, 4, 4, 3, 5]  # each CEI level averages CSAT 4
    await f.pulses(world, w, [(p, {q.id: v for q in f.ITEMS}) for p, v in zip(people, values, strict=True)],
                   submitted=f.at(date(2026, 3, 3)))
    await f.customers(world, [(p, s, 8, 5, True) for p, s in zip(people, scores, strict=True) for _ in range(3)],
                      completed=f.at(date(2026, 3, 4)))
    report = await _report(window=Window(date(2026, 3, 1), date(2026, 3, 8)))
    main = next(c for c in report["correlations"] if c["x"] == "cei" and c["y"] == "csat")
    assert main["r"] == pytest.approx(0.0, abs=1e-12) and main["ci_low"] < 0 < main["ci_high"]
    assert report["headline"].startswith("No clear association")
    assert "r = 0.00" in report["headline"] and "includes 0, 8 contractors" in report["headline"]
    assert "associated with" not in report["headline"]
