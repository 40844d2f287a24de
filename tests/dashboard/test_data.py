"""The data facade: filters from the URL, the runner seam, and the same numbers as the query layer."""

from __future__ import annotations

import asyncio
import doctest
import random
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from dashboard import data
from models import analytics
from models.db import tortoise_config
from models.settings import settings
from tests import factories

DAY = date(2026, 3, 10)


# --- filters ------------------------------------------------------------------------------------


def test_filters_read_the_query_string_and_write_it_back() -> None:
    query = {"from": "2026-03-01", "to": "2026-03-31", "region": "North", "service_type": "repair",
             "tenure": "1–2 years"}
    filters = data.Filters.from_query(query)
    assert filters == data.Filters(date(2026, 3, 1), date(2026, 3, 31), "North", "repair", "1–2 years")
    assert dict(data.Filters.from_query(filters.query()).query()) == query
    assert filters.search(lag=2).startswith("?from=2026-03-01&to=2026-03-31&region=North")
    assert filters.search(lag=2).endswith("&lag=2")


def test_a_broken_shared_link_falls_back_rather_than_failing() -> None:
    today = date(2026, 3, 31)
    filters = data.Filters.from_query({"from": "yesterday", "to": "2026-02-30", "region": " "}, today=today)
    assert filters == data.Filters.default(today)
    assert filters.days == data.DEFAULT_DAYS and filters.region is None
    swapped = data.Filters.from_query({"from": "2026-03-31", "to": "2026-03-01"})
    assert (swapped.start, swapped.end) == (date(2026, 3, 1), date(2026, 3, 31))


