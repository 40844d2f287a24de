"""models.reminders: once per gap while the wave is open; never after it closes."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from models.reminders import pulse_reminders
from tests import factories

pytestmark = pytest.mark.anyio
OPENS = date(2026, 3, 2)


async def test_a_link_is_reminded_again_only_after_the_gap(db: str) -> None:
    world = factories.World()
    people = await factories.contractors(world, 3)
    wave = await factories.wave("W10", OPENS, days=14)
    await factories.invites(world, wave, people)
    await factories.pulses(world, wave, [(people[0], factories.answers_for(4, random.Random(1)))],
                           submitted=factories.at(OPENS + timedelta(days=1)))
    day1 = factories.at(OPENS + timedelta(days=1))
    assert [i.contractor for i in await pulse_reminders(wave="W10", mark=True, now=day1, gap_days=3)] == [
        p.external_id for p in people[1:]]
    assert await pulse_reminders(wave="W10", now=day1 + timedelta(days=2), gap_days=3) == []
    later = await pulse_reminders(wave="W10", now=day1 + timedelta(days=3, seconds=1), gap_days=3)
    assert len(later) == 2  # the gap has passed
    assert await pulse_reminders(wave="W10", now=factories.at(OPENS - timedelta(days=1))) == []  # not open yet
    assert await pulse_reminders(wave="W10", mark=True, now=factories.at(OPENS + timedelta(days=14), 0)) == []
