"""The analytics query layer, on both backends, against numbers computed here."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import numpy as np
import pytest

from models.analytics import (
    OneAttribute,
    Population,
    Window,
    customer_report,
    filter_options,
    index_report,
    linkage_report,
)
from surveys import stats
from tests import factories as f

pytestmark = pytest.mark.anyio
DAY = date(2026, 3, 10)
MARCH = Window(date(2026, 3, 1), date(2026, 3, 31))


def _numbers(value: object) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    raise TypeError(type(value))


async def test_linkage_r_matches_numpy(db: str) -> None:
    world = f.World()
    await f.correlated_world(world, n=60)
    report = await linkage_report(window=MARCH, min_group=5)
    ids = sorted(world.cei)
    cei = [float(np.mean(world.cei[i])) for i in ids]
    csat = [float(np.mean(world.csat[i])) for i in ids]
    expected = float(np.corrcoef(cei, csat)[0, 1])
    cell = next(c for c in report["correlations"] if c["x"] == "cei" and c["y"] == "csat")
    assert report["n"] == cell["n"] == 60
    assert cell["r"] == pytest.approx(expected, abs=1e-9)
    assert cell["r"] > 0.3
    assert cell["ci_low"] < expected < cell["ci_high"]
    assert report["power"]["adequate"] is False
    assert "too few contractors to detect a moderate association" in report["power"]["message"].lower()
    assert "associated with" in report["headline"]
    assert "cause" not in report["headline"]
    # BH across the whole grid
    ps = [c["p_value"] for c in report["correlations"]]
    assert [c["p_adjusted"] for c in report["correlations"]] == stats.benjamini_hochberg(ps)
    assert len(report["correlations"]) == 3 * (1 + 6)
    # drivers and bands are aggregates only: no scores, no CEI means, no fitted line
    assert report["drivers"]["method"] == "Johnson's relative weights"
    assert sum(d["share"] for d in report["drivers"]["dimensions"]) == pytest.approx(100.0)
    assert all("score" not in d for d in report["drivers"]["dimensions"])
    assert "bins" not in report and "fit" not in report
    assert [b["band"] for b in report["bands"]] == ["0–20", "20–40", "40–60", "60–80", "80–100"]
    for b in report["bands"]:
        members = [s for c, s in zip(cei, csat, strict=True) if b["cei_from"] <= c < b["cei_to"] or c == b["cei_to"] == 100]
        assert set(b) == {"band", "cei_from", "cei_to", "n", "csat_mean", "suppressed", "reason"}
        assert isinstance(b["n"], str)  # a step ("10–19"), never an exact count
        if not b["suppressed"]:
            assert b["csat_mean"] == pytest.approx(float(np.mean(members)), abs=1e-9)
    # partial r controls for region, service type and tenure
    assert cell["partial"]["r"] is not None
    json.dumps(report)


async def test_lag_shifts_the_customer_window(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 6)
    w = await f.wave("w", DAY)  # closes on DAY + 14
    rng = random.Random(1)
    await f.pulses(world, w, [(c, f.answers_for(3, rng)) for c in people], submitted=f.at(DAY))
    later = DAY + timedelta(days=28)
    await f.customers(world, [(c, 4, 9, 6, True) for c in people for _ in range(3)], completed=f.at(later))
    window = Window(DAY, DAY + timedelta(days=14))
    assert (await linkage_report(window=window, min_group=5))["n"] == 0
    shifted = await linkage_report(window=window, lag_days=28, min_group=5)
    assert shifted["n"] == 6 and shifted["waves"] == ["w"] and shifted["min_responses"] == 3
    assert shifted["customer_window"] == {"from": later.isoformat(), "to": (later + timedelta(days=14)).isoformat()}
    assert (await linkage_report(window=window, lag_days=28, min_responses=4, min_group=5))["n"] == 0


async def _small_group_world() -> tuple[f.World, float]:
    """north 20 and south 12 plumbers, plus a region 'tiny' of 4 cleaners
    whose CEI is exactly 25 (every answer 2)."""
    world = f.World()
    rng = random.Random(3)
    north = await f.contractors(world, 20, region="north")
    south = await f.contractors(world, 12, region="south", started_on=date(2025, 12, 20))
    tiny = await f.contractors(world, 4, region="tiny", service_type="cleaning")
    w1 = await f.wave("Feb", date(2026, 2, 1))
    w2 = await f.wave("Mar", date(2026, 3, 1))
    everyone = [(c, f.answers_for(4.2, rng)) for c in north + south]
    await f.pulses(world, w1, everyone, submitted=f.at(date(2026, 2, 3)), comment="fine")
    await f.pulses(world, w2, [(c, f.answers_for(4.2, rng)) for c in north + south],
                   submitted=f.at(date(2026, 3, 3)), comment="good")
    await f.pulses(world, w2, [(c, {q.id: 2 for q in f.ITEMS}) for c in tiny],
                   submitted=f.at(date(2026, 3, 4)), comment="SECRET tiny")
    return world, 25.0


async def test_a_group_of_four_never_reveals_its_cei(db: str) -> None:
    _, secret = await _small_group_world()
    window = Window(date(2026, 2, 1), date(2026, 3, 31))
    for group_by in (None, "region", "service_type", "tenure_band", "wave"):
        for population in (Population(), Population(region="tiny"), Population(region="north"),
                           Population(service_type="plumbing"), Population(service_type="cleaning")):
            try:
                report = await index_report(window=window, population=population, group_by=group_by,
                                            min_group=5, min_comment_group=10)
            except OneAttribute:
                continue
            for row in [report["overall"], *report["groups"], *report["trend"]]:
                assert row["cei"] != secret
                if row["comments"] is not None:  # only groups of 10 or more show comments
                    assert isinstance(row["n_contractors"], int) and row["n_contractors"] >= 10
                    if "SECRET tiny" in row["comments"]:
                        assert row["n_contractors"] >= 4 + 10
                if row["suppressed"]:
                    assert row["cei"] is None and row["cei_favourable_pct"] is None
                    assert row["response_rate"] is None
                    assert all(v is None for d in row["dimensions"].values() for v in d.values())
                    assert row["comments"] is None and row["comments_suppressed"] is True
                    assert row["reason"]
    by_region = await index_report(window=window, group_by="region", min_group=5, min_comment_group=10)
    rows = {r["group"]: r for r in by_region["groups"]}
    assert rows["tiny"]["suppressed"] and rows["tiny"]["n_contractors"] == "fewer than 5"
    # south is hidden in March (with the tiny four), so its row has February's answers only
    assert not rows["south"]["suppressed"] and (rows["south"]["n_waves"], rows["south"]["n_responses"]) == (1, 12)
    assert not rows["north"]["suppressed"] and len(rows["north"]["comments"]) == 20
    assert set(rows["north"]["comments"]) <= {"fine", "good"}
    assert not by_region["overall"]["suppressed"] and by_region["overall"]["n_contractors"] == 36
    # filtering on the next-smallest group is the same as breaking down: hidden in March, shown in February
    south = await index_report(window=window, population=Population(region="south"), group_by="wave",
                               min_group=5, min_comment_group=10)
    assert [(r["wave"], r["suppressed"]) for r in south["trend"]] == [("Feb", False), ("Mar", True)]
    assert south["overall"]["n_waves"] == 1 and south["overall"]["n_responses"] == 12
    tiny = await index_report(window=window, population=Population(region="tiny"), group_by="wave",
                              min_group=5, min_comment_group=10)
    assert all(r["suppressed"] for r in [tiny["overall"], *tiny["groups"], *tiny["trend"]])
    # the linkage never shows a group of four either
    link = await linkage_report(window=window, population=Population(region="tiny"), min_group=5,
                                min_responses=1)
    assert link["suppressed"] and link["correlations"] == [] and link["bands"] == []


async def test_index_pools_the_responses_of_the_closed_waves(db: str) -> None:
    await _small_group_world()
    window = Window(date(2026, 2, 1), date(2026, 3, 31))
    report = await index_report(window=window, group_by="region", min_group=5, min_comment_group=10)
    assert report["cei_unit"] == "response"
    o = report["overall"]
    assert (o["n_responses"], o["n_contractors"], o["n_waves"]) == (32 * 2 + 4, 36, 2)
    # each dimension: the mean over every response of the two waves; the CEI: their weighted mean
    expected = {}
    for d in f.SURVEY.dimensions:
        scores = [v for v in (await _scores(d.id))]
        expected[d.id] = sum(scores) / len(scores)
        assert o["dimensions"][d.id]["score"] == pytest.approx(expected[d.id], abs=1e-9)
    weights = {d.id: d.weight for d in f.SURVEY.dimensions}
    assert o["cei"] == pytest.approx(sum(weights[k] * v for k, v in expected.items()) / sum(weights.values()),
                                     abs=1e-9)
    assert [r["wave"] for r in report["trend"]] == ["Feb", "Mar"]
    assert not any(r["suppressed"] for r in report["trend"])
    assert report["trend"][1]["n_contractors"] == 36
    assert len(o["comments"]) == 20 and o["comments"] == sorted(o["comments"])


async def test_row_margins_can_be_left_to_the_overall_row(db: str) -> None:
    """Without trend_margins / group_margins the trend's / groups' rows skip their bootstrap:
    null margins, every other figure the same; the overall row keeps its margins."""
    await _small_group_world()
    window = Window(date(2026, 2, 1), date(2026, 3, 31))
    full = await index_report(window=window, group_by="region", min_group=5, min_comment_group=10)
    lean = await index_report(window=window, group_by="region", min_group=5, min_comment_group=10,
                              trend_margins=False, group_margins=False)
    assert lean["overall"] == full["overall"] and full["overall"]["cei_ci"] is not None
    shown = [r for r in full["trend"] + full["groups"] if not r["suppressed"]]
    assert shown and all(r["cei_ci"] is not None for r in shown)

    def without_margins(row: dict[str, object]) -> dict[str, object]:
        dims = {k: {**v, "score_ci": None} for k, v in row["dimensions"].items()}  # type: ignore[attr-defined]
        return {**row, "cei_ci": None, "dimensions": dims}

    assert lean["trend"] == [without_margins(r) for r in full["trend"]]
    assert lean["groups"] == [without_margins(r) for r in full["groups"]]
    # the groups' margins alone (Segments tests each group against the company with them)
    groups_only = await index_report(window=window, group_by="region", min_group=5, min_comment_group=10,
                                     trend_margins=False)
    assert groups_only["groups"] == full["groups"] and groups_only["trend"] == lean["trend"]


async def test_a_recurring_rows_bootstrap_is_not_run_again(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same row's data again (the next view, a filter put back) reuses its margins,
    which are a pure function of that data; other data is resampled."""
    from models.analytics import index
    from surveys import uncertainty

    await _small_group_world()
    runs: list[int] = []
    real = uncertainty.bootstrap_cei

    def counted(*args: object, **kwargs: object) -> uncertainty.CeiBootstrap:
        runs.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(uncertainty, "bootstrap_cei", counted)
    monkeypatch.setattr(index, "_BOOTSTRAPS", type(index._BOOTSTRAPS)())
    window = Window(date(2026, 2, 1), date(2026, 3, 31))
    first = await index_report(window=window, min_group=5, min_comment_group=10)
    assert runs and first["overall"]["cei_ci"] is not None
    done = len(runs)
    assert await index_report(window=window, min_group=5, min_comment_group=10) == first
    assert len(runs) == done
    await index_report(window=Window(date(2026, 3, 1), date(2026, 3, 31)), min_group=5, min_comment_group=10,
                       population=Population(region="north"))
    assert len(runs) > done


