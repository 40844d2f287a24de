"""Follow-up cases and reminder lists over the API, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from models.entities import FollowupCase, Reminder
from models.keys import create_user

DETRACTOR = {"csat": 2, "nps": 3, "ces": 2, "promise_kept": False, "comment": "=HYPERLINK(\"x\") late and rude"}
HAPPY = {"csat": 5, "nps": 10, "ces": 7, "promise_kept": True}


def _setup(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    """Two contractors, three jobs; a detractor and a happy customer answer through their links."""
    for ext, region in (("c1", "North"), ("c2", "South")):
        client.post("/api/v1/contractors", json={"external_id": ext, "name": f"Name {ext}", "region": region},
                    headers=auth)
    tokens = {}
    for job, contractor, ref in (("J-1", "c1", "CRM-9"), ("J-2", "c2", None), ("J-3", "c2", None)):
        body: dict[str, Any] = {"external_id": job, "contractor": contractor, "completed_at": "2026-03-01T10:00:00Z"}
        if ref:
            body["customer_ref"] = ref
        response = client.post("/api/v1/jobs", json=body, headers=auth)
        assert response.status_code == 201, response.text
        tokens[job] = response.json()["token"]
    for job, answers in (("J-1", DETRACTOR), ("J-2", HAPPY)):
        assert client.post(f"/api/v1/responses/{tokens[job]}", json={"answers": answers}).status_code == 201
    return tokens


def test_a_detractor_answer_is_listed_as_an_open_case_with_its_total(client: TestClient, auth: dict[str, str]) -> None:
    _setup(client, auth)
    body = client.get("/api/v1/followups", headers=auth).json()
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    case = body["cases"][0]
    assert (case["job"], case["customer_ref"], case["contractor"], case["region"]) == ("J-1", "CRM-9", "c1", "North")
    assert (case["csat"], case["nps"], case["status"], case["notes"]) == (2, 3, "open", [])
    assert client.get("/api/v1/followups?q=j-2", headers=auth).json()["total"] == 0  # a happy customer is no case
    assert client.get("/api/v1/followups?region=South", headers=auth).json()["total"] == 0
    assert client.get("/api/v1/followups?sort=loudest", headers=auth).status_code == 400
    assert client.get("/api/v1/followups?page=x", headers=auth).status_code == 400
    assert client.get("/api/v1/followups").status_code == 401


def test_a_case_is_assigned_noted_and_closed(client: TestClient, auth: dict[str, str]) -> None:
    _setup(client, auth)
    client.portal.call(lambda: create_user(username="maria", password="a long enough password"))  # type: ignore[union-attr]
    case_id = client.get("/api/v1/followups", headers=auth).json()["cases"][0]["id"]
    path = f"/api/v1/followups/{case_id}"
    assigned = client.patch(path, json={"assignee": "maria", "note": "Will call today"}, headers=auth)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "maria" and assigned.json()["first_action_at"] is not None
    assert assigned.json()["notes"][0]["author"] == "api:tests"
    assert client.patch(path, json={"root_cause": "weather"}, headers=auth).status_code == 400
    assert client.patch(path, json={"assignee": "ghost"}, headers=auth).status_code == 400
    assert client.patch(path, json={"colour": "red"}, headers=auth).status_code == 400
    assert client.patch(path, content=b"[1]", headers=auth).status_code == 400
    assert client.patch("/api/v1/followups/999999", json={"note": "x"}, headers=auth).status_code == 404
    closed = client.patch(path, json={"root_cause": "process", "outcome": "Refunded; process fixed"}, headers=auth)
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["root_cause"]) == ("closed", "process")
    assert client.get("/api/v1/followups", headers=auth).json()["total"] == 0
    listed = client.get("/api/v1/followups?show=closed&assignee=maria", headers=auth).json()
    assert [c["id"] for c in listed["cases"]] == [case_id]
    assert client.patch(path, json={"outcome": "twice"}, headers=auth).status_code == 400
    assert client.patch(path, json={"reopen": True}, headers=auth).json()["status"] == "open"
    assert client.portal.call(lambda: FollowupCase.all().count()) == 1  # type: ignore[union-attr]


def test_the_cases_as_csv_neutralise_formulas(client: TestClient, auth: dict[str, str]) -> None:
    _setup(client, auth)
    case_id = client.get("/api/v1/followups", headers=auth).json()["cases"][0]["id"]
    client.patch(f"/api/v1/followups/{case_id}", json={"note": "Called back"}, headers=auth)
    response = client.get("/api/v1/followups?show=all", headers={**auth, "Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["job"], row["customer_ref"], row["status"], row["csat"]) == ("J-1", "CRM-9", "open", "2")
    assert row["comment"].startswith("'=HYPERLINK")
    assert row["notes"].startswith("api:tests ") and row["notes"].endswith(": Called back")


def _pulse_answers() -> dict[str, int]:
    from surveys.schema import builtin_survey

    return {q.id: 4 for q in builtin_survey("pulse").questions if q.dimension}


def _wave(client: TestClient, auth: dict[str, str], name: str, *, closes_in: timedelta) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    response = client.post("/api/v1/waves", json={"name": name, "opens_at": (now - timedelta(days=3)).isoformat(),
                                                  "closes_at": (now + closes_in).isoformat()}, headers=auth)
    assert response.status_code == 201, response.text
    invites = client.post(f"/api/v1/waves/{name}/invites", headers=auth).json()
    return invites  # type: ignore[no-any-return]


def test_wave_reminders_leave_out_who_answered_and_who_was_just_reminded(
        client: TestClient, auth: dict[str, str]) -> None:
    for ext in ("c1", "c2", "c3"):
        client.post("/api/v1/contractors", json={"external_id": ext, "name": f"Name {ext}"}, headers=auth)
    invites = _wave(client, auth, "W-open", closes_in=timedelta(days=4))
    answered = next(i for i in invites if i["contractor"] == "c2")
    assert client.post(f"/api/v1/responses/{answered['token']}", json={"answers": _pulse_answers()}).status_code == 201
    listed = client.get("/api/v1/waves/W-open/reminders", headers=auth).json()
    assert [r["contractor"] for r in listed] == ["c1", "c3"]
    assert listed[0]["pulse_url"].endswith("/p/" + listed[0]["token"])
    again = client.get("/api/v1/waves/W-open/reminders", headers=auth).json()
    assert again == listed  # only looking marks nothing
    sent = client.get("/api/v1/waves/W-open/reminders?mark=sent", headers={**auth, "Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(sent.text)))
    assert rows[0] == ["contractor", "name", "token", "pulse_url"]  # the invites' columns
    assert [r[0] for r in rows[1:]] == ["c1", "c3"]
    assert client.get("/api/v1/waves/W-open/reminders", headers=auth).json() == []  # within the gap
    assert client.portal.call(lambda: Reminder.all().count()) == 2  # type: ignore[union-attr]
    assert client.get("/api/v1/waves/nope/reminders", headers=auth).status_code == 404
    assert client.get("/api/v1/waves/W-open/reminders?mark=yes", headers=auth).status_code == 400


def test_a_reminder_list_comes_in_batches_with_a_header_saying_more_wait(
        client: TestClient, auth: dict[str, str]) -> None:
    for ext in ("c1", "c2", "c3"):
        client.post("/api/v1/contractors", json={"external_id": ext, "name": f"Name {ext}"}, headers=auth)
    _wave(client, auth, "W-open", closes_in=timedelta(days=4))
    first = client.get("/api/v1/waves/W-open/reminders?mark=sent&limit=2", headers=auth)
    assert [r["contractor"] for r in first.json()] == ["c1", "c2"] and first.headers["Rapport-More"] == "true"
    rest = client.get("/api/v1/waves/W-open/reminders?mark=sent&limit=2&format=csv", headers=auth)
    assert rest.text.splitlines()[1].startswith("c3,") and rest.headers["Rapport-More"] == "false"
    for bad in ("0", "10001", "many"):
        refused = client.get(f"/api/v1/waves/W-open/reminders?limit={bad}", headers=auth)
        assert refused.status_code == 400 and refused.json()["parameter"] == "limit"


def test_no_wave_reminder_after_the_wave_closes(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/contractors", json={"external_id": "c1", "name": "One"}, headers=auth)
    now = datetime.now(UTC)
    client.post("/api/v1/waves", json={"name": "W-past", "opens_at": (now - timedelta(days=9)).isoformat(),
                                       "closes_at": (now - timedelta(hours=1)).isoformat()}, headers=auth)
    client.post("/api/v1/waves/W-past/invites", headers=auth)
    assert client.get("/api/v1/waves/W-past/reminders?mark=sent", headers=auth).json() == []
    assert client.portal.call(lambda: Reminder.all().count()) == 0  # type: ignore[union-attr]


def test_customer_reminders_once_for_open_unanswered_links(client: TestClient, auth: dict[str, str]) -> None:
    tokens = _setup(client, auth)
    listed = client.get("/api/v1/reminders/customers", headers=auth).json()
    assert [(r["job"], r["token"]) for r in listed] == [("J-3", tokens["J-3"])]  # J-1 and J-2 answered
    assert listed[0]["survey_url"].endswith("/s/" + tokens["J-3"])
    assert client.get("/api/v1/reminders/customers?mark=sent", headers=auth).json() == listed
    assert client.get("/api/v1/reminders/customers", headers=auth).json() == []  # once
    assert client.get("/api/v1/reminders/customers", headers=auth).headers["Rapport-More"] == "false"


def test_the_openapi_document_lists_the_new_paths(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/followups"]) | set(paths["/api/v1/followups/{id}"])
    assert "get" in paths["/api/v1/waves/{name}/reminders"] and "get" in paths["/api/v1/reminders/customers"]


def test_the_worker_evaluates_alerts_among_its_periodic_jobs(client: TestClient) -> None:
    from collector.worker import PERIODIC

    [job] = [p for p in PERIODIC if p.name == "alerts"]
    assert job.every == 60.0
    assert client.portal.call(job.run) == []  # type: ignore[union-attr]  # nobody subscribed: nothing raised