def test_presets_and_the_comparison_live_in_the_query_string() -> None:
    end = date(2026, 11, 23)
    ytd = data.Filters.from_query({"period": "year-to-date", "from": "2020-01-01", "to": "2020-01-31"}, today=end)
    assert (ytd.start, ytd.end, ytd.period) == (date(2026, 1, 1), end, "year-to-date")  # the preset wins
    assert ytd.query() == {"period": "year-to-date"}  # a relative preset's link follows the data
    quarter = data.Filters.from_query({"period": "last-quarter"}, today=end)
    assert (quarter.start, quarter.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert quarter.comparison() == (date(2026, 3, 31), date(2026, 6, 30))  # the 92 days before
    year_ago = data.Filters.from_query({"from": "2026-11-02", "to": "2026-11-29", "period": "last-year",
                                        "compare": "last-year"})
    assert year_ago.query() == {"from": "2026-11-02", "to": "2026-11-29", "period": "last-year",
                                "compare": "last-year"}
    assert year_ago.comparison() == (date(2025, 11, 3), date(2025, 11, 30))  # 52 weeks: same weekdays
    assert year_ago.comparison_label == "same period last year"
    odd = data.Filters.from_query({"period": "forever", "compare": "never"}, today=end)
    assert (odd.period, odd.compare, odd.days) == (None, "previous", data.DEFAULT_DAYS)
    assert odd.comparison_label == "previous period"


def test_preset_doctests() -> None:
    assert doctest.testmod(data).failed == 0


def test_the_default_period_ends_on_the_last_day_with_data() -> None:
    options = {"last_date": "2026-03-10"}
    assert data.default_filters(options, today=date(2026, 6, 1)).end == date(2026, 3, 10)
    assert data.default_filters(options, today=date(2026, 3, 5)).end == date(2026, 3, 5)
    assert data.default_filters({"last_date": None}, today=date(2026, 3, 5)).end == date(2026, 3, 5)


def test_the_levers_come_from_the_survey_file() -> None:
    levers = {d["id"]: d for d in data.dimension_levers()}
    assert set(levers) == {"connection", "empowerment", "backing", "process", "trust", "knowledge"}
    assert "community" in levers["connection"]["levers"] and "[Brand]" not in levers["connection"]["levers"]
    assert settings.brand in levers["backing"]["levers"]


# --- the runner seam ----------------------------------------------------------------------------


@pytest.fixture
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in its own thread, as uvicorn's is to a2wsgi's worker threads."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_the_loop_runner_runs_a_coroutine_on_the_servers_loop(loop_thread: asyncio.AbstractEventLoop) -> None:
    run = data.LoopRunner(loop_thread, timeout=5)

    async def where() -> Any:
        return asyncio.get_running_loop(), threading.current_thread()

    loop, thread = run(where())
    assert loop is loop_thread and thread is not threading.current_thread()


def test_any_function_can_stand_in_for_the_runner() -> None:
    calls: list[str] = []

    def fake(coro: Any) -> Any:
        calls.append(coro.cr_code.co_name)
        coro.close()
        return {"regions": ["North"], "last_date": "2026-03-10"}

    assert data.filter_options(fake)["regions"] == ["North"]
    assert calls == ["filter_options"]


@pytest.fixture
def world_run(db_url: str, loop_thread: asyncio.AbstractEventLoop) -> Iterator[data.Runner]:
    """A runner onto a loop where the ORM was opened once (each backend in turn), with a
    correlated world stored."""
    run = data.LoopRunner(loop_thread, timeout=30)

    async def setup() -> None:
        # As RegisterTortoise does in the server's lifespan: the ORM's context is global, so the
        # coroutines the runner schedules later (each its own task) find it.
        EXECUTOR_CACHE.clear()
        await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
        world = factories.World()
        march = await factories.correlated_world(world, n=60, day=DAY)
        # March's wave went to the 60 who answered and 16 who did not: 76 invited, 60 answered
        silent = await factories.contractors(world, 16, region="north")
        await factories.invites(world, march, world.contractors[:60] + silent)
        small = await factories.contractors(world, 4, region="islands")
        w = await factories.wave("Islands", DAY - timedelta(days=3))
        await factories.invites(world, w, small)
        rng = random.Random(3)
        await factories.pulses(world, w, [(c, factories.answers_for(4, rng)) for c in small],
                               submitted=factories.at(DAY))

    run(setup())
    yield run

    async def close() -> None:
        await Tortoise.close_connections()

    run(close())


FILTERS = data.Filters(DAY - timedelta(days=13), DAY + timedelta(days=14))  # March closes on 03-21
LINKAGE = FILTERS.with_(end=DAY + timedelta(days=11))  # the linkage's pulse side: waves closed by then


def test_the_facade_returns_the_query_layers_own_numbers(world_run: data.Runner) -> None:
    """No second implementation: the views show exactly what models.analytics returns."""
    window = analytics.Window(FILTERS.start, FILTERS.end)
    thresholds = {"min_group": settings.min_group, "min_comment_group": settings.min_comment_group}
    overview = data.overview_view(world_run, FILTERS)
    assert overview["index"] == world_run(analytics.index_report(window=window, **thresholds))
    assert overview["customer"] == world_run(analytics.customer_report(window=window))
    assert overview["index_previous"]["window"] == {"from": "2026-01-28", "to": "2026-02-24"}
    linkage = data.linkage_view(world_run, LINKAGE, lag_weeks=0)
    assert linkage == world_run(analytics.linkage_report(window=analytics.Window(LINKAGE.start, LINKAGE.end),
                                                         min_group=settings.min_group))
    assert linkage["n"] == 60 and linkage["correlations"][0]["r"] > 0.3
    assert linkage["waves"] == ["March"]  # Islands closed with four answers: it counts nowhere
    segments = data.segments_view(world_run, FILTERS, group_by="region")
    # the Segments test each group's gap with its margin, and show no wave's (trend_margins=False)
    assert segments["index"] == world_run(analytics.index_report(window=window, group_by="region",
                                                                 trend_margins=False, **thresholds))
    shown = [g["group"] for g in segments["index"]["groups"] if not g["suppressed"]]
    assert shown and all("cei" in segments["gaps"][g] for g in shown)  # each shown group's gap is tested


def test_the_pulse_response_rate_comes_through_the_facade_and_onto_the_overview(world_run: data.Runner) -> None:
    overview = data.overview_view(world_run, FILTERS)
    index = overview["index"]["overall"]
    # March's wave closed in the period; the Islands wave of four contributes nothing
    assert (index["n_invited"], index["n_responses"], index["response_rate"]) == (76, 60, 60 / 76)
    assert overview["index_previous"]["overall"]["response_rate"] is None  # no wave before
    assert [(r["wave"], r["state"], r["suppressed"], r["n_invited"], r["response_rate"], r["n_contractors"])
            for r in overview["index"]["trend"]] == [("March", "reported", False, 76, 60 / 76, 60),
                                                     ("Islands", "too_few", True, 4, None, "fewer than 5")]
    islands = data.overview_view(world_run, FILTERS.with_(region="islands"))["index"]["overall"]
    assert islands["suppressed"] and islands["n_invited"] is None and islands["response_rate"] is None
    hidden = {g["group"]: g for g in data.segments_view(world_run, FILTERS, group_by="region")["index"]["groups"]}
    assert "islands" not in hidden  # nobody of theirs in a reported wave
    refused = data.segments_view(world_run, FILTERS.with_(region="north"), group_by="service_type")["index"]
    assert refused["refused"] and refused["overall"]["suppressed"] and refused["groups"] == []

    from dashboard.app import create_dash_app

    create_dash_app()  # registers the pages
    from dashboard.pages import overview as page

    rendered = page.render(overview)
    tile = _text(_find(rendered, "overview-pulse"))
    assert tile.startswith("Pulse response rate 79 %")
    # the numbers on the tile add up: 60 / 76 is the 79 % shown
    assert "60 of 76 invitations answered in 1 closed wave · 60 contractors" in tile
    assert "no comparison" in tile
    assert "Islands: fewer than 5 contractors answered" in _text(_find(rendered, "overview-waves"))
    hidden_tile = _text(_find(page.render(data.overview_view(world_run, FILTERS.with_(region="islands"))),
                              "overview-pulse"))
    assert "hidden" in hidden_tile and " %" not in hidden_tile and "4" not in hidden_tile


def _find(node: Any, id: str) -> Any:
    """The component with this id in a Dash tree."""
    if isinstance(node, list | tuple):
        return next((f for f in (_find(n, id) for n in node) if f is not None), None)
    if getattr(node, "id", None) == id:
        return node
    children = getattr(node, "children", None)
    return None if children is None or isinstance(children, str) else _find(children, id)


def _text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list | tuple):
        return " ".join(_text(n) for n in node)
    return _text(getattr(node, "children", None))