async def _scores(dimension: str) -> list[float]:
    from models.entities import PulseScore

    return [float(s) for s in await PulseScore.filter(dimension=dimension).values_list("score", flat=True)]


async def test_alpha_matches_cronbach_on_items(db: str) -> None:
    world = f.World()
    rng = random.Random(11)
    people = await f.contractors(world, 30)
    w = await f.wave("w", DAY)
    answers = [f.answers_for(1 + 4 * rng.random(), rng) for _ in people]
    answers[0] = {k: v for k, v in answers[0].items() if k != "connection_growth"}  # incomplete, scored
    # one of three: below the half rule, so no score; its one answer must not reach the item variances
    answers[1] = {k: v for k, v in answers[1].items() if k not in ("connection_growth", "connection_community")}
    await f.pulses(world, w, list(zip(people, answers, strict=True)), submitted=f.at(DAY))
    report = await index_report(window=MARCH, min_group=5, min_comment_group=10)
    connection = report["overall"]["dimensions"]["connection"]
    items = [[a[q.id] for q in f.SURVEY.items("connection")] for a in answers[2:]]
    assert connection["alpha"] == pytest.approx(stats.cronbach_alpha(items), abs=1e-9)
    assert (connection["n_complete"], connection["n_contractors"]) == (28, 29)
    trust = report["overall"]["dimensions"]["trust"]
    pairs = np.array([[a[q.id] for q in f.SURVEY.items("trust")] for a in answers])
    r = float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1])
    assert trust["spearman_brown"] == pytest.approx(2 * r / (1 + r), abs=1e-9)
    assert trust["reliability"] == trust["spearman_brown"]
    assert trust["reliability_low"] is (trust["reliability"] < 0.7)


