"""Attacks on contractors' confidentiality, replayed against the index on both backends.

Each test plays a curious manager with an API key: several ordinary requests
whose answers, put together, would give away one person's pulse values under
the old rules (issue: "Contractors can never be singled out"). The rule they
check: every figure rests on at least min_group contractors, and two figures
of the same kind rest on sets of responses that are equal or differ by at
least min_group of them.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.analytics import GROUP_BY, OneAttribute, Population, Window, index_report
from tests import factories as f

pytestmark = pytest.mark.anyio
M = 5
LOW = [{q.id: 1 for q in f.ITEMS}]  # a distinctive person: every answer 1, CEI 0


def _figures(report: dict[str, Any]) -> list[tuple[tuple[Any, ...], int, float]]:
    """Every shown pulse figure as (what it is, people behind it, value)."""
    out = []
    for part in ("overall", "groups", "trend"):
        for row in [report[part]] if part == "overall" else report[part]:
            key = (part, row.get("group"), row.get("wave"), report["population"].get("region"),
                   report["population"].get("service_type"), report["population"].get("tenure_band"))
            for dim, figure in row["dimensions"].items():
                if figure["score"] is not None:
                    out.append(((*key, dim), figure["n_contractors"], figure["score"]))
    return out


def _check_counts(report: dict[str, Any]) -> None:
    """No figure under min_group people; no exact head count of 1..min_group-1 anywhere."""
    for key, n, _ in _figures(report):
        assert n >= M, key
    for row in [report["overall"], *report["groups"], *report["trend"], *report["waves"]]:
        for name in ("n_contractors", "n_responses"):
            value = row.get(name)
            assert not (isinstance(value, int) and 0 < value < M), (name, row)
        if row.get("suppressed"):
            assert row["cei"] is None and row["comments"] is None
            assert all(v is None for d in row["dimensions"].values() for v in d.values())


def _check_pairs(reports: list[dict[str, Any]]) -> None:
    """The same figure in two answers: the same people, or at least M more or fewer."""
    seen: dict[tuple[Any, ...], set[int]] = {}
    for report in reports:
        _check_counts(report)
        for key, n, _ in _figures(report):
            seen.setdefault(key, set()).add(n)
    for key, counts in seen.items():
        for a, b in itertools.combinations(sorted(counts), 2):
            assert b - a >= M, (key, a, b)


async def _answer(world: f.World, wave: Any, people: list[Any], day: date, level: float = 4.0,
                  comment: str | None = None) -> None:
    rng = random.Random(world.next())
    await f.pulses(world, wave, [(c, f.answers_for(level, rng)) for c in people], submitted=f.at(day),
                   comment=comment)


async def test_moving_the_window_by_a_day_moves_whole_waves(db: str) -> None:
    """Attack 1: to=08-05 against to=08-06, one more answer between them."""
    world = f.World()
    people = await f.contractors(world, 11)
    a = await f.wave("A", date(2026, 7, 27), days=9)  # closes 08-05
    b = await f.wave("B", date(2026, 7, 28), days=9)  # closes 08-06
    await _answer(world, a, people[:5], date(2026, 8, 1), comment="A note")
    await f.pulses(world, b, [(people[5], LOW[0])], submitted=f.at(date(2026, 8, 6)), comment="only me")
    reports = [await index_report(window=Window(date(2026, 8, 1), date(2026, 8, 1) + timedelta(days=d)),
                                  min_group=M, min_comment_group=10) for d in range(10)]
    _check_pairs(reports)
    for report in reports:
        assert report["overall"]["cei"] != 0.0
        assert "only me" not in str(report)
        assert report["overall"]["n_responses"] in (None, 5)
    b_row = next(r for r in reports[-1]["trend"] if r["wave"] == "B")
    assert b_row["state"] == "too_few" and b_row["suppressed"] and b_row["n_contractors"] == "fewer than 5"


async def test_a_hidden_group_never_says_how_many_answered(db: str) -> None:
    """Attack 2: a hidden row's exact count narrowed down who answered."""
    world = f.World()
    north = await f.contractors(world, 20, region="north")
    tiny = await f.contractors(world, 1, region="tiny", service_type="cleaning", started_on=date(2026, 1, 5))
    w = await f.wave("W", date(2026, 8, 1), days=7)
    await _answer(world, w, north + tiny, date(2026, 8, 3))
    window = Window(date(2026, 8, 1), date(2026, 8, 31))
    for group_by in GROUP_BY:
        report = await index_report(window=window, group_by=group_by, min_group=M, min_comment_group=10)
        _check_counts(report)
        hidden = [g for g in report["groups"] if g["suppressed"]]
        assert all(not isinstance(g["n_contractors"], int) for g in hidden)
    by_region = await index_report(window=window, group_by="region", min_group=M, min_comment_group=10)
    rows = {g["group"]: g for g in by_region["groups"]}
    assert rows["tiny"]["n_contractors"] == "fewer than 5"
    assert rows["north"]["suppressed"] and rows["north"]["n_contractors"] == "5 or more"


