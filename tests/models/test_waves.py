"""Which waves a report may use: closed in the window, with enough respondents."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.waves import waves_in
from tests import factories as f

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


async def test_states_and_window_by_closing_day(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 6)
    big = await f.wave("big", date(2026, 3, 1), days=10)      # closes 03-11
    small = await f.wave("small", date(2026, 3, 5), days=10)  # closes 03-15
    live = await f.wave("live", date(2026, 3, 25), days=14)   # closes 04-08, after NOW
    await f.wave("later", date(2026, 3, 20), days=5)  # closes 03-25, nobody answered
    await f.invites(world, live, people)
    rng = __import__("random").Random(1)
    await f.pulses(world, big, [(c, f.answers_for(3, rng)) for c in people], submitted=f.at(date(2026, 3, 2)))
    await f.pulses(world, small, [(c, f.answers_for(3, rng)) for c in people[:4]], submitted=f.at(date(2026, 3, 6)))
    await f.pulses(world, live, [(c, f.answers_for(3, rng)) for c in people[:3]], submitted=f.at(date(2026, 3, 26)))

    waves = await waves_in(date(2026, 3, 1), date(2026, 3, 15), min_group=5, now=NOW)
    assert [(w.name, w.state) for w in waves] == [("big", "reported"), ("small", "too_few")]
    # one day less and the wave closing on 03-15 is out; the open wave counts once it has opened
    waves = await waves_in(date(2026, 3, 1), date(2026, 3, 31), min_group=5, now=NOW)
    assert [(w.name, w.state) for w in waves] == [
        ("big", "reported"), ("small", "too_few"), ("later", "too_few"), ("live", "open")]
    live_status = waves[-1]
    assert (live_status.respondents, live_status.invited) == (3, 6)
    assert live_status.as_dict(5)["n_contractors"] == "fewer than 5"
    assert live_status.as_dict(5)["response_rate"] is None  # 3 of 6 would tell who answered
    assert live_status.as_dict(3)["response_rate"] == pytest.approx(0.5)
    assert [w.name for w in await waves_in(date(2026, 3, 1), date(2026, 3, 14), min_group=5, now=NOW)] == ["big"]