async def test_customer_report_exact(db: str) -> None:
    world = f.World()
    a = await f.contractors(world, 1, region="north")
    b = await f.contractors(world, 1, region="south")
    await f.customers(world, [(a[0], 5, 10, 7, True), (a[0], 4, 9, 5, True), (b[0], 2, 3, 2, False),
                              (b[0], 3, 7, 4, None)], completed=f.at(DAY), extra_jobs=4)
    await f.customers(world, [(a[0], 1, 0, 1, False)], completed=f.at(date(2026, 4, 2)))
    report = await customer_report(window=MARCH, group_by="region")
    o = report["overall"]
    assert o["n"] == 4 and o["jobs"] == 8 and o["response_rate"] == 0.5
    assert o["csat_mean"] == 3.5 and o["csat_pct"] == 50.0
    assert o["nps"] == 25.0 and o["ces_mean"] == 4.5 and o["ces_pct"] == 50.0
    assert o["promise_kept_pct"] == pytest.approx(200 / 3)
    rows = {r["group"]: r for r in report["groups"]}
    assert rows["north"]["nps"] == 100.0 and rows["south"]["nps"] == -50.0
    assert [t["week"] for t in report["trend"]] == ["2026-W11"]
    assert report["trend"][0]["week_start"] == "2026-03-09"


