"""How the database is opened."""

import pytest

from models.db import POSTGRES_SESSION, connection, dialect, tortoise_config

pytestmark = pytest.mark.anyio


async def test_postgresql_sessions_aggregate_in_memory(db: str) -> None:
    if dialect() != "postgres":
        assert tortoise_config(db)["connections"]["default"] == db  # SQLite: the URL as given
        return
    rows = await connection().execute_query_dict("SELECT current_setting('work_mem') AS v")
    assert rows[0]["v"] == POSTGRES_SESSION["work_mem"]


def test_a_postgresql_url_keeps_its_pool_options() -> None:
    config = tortoise_config("postgres://postgres@db.example:5433/rapport?maxsize=20")["connections"]["default"]
    assert config["credentials"]["maxsize"] == "20"
    assert (config["credentials"]["host"], config["credentials"]["port"]) == ("db.example", 5433)
    assert config["credentials"]["server_settings"] == POSTGRES_SESSION
