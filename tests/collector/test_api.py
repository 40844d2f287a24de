"""The admin JSON API and the JSON answer endpoint, on both backends."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from collector.app import create_app
from models.entities import CustomerResponse, Job, PulseResponse, PulseScore
from surveys.schema import builtin_survey

CUSTOMER = {"csat": 5, "nps": 10, "ces": 7, "promise_kept": True, "comment": "Quick and kind"}
PULSE = {q.id: 4 for q in builtin_survey("pulse").questions if q.dimension}


def _contractor(client: TestClient, auth: dict[str, str], ext: str = "c1", **extra: Any) -> Any:
    return client.post("/api/v1/contractors", json={"external_id": ext, "name": f"Name {ext}", **extra}, headers=auth)


def _job(client: TestClient, auth: dict[str, str], ext: str = "j1") -> dict[str, str]:
    _contractor(client, auth)
    response = client.post(
        "/api/v1/jobs",
        json={"external_id": ext, "contractor": "c1", "completed_at": "2025-03-01T10:00:00Z"},
        headers=auth,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _wave(client: TestClient, auth: dict[str, str], name: str = "w1", *, closed: bool = False) -> None:
    now = datetime.now(UTC)
    closes = now - timedelta(hours=1) if closed else now + timedelta(days=7)
    response = client.post(
        "/api/v1/waves",
        json={"name": name, "opens_at": (now - timedelta(days=7)).isoformat(), "closes_at": closes.isoformat()},
        headers=auth,
    )
    assert response.status_code == 201, response.text


def _count(client: TestClient, model: Any) -> int:
    return client.portal.call(lambda: model.all().count())  # type: ignore[union-attr]


def test_contractor_is_created_then_updated(client: TestClient, auth: dict[str, str]) -> None:
    created = _contractor(client, auth, region="North", service_type="plumbing", started_on="2024-05-01")
    assert created.status_code == 201
    assert created.json()["started_on"] == "2024-05-01"
    updated = _contractor(client, auth, region="South")
    assert updated.status_code == 200
    assert updated.json()["region"] == "South"
    assert updated.json()["service_type"] == "plumbing"  # not given: kept


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "external_id"),
        ({"external_id": "c1"}, "name"),
        ({"external_id": "c1", "name": "x", "started_on": "May 1st"}, "started_on"),
        ({"external_id": 7, "name": "x"}, "external_id"),
        ({"external_id": "c1", "name": "x", "active": "yes"}, "active"),
    ],
)
def test_contractor_body_errors_name_the_field(
    client: TestClient, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/contractors", json=body, headers=auth)
    assert response.status_code == 400
    assert field in response.json()["error"]


def test_bad_json_is_a_400(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/contractors", content=b"{nope", headers=auth)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]
    assert client.post("/api/v1/jobs", json=[1, 2], headers=auth).status_code == 400


def test_job_gets_one_link_and_the_same_again(client: TestClient, auth: dict[str, str]) -> None:
    first = _job(client, auth)
    assert first["survey_url"] == f"http://testserver/s/{first['token']}"
    assert len(first["token"]) >= 22  # >= 128 bits in URL-safe base64
    expires = datetime.fromisoformat(first["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    again = client.post(
        "/api/v1/jobs",
        json={"external_id": "j1", "contractor": "c1", "completed_at": "2025-03-01T10:00:00Z"},
        headers=auth,
    )
    assert again.status_code == 200
    assert again.json() == first
    assert _count(client, Job) == 1


def test_job_errors(client: TestClient, auth: dict[str, str]) -> None:
    unknown = client.post(
        "/api/v1/jobs", json={"external_id": "j1", "contractor": "ghost", "completed_at": "2025-03-01"}, headers=auth
    )
    assert unknown.status_code == 404 and "ghost" in unknown.json()["error"]
    _contractor(client, auth)
    bad_date = client.post(
        "/api/v1/jobs", json={"external_id": "j1", "contractor": "c1", "completed_at": "yesterday"}, headers=auth
    )
    assert bad_date.status_code == 400 and "completed_at" in bad_date.json()["error"]


def test_naive_dates_are_utc(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/waves", json={"name": "w1", "opens_at": "2025-03-01T08:00", "closes_at": "2025-03-08"}, headers=auth
    )
    assert response.status_code == 201
    assert response.json()["opens_at"] == "2025-03-01T08:00:00+00:00"


def test_wave_errors(client: TestClient, auth: dict[str, str]) -> None:
    _wave(client, auth)
    duplicate = client.post(
        "/api/v1/waves", json={"name": "w1", "opens_at": "2025-03-01", "closes_at": "2025-03-08"}, headers=auth
    )
    assert duplicate.status_code == 409
    backwards = client.post(
        "/api/v1/waves", json={"name": "w2", "opens_at": "2025-03-08", "closes_at": "2025-03-01"}, headers=auth
    )
    assert backwards.status_code == 400 and "closes_at" in backwards.json()["error"]
    missing = client.post("/api/v1/waves", json={"name": "w3", "opens_at": "2025-03-08"}, headers=auth)
    assert missing.status_code == 400 and "closes_at" in missing.json()["error"]


def test_invites_json_and_csv(client: TestClient, auth: dict[str, str]) -> None:
    _contractor(client, auth, "c1")
    _contractor(client, auth, "c2")
    client.post("/api/v1/contractors", json={"external_id": "c3", "name": "=HYPERLINK()"}, headers=auth)
    _contractor(client, auth, "c4", active=False)
    _wave(client, auth)
    created = client.post("/api/v1/waves/w1/invites", headers=auth)
    assert created.status_code == 201
    invites = created.json()
    assert [i["contractor"] for i in invites] == ["c1", "c2", "c3"]
    assert invites[0]["pulse_url"] == f"http://testserver/p/{invites[0]['token']}"
    listed = client.get("/api/v1/waves/w1/invites", headers=auth)
    assert listed.json() == invites
    # a given list, idempotent for those invited already
    more = client.post("/api/v1/waves/w1/invites", json={"contractors": ["c4", "c1"]}, headers=auth)
    assert [i["contractor"] for i in more.json()] == ["c4", "c1"]
    assert more.json()[1] == invites[0]
    as_csv = client.get("/api/v1/waves/w1/invites", headers={**auth, "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["contractor"] for r in rows] == ["c1", "c2", "c3", "c4"]
    assert rows[0]["pulse_url"] == invites[0]["pulse_url"]
    assert rows[2]["name"] == "'=HYPERLINK()"


def test_invite_errors(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/api/v1/waves/nope/invites", headers=auth).status_code == 404
    assert client.get("/api/v1/waves/nope/invites", headers=auth).status_code == 404
    _wave(client, auth)
    ghost = client.post("/api/v1/waves/w1/invites", json={"contractors": ["ghost"]}, headers=auth)
    assert ghost.status_code == 404 and "ghost" in ghost.json()["error"]
    bad = client.post("/api/v1/waves/w1/invites", json={"contractors": "c1"}, headers=auth)
    assert bad.status_code == 400 and "contractors" in bad.json()["error"]


def test_surveys_lists_item_ids(client: TestClient, auth: dict[str, str]) -> None:
    surveys = {s["id"]: s for s in client.get("/api/v1/surveys", headers=auth).json()["surveys"]}
    customer = {q["id"]: q for q in surveys["customer"]["questions"]}
    assert customer["nps"]["range"] == [0, 10] and customer["nps"]["type"] == "scale_0_10"
    pulse = surveys["pulse"]["questions"]
    assert {q["dimension"] for q in pulse if q["dimension"]} == {
        "connection", "empowerment", "backing", "process", "trust", "knowledge"
    }
    assert client.get("/api/v1/surveys").status_code == 401


def test_admin_endpoints_need_a_key(client: TestClient) -> None:
    for method, path in [("post", "/api/v1/contractors"), ("post", "/api/v1/jobs"), ("post", "/api/v1/waves"),
                         ("post", "/api/v1/waves/w1/invites"), ("get", "/api/v1/waves/w1/invites")]:
        assert getattr(client, method)(path).status_code == 401, path


# --- answering by JSON -------------------------------------------------------------


def test_answer_is_stored_and_a_retry_returns_the_original(client: TestClient, auth: dict[str, str]) -> None:
    token = _job(client, auth)["token"]
    url = f"/api/v1/responses/{token}"
    first = client.post(url, json={"answers": CUSTOMER, "submission_id": "sub-1"})  # no API key needed
    assert first.status_code == 201
    assert first.json()["survey"] == "customer" and first.json()["submission_id"] == "sub-1"
    retry = client.post(url, json={"answers": CUSTOMER, "submission_id": "sub-1"})
    assert retry.status_code == 201 and retry.json() == first.json()
    other = client.post(url, json={"answers": CUSTOMER, "submission_id": "sub-2"})
    assert other.status_code == 409
    assert _count(client, CustomerResponse) == 1
    row = client.portal.call(lambda: CustomerResponse.get())  # type: ignore[union-attr]
    assert (row.csat, row.nps, row.source) == (5, 10, "api")


def test_invalid_answers_are_a_422_listing_each_field(client: TestClient, auth: dict[str, str]) -> None:
    token = _job(client, auth)["token"]
    response = client.post(f"/api/v1/responses/{token}", json={"answers": {"csat": 9, "bogus": 1}})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"csat", "nps", "ces", "promise_kept", "bogus"}
    spanish = client.post(f"/api/v1/responses/{token}", json={"answers": {"csat": 9}, "lang": "es"})
    assert spanish.json()["errors"]["nps"] == "Por favor, responde esta pregunta."
    assert _count(client, CustomerResponse) == 0


def test_answer_body_errors(client: TestClient, auth: dict[str, str]) -> None:
    token = _job(client, auth)["token"]
    no_answers = client.post(f"/api/v1/responses/{token}", json={"submission_id": "x"})
    assert no_answers.status_code == 400 and "answers" in no_answers.json()["error"]
    long_id = client.post(f"/api/v1/responses/{token}", json={"answers": CUSTOMER, "submission_id": "x" * 65})
    assert long_id.status_code == 400 and "submission_id" in long_id.json()["error"]


def test_unknown_link_is_a_404(client: TestClient) -> None:
    assert client.post("/api/v1/responses/nope", json={"answers": CUSTOMER}).status_code == 404


def test_expired_link_is_a_410(client: TestClient, auth: dict[str, str]) -> None:
    token = _job(client, auth)["token"]
    client.portal.call(  # type: ignore[union-attr]
        lambda: Job.filter(token=token).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    response = client.post(f"/api/v1/responses/{token}", json={"answers": CUSTOMER})
    assert response.status_code == 410
    assert _count(client, CustomerResponse) == 0


def test_pulse_answers_by_json_and_closed_wave_is_a_410(client: TestClient, auth: dict[str, str]) -> None:
    _contractor(client, auth)
    _wave(client, auth, "open")
    _wave(client, auth, "closed", closed=True)
    [live] = client.post("/api/v1/waves/open/invites", headers=auth).json()
    [dead] = client.post("/api/v1/waves/closed/invites", headers=auth).json()
    stored = client.post(f"/api/v1/responses/{live['token']}", json={"answers": PULSE, "submission_id": "p"})
    assert stored.status_code == 201 and stored.json()["survey"] == "pulse"
    assert _count(client, PulseScore) == 6
    assert client.post(f"/api/v1/responses/{live['token']}", json={"answers": PULSE}).status_code == 409
    assert client.post(f"/api/v1/responses/{dead['token']}", json={"answers": PULSE}).status_code == 410
    assert _count(client, PulseResponse) == 1


def test_pulse_items_answered_skip_by_json_are_unanswered(client: TestClient, auth: dict[str, str]) -> None:
    _contractor(client, auth)
    _wave(client, auth, "open")
    [live] = client.post("/api/v1/waves/open/invites", headers=auth).json()
    url = f"/api/v1/responses/{live['token']}"
    blank = client.post(url, json={"answers": {**PULSE, "trust_judgement": None}})
    assert blank.status_code == 422 and list(blank.json()["errors"]) == ["trust_judgement"]
    answers = {**PULSE, "trust_judgement": "skip", "trust_respect": "skip"}
    assert client.post(url, json={"answers": answers}).status_code == 201
    assert _count(client, PulseScore) == 5  # trust, with no item answered, is left out


def test_wave_not_open_yet_refuses_answers(client: TestClient, auth: dict[str, str]) -> None:
    _contractor(client, auth)
    start = datetime.now(UTC) + timedelta(days=1)
    client.post(
        "/api/v1/waves",
        json={"name": "later", "opens_at": start.isoformat(), "closes_at": (start + timedelta(days=7)).isoformat()},
        headers=auth,
    )
    [invite] = client.post("/api/v1/waves/later/invites", headers=auth).json()
    assert client.post(f"/api/v1/responses/{invite['token']}", json={"answers": PULSE}).status_code == 403


def test_simultaneous_submissions_of_one_link_store_one(client: TestClient, auth: dict[str, str]) -> None:
    token = _job(client, auth)["token"]

    def submit(n: int) -> int:
        body = {"answers": CUSTOMER, "submission_id": f"s{n}"}
        return client.post(f"/api/v1/responses/{token}", json=body).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(submit, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert _count(client, CustomerResponse) == 1


# --- OpenAPI -----------------------------------------------------------------------


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json")  # public: no key
    assert document.status_code == 200
    body = document.json()
    assert body["openapi"].startswith("3.1")
    app = create_app("sqlite://:memory:")
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1"):
            operations = body["paths"].get(route.path, {})
            for method in route.methods or ():
                if method != "HEAD":
                    assert method.lower() in operations, f"{method} {route.path} missing from OpenAPI"
    assert body["paths"]["/api/v1/responses/{token}"]["post"]["security"] == []