async def test_filter_options(db: str) -> None:
    await _small_group_world()
    options = await filter_options()
    assert options["regions"] == ["north", "south", "tiny"]
    assert options["service_types"] == ["cleaning", "plumbing"]
    assert [w["name"] for w in options["waves"]] == ["Feb", "Mar"]
    assert options["first_date"] == "2026-02-03" and options["last_date"] == "2026-03-04"


async def test_pulse_response_rate_is_per_reported_wave(db: str) -> None:
    """north: 10 invited to March's wave, 7 answer; east: 8 invited, 6 answer; south: 4 invited,
    2 answer. February's wave (5 answers) closes on 03-06, in the window; April's opens after it."""
    world = f.World()
    rng = random.Random(5)
    north = await f.contractors(world, 10, region="north")
    east = await f.contractors(world, 8, region="east")
    south = await f.contractors(world, 4, region="south")
    feb, mar, apr = (await f.wave("Feb", date(2026, 2, 20)), await f.wave("Mar", DAY),
                     await f.wave("Apr", date(2026, 4, 1)))
    await f.invites(world, feb, north)
    await f.invites(world, mar, north + east + south)
    await f.invites(world, apr, north)
    await f.pulses(world, feb, [(c, f.answers_for(3, rng)) for c in north[:5]], submitted=f.at(date(2026, 3, 2)))
    await f.pulses(world, mar, [(c, f.answers_for(3, rng)) for c in north[:7] + east[:6] + south[:2]],
                   submitted=f.at(DAY + timedelta(days=1)))

    report = await index_report(window=MARCH, group_by="region", min_group=5, min_comment_group=10)
    o = report["overall"]
    assert (o["n_contractors"], o["n_responses"], o["n_invited"]) == (15, 20, 32)
    assert not o["suppressed"] and o["response_rate"] == pytest.approx(20 / 32, abs=1e-12)
    rows = {r["group"]: r for r in report["groups"]}
    assert (rows["north"]["n_invited"], rows["north"]["response_rate"]) == (20, 12 / 20)
    for region in ("east", "south"):  # south too small; east hidden with it in March, and nowhere else
        assert rows[region]["suppressed"] and rows[region]["n_invited"] is None
        assert rows[region]["response_rate"] is None
    assert [(r["wave"], r["state"], r["n_invited"]) for r in report["trend"]] == [
        ("Feb", "reported", 10), ("Mar", "reported", 22)]
    only_north = await index_report(window=MARCH, population=Population(region="north"), group_by="wave",
                                    min_group=5, min_comment_group=10)
    assert [(r["n_invited"], r["response_rate"]) for r in only_north["trend"]] == [(10, 0.5), (10, 0.7)]
    april = await index_report(window=Window(date(2026, 4, 1), date(2026, 4, 30)),
                               min_group=5, min_comment_group=10)
    assert april["overall"]["suppressed"] and april["overall"]["n_invited"] is None
    assert [w["wave"] for w in april["waves"]] == ["Apr"] and april["waves"][0]["state"] == "too_few"
    json.dumps(report)
