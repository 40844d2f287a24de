"""The collector's guards: 429s for addresses that fail too often, and the audit log.

Rate limits run on both storages (memory and Redis); the audit on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from collector.app import create_app
from models.audit import AuditLog, entries, prune
from models.entities import AuditEntry
from models.keys import create_api_key
from models.ratelimit import RateLimits


@pytest.fixture
def guarded(_sqlite_url: str, rate_limits: Callable[..., RateLimits]) -> Iterator[TestClient]:
    """The collector on SQLite with small limits, on each limiter storage in turn."""
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from tests.conftest import _empty, _run

    _run(_empty(_sqlite_url))
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(_sqlite_url, rate_limits=rate_limits(link="3/minute", key="3/minute"))) as client:
        yield client


def _key(client: TestClient, name: str = "crm") -> dict[str, str]:
    key = client.portal.call(lambda: create_api_key(name=name))  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {key}"}


def _job_token(client: TestClient, auth: dict[str, str]) -> str:
    client.post("/api/v1/contractors", json={"external_id": "c1", "name": "Ann", "region": "North"}, headers=auth)
    job = client.post("/api/v1/jobs", json={"external_id": "j1", "contractor": "c1",
                                            "completed_at": "2025-03-01T10:00:00Z"}, headers=auth)
    return str(job.json()["token"])


def test_unknown_links_from_one_address_get_429_with_retry_after(guarded: TestClient) -> None:
    auth = _key(guarded)
    token = _job_token(guarded, auth)
    for _ in range(5):  # a valid link never counts
        assert guarded.get(f"/s/{token}").status_code == 200
    for n in range(3):
        assert guarded.get(f"/s/guess{n}").status_code == 404
    page = guarded.get("/s/guess-more", headers={"accept-language": "es"})
    assert page.status_code == 429
    assert 1 <= int(page.headers["retry-after"]) <= 60
    assert "Demasiados intentos" in page.text and page.headers["x-frame-options"] == "DENY"
    # the same address is refused on the pulse page and the JSON endpoint too, valid links included
    assert guarded.get(f"/s/{token}").status_code == 429
    api = guarded.post("/api/v1/responses/anything", json={"answers": {}})
    assert api.status_code == 429 and "retry-after" in api.headers
    assert "Too many unknown survey links" in api.json()["error"]
    # the admin API is another rule: a valid key still works from this address
    assert guarded.get("/api/v1/surveys", headers=auth).status_code == 200


def test_wrong_api_keys_get_429_and_then_even_a_right_one_waits(guarded: TestClient) -> None:
    auth = _key(guarded)
    for _ in range(4):  # a right key never counts
        assert guarded.get("/api/v1/surveys", headers=auth).status_code == 200
    for n in range(3):
        assert guarded.get("/api/v1/surveys", headers={"Authorization": f"Bearer rpk_wrong{n}"}).status_code == 401
    refused = guarded.get("/api/v1/surveys", headers={"Authorization": "Bearer rpk_wrong9"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"].startswith("Too many wrong API keys")
    assert guarded.get("/api/v1/surveys", headers=auth).status_code == 429  # no more guesses, right or wrong
    # answering a survey is not an API-key route: unaffected
    assert guarded.get(f"/s/{'x' * 8}").status_code == 404


# --- audit ---------------------------------------------------------------------------


def _audit(client: TestClient) -> list:  # type: ignore[type-arg]
    return client.portal.call(lambda: entries())  # type: ignore[union-attr]


def test_reads_and_exports_are_audited_by_route_without_secrets(client: TestClient, api_key: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    _job_token(client, auth)
    assert _audit(client) == []  # the per-job feed is not audited
    client.get("/api/v1/export/customer-responses.csv", headers=auth)
    client.get("/api/v1/customer?from=2025-01-01&region=North&token=secret", headers=auth)
    client.get("/api/v1/surveys", headers={"Authorization": "Bearer rpk_wrong"})  # not a key: no actor
    log = _audit(client)
    assert [(e.actor_kind, e.actor, e.action, e.status) for e in log] == [
        ("api_key", "tests", "GET /api/v1/export/customer-responses.csv", 200),
        ("api_key", "tests", "GET /api/v1/customer", 200),
    ]
    assert log[1].params == {"from": "2025-01-01", "region": "North"}  # the token left out
    assert log[0].client == "testclient"


def test_a_forget_is_audited_without_the_persons_id(client: TestClient, auth: dict[str, str]) -> None:
    _job_token(client, auth)
    assert client.delete("/api/v1/contractors/c1", headers=auth).status_code == 200
    [entry] = _audit(client)
    assert entry.action == "DELETE /api/v1/contractors/{external_id}" and entry.params == {}
    assert "c1" not in str(entry)


@pytest.mark.anyio
async def test_old_entries_are_pruned(db: str) -> None:
    log = AuditLog()
    await log.record(actor_kind="user", actor="ann", action="view /dashboard/", params={}, status=None,
                     client="10.0.0.1")
    await AuditEntry.create(at=datetime.now(UTC) - timedelta(days=400), actor_kind="user", actor="old",
                            action="view /dashboard/", params={}, client="")
    assert await prune(days=365) == 1
    assert [e.actor for e in await entries()] == ["ann"]
    assert [e.actor for e in await entries(actor="nobody")] == []
    assert await entries(since=datetime.now(UTC) + timedelta(minutes=1)) == []