async def test_siblings_filtered_one_by_one_do_not_add_up_to_a_hidden_group(db: str) -> None:
    """Attack 4: overall minus each large region, filtered on its own, gave the hidden region."""
    world = f.World()
    groups = {"north": 12, "south": 9, "east": 7, "tiny": 4}
    made = {r: await f.contractors(world, n, region=r) for r, n in groups.items()}
    w = await f.wave("W", date(2026, 8, 1), days=7)
    for region, people in made.items():
        await _answer(world, w, people, date(2026, 8, 3), level=1.5 if region == "tiny" else 4.2)
    window = Window(date(2026, 8, 1), date(2026, 8, 31))
    overall = await index_report(window=window, min_group=M, min_comment_group=10)
    shown_n = 0
    shown_sum = 0.0
    for region in groups:
        one = await index_report(window=window, population=Population(region=region), min_group=M,
                                 min_comment_group=10)
        _check_counts(one)
        if not one["overall"]["suppressed"]:
            d = one["overall"]["dimensions"]["trust"]
            shown_n += d["n_contractors"]
            shown_sum += d["n_contractors"] * d["score"]
    everyone = overall["overall"]["dimensions"]["trust"]
    left = everyone["n_contractors"] - shown_n
    assert left == 0 or left >= M  # what subtraction gives is a group of at least M
    assert left >= 4 + 7  # tiny, and east hidden with it


async def test_a_dimension_answered_by_fewer_than_its_row_is_hidden(db: str) -> None:
    """Attack 5: a group of 6 of whom one answered a dimension."""
    world = f.World()
    people = await f.contractors(world, 6)
    w = await f.wave("W", date(2026, 8, 1), days=7)
    rng = random.Random(2)
    skip = {q.id for q in f.ITEMS if q.dimension == "trust"}
    entries = [(c, {k: v for k, v in f.answers_for(4, rng).items() if k not in skip}) for c in people[1:]]
    entries.append((people[0], {q.id: 1 for q in f.ITEMS}))
    await f.pulses(world, w, entries, submitted=f.at(date(2026, 8, 2)))
    report = await index_report(window=Window(date(2026, 8, 1), date(2026, 8, 31)), min_group=M,
                                min_comment_group=10)
    overall = report["overall"]
    assert not overall["suppressed"] and overall["dimensions"]["trust"]["score"] is None
    assert overall["dimensions"]["connection"]["n_contractors"] == 6
    # the CEI is the weighted mean of the shown dimensions: nothing of the one trust answer in it
    shown = [d["score"] for d in overall["dimensions"].values() if d["score"] is not None]
    assert overall["cei"] == pytest.approx(sum(shown) / len(shown), abs=1e-9)
    _check_counts(report)


async def test_an_open_wave_filling_up_changes_no_figure(db: str) -> None:
    """Attack 7: the same request before and after one more answer to an open wave."""
    world = f.World()
    people = await f.contractors(world, 12)
    closed = await f.wave("closed", date(2026, 8, 1), days=7)
    live = await f.wave("live", date(2026, 8, 20), days=30)
    await _answer(world, closed, people, date(2026, 8, 2), comment="from the closed wave")
    await _answer(world, live, people[:6], date(2026, 8, 21))
    now = datetime(2026, 8, 25, tzinfo=UTC)
    window = Window(date(2026, 8, 1), date(2026, 8, 31))

    async def figures() -> list[Any]:
        out = []
        for group_by in GROUP_BY:
            report = await index_report(window=window, group_by=group_by, min_group=M, min_comment_group=10,
                                        now=now)
            out.append([(k, n, v) for k, n, v in _figures(report)])
            out.append(report["overall"]["comments"])
        return out

    before = await figures()
    await f.pulses(world, live, [(people[6], LOW[0])], submitted=f.at(date(2026, 8, 24)), comment="new one")
    assert await figures() == before
    report = await index_report(window=window, min_group=M, min_comment_group=10, now=now)
    live_row = next(r for r in report["trend"] if r["wave"] == "live")
    assert live_row["state"] == "open" and live_row["cei"] is None and live_row["comments"] is None


async def test_two_attributes_at_once_are_refused(db: str) -> None:
    window = Window(date(2026, 8, 1), date(2026, 8, 31))
    with pytest.raises(OneAttribute):
        await index_report(window=window, population=Population(region="n", service_type="s"), min_group=M,
                           min_comment_group=10)
    with pytest.raises(OneAttribute):
        await index_report(window=window, population=Population(region="n"), group_by="tenure_band",
                           min_group=M, min_comment_group=10)


