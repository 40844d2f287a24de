"""The login and the guard: nothing of the dashboard reaches an anonymous visitor."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.dashboard.conftest import PASSWORD, USERNAME, csrf_of, sign_in

DASH_ROUTES = [
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/linkage?region=North"),
    ("GET", "/dashboard/_dash-layout"),
    ("GET", "/dashboard/_dash-dependencies"),
    ("POST", "/dashboard/_dash-update-component"),
    ("GET", "/dashboard/assets/rapport.css"),
    ("GET", "/dashboard/_dash-component-suites/dash/dcc/dash_core_components.js"),
    ("GET", "/dashboard/_reload-hash"),
    ("GET", "/dashboard/anything/else"),
]
UPDATE = {
    "output": "followup-table.children",
    "outputs": {"id": "followup-table", "property": "children"},
    "inputs": [{"id": "followup-query", "property": "data", "value": {}}],
    "changedPropIds": ["followup-query.data"],
}


@pytest.mark.parametrize(("method", "path"), DASH_ROUTES)
def test_every_dashboard_route_refuses_an_anonymous_visitor(app_client: TestClient, method: str, path: str) -> None:
    response = app_client.request(method, path, json=UPDATE if method == "POST" else None)
    assert response.status_code in (401, 303)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login?next=")
    assert "followup" not in response.text and "dash" not in response.text.lower()


def test_a_browser_is_sent_to_the_login_and_back(app_client: TestClient) -> None:
    response = app_client.get("/dashboard/segments?region=North", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdashboard%2Fsegments%3Fregion%3DNorth"
    page = app_client.get(response.headers["location"])
    signed = app_client.post("/login", data={"username": USERNAME, "password": PASSWORD,
                                              "csrf": csrf_of(page.text), "next": "/dashboard/segments?region=North"})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/dashboard/segments?region=North"


def test_the_update_route_is_401_without_a_session(app_client: TestClient) -> None:
    response = app_client.post("/dashboard/_dash-update-component", json=UPDATE)
    assert response.status_code == 401
    assert response.json() == {"error": "sign in first"}


def test_a_wrong_password_is_refused(app_client: TestClient) -> None:
    response = sign_in(app_client, password="not the password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert app_client.get("/dashboard/_dash-layout").status_code == 401
    unknown = sign_in(app_client, username="nobody")
    assert unknown.status_code == 401


def test_a_login_without_the_forms_token_is_refused(app_client: TestClient) -> None:
    app_client.get("/login")
    response = app_client.post("/login", data={"username": USERNAME, "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 400
    assert app_client.get("/dashboard/_dash-layout").status_code == 401


def test_next_never_leaves_the_site(app_client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        app_client.cookies.clear()
        response = sign_in(app_client, next=target)
        assert response.headers["location"] == "/dashboard/"


def test_signed_in_the_dash_routes_answer(signed_in: TestClient) -> None:
    assert signed_in.get("/dashboard/_dash-dependencies").status_code == 200
    assert signed_in.get("/dashboard/assets/rapport.css").status_code == 200
    page = signed_in.get("/dashboard/")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "googleapis" not in page.text


def test_the_session_cookie_is_signed_lax_and_http_only(app_client: TestClient) -> None:
    response = sign_in(app_client)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    value = app_client.cookies["rapport_dashboard"]
    app_client.cookies.clear()
    app_client.cookies.set("rapport_dashboard", "x" + value)
    assert app_client.get("/dashboard/_dash-layout").status_code == 401


def test_logout_needs_the_token_and_ends_the_session(signed_in: TestClient) -> None:
    signed_in.post("/logout", data={"csrf": "forged"})
    assert signed_in.get("/dashboard/_dash-dependencies").status_code == 200
    assert signed_in.get("/login").status_code == 303  # signed in: no form, straight on
    signed_in.post("/logout", data={"csrf": _session_csrf(signed_in)})
    assert signed_in.get("/dashboard/_dash-dependencies").status_code == 401


def _session_csrf(client: TestClient) -> str:
    """The token the shell's sign-out form carries (read from the signed cookie's payload)."""
    raw = client.cookies["rapport_dashboard"].split(".")[0]
    payload = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    return str(payload["csrf"])


def test_healthz_is_public(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}


def test_the_command_takes_database_url_like_every_command(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    import uvicorn

    from dashboard import server

    calls: list[Any] = []

    async def fake_migrate(url: str | None = None) -> None:
        calls.append(("migrate", url))

    monkeypatch.setattr(server, "migrate", fake_migrate)
    monkeypatch.setattr(server, "create_app", lambda url=None: calls.append(("app", url)) or "app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(("run", app, options["port"])))
    server.main(["--database-url", f"sqlite://{tmp_path}/other.db", "--port", "9050"])
    assert calls[0][0] == "migrate" and calls[0][1].startswith(f"sqlite://{tmp_path}/other.db?")
    assert calls[1] == ("app", calls[0][1]) and calls[2] == ("run", "app", 9050)
    with pytest.raises(SystemExit):
        server.main(["--database-url", "mysql://db"])


def test_the_command_help_shows_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard import server

    with pytest.raises(SystemExit):
        server.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--database-url" in text and "(default: 8050)" in text and "(default: 127.0.0.1)" in text
