"""Benchmark of the analytics on 5,000 contractors, 1,000,000 customer responses
and 100,000 pulse responses, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.analytics [--backend sqlite|postgres|both] [--scale 1.0]

Data are generated in a child process (so its memory does not count), with a
planted correlation: each contractor has a latent level that raises both their
pulse answers and their customers' CSAT. Pulse responses are scored with
`surveys.scoring.score_pulse`, as the collector does. Then each report function
and each endpoint is timed next to a plain SQL correlation over the same data
(PostgreSQL's corr(); on SQLite the sums-of-products formula), and the
process's peak RSS is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np

PG_SERVER = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
YEAR = date(2025, 1, 1)
WAVES = 20
WINDOW = (date(2025, 1, 1), date(2025, 12, 31))
QUARTER = (date(2025, 10, 1), date(2025, 12, 31))
REGIONS = ("north", "south", "east", "west", "centre")
SERVICES = ("plumbing", "cleaning", "electrical", "delivery")


def _ts(epoch: float, sqlite: bool) -> object:
    value = datetime.fromtimestamp(epoch, UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S+00:00") if sqlite else value


def generate_rows(n_contractors: int, n_customers: int, sqlite: bool) -> dict[str, list[tuple]]:
    from surveys.schema import builtin_survey
    from surveys.scoring import score_pulse

    survey = builtin_survey("pulse")
    items = [q for q in survey.questions if q.dimension is not None]
    rng = np.random.default_rng(42)
    now = _ts(time.time(), sqlite)
    latent = rng.normal(0, 1, n_contractors)
    start = datetime.combine(YEAR, datetime.min.time(), UTC).timestamp()
    day = 86400.0
    rows: dict[str, list[tuple]] = {"contractors": [], "pulse_waves": [], "pulse_responses": [],
                                    "pulse_scores": [], "pulse_item_answers": [], "jobs": [],
                                    "customer_responses": []}
    for i in range(n_contractors):
        started = YEAR - timedelta(days=int(rng.integers(0, 1400)))
        rows["contractors"].append((
            i + 1, f"C{i + 1}", f"Contractor {i + 1}", REGIONS[i % len(REGIONS)], SERVICES[i % len(SERVICES)],
            started.isoformat() if sqlite else started, True, "{}", now, now))
    for w in range(WAVES):
        opens = start + w * 18 * day
        rows["pulse_waves"].append((w + 1, f"Wave {w + 1}", _ts(opens, sqlite), _ts(opens + 14 * day, sqlite), now))
    rid = score_id = item_id = 0
    noise = rng.normal(0, 0.8, (WAVES * n_contractors, len(items)))
    for w in range(WAVES):
        for c in range(n_contractors):
            level = 3.3 + 0.6 * latent[c]
            values = np.clip(np.rint(level + noise[rid]), 1, 5).astype(int)
            scoring = score_pulse(survey, {q.id: int(v) for q, v in zip(items, values)})
            rid += 1
            submitted = _ts(start + (w * 18 + rng.random() * 14) * day, sqlite)
            rows["pulse_responses"].append((rid, w + 1, c + 1, submitted, "{}", None, scoring.cei, 1, "en",
                                            "web", f"P{rid}"))
            for dim, s in scoring.dimensions.items():
                score_id += 1
                rows["pulse_scores"].append((score_id, rid, dim, s.score, s.answered, s.favourable))
            for item, (dim, value) in scoring.items.items():
                item_id += 1
                rows["pulse_item_answers"].append((item_id, rid, dim, item, value))
    owner = rng.integers(0, n_contractors, n_customers)
    moments = start + rng.random(n_customers) * 365 * day
    csat = np.clip(np.rint(3.7 + 0.45 * latent[owner] + rng.normal(0, 0.9, n_customers)), 1, 5).astype(int)
    nps = np.clip(np.rint(csat * 2 + rng.normal(0, 1.2, n_customers)), 0, 10).astype(int)
    ces = np.clip(np.rint(csat + 1.5 + rng.normal(0, 1, n_customers)), 1, 7).astype(int)
    for j in range(n_customers):
        done = _ts(float(moments[j]), sqlite)
        later = _ts(float(moments[j]) + 7200, sqlite)
        expires = _ts(float(moments[j]) + 30 * day, sqlite)
        rows["jobs"].append((j + 1, f"J{j + 1}", int(owner[j]) + 1, done, f"t{j + 1}", expires, now))
        rows["customer_responses"].append((j + 1, j + 1, int(owner[j]) + 1, done, later, int(csat[j]), int(nps[j]),
                                           int(ces[j]), bool(csat[j] >= 3), None, "{}", 1, "en", "web"))
    return rows


COLUMNS = {
    "contractors": ("id", "external_id", "name", "region", "service_type", "started_on", "active",
                    "attributes", "created_at", "updated_at"),
    "pulse_waves": ("id", "name", "opens_at", "closes_at", "created_at"),
    "pulse_responses": ("id", "wave_id", "contractor_id", "submitted_at", "answers", "comment", "cei",
                        "survey_version", "lang", "source", "submission_id"),
    "pulse_scores": ("id", "response_id", "dimension", "score", "answered", "favourable"),
    "pulse_item_answers": ("id", "response_id", "dimension", "item", "value"),
    "jobs": ("id", "external_id", "contractor_id", "completed_at", "token", "expires_at", "created_at"),
    "customer_responses": ("id", "job_id", "contractor_id", "completed_at", "submitted_at", "csat", "nps", "ces",
                           "promise_kept", "comment", "answers", "survey_version", "lang", "source"),
}


async def load(url: str, scale: float) -> None:
    """Child process: migrate, generate and load."""
    from models.db import migrate

    await migrate(url)
    sqlite = url.startswith("sqlite")
    t = time.perf_counter()
    rows = generate_rows(int(5000 * scale), int(1_000_000 * scale), sqlite)
    print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    if sqlite:
        db = sqlite3.connect(url.removeprefix("sqlite://").split("?")[0])
        for table, columns in COLUMNS.items():
            marks = ", ".join("?" for _ in columns)
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows[table])
        db.commit()
        db.execute("ANALYZE")
        db.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(url)
        for table, columns in COLUMNS.items():
            await conn.copy_records_to_table(table, records=rows[table], columns=list(columns))
        await conn.execute("ANALYZE")
        await conn.close()
    print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)


BASELINE_PG = (
    "WITH p AS (SELECT contractor_id, AVG(cei) AS x FROM pulse_responses WHERE submitted_at >= $1 "
    "AND submitted_at < $2 GROUP BY contractor_id), cu AS (SELECT contractor_id, AVG(csat) AS y "
    "FROM customer_responses WHERE completed_at >= $1 AND completed_at < $2 GROUP BY contractor_id "
    "HAVING COUNT(*) >= 3) SELECT corr(p.x, cu.y) AS r, COUNT(*) AS n FROM p JOIN cu USING (contractor_id)"
)
BASELINE_SQLITE = (
    "WITH p AS (SELECT contractor_id, AVG(cei) AS x FROM pulse_responses WHERE submitted_at >= ?1 "
    "AND submitted_at < ?2 GROUP BY contractor_id), cu AS (SELECT contractor_id, AVG(csat) AS y "
    "FROM customer_responses WHERE completed_at >= ?1 AND completed_at < ?2 GROUP BY contractor_id "
    "HAVING COUNT(*) >= 3), j AS (SELECT x, y FROM p JOIN cu ON cu.contractor_id = p.contractor_id) "
    "SELECT (COUNT(*) * SUM(x * y) - SUM(x) * SUM(y)) / (sqrt(COUNT(*) * SUM(x * x) - SUM(x) * SUM(x)) "
    "* sqrt(COUNT(*) * SUM(y * y) - SUM(y) * SUM(y))) AS r, COUNT(*) AS n FROM j"
)


async def _timed(make, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = await make()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


async def measure(url: str) -> None:
    import httpx2 as httpx
    from tortoise import Tortoise

    from collector.app import create_app
    from models import analytics
    from models.analytics import Window
    from models.db import connection, dialect, tortoise_config
    from models.keys import create_api_key

    await Tortoise.init(config=tortoise_config(url))
    key = await create_api_key(name=f"bench-{uuid.uuid4().hex[:6]}")
    app = create_app(url)
    headers = {"Authorization": f"Bearer {key}"}
    for label, (first, last) in (("year", WINDOW), ("quarter", QUARTER)):
        window = Window(first, last)
        low, high = window.bounds
        if dialect() == "sqlite":
            params = [low.strftime("%Y-%m-%d %H:%M:%S+00:00"), high.strftime("%Y-%m-%d %H:%M:%S+00:00")]
            sql = BASELINE_SQLITE
        else:
            params, sql = [low, high], BASELINE_PG
        base, rows = await _timed(lambda: connection().execute_query_dict(sql, params))
        print(f"  [{label} {first}..{last}] baseline corr(): {base:.3f} s  r = {float(rows[0]['r']):.4f}, "
              f"n = {rows[0]['n']}")
        calls = {
            "index_report(group_by=region)": lambda: analytics.index_report(
                window=window, group_by="region", min_group=5, min_comment_group=10),
            "customer_report(group_by=region)": lambda: analytics.customer_report(window=window, group_by="region"),
            "linkage_report(group_by=region)": lambda: analytics.linkage_report(
                window=window, group_by="region", min_group=5),
        }
        for name, call in calls.items():
            seconds, result = await _timed(call)
            extra = ""
            if name.startswith("linkage"):
                cell = next(c for c in result["correlations"] if c["x"] == "cei" and c["y"] == "csat")
                extra = f"  r = {cell['r']:.4f} [{cell['ci_low']:.4f}, {cell['ci_high']:.4f}], n = {cell['n']}"
            print(f"    {name:36s} {seconds:6.3f} s  x{seconds / base:5.1f}{extra}")
        query = f"from={first}&to={last}&group_by=region"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for path in ("/api/v1/index", "/api/v1/customer", "/api/v1/linkage"):
                async def get(path: str = path) -> httpx.Response:
                    response = await client.get(f"{path}?{query}", headers=headers)
                    response.raise_for_status()
                    return response
                seconds, _ = await _timed(get)
                print(f"    GET {path:32s} {seconds:6.3f} s  x{seconds / base:5.1f}")
    await Tortoise.close_connections()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the measuring process: {peak:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(args.load, args.scale))
        return
    if args.measure:
        asyncio.run(measure(args.measure))
        return
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        print(f"== {backend}", flush=True)
        with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
            if backend == "sqlite":
                url = f"sqlite://{folder}/bench.sqlite3?journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000"
                name = None
            else:
                name = f"rapport_bench_{uuid.uuid4().hex[:8]}"
                _admin(f'CREATE DATABASE "{name}"')
                url = f"{PG_SERVER}/{name}"
            try:
                me = [sys.executable, "-m", "bench.analytics", "--scale", str(args.scale)]
                subprocess.run([*me, "--load", url], check=True)
                subprocess.run([*me, "--measure", url], check=True)
            finally:
                if name:
                    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_SERVER + "/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
