"""Benchmark of the analytics on 5,000 contractors, 1,000,000 customer responses
and 100,000 pulse responses, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.analytics [--backend sqlite|postgres|both] [--scale 1.0]

Data are generated in a child process (so its memory does not count), with a
planted correlation: each contractor has a latent level that raises both their
pulse answers and their customers' CSAT. Rows are generated as numpy columns;
pulse responses are scored by the same formula as `surveys.scoring.score_pulse`
(vectorised, checked against it on a sample). Loading drops the tables' indexes
and constraints, COPYs CSV (PostgreSQL) or runs executemany in one transaction
(SQLite), then rebuilds them and analyses. Then each report function
and each endpoint is timed next to a plain SQL correlation over the same data
(PostgreSQL's corr(); on SQLite the sums-of-products formula), and the
process's peak RSS is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime

import numpy as np

from bench.scratch import scratch_postgres_sync

YEAR = date(2025, 1, 1)
WAVES = 20
WINDOW = (date(2025, 1, 1), date(2025, 12, 31))
QUARTER = (date(2025, 10, 1), date(2025, 12, 31))
REGIONS = ("north", "south", "east", "west", "centre")
SERVICES = ("plumbing", "cleaning", "electrical", "delivery")


def _stamps(epochs: np.ndarray) -> np.ndarray:
    """Epoch seconds as '%Y-%m-%d %H:%M:%S+00:00', the text both backends accept
    (and the form Tortoise writes on SQLite, so text comparison orders them)."""
    text = np.datetime_as_string(np.floor(epochs).astype("datetime64[s]"), unit="s")
    return np.char.add(np.char.replace(text, "T", " "), "+00:00")


def _bands_at_close(started: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Each contractor's tenure band code at each wave's close, as frozen_groups gives it: (wave, contractor)."""
    from surveys.tenure import tenure_code

    days = [date.fromisoformat(str(d)) for d in started]
    ends = [datetime.fromtimestamp(float(c), UTC).date() for c in closes]
    return np.array([[tenure_code(d, end) for d in days] for end in ends], dtype=np.int64)


def _score(survey, values: np.ndarray) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, ...]]]:  # type: ignore[no-untyped-def]
    """`surveys.scoring.score_pulse` over every row of complete answers at once,
    with the same operations in the same order (so the same floats); checked
    against score_pulse on a sample in `generate`."""
    items = [q for q in survey.questions if q.dimension is not None]
    position = {q.id: i for i, q in enumerate(items)}
    scored = np.where([q.reversed for q in items], 6 - values, values)
    dims: dict[str, tuple[np.ndarray, ...]] = {}
    total = np.zeros(len(values))
    weights = 0.0
    for d in survey.dimensions:
        block = scored[:, [position[q.id] for q in survey.items(d.id)]]
        k = block.shape[1]
        score = (block.sum(axis=1) / k - 1) / 4 * 100
        dims[d.id] = (score, np.full(len(values), k), (block >= 4).sum(axis=1), block.sum(axis=1))
        total = total + d.weight * score
        weights += d.weight
    return total / weights, dims


