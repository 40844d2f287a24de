"""How the database is opened."""

import pytest

from models.db import POSTGRES_CONNECT_TIMEOUT, POSTGRES_SESSION, connection, dialect, tortoise_config

pytestmark = pytest.mark.anyio


async def test_postgresql_sessions_aggregate_in_memory(db: str) -> None:
    if dialect() != "postgres":
        config = tortoise_config(db)["connections"]["default"]
        assert config["engine"] == "models.sqlite_bounded"  # SQLite with bounded waits
        assert config["credentials"]["busy_timeout"] == "5000"  # the URL's pragmas kept
        return
    rows = await connection().execute_query_dict("SELECT current_setting('work_mem') AS v")
    assert rows[0]["v"] == POSTGRES_SESSION["work_mem"]


def test_a_postgresql_url_keeps_its_pool_options() -> None:
    config = tortoise_config("postgres://postgres@db.example:5433/rapport?maxsize=20")["connections"]["default"]
    assert config["credentials"]["maxsize"] == "20"
    assert (config["credentials"]["host"], config["credentials"]["port"]) == ("db.example", 5433)
    assert config["credentials"]["server_settings"] == POSTGRES_SESSION
    assert config["credentials"]["timeout"] == POSTGRES_CONNECT_TIMEOUT
