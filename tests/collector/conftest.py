"""A TestClient on the real app, per backend, and an API key for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from collector.app import create_app
from models.keys import create_api_key


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The collector on a fresh database; the ORM stays open for the test's portal."""
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()
    with TestClient(create_app(db_url)) as test_client:
        yield test_client


@pytest.fixture
def api_key(client: TestClient) -> str:
    return client.portal.call(lambda: create_api_key(name="tests"))  # type: ignore[union-attr]


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