def generate(n_contractors: int, n_customers: int) -> dict[str, dict[str, np.ndarray]]:
    """Every table as columns of numpy arrays (timestamps as text)."""
    from surveys.schema import builtin_survey
    from surveys.scoring import score_pulse

    survey = builtin_survey("pulse")
    items = [q for q in survey.questions if q.dimension is not None]
    rng = np.random.default_rng(42)
    now = _stamps(np.array([time.time()]))[0]
    start = datetime.combine(YEAR, datetime.min.time(), UTC).timestamp()
    day = 86400.0
    latent = rng.normal(0, 1, n_contractors)
    ids = np.arange(1, n_contractors + 1)
    started = np.datetime64(YEAR.isoformat()) - rng.integers(0, 1400, n_contractors).astype("timedelta64[D]")
    tables: dict[str, dict[str, np.ndarray]] = {}
    tables["contractors"] = {
        "id": ids, "external_id": np.char.add("C", ids.astype(str)),
        "name": np.char.add("Contractor ", ids.astype(str)),
        "region": np.array(REGIONS)[(ids - 1) % len(REGIONS)],
        "service_type": np.array(SERVICES)[(ids - 1) % len(SERVICES)],
        "started_on": np.datetime_as_string(started, unit="D"), "active": np.full(n_contractors, True),
        "attributes": np.full(n_contractors, "{}"), "created_at": np.full(n_contractors, now),
        "updated_at": np.full(n_contractors, now),
    }
    opens = start + np.arange(WAVES) * 18 * day
    tables["pulse_waves"] = {
        "id": np.arange(1, WAVES + 1), "name": np.char.add("Wave ", np.arange(1, WAVES + 1).astype(str)),
        "opens_at": _stamps(opens), "closes_at": _stamps(opens + 14 * day), "created_at": np.full(WAVES, now),
    }
    # responses in wave-major order: response r is wave r // n, contractor r % n
    n_pulse = WAVES * n_contractors
    wave = np.repeat(np.arange(WAVES), n_contractors)
    who = np.tile(np.arange(n_contractors), WAVES)
    noise = rng.normal(0, 0.8, (n_pulse, len(items)))
    values = np.clip(np.rint(3.3 + 0.6 * latent[who][:, None] + noise), 1, 5).astype(np.int64)
    cei, dims = _score(survey, values)
    for r in range(0, n_pulse, max(1, n_pulse // 500)):  # the collector's own scoring, on a sample
        expected = score_pulse(survey, {q.id: int(v) for q, v in zip(items, values[r], strict=True)})
        assert expected.cei == cei[r], (expected.cei, cei[r])
        assert all(expected.dimensions[d].score == dims[d][0][r] for d in dims)
        assert all(expected.dimensions[d].item_sum == dims[d][3][r] for d in dims)
    rid = np.arange(1, n_pulse + 1)
    submitted = start + (wave * 18 + rng.random(n_pulse) * 14) * day
    tables["pulse_responses"] = {
        "id": rid, "wave_id": wave + 1, "contractor_id": who + 1, "submitted_at": _stamps(submitted),
        "answers": np.full(n_pulse, "{}"), "comment": np.full(n_pulse, None), "cei": cei,
        "survey_version": np.ones(n_pulse, dtype=np.int64), "lang": np.full(n_pulse, "en"),
        "source": np.full(n_pulse, "web"), "submission_id": np.char.add("P", rid.astype(str)),
        # the groups frozen on each response (models.queries.frozen_groups)
        **{name: tables["contractors"][name][who] for name in ("region", "service_type")},
        "tenure_band": _bands_at_close(started, opens + 14 * day)[wave, who],
    }
    names = list(dims)

    def copied(times: int) -> dict[str, np.ndarray]:
        """The response's contractor, wave, time and frozen groups, repeated on each of its rows."""
        return {name: np.tile(tables["pulse_responses"][name], times)
                for name in ("contractor_id", "wave_id", "submitted_at", "region", "service_type", "tenure_band")}

    tables["pulse_scores"] = {
        "response_id": np.tile(rid, len(names)),
        "dimension": np.repeat(np.array(names), n_pulse),
        "score": np.concatenate([dims[d][0] for d in names]),
        "answered": np.concatenate([dims[d][1] for d in names]),
        "favourable": np.concatenate([dims[d][2] for d in names]),
        "item_sum": np.concatenate([dims[d][3] for d in names]),
        **copied(len(names)),
    }
    scored = np.where([q.reversed for q in items], 6 - values, values)
    tables["pulse_item_answers"] = {
        "response_id": np.tile(rid, len(items)),
        "dimension": np.repeat(np.array([q.dimension for q in items]), n_pulse),
        "item": np.repeat(np.array([q.id for q in items]), n_pulse),
        "value": scored.T.reshape(-1),
        **copied(len(items)),
        "complete": np.full(n_pulse * len(items), True),  # every item answered
    }
    for table in ("pulse_scores", "pulse_item_answers"):
        size = len(tables[table]["response_id"])
        tables[table] = {"id": np.arange(1, size + 1), **tables[table]}
    owner = rng.integers(0, n_contractors, n_customers)
    moments = start + rng.random(n_customers) * 365 * day
    csat = np.clip(np.rint(3.7 + 0.45 * latent[owner] + rng.normal(0, 0.9, n_customers)), 1, 5).astype(np.int64)
    nps = np.clip(np.rint(csat * 2 + rng.normal(0, 1.2, n_customers)), 0, 10).astype(np.int64)
    ces = np.clip(np.rint(csat + 1.5 + rng.normal(0, 1, n_customers)), 1, 7).astype(np.int64)
    jid = np.arange(1, n_customers + 1)
    done = _stamps(moments)
    tables["jobs"] = {
        "id": jid, "external_id": np.char.add("J", jid.astype(str)), "contractor_id": owner + 1,
        "completed_at": done, "token": np.char.add("t", jid.astype(str)),
        "expires_at": _stamps(moments + 30 * day), "created_at": np.full(n_customers, now),
    }
    tables["customer_responses"] = {
        "id": jid, "job_id": jid, "contractor_id": owner + 1, "completed_at": done,
        "submitted_at": _stamps(moments + 7200), "csat": csat, "nps": nps, "ces": ces,
        "promise_kept": csat >= 3, "comment": np.full(n_customers, None), "answers": np.full(n_customers, "{}"),
        "survey_version": np.ones(n_customers, dtype=np.int64), "lang": np.full(n_customers, "en"),
        "source": np.full(n_customers, "web"),
    }
    return tables


def _csv(columns: dict[str, np.ndarray]) -> bytes:
    """The columns as PostgreSQL CSV (NULL is an unquoted empty field)."""
    text = []
    for values in columns.values():
        if values.dtype == object:
            text.append(["" if v is None else str(v) for v in values.tolist()])
        elif values.dtype == bool:
            text.append(np.where(values, "t", "f").tolist())
        elif values.dtype.kind == "f":
            text.append([repr(v) for v in values.tolist()])  # shortest round-trip text: exact floats
        else:
            text.append(values.astype(str).tolist())
    return ("\n".join(",".join(row) for row in zip(*text, strict=True)) + "\n").encode()


async def _load_postgres(url: str, tables: dict[str, dict[str, np.ndarray]]) -> None:
    """COPY every table with its indexes and constraints dropped, then rebuild them."""
    import io

    import asyncpg

    conn = await asyncpg.connect(url)
    names = list(tables)
    constraints = await conn.fetch(
        "SELECT conrelid::regclass::text AS t, conname, contype, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype IN ('p', 'u', 'f') AND (conrelid::regclass::text = ANY($1) "
        "OR confrelid::regclass::text = ANY($1)) ORDER BY contype = 'f' DESC", names)
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)", names)
    for c in constraints:
        await conn.execute(f'ALTER TABLE {c["t"]} DROP CONSTRAINT "{c["conname"]}"')
    for i in indexes:
        await conn.execute(f'DROP INDEX "{i["indexname"]}"')
    for table, columns in tables.items():
        await conn.copy_to_table(table, source=io.BytesIO(_csv(columns)), columns=list(columns), format="csv")
    await conn.execute("SET maintenance_work_mem = '512MB'")
    for i in indexes:
        await conn.execute(i["indexdef"])
    for c in reversed(constraints):  # unique and primary keys before the foreign keys that need them
        await conn.execute(f'ALTER TABLE {c["t"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}')
    for table in names:  # the ids were given explicitly: move the sequences past them
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
    await conn.execute("VACUUM ANALYZE")
    await conn.close()


def _load_sqlite(url: str, tables: dict[str, dict[str, np.ndarray]]) -> None:
    """One transaction of executemany with the secondary indexes dropped, then rebuilt."""
    db = sqlite3.connect(url.removeprefix("sqlite://").split("?")[0], isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    marks = ", ".join("?" for _ in tables)
    indexes = db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                         f"AND tbl_name IN ({marks})", list(tables)).fetchall()
    db.execute("BEGIN")
    for name, _ in indexes:
        db.execute(f'DROP INDEX "{name}"')
    for table, columns in tables.items():
        values = ", ".join("?" for _ in columns)
        rows = zip(*(c.tolist() for c in columns.values()), strict=True)
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows)
    for _, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