def test_the_lag_moves_the_customer_window(world_run: data.Runner) -> None:
    linkage = data.linkage_view(world_run, LINKAGE, lag_weeks=2)
    assert linkage["lag_days"] == 14
    assert linkage["customer_window"] == {"from": "2026-03-11", "to": "2026-04-04"}


def test_the_linkage_page_says_what_the_report_says(world_run: data.Runner) -> None:
    """The headline is the report's own (one rule for the words, in surveys.association); the
    chart is CSAT by CEI band, hidden bands drawn as hidden."""
    from dashboard.app import create_dash_app

    create_dash_app()  # registers the pages
    from dashboard.pages import linkage as page

    report = data.linkage_view(world_run, LINKAGE, lag_weeks=0)
    body = page.render(report, lag_weeks=0)
    assert _text(_find(body, "linkage-headline")) == report["headline"]
    assert "associated with more satisfied customers" in report["headline"]
    figure = go.Figure(_find(body, "linkage-bands").figure)
    drawn = [x for trace in figure.data for x in trace.x]
    assert sorted(drawn) == sorted(b["band"] for b in report["bands"])
    hidden = [b["band"] for b in report["bands"] if b["suppressed"]]
    assert [x for trace in figure.data if trace.name == "hidden" for x in trace.x] == hidden
    no_claim = {**report, "headline": None, "correlations": [
        {**c, "r": None, "suppressed": True, "reason": "fewer than 5 contractors with both values"}
        for c in report["correlations"]]}
    text = _text(_find(page.render(no_claim, lag_weeks=0), "linkage-headline"))
    assert "associated" not in text and "fewer than 5 contractors" in text


