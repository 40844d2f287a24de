"""The analytics endpoints: thin handlers over models.analytics, on both backends."""

from __future__ import annotations

import random

import numpy as np
import pytest
from starlette.testclient import TestClient

from tests import factories as f


def _build(client: TestClient, build) -> f.World:  # type: ignore[no-untyped-def]
    world = f.World()
    client.portal.call(lambda: build(world))  # type: ignore[union-attr]
    return world


def test_linkage_r_matches_numpy(client: TestClient, auth: dict[str, str]) -> None:
    world = _build(client, lambda w: f.correlated_world(w, n=90))
    response = client.get("/api/v1/linkage?from=2026-03-01&to=2026-03-31&group_by=region", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    ids = sorted(world.cei)
    expected = np.corrcoef([np.mean(world.cei[i]) for i in ids], [np.mean(world.csat[i]) for i in ids])[0, 1]
    cell = next(c for c in body["correlations"] if c["x"] == "cei" and c["y"] == "csat")
    assert cell["r"] == pytest.approx(float(expected), abs=1e-9)
    assert body["n"] == 90 and body["power"]["adequate"] is True
    assert {g["group"] for g in body["groups"]} == {"north", "south", "east"}


def test_index_and_customer(client: TestClient, auth: dict[str, str]) -> None:
    _build(client, lambda w: f.correlated_world(w, n=30))
    index = client.get("/api/v1/index?from=2026-03-01&to=2026-03-31&group_by=wave", headers=auth).json()
    assert index["overall"]["n_contractors"] == 30 and index["overall"]["cei"] is not None
    assert index["trend"][0]["wave"] == "March"
    customer = client.get("/api/v1/customer?from=2026-03-01&to=2026-03-31&group_by=region", headers=auth)
    assert customer.status_code == 200 and customer.json()["overall"]["n"] == 90


def test_small_group_is_suppressed_with_nulls(client: TestClient, auth: dict[str, str]) -> None:
    _build(client, lambda w: f.correlated_world(w, n=12, regions=("north", "south", "tiny")))
    body = client.get("/api/v1/index?from=2026-03-01&to=2026-03-31&region=tiny", headers=auth).json()
    assert body["overall"]["suppressed"] is True and body["overall"]["cei"] is None
    assert all(d["score"] is None for d in body["overall"]["dimensions"].values())
    link = client.get("/api/v1/linkage?from=2026-03-01&to=2026-03-31&region=tiny", headers=auth).json()
    assert link["suppressed"] is True and link["correlations"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("group_by=colour", "group_by"),
        ("lag_days=-1", "lag_days"),
        ("lag_days=x", "lag_days"),
        ("min_responses=0", "min_responses"),
        ("min_responses=3", "min_responses"),
        ("min_responses=", "min_responses"),
        ("tenure_band=ages", "tenure_band"),
    ],
)
def test_bad_parameters_name_themselves(client: TestClient, auth: dict[str, str], query: str,
                                        parameter: str) -> None:
    response = client.get(f"/api/v1/linkage?{query}", headers=auth)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter and parameter in response.json()["error"]


def test_min_responses_is_the_deployment_setting_not_a_parameter(client: TestClient, auth: dict[str, str]) -> None:
    _build(client, lambda w: f.correlated_world(w, n=30))
    response = client.get("/api/v1/linkage?from=2026-03-01&to=2026-03-31&min_responses=20", headers=auth)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "min_responses"
    assert "RAPPORT_MIN_CUSTOMER_RESPONSES" in body["error"] and "deployment setting" in body["error"]
    report = client.get("/api/v1/linkage?from=2026-03-01&to=2026-03-31", headers=auth).json()
    assert report["min_responses"] == 3 and report["n"] == 30  # the setting (default 3) says who counts


def test_customer_has_no_wave_breakdown(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/customer?group_by=wave", headers=auth)
    assert response.status_code == 400 and response.json()["parameter"] == "group_by"


def test_needs_a_key(client: TestClient) -> None:
    assert client.get("/api/v1/index").status_code == 401


async def _commented_world(world: f.World) -> None:
    """A closed wave of 12 north and 4 south contractors, each with a comment, and customers' comments."""
    from datetime import date

    from models.entities import CustomerResponse

    north = await f.contractors(world, 12, region="north")
    south = await f.contractors(world, 4, region="south")
    w = await f.wave("March", date(2026, 3, 1), days=7)
    for i, person in enumerate(north + south):
        text = f"{'north' if person in north else 'south'} {i}: the training is poor"
        await f.pulses(world, w, [(person, f.answers_for(4.0, random.Random(i)))],
                       submitted=f.at(date(2026, 3, 3)), comment=text)
    await f.customers(world, [(north[0], 1, 2, 3, False), (south[0], 5, 10, 7, True)],
                      completed=f.at(date(2026, 3, 4)))
    for response, text in zip(await CustomerResponse.all().order_by("id"), ["Came late", "Lovely, on time"],
                              strict=True):
        response.comment = text
        await response.save()


def test_comments_through_the_same_gate_as_the_index(client: TestClient, auth: dict[str, str]) -> None:
    _build(client, _commented_world)
    base = "/api/v1/comments?from=2026-03-01&to=2026-03-31"
    body = client.get(base, headers=auth).json()
    [wave] = body["contractors"]["waves"]
    assert wave["shown"] and wave["n_comments"] == 16 and wave["themes"]["knowledge"] == 16
    assert len(wave["comments"]) == 16 and set(wave["comments"][0]) == {"text", "themes"}
    assert [c["text"] for c in body["customers"]["comments"]] == ["Lovely, on time", "Came late"]  # same day
    assert body["customers"]["counts"]["punctuality"] == 2
    for region in ("north", "south"):  # south is under 10; north is everyone minus south
        [hidden] = client.get(f"{base}&region={region}", headers=auth).json()["contractors"]["waves"]
        assert not hidden["shown"] and hidden["comments"] == [] and hidden["n_comments"] is None
        assert hidden["reason"].startswith("Comments are shown only for groups of 10 or more")
        index = client.get(f"/api/v1/index?from=2026-03-01&to=2026-03-31&region={region}", headers=auth).json()
        assert index["overall"]["comments_suppressed"] is True  # the index's own comments agree
    only = client.get(f"{base}&theme=trust&customer_theme=punctuality&q=on%20ti", headers=auth).json()
    assert only["contractors"]["waves"][0]["comments"] == [] and only["customers"]["total"] == 1


@pytest.mark.parametrize(("query", "parameter"), [
    ("theme=pay", "theme"), ("customer_theme=knowledge", "customer_theme"), ("page=0", "page"),
    ("q=" + "x" * 101, "q"), ("region=nowhere", "region"),
])
def test_comments_refuse_a_bad_parameter_by_name(client: TestClient, auth: dict[str, str], query: str,
                                                 parameter: str) -> None:
    _build(client, _commented_world)
    answer = client.get(f"/api/v1/comments?from=2026-03-01&to=2026-03-31&{query}", headers=auth)
    assert answer.status_code == 400, answer.text
    assert answer.json()["parameter"] == parameter
