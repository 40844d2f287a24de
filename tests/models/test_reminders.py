"""models.reminders: once per gap while the wave is open; never after it closes."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from models.entities import Reminder
from models.forget import forget_customer_response
from models.reminders import customer_reminders, pulse_reminders
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
    assert [i.contractor for i in (await pulse_reminders(wave="W10", mark=True, now=day1, gap_days=3)).items] == [
        p.external_id for p in people[1:]]
    assert (await pulse_reminders(wave="W10", now=day1 + timedelta(days=2), gap_days=3)).items == []
    later = await pulse_reminders(wave="W10", now=day1 + timedelta(days=3, seconds=1), gap_days=3)
    assert len(later.items) == 2 and not later.more  # the gap has passed
    assert not (await pulse_reminders(wave="W10", now=factories.at(OPENS - timedelta(days=1)))).items  # not open yet
    assert not (await pulse_reminders(wave="W10", mark=True, now=factories.at(OPENS + timedelta(days=14), 0))).items


async def test_a_customer_is_reminded_once_and_the_reminder_goes_when_they_are_forgotten(db: str) -> None:
    world = factories.World()
    [person] = await factories.contractors(world, 1)
    await factories.customers(world, [(person, 5, 10, 7, True)], completed=factories.at(OPENS), extra_jobs=1)
    now = factories.at(OPENS + timedelta(days=2))
    [due] = (await customer_reminders(mark=True, now=now)).items  # the answered job is left out
    assert (await customer_reminders(now=now + timedelta(days=5))).items == []
    assert await Reminder.all().count() == 1
    await forget_customer_response(job_external_id=due.job)
    assert await Reminder.all().count() == 0
    assert (await customer_reminders(now=now)).items == []


async def test_a_long_list_comes_in_batches_that_marking_moves_on(db: str) -> None:
    world = factories.World()
    people = await factories.contractors(world, 5)
    wave = await factories.wave("W11", OPENS, days=14)
    await factories.invites(world, wave, people)
    await factories.customers(world, [(people[0], 5, 10, 7, True)], completed=factories.at(OPENS), extra_jobs=5)
    now = factories.at(OPENS + timedelta(days=2))
    batches = []
    while (batch := await pulse_reminders(wave="W11", mark=True, now=now, limit=2)).items:
        batches.append(([i.contractor for i in batch.items], batch.more))
    assert batches == [([p.external_id for p in people[:2]], True), ([p.external_id for p in people[2:4]], True),
                       ([people[4].external_id], False)]
    first = await customer_reminders(now=now, limit=3)  # without marking, the same first links each time
    assert len(first.items) == 3 and first.more and (await customer_reminders(now=now, limit=3)) == first
    assert not (await customer_reminders(now=now, limit=5)).more
