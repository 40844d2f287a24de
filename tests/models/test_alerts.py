"""models.alerts: subscriptions, evaluation (the worker's periodic job), the outbox events."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from models import outbox
from models.alerts import (
    LATE_COMMIT,
    AlertError,
    alerts_for,
    evaluate_alerts,
    mark_seen,
    subscribe,
    unseen_count,
    unsubscribe,
)
from models.entities import (
    Alert,
    AlertSubscription,
    CustomerResponse,
    PulseWave,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.forget import forget_contractor
from models.keys import create_user
from tests import factories

pytestmark = pytest.mark.anyio
DAY = date(2026, 3, 10)


async def _user(name: str = "maria") -> str:
    await create_user(username=name, password="a long enough password")
    return name


async def _listener() -> None:
    await WebhookEndpoint.create(url="http://ops.test/hook", secret="whsec_test",
                                 events=outbox.events_column(["alert.*"]))


async def test_a_detractor_in_my_regions_raises_one_alert_and_one_event(db: str) -> None:
    user = await _user()
    await _listener()
    world = factories.World()
    north = await factories.contractors(world, 1, region="north")
    south = await factories.contractors(world, 1, region="south")
    await factories.customers(world, [(north[0], 1, 0, 1, False)], completed=factories.at(DAY))  # before subscribing
    await subscribe(username=user, kind="detractor", regions=["north", " "])
    assert await evaluate_alerts() == []
    await factories.customers(world, [
        (north[0], 2, 3, 2, False),  # a detractor in north: alert
        (north[0], 5, 10, 7, True),  # happy
        (south[0], 1, 1, 1, False),  # a detractor elsewhere
    ], completed=factories.at(DAY + timedelta(days=1)))
    [raised] = await evaluate_alerts()
    assert raised.kind == "detractor" and raised.data["region"] == "north" and raised.data["nps"] == 3
    assert "north" in raised.message
    [row] = await WebhookDelivery.all()
    body = json.loads(row.payload)
    assert body["type"] == "alert.detractor" and body["data"]["alert_id"] == raised.id
    assert body["data"]["user"] == user
    assert await evaluate_alerts() == []  # once
    assert await unseen_count(username=user) == 1
    assert [a.id for a in await alerts_for(username=user)] == [raised.id]
    assert await mark_seen(username=user) == 1
    assert await unseen_count(username=user) == 0
    await forget_contractor(external_id=north[0].external_id)  # the alert names their job: it goes too
    assert await Alert.all().count() == 0


async def _pulse_wave(world: factories.World, name: str, opens: date,
                      levels: dict[str, tuple[list, float]]) -> None:
    wave = await factories.wave(name, opens, days=7)
    rng = random.Random(name)
    people = [c for group, _ in levels.values() for c in group]
    await factories.invites(world, wave, people)
    entries = [(c, factories.answers_for(level, rng, noise=0.0)) for group, level in levels.values() for c in group]
    await factories.pulses(world, wave, entries, submitted=factories.at(opens + timedelta(days=1)))


async def test_a_cei_drop_between_closed_waves_alerts_only_above_the_threshold(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from models import analytics

    windows: list[analytics.Window] = []
    read = analytics.index_by_wave

    async def spy(**kwargs: Any) -> Any:
        windows.append(kwargs["window"])
        return await read(**kwargs)

    monkeypatch.setattr(analytics, "index_by_wave", spy)
    user = await _user()
    await _listener()
    world = factories.World()
    north = await factories.contractors(world, 6, region="north")
    south = await factories.contractors(world, 6, region="south")
    await _pulse_wave(world, "W0", DAY - timedelta(days=7), {"north": (north, 4.0), "south": (south, 4.0)})
    await _pulse_wave(world, "W1", DAY, {"north": (north, 4.0), "south": (south, 4.0)})
    await _pulse_wave(world, "W2", DAY + timedelta(days=7), {"north": (north, 2.0), "south": (south, 3.8)})
    await subscribe(username=user, kind="cei_drop", group_by="region", threshold=10)
    await subscribe(username=user, kind="cei_drop", group_by="service_type", threshold=10)
    later = factories.at(DAY + timedelta(days=20))
    raised = await evaluate_alerts(now=later)
    # north: every item 4 -> 2, 75 -> 25 on the 0-100 scale; south stays at 75 (3.8 rounds to 4);
    # everyone is in plumbing, whose CEI halves the drop of north: 75 -> 50
    assert sorted((r.data["group_by"], r.data["group"], r.data["drop"]) for r in raised) == [
        ("region", "north", 50.0), ("service_type", "plumbing", 25.0)]
    assert {(r.data["before_wave"], r.data["after_wave"]) for r in raised} == {("W1", "W2")}
    assert {json.loads(d.payload)["type"] for d in await WebhookDelivery.all()} == {"alert.cei_drop"}
    assert await WebhookDelivery.all().count() == 2
    assert await evaluate_alerts(now=later) == []
    # the every-minute job reads the two waves compared, not the whole look-back
    w1 = await PulseWave.get(name="W1")
    assert {w.start for w in windows} == {w1.closes_at.astimezone(UTC).date()}


async def test_a_hidden_group_never_raises_a_cei_alert(db: str) -> None:
    user = await _user()
    world = factories.World()
    north = await factories.contractors(world, 8, region="north")
    tiny = await factories.contractors(world, 3, region="tiny")
    await _pulse_wave(world, "W1", DAY, {"north": (north, 4.0), "tiny": (tiny, 5.0)})
    await _pulse_wave(world, "W2", DAY + timedelta(days=7), {"north": (north, 4.0), "tiny": (tiny, 1.0)})
    await subscribe(username=user, kind="cei_drop", group_by="region", threshold=5)
    assert await evaluate_alerts(now=factories.at(DAY + timedelta(days=20))) == []


async def test_a_low_response_rate_alerts_a_day_before_the_close(db: str) -> None:
    user = await _user()
    world = factories.World()
    people = await factories.contractors(world, 25)
    wave = await factories.wave("W-now", DAY, days=7)
    await factories.invites(world, wave, people)
    rng = random.Random(3)
    await factories.pulses(world, wave, [(c, factories.answers_for(4, rng)) for c in people[:5]],
                           submitted=factories.at(DAY + timedelta(days=1)))
    await subscribe(username=user, kind="response_rate", threshold=50)
    strict = await subscribe(username=user, kind="response_rate", threshold=10)
    assert await evaluate_alerts(now=factories.at(DAY + timedelta(days=3))) == []  # not a day before the close
    day_before = factories.at(DAY + timedelta(days=6), 12)
    [raised] = await evaluate_alerts(now=day_before)
    assert raised.data["response_rate_pct"] == 20.0 and raised.data["wave"] == "W-now"
    assert await evaluate_alerts(now=day_before + timedelta(hours=1)) == []
    assert await Alert.filter(subscription_id=strict.id).count() == 0  # 20 % is not under 10 %
    assert await evaluate_alerts(now=factories.at(DAY + timedelta(days=7), 1)) == []  # closed


async def test_a_response_rate_alert_never_tells_a_count_the_wave_may_not_show(db: str) -> None:
    """Two of ten answered: the Overview shows "fewer than 5", so the alert may not say 2 or 20 %.
    It fires only when even four answers would be under the threshold, and then with the band."""
    user = await _user()
    world = factories.World()
    people = await factories.contractors(world, 10)
    wave = await factories.wave("W-few", DAY, days=7)
    await factories.invites(world, wave, people)
    rng = random.Random(5)
    await factories.pulses(world, wave, [(c, factories.answers_for(4, rng)) for c in people[:2]],
                           submitted=factories.at(DAY + timedelta(days=1)))
    await subscribe(username=user, kind="response_rate", threshold=50)  # even 4 of 10 would be under 50 %
    unsure = await subscribe(username=user, kind="response_rate", threshold=30)  # 4 of 10 would be 40 %
    [raised] = await evaluate_alerts(now=factories.at(DAY + timedelta(days=6), 12))
    assert raised.data["answered"] == "fewer than 5" and raised.data["response_rate_pct"] is None
    assert "2" not in raised.message.replace("W-few", "").split("UTC")[1]
    assert await Alert.filter(subscription_id=unsure.id).count() == 0


async def test_subscriptions_are_checked_and_can_be_removed(db: str) -> None:
    user = await _user()
    with pytest.raises(AlertError):
        await subscribe(username=user, kind="detractor", regions=[])
    with pytest.raises(AlertError):
        await subscribe(username=user, kind="cei_drop", group_by="wave", threshold=5)
    with pytest.raises(AlertError):
        await subscribe(username=user, kind="response_rate", threshold=0)
    with pytest.raises(AlertError):
        await subscribe(username="ghost", kind="response_rate", threshold=5)
    sub = await subscribe(username=user, kind="response_rate", threshold=30)
    assert not await unsubscribe(username="someone-else", subscription_id=sub.id)
    assert await unsubscribe(username=user, subscription_id=sub.id)


async def test_a_detractor_that_commits_after_a_later_answer_still_raises_its_alert(db: str) -> None:
    """On PostgreSQL an id is taken at insert, not at commit: answer 7 can become visible after
    answer 8 moved the cursor past it. Such an answer is still looked at, once."""
    user = await _user()
    world = factories.World()
    [north] = await factories.contractors(world, 1, region="north")
    await subscribe(username=user, kind="detractor", regions=["north"])
    await factories.customers(world, [(north, 1, 2, 1, False), (north, 5, 10, 7, True)],
                              completed=factories.at(DAY))
    late, happy = await CustomerResponse.all().order_by("id")
    now = datetime.now(UTC)
    await CustomerResponse.filter(id__in=[late.id, happy.id]).update(submitted_at=now - timedelta(minutes=2))
    # the cursor already passed the late one, as if the happy answer had committed first
    await AlertSubscription.all().update(after_response_id=happy.id, created_at=now - timedelta(hours=1))
    [raised] = await evaluate_alerts(now=now)
    assert raised.data["response_id"] == late.id
    assert await evaluate_alerts(now=now) == []  # once
    # past LATE_COMMIT an answer below the cursor is no longer looked for
    await Alert.all().delete()
    assert await evaluate_alerts(now=now + LATE_COMMIT + timedelta(minutes=3)) == []
