"""Hostile and malformed input: a clear 4xx naming the field, on both backends, and nothing stored."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from collector.app import create_app
from collector.guards import ADMIN_LIMIT, IMPORT_LIMIT, SUBMISSION_LIMIT, BadInput, parse_json
from models import queries
from models.entities import Contractor, CustomerResponse, Job, PulseWave

ANSWERS = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": "Fine"}


def _run(client: TestClient, fn: Any) -> Any:
    return client.portal.call(fn)  # type: ignore[union-attr]


def _job_token(client: TestClient) -> str:
    async def make() -> str:
        await queries.upsert_contractor(external_id="c1", name="Ana", region="North")
        job, _ = await queries.register_job(external_id="j1", contractor="c1", completed_at=datetime.now(UTC))
        return job.token

    return _run(client, make)


def _count(client: TestClient, model: Any) -> int:
    return _run(client, lambda: model.all().count())


# --- values that break drivers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "c\x00", "name": "Ana"}, "external_id"),
        ({"external_id": "c2", "name": "A\x00na"}, "name"),
        ({"external_id": "c2", "name": "Ana", "region": "No\x00rth"}, "region"),
        ({"external_id": "c2", "name": "Ana", "attributes": {"team\x00": "x"}}, "attributes"),
    ],
)
def test_a_nul_character_in_a_contractor_is_a_400_naming_the_field(
    client: TestClient, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/contractors", json=body, headers=auth)
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert "NUL" in response.json()["error"]
    assert _count(client, Contractor) == 0


def test_a_lone_surrogate_in_a_name_is_a_400(client: TestClient, auth: dict[str, str]) -> None:
    raw = b'{"external_id": "c2", "name": "Ana \\ud800"}'
    response = client.post("/api/v1/contractors", content=raw, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["field"] == "name"
    assert "surrogate" in response.json()["error"]
    assert _count(client, Contractor) == 0


def test_json_nested_a_thousand_deep_is_a_400(client: TestClient, auth: dict[str, str]) -> None:
    deep = b'{"answers": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    for path, headers in (("/api/v1/responses/anything", {}), ("/api/v1/contractors", auth)):
        response = client.post(path, content=deep, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 400
        assert "nested" in response.json()["error"]


def test_a_repeated_json_key_is_a_400_naming_it(client: TestClient) -> None:
    token = _job_token(client)
    raw = b'{"answers": {"csat": 1, "csat": 5, "nps": 9, "ces": 6, "promise_kept": true}}'
    response = client.post(f"/api/v1/responses/{token}", content=raw)
    assert response.status_code == 400
    assert response.json()["field"] == "csat"
    assert _count(client, CustomerResponse) == 0


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01"])
def test_dates_at_the_ends_of_the_calendar_are_a_400(client: TestClient, auth: dict[str, str], instant: str) -> None:
    client.post("/api/v1/contractors", json={"external_id": "c1", "name": "Ana"}, headers=auth)
    job = client.post("/api/v1/jobs", json={"external_id": "j1", "contractor": "c1", "completed_at": instant},
                      headers=auth)
    assert job.status_code == 400
    assert "completed_at" in job.json()["error"]
    wave = client.post("/api/v1/waves", json={"name": "w", "opens_at": instant, "closes_at": "2026-01-01T00:00:00Z"},
                       headers=auth)
    assert wave.status_code == 400
    assert "opens_at" in wave.json()["error"]
    assert _count(client, Job) == 0


def test_a_job_completed_in_the_future_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/contractors", json={"external_id": "c1", "name": "Ana"}, headers=auth)
    later = (datetime.now(UTC) + queries.FUTURE_TOLERANCE + timedelta(hours=1)).isoformat()
    response = client.post("/api/v1/jobs", json={"external_id": "j1", "contractor": "c1", "completed_at": later},
                           headers=auth)
    assert response.status_code == 400
    assert "completed_at is in the future" in response.json()["error"]
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()  # a clock a little ahead is fine
    assert client.post("/api/v1/jobs", json={"external_id": "j2", "contractor": "c1", "completed_at": soon},
                       headers=auth).status_code == 201


def test_a_wave_name_that_would_break_its_address_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    now = datetime.now(UTC)
    for name in ("a/b", "50%", "q?", ".."):
        response = client.post("/api/v1/waves", headers=auth, json={
            "name": name, "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=3)).isoformat()})
        assert response.status_code == 400, name
        assert "name must not contain" in response.json()["error"]
    assert _count(client, PulseWave) == 0


@pytest.mark.parametrize(
    "path",
    ["/api/v1/responses/ab%00cd", "/s/ab%00cd", "/api/v1/waves/w%001/invites"],
)
def test_a_nul_in_the_address_is_a_400(client: TestClient, auth: dict[str, str], path: str) -> None:
    response = client.get(path, headers=auth) if "waves" in path else client.post(path, json={"answers": {}})
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(client: TestClient, auth: dict[str, str]) -> None:
    for path in ("/api/v1/index?region=No%00rth", "/api/v1/export/customer-responses.csv?from=2026%00",
                 "/s/token?lang=e%00s"):
        response = client.get(path, headers=auth)
        assert response.status_code == 400, path
        assert response.json()["parameter"].startswith("query parameter")
        assert "NUL" in response.json()["error"]


def test_a_nul_in_a_submission_id_is_a_400(client: TestClient) -> None:
    token = _job_token(client)
    response = client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS, "submission_id": "s\x001"})
    assert response.status_code == 400
    assert response.json()["field"] == "submission_id"
    assert _count(client, CustomerResponse) == 0


def test_a_token_that_rapport_never_makes_is_unknown_without_a_query(client: TestClient) -> None:
    for token in ("a" * 65, "säö", "a.b"):
        assert client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS}).status_code == 404


def test_an_unknown_token_is_a_404_whatever_the_answers(client: TestClient) -> None:
    response = client.post("/api/v1/responses/unknown", json={"answers": {"csat": "many", "x": [1]}})
    assert response.status_code == 404  # the link is judged before the answers


# --- resends, repeats, filters ----------------------------------------------------------------


def test_a_resend_with_different_answers_is_a_409_that_says_so(client: TestClient) -> None:
    token = _job_token(client)
    first = client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS, "submission_id": "s-1"})
    assert first.status_code == 201
    same = client.post(f"/api/v1/responses/{token}", json={"answers": ANSWERS, "submission_id": "s-1"})
    assert same.status_code == 201 and same.json() == first.json()
    changed = client.post(f"/api/v1/responses/{token}",
                          json={"answers": {**ANSWERS, "csat": 1}, "submission_id": "s-1"})
    assert changed.status_code == 409
    assert "different answers" in changed.json()["error"]
    stored = _run(client, lambda: CustomerResponse.all().values_list("csat", flat=True))
    assert stored == [4]


def test_a_repeated_form_field_is_a_422_and_nothing_is_stored(client: TestClient) -> None:
    token = _job_token(client)
    response = client.post(f"/s/{token}", content="csat=1&csat=5&nps=9&ces=6&promise_kept=yes",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422
    assert "one answer to this question" in response.text
    assert _count(client, CustomerResponse) == 0


def test_a_region_nobody_has_is_a_400_naming_it(client: TestClient, auth: dict[str, str]) -> None:
    _job_token(client)  # a contractor in North
    for path in ("/api/v1/index", "/api/v1/customer", "/api/v1/linkage"):
        response = client.get(path, params={"region": "Atlantis"}, headers=auth)
        assert response.status_code == 400, path
        assert response.json()["parameter"] == "region"
        assert "Atlantis" in response.json()["error"]
        assert client.get(path, params={"region": "North"}, headers=auth).status_code == 200


def test_a_csv_of_a_header_and_blank_lines_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    body = "external_id,name,region,service_type,started_on\r\n" + "\r\n" * 1000
    response = client.post("/api/v1/import/contractors", content=body,
                           headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "no data lines" in response.json()["errors"][0]["message"]


def test_a_csv_import_is_read_from_a_spooled_file(client: TestClient, auth: dict[str, str]) -> None:
    lines = [f"c{i},Name {i},North,delivery,2025-01-01" for i in range(20_000)]  # about 0.6 MB
    body = "external_id,name,region,service_type,started_on\n" + "\n".join(lines)
    response = client.post("/api/v1/import/contractors", content=body, headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 20_000
    upload = client.post("/api/v1/import/contractors", headers=auth,
                         files={"file": ("c.csv", body.replace("Name", "Person").encode(), "text/csv")})
    assert upload.json()["updated"] == 20_000


# --- body sizes ----------------------------------------------------------------------------------


async def _call(app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes] | None,
                endless: bool = False) -> tuple[int, int]:
    """Call the ASGI app directly; return (status, body messages it read)."""
    reads = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        if chunks is None:
            await asyncio.sleep(3600)
        reads += 1
        if endless:
            return {"type": "http.request", "body": b"x" * 65536, "more_body": True}
        body = chunks[reads - 1] if reads <= len(chunks) else b""
        return {"type": "http.request", "body": body, "more_body": reads < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "http_version": "1.1", "scheme": "http", "server": ("testserver", 80), "client": ("1.2.3.4", 1),
             "root_path": "", "state": {}}
    await app(scope, receive, send)
    return status, reads


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/v1/responses/anything", SUBMISSION_LIMIT), ("/s/anything", SUBMISSION_LIMIT),
     ("/api/v1/contractors", ADMIN_LIMIT), ("/api/v1/import/contractors", IMPORT_LIMIT)],
)
def test_a_big_body_is_refused_from_its_length_without_reading_it(
    client: TestClient, auth: dict[str, str], path: str, limit: int
) -> None:
    app = client.app
    headers = {**auth, "Content-Type": "application/json", "Content-Length": str(50 * 1024 * 1024)}
    status, reads = client.portal.call(lambda: _call(app, "POST", path, headers, None))  # type: ignore[union-attr]
    assert (status, reads) == (413, 0)
    headers["Content-Length"] = str(limit)  # at the limit: read
    response = client.post(path, content=b" " * limit, headers=headers)
    assert response.status_code != 413


def test_a_streamed_big_body_is_refused_once_past_the_limit(client: TestClient, auth: dict[str, str]) -> None:
    app = client.app
    headers = {**auth, "Content-Type": "application/json"}  # no Content-Length: chunked
    status, reads = client.portal.call(  # type: ignore[union-attr]
        lambda: _call(app, "POST", "/api/v1/responses/anything", headers, [], endless=True))
    assert status == 413
    assert reads <= SUBMISSION_LIMIT // 65536 + 1  # stopped reading a body that never ends


def test_healthz_answers_while_a_big_upload_is_in_progress(client: TestClient, auth: dict[str, str]) -> None:
    """An upload that is slow to arrive holds only its own request."""
    app = client.app

    async def scenario() -> tuple[int, int, int]:
        arrived = asyncio.Event()
        release = asyncio.Event()
        sent = 0
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent == 4:
                arrived.set()
                await release.wait()
            sent += 1
            return {"type": "http.request", "body": b"a" * 1024 * 1024, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "method": "POST", "path": "/api/v1/import/contractors",
                 "raw_path": b"/api/v1/import/contractors", "query_string": b"",
                 "headers": [(b"authorization", auth["Authorization"].encode()), (b"content-type", b"text/csv")],
                 "http_version": "1.1", "scheme": "http", "server": ("testserver", 80),
                 "client": ("1.2.3.4", 1), "root_path": "", "state": {}}
        upload = asyncio.create_task(app(scope, receive, send))
        await arrived.wait()
        health: list[int] = []

        async def health_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                health.append(message["status"])

        async def no_body() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        await app({**scope, "method": "GET", "path": "/healthz", "raw_path": b"/healthz", "headers": [],
                   "state": {}}, no_body, health_send)
        healthy_during_upload = health[0]
        release.set()
        await upload
        return healthy_during_upload, status, sent

    healthy, upload_status, sent = client.portal.call(scenario)  # type: ignore[union-attr]
    assert healthy == 200
    assert upload_status == 413  # the endless upload was cut at the import limit
    assert sent <= IMPORT_LIMIT // (1024 * 1024) + 1


# --- the pure checks --------------------------------------------------------------------------


def test_parse_json_names_the_path_of_a_bad_string() -> None:
    with pytest.raises(BadInput) as caught:
        parse_json(json.dumps({"answers": {"comment": "a\x00b"}}).encode())
    assert caught.value.field == "answers.comment"
    assert parse_json(b'{"a": "[[[[[[[[[[[[[["}') == {"a": "[[[[[[[[[[[[[["}  # brackets in strings


def test_the_body_limits_leave_room_for_the_longest_answers() -> None:
    from surveys.schema import builtin_survey

    longest = max(q.max_length for kind in ("customer", "pulse") for q in builtin_survey(kind).questions)
    assert longest * 6 + 4096 < SUBMISSION_LIMIT  # every character escaped as \\uXXXX, and the rest


def test_the_app_builds_without_a_database() -> None:
    assert create_app("sqlite://:memory:") is not None


def test_every_documented_body_limit_is_the_one_enforced(client: TestClient, auth: dict[str, str]) -> None:
    """Each route whose contract declares a body limit refuses one byte more from its length
    alone (the OpenAPI document's 413), and a route without one is not limited."""
    from starlette.routing import Mount, Route

    from collector.contract import contract_of

    app = client.app
    [api] = [r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1"]  # type: ignore[attr-defined]
    checked = 0
    for r in api.routes:
        if not isinstance(r, Route):
            continue
        for method in sorted((r.methods or set()) - {"HEAD", "GET", "DELETE"}):
            contract = contract_of(r.endpoint, method)
            assert contract is not None and contract.body_limit, f"{method} {r.path} has no documented limit"
            path = r.path.replace("{name}", "w").replace("{token}", "t").replace("{id}", "1")
            headers = {**auth, "Content-Type": "application/json", "Content-Length": str(contract.body_limit + 1)}
            status, reads = client.portal.call(  # type: ignore[union-attr]
                lambda m=method, p=path, h=headers: _call(app, m, "/api/v1" + p, h, None))
            assert (status, reads) == (413, 0), f"{method} {r.path}"
            checked += 1
    assert checked >= 10
