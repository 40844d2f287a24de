"""Outages: a private PostgreSQL cluster stopped mid-test, a SQLite file locked by another
connection. Every route answers 503 with Retry-After, people keep their answers, and the
collector recovers by itself."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from starlette.testclient import TestClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import OperationalError

from bench.cluster import PrivateCluster, postgres_bin
from collector.app import create_app
from collector.faults import RETRY_AFTER, database_error
from models import queries
from models.db import POSTGRES_SESSION, connection, migrate
from models.keys import create_api_key

ANSWERS = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": "Fine"}
FORM = {"csat": "2", "nps": "3", "ces": "4", "promise_kept": "no", "comment": "Late, but polite"}


def _seed(client: TestClient, jobs: int = 3) -> tuple[dict[str, str], list[str]]:
    async def make() -> tuple[str, list[str]]:
        key = await create_api_key(name="faults")
        await queries.upsert_contractor(external_id="c1", name="Ana")
        tokens = []
        for i in range(jobs):
            job, _ = await queries.register_job(external_id=f"j{i}", contractor="c1", completed_at=datetime.now(UTC))
            tokens.append(job.token)
        return key, tokens

    key, tokens = client.portal.call(make)  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {key}"}, tokens


def _assert_unavailable_json(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    if postgres_bin() is None:
        pytest.skip("no PostgreSQL server binaries to start a private cluster")
    with PrivateCluster() as private:
        asyncio.run(migrate(private.url))
        yield private


@pytest.fixture
def pg_client(cluster: PrivateCluster) -> Iterator[TestClient]:
    if not cluster.running():
        cluster.start()
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(cluster.url)) as client:
        client.portal.call(lambda: connection().execute_script(  # type: ignore[union-attr]
            "TRUNCATE customer_responses, jobs, contractors, api_keys RESTART IDENTITY CASCADE"))
        yield client


def test_a_stopped_postgresql_gives_503s_and_the_collector_recovers(
    pg_client: TestClient, cluster: PrivateCluster
) -> None:
    auth, tokens = _seed(pg_client)
    assert pg_client.get("/healthz").json() == {"status": "ok"}
    cluster.stop()

    health = pg_client.get("/healthz")
    _assert_unavailable_json(health)
    assert health.json() == {"status": "unavailable"}  # no driver text, host or port
    _assert_unavailable_json(pg_client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS}))
    _assert_unavailable_json(pg_client.get("/api/v1/index", headers=auth))  # the key check fails first
    _assert_unavailable_json(pg_client.post("/api/v1/import/contractors", headers=auth,
                                            content="external_id,name,region,service_type,started_on\nc9,B,,,\n"))

    page = pg_client.get(f"/s/{tokens[0]}")
    assert page.status_code == 503
    assert page.headers["retry-after"] == str(RETRY_AFTER)
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "try again in a few seconds" in page.text

    form = pg_client.post(f"/s/{tokens[1]}", data={**FORM, "submission_id": "form-1"})
    assert form.status_code == 503
    assert form.headers["retry-after"] == str(RETRY_AFTER)
    assert "We couldn&#39;t save this, please try again" in form.text
    assert 'value="form-1"' in form.text  # the retry is the same submission
    assert "Late, but polite</textarea>" in form.text
    assert 'value="2" checked' in form.text and 'value="no" checked' in form.text

    cluster.start()
    assert pg_client.get("/healthz").json() == {"status": "ok"}  # recovered without a restart
    assert pg_client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS}).status_code == 201
    retried = pg_client.post(f"/s/{tokens[1]}", data={**FORM, "submission_id": "form-1"})
    assert retried.status_code == 200
    assert pg_client.get("/api/v1/index", headers=auth).status_code == 200


def test_a_restarted_postgresql_breaks_no_request_after_it(pg_client: TestClient, cluster: PrivateCluster) -> None:
    _, tokens = _seed(pg_client)
    assert pg_client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS}).status_code == 201
    cluster.restart()  # every pooled connection is now dead
    statuses = [pg_client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS}).status_code
                for token in tokens[1:]]
    assert set(statuses) <= {201, 503}  # a broken pooled connection is a 503, never a 500
    for token in tokens[1:]:  # and a retry stores it
        assert pg_client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS}).status_code in (201, 409)
    count = pg_client.portal.call(lambda: connection().execute_query_dict(  # type: ignore[union-attr]
        "SELECT count(*) AS n FROM customer_responses"))
    assert count[0]["n"] == len(tokens)


def test_a_postgresql_table_locked_past_lock_timeout_gives_503(
    cluster: PrivateCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(POSTGRES_SESSION, "lock_timeout", "200ms")  # 5s in production
    if not cluster.running():
        cluster.start()
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(cluster.url)) as client:
        client.portal.call(lambda: connection().execute_script(  # type: ignore[union-attr]
            "TRUNCATE customer_responses, jobs, contractors, api_keys RESTART IDENTITY CASCADE"))
        _, tokens = _seed(client)

        async def locked(then):  # type: ignore[no-untyped-def]
            other = await asyncpg.connect(cluster.url)
            try:
                async with other.transaction():
                    await other.execute("LOCK TABLE customer_responses IN ACCESS EXCLUSIVE MODE")
                    return await asyncio.to_thread(then)
            finally:
                await other.close()

        def while_locked() -> tuple[int, str, int]:
            submission = client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS})
            return submission.status_code, submission.headers.get("retry-after", ""), client.get("/healthz").status_code

        status, retry_after, health = asyncio.run(locked(while_locked))
        assert (status, retry_after, health) == (503, str(RETRY_AFTER), 200)
        assert client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS}).status_code == 201


# --- SQLite locked by another connection ------------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite://{tmp_path}/locked.sqlite3?journal_mode=WAL&busy_timeout=300"
    asyncio.run(migrate(url))
    return url


def test_a_locked_sqlite_file_gives_503_and_other_requests_go_on(sqlite_file: str) -> None:
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(sqlite_file)) as client:
        _, tokens = _seed(client)
        path = sqlite_file.removeprefix("sqlite://").partition("?")[0]
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")  # another process writing, for as long as it likes
            response = client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS})
            _assert_unavailable_json(response)
            assert client.get("/healthz").status_code == 200  # reads go on: nothing froze
            assert client.get(f"/s/{tokens[1]}").status_code == 200
            form = client.post(f"/s/{tokens[1]}", data={**FORM, "submission_id": "form-2"})
            assert form.status_code == 503 and "please try again" in form.text
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert client.post(f"/api/v1/responses/{tokens[0]}", json={"answers": ANSWERS}).status_code == 201
        assert client.post(f"/s/{tokens[1]}", data={**FORM, "submission_id": "form-2"}).status_code == 200


def test_a_request_queued_behind_a_stuck_statement_gives_up(sqlite_file: str) -> None:
    """The connection's queue is bounded too: while one statement holds it, /healthz
    says unavailable within its bound instead of waiting for the statement."""
    EXECUTOR_CACHE.clear()
    with TestClient(create_app(sqlite_file)) as client:

        async def hold_then_probe() -> int:
            client_lock = connection()._lock  # type: ignore[attr-defined]
            await client_lock.acquire()  # a statement that never finishes
            try:
                from starlette.requests import Request

                from collector.app import healthz

                response = await healthz(Request({"type": "http", "method": "GET", "path": "/healthz",
                                                  "headers": [], "query_string": b""}))
                return response.status_code
            finally:
                client_lock.release()

        assert client.portal.call(hold_then_probe) == 503  # type: ignore[union-attr]
        assert client.get("/healthz").status_code == 200


# --- the error map ---------------------------------------------------------------------------------


def test_a_postgresql_data_error_is_a_400_that_echoes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.requests import Request

    secret = "Ana's secret value"
    driver = asyncpg.exceptions.CharacterNotInRepertoireError(f"invalid byte sequence: {secret}")
    error = OperationalError(driver)
    error.__cause__ = driver
    request = Request({"type": "http", "method": "POST", "path": "/api/v1/contractors", "headers": [],
                       "query_string": b""})
    with caplog.at_level(logging.INFO, logger="rapport"):
        response = asyncio.run(database_error(request, error))
    assert response.status_code == 400
    assert secret.encode() not in response.body
    assert "CharacterNotInRepertoireError" in caplog.text
    assert secret not in caplog.text


def test_any_other_database_error_stays_a_500() -> None:
    from starlette.requests import Request

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    bug = OperationalError(asyncpg.exceptions.UndefinedColumnError("column x does not exist"))
    with pytest.raises(OperationalError):
        asyncio.run(database_error(request, bug))
