import json
import logging
from typing import Any

import pytest
from starlette.testclient import TestClient


def test_healthz_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_admin_api_refuses_missing_or_wrong_keys(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/v1/anything").status_code == 401
    wrong = client.get("/api/v1/anything", headers={"Authorization": "Bearer rpk_nope"})
    assert wrong.status_code == 401
    assert "API key" in wrong.json()["error"]
    # a good key gets past the guard (to a 404 here: the path does not exist)
    assert client.get("/api/v1/anything", headers=auth).status_code == 404


def test_healthz_says_only_ok_or_unavailable() -> None:
    from collector.app import create_app

    with TestClient(create_app("sqlite:///nonexistent-folder/x.db")) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert response.headers["retry-after"]


def test_the_access_log_has_the_route_not_the_token_answers_or_query(
    client: TestClient, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="rapport.access"):
        client.post("/api/v1/responses/secret-token-123", json={"answers": {"comment": "my secret answer"}})
        client.get("/api/v1/index?region=SecretRegion", headers=auth)
        client.get("/no/such/page")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "rapport.access"]
    assert lines[0] == {"method": "POST", "route": "/api/v1/responses/{token}", "status": 404,
                        "ms": lines[0]["ms"], "key": None}
    assert lines[1]["route"] == "/api/v1/index" and lines[1]["key"] == "tests" and lines[1]["status"] == 400
    assert lines[2]["route"] == "(unmatched)" and lines[2]["status"] == 404
    text = caplog.text
    for secret in ("secret-token-123", "my secret answer", "SecretRegion"):
        assert secret not in text


def test_a_client_that_disconnects_is_one_log_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    app = client.app

    async def disconnecting() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            pass

        scope = {"type": "http", "method": "POST", "path": "/api/v1/responses/abc", "raw_path": b"",
                 "query_string": b"", "headers": [], "http_version": "1.1", "scheme": "http",
                 "server": ("testserver", 80), "client": ("1.2.3.4", 1), "root_path": "", "state": {}}
        await app(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="rapport"):
        client.portal.call(disconnecting)  # type: ignore[union-attr]
    collector = [r for r in caplog.records if r.name == "rapport.collector"]
    assert [r.getMessage() for r in collector] == ["client disconnected during POST /api/v1/responses/{token}"]
    assert all(r.exc_info is None for r in caplog.records)
    assert '"status": 499' in caplog.text


def test_pages_css_and_json_are_gzipped_above_a_small_size(client: TestClient, auth: dict[str, str]) -> None:
    gzip = {"Accept-Encoding": "gzip"}
    assert client.get("/api/v1/openapi.json", headers=gzip).headers["content-encoding"] == "gzip"
    assert client.get("/static/rapport.css", headers=gzip).headers["content-encoding"] == "gzip"
    small = client.post("/api/v1/responses/unknown", json={"answers": {}}, headers=gzip)
    assert "content-encoding" not in small.headers


def test_static_files_are_cached_and_there_is_a_favicon(client: TestClient) -> None:
    css = client.get("/static/rapport.css")
    assert css.headers["cache-control"] == "public, max-age=86400"
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.headers["cache-control"] == "public, max-age=86400"
    assert icon.text.startswith("<svg")


def test_serve_logs_rapport_to_stderr_without_uvicorns_access_log() -> None:
    from collector.cli import log_config

    config = log_config()
    assert config["loggers"]["rapport"]["level"] == "INFO"
    assert config["handlers"]["rapport"]["stream"] == "ext://sys.stderr"


def test_asyncpg_warnings_are_one_line_without_the_driver_traceback() -> None:
    from collector.cli import OneLineFormatter, log_config

    assert log_config()["loggers"]["asyncpg"]["handlers"] == ["one_line"]
    try:
        raise ConnectionRefusedError("Connect call failed ('10.0.0.1', 5432)")
    except ConnectionRefusedError:
        import sys

        record = logging.LogRecord("asyncpg.pool", logging.WARNING, __file__, 1,
                                   "Failed to restore the pool connection floor; retrying", None, sys.exc_info())
    line = OneLineFormatter().format(record)
    assert line.endswith("Failed to restore the pool connection floor; retrying (ConnectionRefusedError)")
    assert "\n" not in line and "10.0.0.1" not in line
