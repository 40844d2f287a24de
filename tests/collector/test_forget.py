"""Forgetting a contractor or one customer, through the API and the command, on both backends.

Afterwards nothing in the tables, the exports or the audit log names them,
and everyone else's answers are untouched.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from collector.cli import main
from models.db import connection
from models.entities import Contractor, PulseWave
from surveys.schema import builtin_survey
from tests.conftest import open_database

PULSE = {q.id: 4 for q in builtin_survey("pulse").questions if q.dimension}
OTHERS = [f"c{n}" for n in range(10)]
TABLES_WITH_CONTRACTOR = ("pulse_item_answers", "pulse_scores", "pulse_responses", "pulse_invites",
                          "customer_responses", "jobs")


def _brand(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    """Ana and ten others, a pulse wave all eleven answered (since closed), Ana's two jobs (one
    answered) and one job of c0's (answered), with a webhook endpoint subscribed to customer
    answers (so their events wait in the outbox). Returns Ana's links and ids."""
    hook = client.post("/api/v1/webhooks", headers=auth, json={
        "url": "https://crm.test/hook", "events": ["customer_response.created", "customer_response.detractor"]})
    assert hook.status_code == 201, hook.text
    for ext in ["ana", *OTHERS]:
        name = "Ana Forgettable" if ext == "ana" else f"Person {ext}"
        assert client.post("/api/v1/contractors", json={"external_id": ext, "name": name, "region": "North"},
                           headers=auth).status_code == 201
    now = datetime.now(UTC)
    client.post("/api/v1/waves", json={"name": "w1", "opens_at": (now - timedelta(days=1)).isoformat(),
                                       "closes_at": (now + timedelta(days=6)).isoformat()}, headers=auth)
    invites = {i["contractor"]: i["token"] for i in client.post("/api/v1/waves/w1/invites", headers=auth).json()}
    for ext, token in invites.items():
        comment = "ana-pulse-secret" if ext == "ana" else f"pulse of {ext}"
        answered = client.post(f"/api/v1/responses/{token}", json={"answers": {**PULSE, "comment": comment}})
        assert answered.status_code == 201, answered.text
    closed = datetime.now(UTC) - timedelta(minutes=1)  # reports read closed waves only
    client.portal.call(lambda: PulseWave.filter(name="w1").update(closes_at=closed))  # type: ignore[union-attr]
    jobs = {}
    for job, who in (("ja1", "ana"), ("ja2", "ana"), ("jb1", "c0")):
        made = client.post("/api/v1/jobs", json={"external_id": job, "contractor": who,
                                                 "completed_at": "2026-01-05T10:00:00Z"}, headers=auth)
        jobs[job] = made.json()["token"]
    for job in ("ja1", "jb1"):
        answers = {"csat": 2, "nps": 3, "ces": 2, "promise_kept": False,
                   "comment": "Ana-the-worker was late" if job == "ja1" else "fine"}
        assert client.post(f"/api/v1/responses/{jobs[job]}", json={"answers": answers}).status_code == 201
    ana = client.portal.call(lambda: Contractor.get(external_id="ana"))  # type: ignore[union-attr]
    return {"id": ana.id, "invite": invites["ana"], "jobs": jobs}


def _rows_of(client: TestClient, contractor_id: int) -> dict[str, int]:
    async def count() -> dict[str, int]:
        found = {}
        for table in TABLES_WITH_CONTRACTOR:
            rows = await connection().execute_query_dict(
                f"SELECT COUNT(*) AS n FROM {table} WHERE contractor_id = {int(contractor_id)}")
            found[table] = rows[0]["n"]
        return found

    return client.portal.call(count)  # type: ignore[union-attr]


def _outbox(client: TestClient) -> str:
    async def bodies() -> str:
        return repr(await connection().execute_query_dict("SELECT payload FROM webhook_outbox"))

    return client.portal.call(bodies)  # type: ignore[union-attr, no-any-return]


def _exports(client: TestClient, auth: dict[str, str]) -> str:
    customer = client.get("/api/v1/export/customer-responses.csv", headers=auth)
    pulse = client.get("/api/v1/export/pulse-responses.csv", headers=auth)
    assert customer.status_code == pulse.status_code == 200
    return customer.text + pulse.text