def test_the_drivers_take_their_scores_from_the_index(world_run: data.Runner) -> None:
    """The linkage's drivers carry weights and r, no score (scores are the index's, gated
    there); the Drivers view puts the index's score for the same period beside them."""
    from dashboard.app import create_dash_app
    from dashboard.components import fmt

    create_dash_app()
    from dashboard.pages import drivers as page

    report = data.drivers_view(world_run, LINKAGE)
    dimensions = report["linkage"]["drivers"]["dimensions"]
    assert dimensions and all("score" not in d and d["weight"] is not None for d in dimensions)
    index = report["index"]["overall"]
    rows = _find(page.render(report, data.dimension_levers()), "drivers-table").children[1].children
    compared = 0
    for d, row in zip(page.ordered(dimensions, data.dimension_levers()), rows, strict=True):
        score = (index.get("dimensions") or {}).get(d["id"], {}).get("score")
        expected = fmt(score, "{:.0f}") if score is not None and not index["suppressed"] else None
        cell = _text(row.children[4])
        if expected is not None:  # the score, then its margin of error
            margin = index["dimensions"][d["id"]]["score_ci"]["margin"]
            assert cell.split() == [expected, "±", f"{margin:.1f}"]
        else:
            assert not any(ch.isdigit() for ch in cell)
        assert d["tier"] >= 1 and d["share_ci"]["low"] <= d["share"] <= d["share_ci"]["high"]
        compared += expected is not None
    assert compared == len(dimensions) == 6  # the period's index shows every dimension


def test_the_lag_series_is_one_linkage_report_per_week(world_run: data.Runner) -> None:
    lags = data.linkage_by_lag(world_run, LINKAGE, max_weeks=2)
    assert [p["lag_weeks"] for p in lags] == [0, 1, 2]
    same = data.linkage_view(world_run, LINKAGE, lag_weeks=0)["correlations"][0]
    assert (lags[0]["r"], lags[0]["n"]) == (same["r"], 60)
    assert lags[2]["n"] == 0 and lags[2]["r"] is None  # nobody's customers two weeks later


def test_a_group_of_four_comes_back_suppressed_through_the_facade(world_run: data.Runner) -> None:
    islands = data.overview_view(world_run, FILTERS.with_(region="islands"))["index"]["overall"]
    # their own wave had four answers: it is in no figure, and no count says four
    assert islands["suppressed"] and islands["cei"] is None and islands["n_contractors"] == 0
    assert "closed" in islands["reason"]
    groups = data.segments_view(world_run, FILTERS, group_by="region")["index"]["groups"]
    assert "islands" not in {g["group"] for g in groups}
    assert all(g["cei"] is None for g in groups if g["suppressed"])


def test_each_view_is_drawn_by_its_page_layout_not_by_a_second_callback(world_run: data.Runner) -> None:
    """A page's layout(**query) carries the view's own content, so the page router's one answer
    is the whole view (no store for a second callback to read and fill in)."""
    from dashboard.app import create_dash_app

    app = create_dash_app()  # registers the pages
    from dashboard.pages import drivers, followup, linkage, overview, report, segments

    app.server.config[data.RUNNER_KEY] = world_run
    views = ((overview, FILTERS, ("overview-kpis",)), (report, FILTERS, ("report-kpis",)),
             (segments, FILTERS, ("segments-table", "segments-empty")), (followup, FILTERS, ("followup-total",)),
             (drivers, LINKAGE, ("drivers-table", "drivers-empty")), (linkage, LINKAGE, ("linkage-headline",)))
    with app.server.test_request_context("/", environ_base={"asgi.scope": {"session": {"user": "lead"}}}):
        for page, filters, content in views:
            drawn = page.layout(**filters.query())
            assert any(_find(drawn, id) is not None for id in content), page.__name__
