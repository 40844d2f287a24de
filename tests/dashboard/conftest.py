"""Dashboard fixtures: the real app on a fresh SQLite database, a user, a signed-in client;
for the browser tests, a live dashboard over a small demo brand and Debian's chromium
(one of each per test module that asks for them)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer, fill_demo
from models.keys import create_user
from tests.conftest import _empty, _run

USERNAME, PASSWORD = "lead", "correct horse battery"


@pytest.fixture
def sqlite_url(_sqlite_url: str) -> str:
    """The session's migrated SQLite database, emptied (the dashboard's tests need one backend)."""
    _run(_empty(_sqlite_url))
    return _sqlite_url


@pytest.fixture
def app_client(sqlite_url: str) -> Iterator[TestClient]:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from dashboard.server import create_app

    EXECUTOR_CACHE.clear()
    with TestClient(create_app(sqlite_url), follow_redirects=False) as client:
        client.portal.call(lambda: create_user(username=USERNAME, password=PASSWORD))  # type: ignore[union-attr]
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str = USERNAME, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf": token, **extra})


@pytest.fixture
def signed_in(app_client: TestClient) -> TestClient:
    response = sign_in(app_client)
    assert response.status_code == 303
    return app_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The dashboard served by uvicorn over a demo brand of 120 contractors and 6 weeks."""
    url = f"sqlite://{tmp_path_factory.mktemp('browser')}/demo.sqlite3"
    asyncio.run(fill_demo(url, contractors=120, weeks=6))
    with LiveServer(url) as live:
        yield live


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (imported here: only browser tests need it)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
