"""Honest numbers in headless Chromium: nothing disappears silently, open waves are
marked and left out of the change, and every headline carries its margin of error.

Its own small demo brand (60 contractors, 5 weeks) plus a tiny wave that closed
yesterday with three answers: too few to report, so it must show as a marked gap.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer, fill_demo, sign_in
from tests import factories

if not Path(CHROMIUM).exists():  # pragma: no cover - the machine has Debian's chromium
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
expect.set_options(timeout=20000)
TINY = "Tiny check-in"


async def _tiny_wave(url: str) -> None:
    """A wave that opened a week ago and closed yesterday, answered by three contractors."""
    from models.db import database
    from models.entities import Contractor, PulseWave

    async with database(url):
        today = datetime.now(UTC).date()
        wave = await PulseWave.create(name=TINY, opens_at=factories.at(today - timedelta(days=7), 0),
                                      closes_at=factories.at(today - timedelta(days=1), 0))
        people = list(await Contractor.all().order_by("-id").limit(3))
        world = factories.World()
        rng = random.Random(5)
        await factories.pulses(world, wave, [(c, factories.answers_for(4, rng)) for c in people],
                               submitted=factories.at(today - timedelta(days=2)))


async def _expected(url: str) -> dict[str, Any]:
    """The index the Overview should show, read straight from the analytics."""
    from models import analytics
    from models.db import database

    async with database(url):
        options = await analytics.filter_options()
        end = min(date.fromisoformat(options["last_date"][:10]), datetime.now(UTC).date())
        report = await analytics.index_report(window=analytics.Window(end - timedelta(days=27), end),
                                              min_group=5, min_comment_group=10)
        return report


@pytest.fixture(scope="module")
def numbers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    url = f"sqlite://{tmp_path_factory.mktemp('numbers')}/demo.sqlite3"
    asyncio.run(fill_demo(url, contractors=60, weeks=5))
    asyncio.run(_tiny_wave(url))
    expected = asyncio.run(_expected(url))
    with LiveServer(url) as live:
        yield live, expected


@pytest.fixture
def page(numbers_server: tuple[LiveServer, dict[str, Any]]) -> Iterator[Any]:
    server, _ = numbers_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20000)
        sign_in(page, server.base)
        yield page
        browser.close()


def test_a_hidden_wave_is_a_marked_gap_and_an_open_wave_is_marked_and_left_out(
        page: Any, numbers_server: tuple[LiveServer, dict[str, Any]]) -> None:
    _, expected = numbers_server
    states = {w["wave"]: w["state"] for w in expected["waves"]}
    assert states[TINY] == "too_few"
    open_waves = [name for name, state in states.items() if state == "open"]
    assert open_waves, "the demo's current week is an open wave"
    reported = [name for name, state in states.items() if state == "reported"]

    chart = page.locator("#overview-cei-trend")
    expect(chart.locator(".xtick").filter(has_text=TINY)).to_have_count(1)  # its place on the axis stays
    expect(chart.locator(".annotation-text").filter(has_text="hidden")).to_have_count(1)
    expect(chart.locator(".annotation-text").filter(has_text="progress")).to_have_count(len(open_waves))
    notice = page.locator("#overview-waves")
    expect(notice).to_contain_text(f"{TINY}: fewer than 5 contractors answered, so it is hidden")
    for name in open_waves:
        expect(notice).to_contain_text(f"{name}: in progress")

    # the pulse figures and their change use the closed waves only: the tile says how many
    overall = expected["overall"]
    pulse = page.locator("#overview-pulse")
    expect(pulse).to_contain_text(
        f"{overall['n_answered']:,} of {overall['n_invited']:,} invitations answered in {len(reported)} closed waves")
    rate = round(100 * overall["n_answered"] / overall["n_invited"])
    expect(pulse.locator(".kpi-value")).to_contain_text(f"{rate}")
    cei = page.locator("#overview-cei")
    expect(cei).to_contain_text(f"{len(reported)} closed waves")


def test_every_headline_carries_its_margin_and_no_signed_zero(page: Any) -> None:
    for tile in ("overview-cei", "overview-csat", "overview-nps", "overview-ces"):
        expect(page.locator(f"#{tile} .kpi-margin")).to_have_text(re.compile(r"± \d"))
    deltas = page.locator(".kpi-delta").all_inner_texts()
    assert deltas and not any(re.search(r"[▲▼] [+−-]?0(\.0+)?( |$)", d) for d in deltas), deltas
    # a change within the noise says so, in a neutral colour
    for locator in page.locator(".kpi-delta.delta-flat").all():
        text = locator.inner_text()
        assert text.startswith(("no clear change", "no change", "no comparison")), text


def test_the_drivers_view_does_not_rank_what_it_cannot_tell_apart(page: Any) -> None:
    page.click("#nav-drivers")
    reading = page.locator("#drivers-reading")
    expect(reading).to_contain_text(re.compile("none stands out|more strongly associated with CSAT"))
    text = reading.inner_text()
    assert "invest" not in text.lower() and "drives" not in text.lower()
    labels = page.locator("#drivers-table tbody tr td:first-child").all_inner_texts()
    assert labels
    if "none stands out" in text:
        assert set(labels) == {"1="}