async def load(url: str, scale: float) -> None:
    """Child process: migrate, generate and load."""
    from models.db import migrate

    await migrate(url)
    t = time.perf_counter()
    tables = generate(int(5000 * scale), int(1_000_000 * scale))
    print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    if url.startswith("sqlite"):
        _load_sqlite(url, tables)
    else:
        await _load_postgres(url, tables)
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
        base, rows = await _timed(lambda sql=sql, params=params: connection().execute_query_dict(sql, params))
        print(f"  [{label} {first}..{last}] baseline corr(): {base:.3f} s  r = {float(rows[0]['r']):.4f}, "
              f"n = {rows[0]['n']}")
        calls = {
            "index_report(group_by=region)": lambda window=window: analytics.index_report(
                window=window, group_by="region", min_group=5, min_comment_group=10),
            "customer_report(group_by=region)": lambda window=window: analytics.customer_report(
                window=window, group_by="region"),
            "linkage_report(group_by=region)": lambda window=window: analytics.linkage_report(
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
                async def get(path: str = path, query: str = query) -> httpx.Response:
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
        me = [sys.executable, "-m", "bench.analytics", "--scale", str(args.scale)]
        with contextlib.ExitStack() as stack:
            if backend == "sqlite":
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="rapport-bench-"))
                url = f"sqlite://{folder}/bench.sqlite3?journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000"
            else:
                url = stack.enter_context(scratch_postgres_sync())
            subprocess.run([*me, "--load", url], check=True)
            subprocess.run([*me, "--measure", url], check=True)


if __name__ == "__main__":
    main()
