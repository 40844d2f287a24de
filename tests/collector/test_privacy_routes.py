"""The privacy rule through every HTTP route that carries pulse values, on both backends.

A curious manager with an API key walks the window a day at a time, every
breakdown and filter, and both pulse exports; nothing they collect may hold
two figures of the same kind whose people differ by fewer than min_group, a
head count under min_group, or the lone contractor's answers.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import date, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests import factories as f

M = 5
LONE = {q.id: 1 for q in f.ITEMS}  # every answer 1: the lone contractor's pattern


async def _brand(world: f.World) -> None:
    """Two closed waves of regions north (9), south (6) and a lone east contractor in the
    second wave only, who also wrote the only comment of that wave."""
    rng = random.Random(4)
    north = await f.contractors(world, 9, region="north", service_type="delivery")
    south = await f.contractors(world, 6, region="south", service_type="cleaning", started_on=date(2026, 1, 2))
    east = await f.contractors(world, 1, region="east", service_type="repair")
    first = await f.wave("first", date(2026, 6, 1), days=7)    # closes 06-08
    second = await f.wave("second", date(2026, 6, 10), days=7)  # closes 06-17
    for wave, day in ((first, date(2026, 6, 2)), (second, date(2026, 6, 11))):
        await f.pulses(world, wave, [(c, f.answers_for(4, rng)) for c in north + south], submitted=f.at(day))
    await f.pulses(world, second, [(east[0], LONE)], submitted=f.at(date(2026, 6, 12)), comment="it was me")


def _figures(body: dict[str, Any], request: str) -> list[tuple[tuple[Any, ...], Any, Any]]:
    out = []
    for part in ("overall", "groups", "trend"):
        for row in [body[part]] if part == "overall" else body[part]:
            for dim, figure in row["dimensions"].items():
                if figure["score"] is not None:
                    out.append(((request, part, row.get("group"), dim), figure["n_contractors"], figure["score"]))
            for name in ("n_contractors", "n_responses"):
                assert not (isinstance(row.get(name), int) and 0 < row[name] < M), (request, row)
    return out


def test_no_route_or_export_gives_the_lone_contractor_away(client: TestClient, auth: dict[str, str]) -> None:
    client.portal.call(lambda: _brand(f.World()))  # type: ignore[union-attr]
    seen: dict[tuple[Any, ...], set[int]] = {}
    texts = []
    for to in range(0, 25):
        end = (date(2026, 6, 1) + timedelta(days=to)).isoformat()
        for query in ("", "&group_by=region", "&group_by=service_type", "&group_by=tenure_band", "&group_by=wave",
                      "&region=north", "&region=south", "&region=east", "&service_type=repair",
                      "&region=south&group_by=wave"):
            response = client.get(f"/api/v1/index?from=2026-06-01&to={end}{query}", headers=auth)
            assert response.status_code == 200, response.text
            texts.append(response.text)
            for key, n, _ in _figures(response.json(), query):
                assert n >= M
                seen.setdefault(key, set()).add(n)
    for key, counts in seen.items():
        for a, b in itertools.combinations(sorted(counts), 2):
            assert b - a >= M, (key, a, b)
    # the lone comment shows only among at least ten: the whole second wave, never east or repair alone
    for body in map(__import__("json").loads, texts):
        for row in [body["overall"], *body["groups"], *body["trend"]]:
            if row["comments"] and "it was me" in row["comments"]:
                assert isinstance(row["n_contractors"], int) and row["n_contractors"] >= 10
                assert row["group"] not in ("east", "repair")
    refused = client.get("/api/v1/index?region=north&group_by=service_type", headers=auth)
    assert refused.status_code == 400 and refused.json()["parameter"] == "group_by"

    rows = list(csv.reader(io.StringIO(client.get(
        "/api/v1/export/pulse-responses.csv?from=2026-06-01&to=2026-06-30", headers=auth).text)))
    header, body = rows[0], rows[1:]
    assert "submitted_at" not in header and "region" not in header and "contractor_external_id" not in header
    assert len(body) == 15 + 16 and [r[-1] for r in body if r[-1]] == ["it was me"]  # a wave of 16
    assert not any(cell.startswith("2026-") for row in body for cell in row)
    figures = list(csv.DictReader(io.StringIO(client.get(
        "/api/v1/export/pulse-index.csv?from=2026-06-01&to=2026-06-30", headers=auth).text)))
    for row in figures:
        count = row["n_contractors"]
        assert not (count.isdigit() and 0 < int(count) < M), row
        if row["group"] == "east":
            assert row["suppressed"] == "True" and row["cei"] == "" and row["connection_score"] == ""
    # the aggregate export is the index's own numbers: second wave, everyone
    second = next(r for r in figures if r["wave"] == "second" and r["group_by"] == "")
    index = client.get("/api/v1/index?from=2026-06-17&to=2026-06-17", headers=auth).json()["overall"]
    assert float(second["cei"]) == index["cei"] and int(second["n_contractors"]) == index["n_contractors"] == 16


def test_the_export_headers_never_count_a_small_wave(client: TestClient, auth: dict[str, str]) -> None:
    """A wave of three, left out of the export, must not be counted in its headers either."""
    async def brand(world: f.World) -> None:
        people = await f.contractors(world, 3)
        wave = await f.wave("tiny", date(2026, 6, 1), days=7)
        await f.pulses(world, wave, [(c, LONE) for c in people], submitted=f.at(date(2026, 6, 2)))

    client.portal.call(lambda: brand(f.World()))  # type: ignore[union-attr]
    response = client.get("/api/v1/export/pulse-responses.csv?from=2026-06-01&to=2026-06-30", headers=auth)
    assert response.headers["x-rapport-suppressed-waves"] == "1"
    assert response.headers["x-rapport-suppressed-responses"] == "0"