def test_forgetting_a_contractor_leaves_nothing_that_names_them(client: TestClient, auth: dict[str, str]) -> None:
    ana = _brand(client, auth)
    before = _exports(client, auth)
    assert "ana" in before and "ana-pulse-secret" in before and "Ana-the-worker" in before  # the test can fail
    assert '"contractor":"ana"' in _outbox(client) and "Ana-the-worker" in _outbox(client)
    assert sum(_rows_of(client, ana["id"]).values()) > 0

    response = client.delete("/api/v1/contractors/ana", headers=auth)

    assert response.status_code == 200
    forgotten = response.json()["forgotten"]
    assert forgotten["contractors"] == 1 and forgotten["pulse_responses"] == 1 and forgotten["pulse_invites"] == 1
    assert forgotten["jobs"] == 2 and forgotten["customer_responses"] == 1
    assert forgotten["pulse_scores"] == 6 and forgotten["pulse_item_answers"] == len(PULSE)
    assert forgotten["webhook_events"] == 2  # her detractor's created and detractor events, not yet sent
    assert '"ana"' not in _outbox(client) and "Ana-the-worker" not in _outbox(client) and "ja1" not in _outbox(client)
    assert '"job":"jb1"' in _outbox(client)  # c0's events still go
    assert _rows_of(client, ana["id"]) == dict.fromkeys(TABLES_WITH_CONTRACTOR, 0)
    after = _exports(client, auth)
    for trace in ("ana", "Ana", "ja1", "ja2", "ana-pulse-secret", "Ana-the-worker"):
        assert trace not in after
    # everyone else is untouched: ten pulse answers, c0's customer answer
    assert after.count("pulse of c") == 10 and "jb1" in after and "fine" in after
    # her links are gone; the audit log does not name her
    assert client.get(f"/s/{ana['jobs']['ja2']}").status_code == 404
    assert client.get(f"/p/{ana['invite']}").status_code == 404
    assert "ana" not in str(client.portal.call(_audit_text))  # type: ignore[union-attr]
    # a second time: nobody to forget
    again = client.delete("/api/v1/contractors/ana", headers=auth)
    assert again.status_code == 404 and "ana" in again.json()["error"]


async def _audit_text() -> str:
    rows = await connection().execute_query_dict("SELECT * FROM audit_log")
    return repr(rows)


def test_forgetting_one_customer_keeps_the_contractor_and_the_others(client: TestClient,
                                                                     auth: dict[str, str]) -> None:
    ana = _brand(client, auth)
    response = client.delete("/api/v1/jobs/ja1", headers=auth)
    assert response.status_code == 200
    assert response.json()["forgotten"] == {"contractors": 0, "pulse_responses": 0, "pulse_scores": 0,
                                            "pulse_item_answers": 0, "pulse_invites": 0, "jobs": 1,
                                            "customer_responses": 1, "webhook_events": 2}
    assert "ja1" not in _outbox(client) and "Ana-the-worker" not in _outbox(client)
    assert '"job":"jb1"' in _outbox(client)
    after = _exports(client, auth)
    assert "Ana-the-worker" not in after and "ja1" not in after and "jb1" in after
    assert client.get(f"/s/{ana['jobs']['ja1']}").status_code == 404  # the link cannot be answered again
    assert client.get(f"/s/{ana['jobs']['ja2']}").status_code == 200
    assert client.delete("/api/v1/jobs/ja1", headers=auth).status_code == 404
    assert client.delete("/api/v1/jobs/jb1").status_code == 401  # a key is needed


def _rapport(url: str, *args: str) -> int:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()
    return main(["--database-url", url, *args])


def test_rapport_forget_by_external_id_or_token(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from collector.app import create_app
    from models.keys import create_api_key

    with TestClient(create_app(db_url)) as client:
        key = client.portal.call(lambda: create_api_key(name="crm"))  # type: ignore[union-attr]
        ana = _brand(client, {"Authorization": f"Bearer {key}"})

    assert _rapport(db_url, "forget", "customer-response", "--token", ana["jobs"]["jb1"]) == 0
    assert "1 jobs, 1 customer responses" in capsys.readouterr().out
    assert _rapport(db_url, "forget", "contractor", "ana") == 0
    out = capsys.readouterr().out
    assert "1 contractors" in out and "2 jobs" in out and "1 customer responses" in out
    assert _rapport(db_url, "forget", "contractor", "ana") == 2
    assert "nothing was deleted" in capsys.readouterr().err
    assert _rapport(db_url, "forget", "customer-response", "--job", "nope") == 2

    async def left() -> tuple[int, int]:
        await open_database(db_url)
        try:
            rows = await connection().execute_query_dict("SELECT COUNT(*) AS n FROM customer_responses")
            return rows[0]["n"], await Contractor.all().count()
        finally:
            from tortoise import Tortoise

            await Tortoise.close_connections()

    assert asyncio.run(left()) == (0, 10)