async def test_crossed_breakdowns_cannot_isolate_a_combination(db: str) -> None:
    """North + delivery − South − cleaning = twice the one person in North × delivery."""
    world = f.World()
    lone = await f.contractors(world, 1, region="north", service_type="delivery")
    nc = await f.contractors(world, 6, region="north", service_type="cleaning")
    sd = await f.contractors(world, 6, region="south", service_type="delivery")
    w = await f.wave("W", date(2026, 8, 1), days=7)
    await f.pulses(world, w, [(lone[0], LOW[0])], submitted=f.at(date(2026, 8, 2)))
    await _answer(world, w, nc + sd, date(2026, 8, 2))
    window = Window(date(2026, 8, 1), date(2026, 8, 31))
    by = {g: await index_report(window=window, group_by=g, min_group=M, min_comment_group=10)
          for g in ("region", "service_type")}
    shown = {(g, row["group"]) for g, r in by.items() for row in r["groups"] if not row["suppressed"]}
    # whichever breakdown stays, the other is hidden whole
    assert not ({("region", "north"), ("region", "south")} <= shown
                and {("service_type", "delivery"), ("service_type", "cleaning")} <= shown)


# --- property: random brands, random pairs of requests ------------------------------------

REGIONS = ("n", "s", "e")
SERVICES = ("d", "c")
brands = st.lists(st.tuples(st.sampled_from(REGIONS), st.sampled_from(SERVICES), st.booleans(),
                            st.booleans(), st.integers(1, 5)), min_size=4, max_size=24)
requests = st.tuples(st.sampled_from([None, *REGIONS]), st.sampled_from([None, "region", "wave"]),
                     st.integers(0, 20), st.integers(0, 20))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(brand=brands, pair=st.lists(requests, min_size=2, max_size=2))
async def test_any_two_requests_rest_on_the_same_people_or_min_group_more(
        db: str, brand: list[tuple[str, str, bool, bool, int]], pair: list[tuple[Any, ...]]) -> None:
    from tests.conftest import _empty

    await _empty_now(db, _empty)
    world = f.World()
    first = await f.wave("first", date(2026, 8, 1), days=5)   # closes 08-06
    second = await f.wave("second", date(2026, 8, 8), days=5)  # closes 08-13
    for region, service, in_first, in_second, level in brand:
        c = (await f.contractors(world, 1, region=region, service_type=service))[0]
        for wave, answered, day in ((first, in_first, date(2026, 8, 2)), (second, in_second, date(2026, 8, 9))):
            if answered:
                await f.pulses(world, wave, [(c, {q.id: level for q in f.ITEMS})], submitted=f.at(day))
    reports = []
    for region, group_by, start, length in pair:
        window = Window(date(2026, 8, 1) + timedelta(days=start), date(2026, 8, 1) + timedelta(days=start + length))
        group_by = None if (region and group_by == "region") else group_by
        reports.append(await index_report(window=window, population=Population(region=region), group_by=group_by,
                                          min_group=M, min_comment_group=10))
    _check_pairs(reports)


async def _empty_now(url: str, empty: Any) -> None:
    """Hypothesis runs many examples in one test: start each from empty tables."""
    from tortoise import Tortoise

    await Tortoise.close_connections()
    await empty(url)
    from tests.conftest import open_database

    await open_database(url)


async def test_editing_a_contractor_moves_no_figure_of_a_closed_wave(db: str) -> None:
    """A manager moves one contractor from south to north (and back their start date) between
    two requests: the difference would be that person's answers."""
    from models.queries import upsert_contractor

    world = f.World()
    north = await f.contractors(world, 12, region="north")
    south = await f.contractors(world, 12, region="south", started_on=date(2026, 6, 1))
    silent = await f.contractors(world, 6, region="south")
    w = await f.wave("W", date(2026, 8, 1), days=7)
    await f.invites(world, w, north + south + silent)
    await _answer(world, w, north, date(2026, 8, 2))
    await f.pulses(world, w, [(south[0], LOW[0])], submitted=f.at(date(2026, 8, 2)))
    await _answer(world, w, south[1:], date(2026, 8, 2))
    window = Window(date(2026, 8, 1), date(2026, 8, 31))

    async def figures() -> list[Any]:
        reports = [await index_report(window=window, group_by=g, min_group=M, min_comment_group=10)
                   for g in ("region", "tenure_band")]
        answered = [(g["group"], g["response_rate"] and round(g["response_rate"] * g["n_invited"]))
                    for r in reports for g in r["groups"]]
        return [*map(_figures, reports), answered]  # the answers, and how many of each group's invites were answered

    before = await figures()
    by_region = {key[1]: n for key, n, _ in before[0] if key[0] == "groups" and key[-1] == "trust"}
    assert by_region == {"north": 12, "south": 12}
    moved = south[0]
    await upsert_contractor(external_id=moved.external_id, name=moved.name, region="north",
                            service_type=moved.service_type, started_on=date(2020, 1, 1))
    assert await figures() == before
