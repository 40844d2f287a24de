"""The migrations upgrade a database that already holds answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate as run_migrations

from models.db import tortoise_config
from tests.conftest import PG_SERVER, _admin, _run, open_database

ROWS_AT_0001 = (
    "INSERT INTO contractors (id, external_id, name, region, service_type, active, attributes, created_at, "
    "updated_at) VALUES (7, 'C7', 'Seven', 'north', 'cleaning', {true}, '{{}}', {t}, {t})",
    "INSERT INTO pulse_waves (id, name, opens_at, closes_at, created_at) VALUES (3, 'W3', {t}, {t}, {t})",
    "INSERT INTO pulse_responses (id, wave_id, contractor_id, submitted_at, answers, cei, survey_version, lang, "
    "source) VALUES (11, 3, 7, {t}, '{{}}', 50.0, 1, 'en', 'web')",
    # a 3-item dimension answered 4, 5, 3 (mean 4: score 75) and a 2-item one with one answer (2: score 25)
    "INSERT INTO pulse_scores (response_id, dimension, score, answered, favourable) VALUES "
    "(11, 'connection', 75.0, 3, 2), (11, 'trust', 25.0, 1, 0)",
    "INSERT INTO pulse_item_answers (response_id, dimension, item, value) VALUES "
    "(11, 'connection', 'c1', 4), (11, 'connection', 'c2', 5), (11, 'connection', 'c3', 3), (11, 'trust', 't1', 2)",
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, of each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/upgrade.sqlite3"
        return
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.skip(f"NO POSTGRESQL SERVER at {PG_SERVER}: {exc}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str, target: str | None = None) -> None:
    try:
        await run_migrations(config=tortoise_config(url), target=target)
    finally:
        await Tortoise.close_connections()


@pytest.mark.anyio
async def test_upgrading_copies_each_response_to_its_scores_and_items(empty_url: str) -> None:
    await _migrate(empty_url, "rapport.0001_initial")
    postgres = empty_url.startswith("postgres")
    t = "'2026-03-02 10:00:00+00:00'"
    await open_database(empty_url)
    try:
        conn = Tortoise.get_connection("default")
        for sql in ROWS_AT_0001:
            await conn.execute_script(sql.format(t=t, true="TRUE" if postgres else "1"))
    finally:
        await Tortoise.close_connections()

    await _migrate(empty_url)

    await open_database(empty_url)
    try:
        conn = Tortoise.get_connection("default")
        _, scores = await conn.execute_query(
            "SELECT dimension, contractor_id, wave_id, item_sum, submitted_at FROM pulse_scores ORDER BY dimension")
        _, items = await conn.execute_query(
            "SELECT item, contractor_id, wave_id, submitted_at FROM pulse_item_answers ORDER BY item")
        _, before = await conn.execute_query("SELECT COUNT(*) AS n FROM pulse_responses")
        _, frozen = await conn.execute_query(  # 0004: the groups as they were, and complete dimensions
            "SELECT a.item, a.region, a.service_type, a.tenure_band, a.complete, r.region AS response_region "
            "FROM pulse_item_answers a JOIN pulse_responses r ON r.id = a.response_id ORDER BY a.item")
        _, indexes = await conn.execute_query(
            "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE 'idx_pulse%'" if postgres else
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_pulse%'")
    finally:
        await Tortoise.close_connections()
    assert [(r["dimension"], r["contractor_id"], r["wave_id"], r["item_sum"]) for r in scores] == [
        ("connection", 7, 3, 12), ("trust", 7, 3, 2)]
    assert [(r["item"], r["contractor_id"], r["wave_id"]) for r in items] == [
        ("c1", 7, 3), ("c2", 7, 3), ("c3", 7, 3), ("t1", 7, 3)]
    assert all(str(r["submitted_at"]).startswith("2026-03-02 10:00:00") for r in [*scores, *items])
    assert before[0]["n"] == 1
    assert [(r["item"], r["region"], r["service_type"], r["tenure_band"], bool(r["complete"]), r["response_region"])
            for r in frozen] == [("c1", "north", "cleaning", -1, True, "north"),
                                 ("c2", "north", "cleaning", -1, True, "north"),
                                 ("c3", "north", "cleaning", -1, True, "north"),
                                 ("t1", "north", "cleaning", -1, False, "north")]
    # SQLite rebuilds a table to alter a column; the lookup indexes of 0001 survive it
    assert {"idx_pulse_score_respons_3e32ae", "idx_pulse_item__respons_7b69e5"} <= {r["name"] for r in indexes}


@pytest.mark.anyio
async def test_handled_detractors_become_closed_cases_and_the_indexes_survive(empty_url: str) -> None:
    await _migrate(empty_url, "rapport.0006_worker_runs")
    postgres = empty_url.startswith("postgres")
    t, later = "'2026-03-02 10:00:00+00:00'", "'2026-03-03 09:00:00+00:00'"
    await open_database(empty_url)
    try:
        conn = Tortoise.get_connection("default")
        await conn.execute_script(ROWS_AT_0001[0].format(t=t, true="TRUE" if postgres else "1"))
        for job in (1, 2, 3):
            await conn.execute_script(
                f"INSERT INTO jobs (id, external_id, contractor_id, completed_at, token, expires_at, created_at) "
                f"VALUES ({job}, 'J{job}', 7, {t}, 'tok{job}', {t}, {t})")
        # a handled detractor, an unhandled one, and a happy answer marked (as it could be before cases)
        for rid, job, nps, handled_at, handled_by in ((21, 1, 3, later, "'lead'"), (22, 2, 5, "NULL", "NULL"),
                                                       (23, 3, 10, later, "'lead'")):
            await conn.execute_script(
                "INSERT INTO customer_responses (id, job_id, contractor_id, completed_at, submitted_at, csat, nps, "
                "answers, survey_version, lang, source, handled_at, handled_by) "
                f"VALUES ({rid}, {job}, 7, {t}, {t}, 4, {nps}, '{{}}', 1, 'en', 'web', {handled_at}, {handled_by})")
    finally:
        await Tortoise.close_connections()

    await _migrate(empty_url, "rapport.0008_followup_cases")  # the indexes as 0008 left them (0010 replaces one)

    await open_database(empty_url)
    try:
        conn = Tortoise.get_connection("default")
        _, cases = await conn.execute_query(
            "SELECT response_id, closed_by, outcome, closed_at, first_action_at FROM followup_cases")
        _, columns = await conn.execute_query(
            "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'customer_responses'"
            if postgres else "SELECT name FROM pragma_table_info('customer_responses')")
        _, indexes = await conn.execute_query(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'customer_responses'" if postgres else
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customer_responses'")
        with pytest.raises(IntegrityError):  # still one answer per job
            await conn.execute_script(
                "INSERT INTO customer_responses (job_id, contractor_id, completed_at, submitted_at, answers, "
                f"survey_version, lang, source) VALUES (1, 7, {t}, {t}, '{{}}', 1, 'en', 'web')")
    finally:
        await Tortoise.close_connections()
    assert [(r["response_id"], r["closed_by"], r["outcome"]) for r in cases] == [(21, "lead", "Marked handled")]
    assert str(cases[0]["closed_at"]).startswith("2026-03-03 09:00:00")
    assert str(cases[0]["first_action_at"]).startswith("2026-03-03 09:00:00")
    assert not {"handled_at", "handled_by"} & {r["name"] for r in columns}
    assert {"idx_customer_re_submitt_8f8ae3", "idx_customer_re_contrac_547656",
            "idx_customer_re_complet_3400eb"} <= {r["name"] for r in indexes}


COVERING = ["completed_at", "contractor_id", "csat", "nps", "ces", "promise_kept"]


@pytest.mark.anyio
async def test_the_reports_reads_have_their_indexes(empty_url: str) -> None:
    """Migration 0009: the reports read pulse rows by wave (`WHERE wave_id IN (...)`),
    through an index on wave_id alone rather than a scan of every wave's rows.
    Migration 0010: customer responses' completed_at index carries what the reports
    sum, and replaces the index on completed_at alone."""
    await _migrate(empty_url)
    postgres = empty_url.startswith("postgres")
    await open_database(empty_url)
    try:
        conn = Tortoise.get_connection("default")
        found: dict[str, list[list[str]]] = {}
        for table in ("pulse_scores", "pulse_item_answers", "customer_responses"):
            if postgres:
                _, rows = await conn.execute_query(
                    "SELECT array_agg(a.attname ORDER BY k.n) AS cols FROM pg_index i "
                    "JOIN pg_class t ON t.oid = i.indrelid "
                    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                    "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
                    f"WHERE t.relname = '{table}' GROUP BY i.indexrelid")
                found[table] = [list(r["cols"]) for r in rows]
            else:
                _, names = await conn.execute_query(f"SELECT name FROM pragma_index_list('{table}')")
                found[table] = []
                for r in names:
                    _, cols = await conn.execute_query(f"SELECT name FROM pragma_index_info('{r['name']}')")
                    found[table].append([c["name"] for c in cols])
        if not postgres:
            for table in ("pulse_scores", "pulse_item_answers"):
                _, plan = await conn.execute_query(
                    f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM {table} WHERE wave_id IN (1, 2)")
                assert any("wave_id" in str(step["detail"]) and "INDEX" in str(step["detail"]) for step in plan)
            _, plan = await conn.execute_query(
                "EXPLAIN QUERY PLAN SELECT contractor_id, SUM(csat), SUM(nps), SUM(ces) FROM customer_responses "
                "WHERE completed_at >= '2026-01-01' AND completed_at < '2026-02-01' GROUP BY contractor_id")
            assert any("COVERING INDEX" in str(step["detail"]) for step in plan), plan
    finally:
        await Tortoise.close_connections()
    for table in ("pulse_scores", "pulse_item_answers"):
        assert ["wave_id"] in found[table], (table, found[table])
    assert COVERING in found["customer_responses"] and ["completed_at"] not in found["customer_responses"]
