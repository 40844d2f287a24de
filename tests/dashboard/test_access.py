"""Who gets in and for how long: lockouts, ended sessions, headers, the audit of views."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from models.audit import entries
from models.keys import create_user, delete_user, disable_user
from models.ratelimit import RateLimits
from tests.dashboard.conftest import PASSWORD, USERNAME, sign_in

PROTECTED = ("/dashboard/_dash-layout", "/dashboard/_dash-dependencies", "/dashboard/")


def _client(url: str, limits: RateLimits | None = None) -> TestClient:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from dashboard.server import create_app

    EXECUTOR_CACHE.clear()
    return TestClient(create_app(url, rate_limits=limits), follow_redirects=False)


@pytest.fixture
def locking(sqlite_url: str, rate_limits: Callable[..., RateLimits]) -> Iterator[TestClient]:
    """The dashboard with a lockout after 3 wrong passwords that lasts 8 seconds, on each storage.

    Eight, not two: each sign-in verifies an argon2 hash, and on a loaded two-core machine three of
    them took longer than two seconds, so the first failure left the window before the third came."""
    with _client(sqlite_url, rate_limits(login="3/8 seconds", **{"login-address": "100/hour"})) as client:
        client.portal.call(lambda: create_user(username=USERNAME, password=PASSWORD))  # type: ignore[union-attr]
        yield client


def test_wrong_passwords_lock_out_until_the_window_passes(locking: TestClient) -> None:
    assert [sign_in(locking, password=f"guess {n}").status_code for n in range(2)] == [401, 401]
    third = sign_in(locking, password="guess 2")
    assert third.status_code == 429
    assert "Too many wrong passwords" in third.text and int(third.headers["retry-after"]) >= 1
    refused = sign_in(locking)  # the right password while locked: refused all the same
    assert refused.status_code == 429
    assert locking.get("/dashboard/_dash-layout").status_code == 401
    # another user at the same address is not locked out by Ann's mistakes
    locking.portal.call(lambda: create_user(username="bea", password="another password"))  # type: ignore[union-attr]
    assert sign_in(locking, username="bea", password="another password").status_code == 303
    locking.cookies.clear()
    # once the oldest failure leaves the window the right password works at once
    time.sleep(int(refused.headers["retry-after"]) + 0.2)
    assert sign_in(locking).status_code == 303
    assert locking.get("/dashboard/_dash-layout").status_code == 200


def test_the_address_limit_stops_guessing_across_names(sqlite_url: str,
                                                       rate_limits: Callable[..., RateLimits]) -> None:
    with _client(sqlite_url, rate_limits(login="100/hour", **{"login-address": "4/hour"})) as client:
        codes = [sign_in(client, username=f"user{n}", password="guess").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def _copy_of_cookie(client: TestClient) -> str:
    return str(client.cookies["rapport_dashboard"])


def _opens_with(client: TestClient, cookie: str) -> list[int]:
    client.cookies.clear()
    client.cookies.set("rapport_dashboard", cookie)
    return [client.get(path).status_code for path in PROTECTED[:2]]


def test_a_cookie_copied_before_logout_opens_nothing_after(signed_in: TestClient) -> None:
    copied = _copy_of_cookie(signed_in)
    from tests.dashboard.test_server import _session_csrf

    signed_in.post("/logout", data={"csrf": _session_csrf(signed_in)})
    assert _opens_with(signed_in, copied) == [401, 401]
    signed_in.cookies.set("rapport_dashboard", copied)
    assert signed_in.get("/login").status_code == 200  # the sign-in form, not a way round it
    page = signed_in.get("/dashboard/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.mark.parametrize("end", [disable_user, delete_user])
def test_disabling_or_deleting_a_user_ends_every_session(signed_in: TestClient, end: Callable) -> None:  # type: ignore[type-arg]
    first = _copy_of_cookie(signed_in)
    signed_in.cookies.clear()
    assert sign_in(signed_in).status_code == 303  # a second device
    second = _copy_of_cookie(signed_in)
    assert _opens_with(signed_in, first) == [200, 200]
    ended = signed_in.portal.call(lambda: end(username=USERNAME))  # type: ignore[union-attr]
    assert ended == 2
    assert _opens_with(signed_in, first) == [401, 401]
    assert _opens_with(signed_in, second) == [401, 401]
    signed_in.cookies.clear()
    assert sign_in(signed_in).status_code == 401  # and no new one


def test_every_page_carries_the_security_headers(signed_in: TestClient) -> None:
    for path in ("/login", *PROTECTED, "/dashboard/assets/rapport.css"):
        response = signed_in.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'sha256-" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        if "assets" not in path:
            assert response.headers["cache-control"] == "no-store", path


def test_the_cookie_is_secure_when_the_dashboards_own_address_is_https(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import server

    for dashboard_url, secure in (("https://dash.example/dashboard/", True), ("http://127.0.0.1:8050/", False)):
        # the collector's address (collector.settings) is not even among the dashboard's settings
        monkeypatch.setattr(server, "settings", dataclasses.replace(server.settings, dashboard_url=dashboard_url))
        with _client(sqlite_url) as client:
            client.portal.call(lambda: create_user(username=USERNAME, password=PASSWORD))  # type: ignore[union-attr]
            response = sign_in(client)
        assert ("secure" in response.headers["set-cookie"].lower()) is secure


def test_views_and_figures_a_user_loads_are_audited(signed_in: TestClient) -> None:
    view = {"output": "..._pages_content.children..._pages_store.data...",
            "outputs": [], "changedPropIds": ["_pages_location.pathname"],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/dashboard/linkage"},
                       {"id": "_pages_location", "property": "search", "value": "?region=North"}]}
    figure = {"output": "followup-table.children", "outputs": {"id": "followup-table", "property": "children"},
              "inputs": [{"id": "followup-query", "property": "data", "value": {"region": "North"}}],
              "changedPropIds": ["followup-query.data"]}
    shell = {"output": "url.search", "outputs": {"id": "url", "property": "search"},
             "inputs": [{"id": "url", "property": "search", "value": ""}], "changedPropIds": []}
    for body in (view, figure, shell):
        signed_in.post("/dashboard/_dash-update-component", json=body)
    log = signed_in.portal.call(lambda: entries())  # type: ignore[union-attr]
    assert [(e.actor_kind, e.actor, e.action, e.params) for e in log] == [
        ("user", USERNAME, "view /dashboard/linkage", {"region": "North"}),
        ("user", USERNAME, "figure followup-table.children", {"region": "North"}),
    ]
    assert log[0].client == "testclient"
