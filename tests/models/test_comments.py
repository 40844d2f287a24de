"""What contractors and customers say (models.analytics.comments), on both backends, with
the attacks on contractors' comments replayed: a window grown by a day, an open wave
filling up, a wave just under the gate, a small segment and its complement."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from models.analytics import Population, Window, contractor_comments, customer_comments
from models.analytics.comments import REASON_COMMENTS_HIDDEN, REASON_COMMENTS_OPEN, search_words
from models.analytics.index import comment_order
from models.entities import Contractor, CustomerResponse
from tests import factories as f

pytestmark = pytest.mark.anyio
M, K = 5, 10
HIDDEN = REASON_COMMENTS_HIDDEN.format(k=K)


async def _say(world: f.World, wave: Any, people: list[Contractor], day: date, texts: list[str | None]) -> None:
    """One pulse answer per person, each with its own comment."""
    rng = random.Random(world.next())
    for person, text in zip(people, texts, strict=True):
        await f.pulses(world, wave, [(person, f.answers_for(4.0, rng))], submitted=f.at(day), comment=text)


async def _view(window: Window, **kw: Any) -> dict[str, Any]:
    return await contractor_comments(window=window, min_group=M, min_comment_group=K, **kw)


def _texts(view: dict[str, Any]) -> dict[str, list[str]]:
    return {w["wave"]: [c["text"] for c in w["comments"]] for w in view["waves"]}


def _assert_hidden(row: dict[str, Any], reason: str = HIDDEN) -> None:
    """A hidden wave: the reason, and no comment, count or theme count of any kind."""
    assert not row["shown"] and row["reason"] == reason
    assert row["comments"] == [] and row["n_comments"] is None and row["n_matching"] is None
    assert row["themes"] is None


async def test_comments_by_wave_newest_first_in_keyed_order_with_theme_counts(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 12)
    march = await f.wave("March", date(2026, 3, 1), days=7)
    april = await f.wave("April", date(2026, 4, 1), days=7)
    march_texts = [f"The training videos help {i}" for i in range(4)] + [None] * 8
    april_texts = ([f"Nobody trusts my judgement {i}" for i in range(3)]
                   + [f"Capacitación inútil y nadie confía {i}" for i in range(2)]
                   + [f"All fine {i}" for i in range(7)])
    await _say(world, march, people, date(2026, 3, 3), march_texts)
    await _say(world, april, people, date(2026, 4, 3), april_texts)
    view = await _view(Window(date(2026, 3, 1), date(2026, 4, 30)))
    assert [w["wave"] for w in view["waves"]] == ["April", "March"]  # newest closed wave first
    april_row, march_row = view["waves"]
    assert april_row["closes_on"] == "2026-04-08" and april_row["shown"] and april_row["reason"] is None
    assert april_row["n_comments"] == 12 and march_row["n_comments"] == 4  # empty comments are no comments
    texts = [c["text"] for c in april_row["comments"]]
    assert texts == sorted([t for t in april_texts if t], key=comment_order)  # by the keyed hash
    assert texts != [t for t in april_texts if t]  # not in the order they arrived
    assert april_row["themes"]["trust"] == 5  # "trusts", and "confía" with its accent
    assert april_row["themes"]["knowledge"] == 2  # "Capacitación"
    assert march_row["themes"] == {"connection": 0, "empowerment": 0, "backing": 0, "process": 0, "trust": 0,
                                   "knowledge": 4}
    assert all(set(c) == {"text", "themes"} for w in view["waves"] for c in w["comments"])  # no id, no time
    assert {c["text"]: c["themes"] for c in april_row["comments"]}["Capacitación inútil y nadie confía 0"] == [
        "trust", "knowledge"]
    # a theme narrows the lists, not the counts
    trust = await _view(Window(date(2026, 3, 1), date(2026, 4, 30)), theme="trust")
    assert _texts(trust) == {"April": sorted([t for t in april_texts if t and ("trust" in t or "conf" in t)],
                                             key=comment_order), "March": []}
    assert trust["waves"][0]["n_matching"] == 5 and trust["waves"][0]["themes"] == april_row["themes"]
    # a search: words in a row, the last one a prefix, accents and case ignored
    found = await _view(Window(date(2026, 3, 1), date(2026, 4, 30)), search="CAPACITACION inu")
    assert _texts(found)["April"] == sorted([t for t in april_texts if t and t.startswith("Capa")],
                                            key=comment_order)
    with pytest.raises(ValueError, match="theme must be one of connection"):
        await _view(Window(date(2026, 3, 1), date(2026, 4, 30)), theme="pay")


async def test_at_most_twenty_comments_a_wave_with_how_many_matched(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 25)
    w = await f.wave("W", date(2026, 3, 1), days=7)
    await _say(world, w, people, date(2026, 3, 3), [f"comment number {i}" for i in range(25)])
    [row] = (await _view(Window(date(2026, 3, 1), date(2026, 3, 31))))["waves"]
    assert row["n_comments"] == row["n_matching"] == 25
    assert [c["text"] for c in row["comments"]] == sorted(
        [f"comment number {i}" for i in range(25)], key=comment_order)[:20]


async def test_a_segment_under_the_gate_and_its_complement_stay_hidden(db: str) -> None:
    world = f.World()
    north = await f.contractors(world, 15, region="north")
    south = await f.contractors(world, 6, region="south")
    w = await f.wave("W", date(2026, 3, 1), days=7)
    await _say(world, w, north, date(2026, 3, 3), [f"north says {i}" for i in range(15)])
    await _say(world, w, south, date(2026, 3, 3), [f"south says {i}" for i in range(6)])
    window = Window(date(2026, 3, 1), date(2026, 3, 31))
    [overall] = (await _view(window))["waves"]
    assert overall["shown"] and overall["n_comments"] == 21  # 21 people: every comment, as one group
    for region in ("north", "south"):  # south is under 10; north would be "everyone minus south"
        [row] = (await _view(window, population=Population(region=region)))["waves"]
        _assert_hidden(row)
    # with a third region large enough, north is shown again and south stays hidden
    east = await f.contractors(world, 11, region="east")
    await _say(world, w, east, date(2026, 3, 3), [f"east says {i}" for i in range(11)])
    [row] = (await _view(window, population=Population(region="north")))["waves"]
    assert row["shown"] and row["n_comments"] == 15 and all(c["text"].startswith("north") for c in row["comments"])
    [row] = (await _view(window, population=Population(region="south")))["waves"]
    _assert_hidden(row)
    assert "south says" not in str(await _view(window, population=Population(region="east")))


async def test_a_window_grown_by_one_day_reveals_no_new_comment(db: str) -> None:
    """A: 12 people, closes 08-05. B: one person, closes 08-06 (too few for anything);
    C: nine people, closes 08-07 (enough for scores, not for comments)."""
    world = f.World()
    people = await f.contractors(world, 12)
    a = await f.wave("A", date(2026, 7, 27), days=9)
    b = await f.wave("B", date(2026, 7, 28), days=9)
    c = await f.wave("C", date(2026, 7, 29), days=9)
    await _say(world, a, people, date(2026, 8, 1), [f"a {i}" for i in range(12)])
    await _say(world, b, people[:1], date(2026, 8, 6), ["only me"])
    await _say(world, c, people[:9], date(2026, 8, 6), [f"nine of us {i}" for i in range(9)])
    seen: dict[str, list[str]] = {}
    for days in range(12):
        view = await _view(Window(date(2026, 8, 1), date(2026, 8, 1) + timedelta(days=days)))
        assert "only me" not in str(view) and "nine of us" not in str(view)
        for row in view["waves"]:
            if row["wave"] == "A":
                assert row["shown"]
                assert seen.setdefault("A", [c["text"] for c in row["comments"]]) == [c["text"] for c in
                                                                                    row["comments"]]
            else:
                _assert_hidden(row)
    assert len(seen["A"]) == 12


async def test_an_open_wave_filling_up_reveals_nothing(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 30)
    closed = await f.wave("closed", date(2026, 8, 1), days=7)
    live = await f.wave("live", date(2026, 8, 20), days=30)
    await _say(world, closed, people[:12], date(2026, 8, 2), [f"closed {i}" for i in range(12)])
    await _say(world, live, people[:20], date(2026, 8, 21), [f"live {i}" for i in range(20)])
    now = datetime(2026, 8, 25, tzinfo=UTC)
    window = Window(date(2026, 8, 1), date(2026, 8, 31))
    before = await _view(window, now=now)
    await _say(world, live, people[20:21], date(2026, 8, 24), ["the newcomer"])
    after = await _view(window, now=now)
    assert after == before
    assert [w["wave"] for w in after["waves"]] == ["live", "closed"]  # in progress first, marked
    _assert_hidden(after["waves"][0], REASON_COMMENTS_OPEN)
    assert "live " not in str(after) and after["waves"][0]["state"] == "open"


async def test_a_wave_under_the_comment_gate_never_reports_its_count(db: str) -> None:
    world = f.World()
    people = await f.contractors(world, 10)
    w = await f.wave("W", date(2026, 3, 1), days=7)
    await _say(world, w, people[:9], date(2026, 3, 3), [f"said {i}" for i in range(9)])
    window = Window(date(2026, 3, 1), date(2026, 3, 31))
    [row] = (await _view(window))["waves"]
    _assert_hidden(row)
    assert "9" not in str({k: v for k, v in row.items() if k != "closes_on"})  # "10 or more", never the 9
    await _say(world, w, people[9:], date(2026, 3, 3), ["the tenth"])
    [row] = (await _view(window))["waves"]
    assert row["shown"] and row["n_comments"] == 10  # the tenth comes with nine others, never alone


async def test_two_attributes_at_once_are_refused_not_filtered(db: str) -> None:
    view = await _view(Window(date(2026, 3, 1), date(2026, 3, 31)),
                       population=Population(region="north", service_type="plumbing"))
    assert view["waves"] == [] and "one of region, service type and tenure band" in view["refused"]


@pytest.mark.parametrize("search", ["\x00", "\x00training", "x" * 100_000, "🙂" * 500, "' OR 1=1 --", "*"])
async def test_any_search_is_words_or_nothing(db: str, search: str) -> None:
    world = f.World()
    people = await f.contractors(world, 10)
    w = await f.wave("W", date(2026, 3, 1), days=7)
    await _say(world, w, people, date(2026, 3, 3), ["training"] * 10)
    view = await _view(Window(date(2026, 3, 1), date(2026, 3, 31)), search=search)
    assert view["search"] == search_words(search)
    assert view["search"] is None or len(view["search"]) <= 100
    customers = await customer_comments(window=Window(date(2026, 3, 1), date(2026, 3, 31)), search=search)
    assert customers["total"] == 0


async def test_customers_comments_every_answer_newest_first_paged_without_the_contractor(db: str) -> None:
    world = f.World()
    north = await f.contractors(world, 2, region="north", service_type="plumbing")
    south = await f.contractors(world, 1, region="south", service_type="cleaning")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for day in range(25):
        person = (north + south)[day % 3]
        await f.customers(world, [(person, 5 if day % 2 else 1, 10 if day % 2 else 0, 6, True)],
                          completed=start + timedelta(days=day))
    texts = {day: ("Came late again" if day % 2 else "Muy groseros y tarde") if day % 5 else None
             for day in range(25)}
    for response in await CustomerResponse.all().order_by("completed_at"):
        day = (response.completed_at - start).days
        response.comment = texts[day]
        await response.save()
    window = Window(date(2026, 3, 1), date(2026, 3, 31))
    first = await customer_comments(window=window, page_size=8)
    commented = sorted((d for d, t in texts.items() if t), reverse=True)
    assert first["n_comments"] == first["total"] == len(commented) == 20
    assert (first["page"], first["pages"]) == (1, 3)
    assert [c["day"] for c in first["comments"]] == [(start + timedelta(days=d)).date().isoformat()
                                                     for d in commented[:8]]
    detractor, promoter = first["comments"][0], first["comments"][1]  # day 24 (even), then day 23 (odd)
    assert (promoter["csat"], promoter["nps"], detractor["csat"], detractor["nps"]) == (5, 10, 1, 0)
    assert set(promoter) == {"day", "csat", "nps", "region", "service_type", "text", "themes"}
    assert promoter["themes"] == ["punctuality"] and detractor["themes"] == ["punctuality", "courtesy"]
    assert first["counts"]["punctuality"] == 20 and first["counts"]["courtesy"] == 10
    last = await customer_comments(window=window, page=99, page_size=8)
    assert last["page"] == 3 and len(last["comments"]) == 4
    rude = await customer_comments(window=window, theme="courtesy")
    assert rude["total"] == 10 and rude["counts"] == first["counts"]
    assert all(c["csat"] == 1 for c in rude["comments"])
    south_only = await customer_comments(window=window, population=Population(region="south"))
    assert {(c["region"], c["service_type"]) for c in south_only["comments"]} == {("south", "cleaning")}
    assert south_only["total"] == len([d for d in commented if d % 3 == 2])
    with pytest.raises(ValueError, match="theme must be one of punctuality"):
        await customer_comments(window=window, theme="knowledge")
