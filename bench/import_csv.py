"""Benchmark: CSV import (validate everything, then bulk insert) against raw executemany.

    .venv/bin/python -m bench.import_csv [--rows 100000] [--pulse-rows 50000] [--no-postgres]

For SQLite (a temporary file) and PostgreSQL (a temporary database on
RAPPORT_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432), in the
same run: a customer-responses CSV of --rows lines and a pulse-responses CSV
of --pulse-rows lines are imported with `models.transfer.import_csv`, then
the same rows (already parsed, no validation, no checks) are written with a
plain `executemany` of one prepared INSERT per table, the naive raw-SQL
baseline. Prints rows/s of both and their ratio, and the CPU seconds each
spent (this process, SQLite's thread included, plus, for a PostgreSQL server
on this machine, its backends read from /proc): on a shared machine wall
times swing with the load, CPU seconds much less.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.transactions import in_transaction

from bench.scratch import PG_SERVER, scratch_postgres_sync
from models.db import connection, database
from models.entities import PulseWave
from models.transfer import import_csv
from surveys.schema import builtin_survey

START = datetime(2025, 1, 6, tzinfo=UTC)
PULSE = builtin_survey("pulse")
QUESTIONS = [q.id for q in PULSE.questions if q.id != "comment"]


def contractors_csv(n: int) -> str:
    rows = ["external_id,name,region,service_type,started_on"]
    rows += [f"C{i},Contractor {i},North,delivery,2024-01-01" for i in range(n)]
    return "\n".join(rows) + "\n"


def customer_csv(rows: int, contractors: int, rng: random.Random) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["job_external_id", "contractor_external_id", "completed_at", "submitted_at",
                "csat", "nps", "ces", "promise_kept", "comment"])
    for i in range(rows):
        done = START + timedelta(minutes=i)
        w.writerow([f"J{i}", f"C{rng.randrange(contractors)}", done.isoformat(),
                    (done + timedelta(hours=3)).isoformat(), rng.randint(1, 5), rng.randint(0, 10),
                    rng.randint(1, 7), rng.choice(("yes", "no")),
                    "Fine, thanks" if rng.random() < 0.2 else ""])
    return out.getvalue()


def pulse_csv(rows: int, contractors: int, rng: random.Random) -> tuple[str, int]:
    waves = -(-rows // contractors)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["contractor_external_id", "wave", "submitted_at", *QUESTIONS, "comment"])
    for i in range(rows):
        wave, c = divmod(i, contractors)
        answers = [rng.randint(1, 5) for _ in QUESTIONS]
        if "enps" in QUESTIONS:
            answers[QUESTIONS.index("enps")] = rng.randint(0, 10)
        w.writerow([f"C{c}", f"w{wave}", (START + timedelta(weeks=wave, hours=5)).isoformat(), *answers,
                    "more training please" if rng.random() < 0.1 else ""])
    return out.getvalue(), waves


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def sql(dialect: str, text: str) -> str:
    if dialect != "postgres":
        return text
    parts = text.split("?")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))


async def server_pids() -> list[int]:
    """The PostgreSQL backends serving this database (empty for SQLite or a server elsewhere)."""
    conn = connection()
    if conn.capabilities.dialect != "postgres" or ("@127.0.0.1" not in PG_SERVER and "@localhost" not in PG_SERVER):
        return []
    rows = await conn.execute_query_dict("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [r["pid"] for r in rows]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of this process plus the given server processes (utime + stime from /proc)."""
    total = time.process_time()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


async def reset_responses() -> None:
    conn = connection()
    for table in ("pulse_item_answers", "pulse_scores", "pulse_responses", "pulse_invites",
                  "customer_responses", "jobs"):
        await conn.execute_query(f"DELETE FROM {table}")


async def baseline_customer(rows: list[dict[str, str]], ids: dict[str, int]) -> None:
    """The same rows, already parsed: executemany into jobs, read ids, executemany responses."""
    async with in_transaction() as conn:
        d = conn.capabilities.dialect
        now = datetime.now(UTC)
        await conn.execute_many(sql(d, "INSERT INTO jobs (external_id, contractor_id, completed_at, token, "
                                       "expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"), [
            [r["job_external_id"], ids[r["contractor_external_id"]], datetime.fromisoformat(r["completed_at"]),
             uuid.uuid4().hex, now, now] for r in rows])
        job_ids = {j["external_id"]: j["id"] for j in await conn.execute_query_dict("SELECT id, external_id FROM jobs")}
        await conn.execute_many(sql(d, "INSERT INTO customer_responses (job_id, contractor_id, completed_at, "
                                       "submitted_at, csat, nps, ces, promise_kept, comment, answers, "
                                       "survey_version, lang, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), [
            [job_ids[r["job_external_id"]], ids[r["contractor_external_id"]],
             datetime.fromisoformat(r["completed_at"]), datetime.fromisoformat(r["submitted_at"]),
             int(r["csat"]), int(r["nps"]), int(r["ces"]), r["promise_kept"] == "yes", r["comment"] or None,
             "{}", 1, "en", "bench"] for r in rows])


async def baseline_pulse(rows: list[dict[str, str]], ids: dict[str, int], waves: dict[str, int]) -> None:
    """The same rows, already parsed: executemany of responses, read ids, executemany of scores and items (no scoring)."""
    async with in_transaction() as conn:
        d = conn.capabilities.dialect
        await conn.execute_many(sql(d, "INSERT INTO pulse_responses (wave_id, contractor_id, submitted_at, answers, "
                                       "comment, cei, survey_version, lang, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), [
            [waves[r["wave"]], ids[r["contractor_external_id"]], datetime.fromisoformat(r["submitted_at"]),
             "{}", r["comment"] or None, 50.0, 1, "en", "bench"] for r in rows])
        response_ids = {(x["wave_id"], x["contractor_id"]): x["id"] for x in await conn.execute_query_dict(
            "SELECT id, wave_id, contractor_id FROM pulse_responses")}
        scores, items = [], []
        for r in rows:
            wave, contractor = waves[r["wave"]], ids[r["contractor_external_id"]]
            copied = [contractor, wave, datetime.fromisoformat(r["submitted_at"])]
            rid = response_ids[(wave, contractor)]
            for q in PULSE.questions:
                if q.dimension:
                    items.append([rid, q.dimension, q.id, int(r[q.id]), *copied])
            for dim in PULSE.dimensions:
                scores.append([rid, dim.id, 50.0, 2, 1, 6, *copied])
        copied_columns = "contractor_id, wave_id, submitted_at"
        await conn.execute_many(sql(d, "INSERT INTO pulse_scores (response_id, dimension, score, answered, favourable, "
                                       f"item_sum, {copied_columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), scores)
        await conn.execute_many(sql(d, f"INSERT INTO pulse_item_answers (response_id, dimension, item, value, "
                                       f"{copied_columns}) VALUES (?, ?, ?, ?, ?, ?, ?)"), items)


async def run(url: str, label: str, rows: int, pulse_rows: int, contractors: int) -> None:
    rng = random.Random(1)
    customer = customer_csv(rows, contractors, rng)
    pulse, n_waves = pulse_csv(pulse_rows, contractors, rng)
    EXECUTOR_CACHE.clear()  # Tortoise caches INSERTs per connection name, not per dialect
    async with database(url):
        await import_csv(kind="contractors", data=contractors_csv(contractors))
        for w in range(n_waves):
            opens = START + timedelta(weeks=w)
            await PulseWave.create(name=f"w{w}", opens_at=opens, closes_at=opens + timedelta(days=7))
        conn = connection()
        ids = {r["external_id"]: r["id"] for r in await conn.execute_query_dict("SELECT id, external_id FROM contractors")}
        wave_ids = {r["name"]: r["id"] for r in await conn.execute_query_dict("SELECT id, name FROM pulse_waves")}

        for kind, data, baseline in (
            ("customer-responses", customer, lambda p: baseline_customer(p, ids)),
            ("pulse-responses", pulse, lambda p: baseline_pulse(p, ids, wave_ids)),
        ):
            count = rows if kind == "customer-responses" else pulse_rows
            await reset_responses()
            pids = await server_pids()
            t, c = time.perf_counter(), cpu_seconds(pids)
            result = await import_csv(kind=kind, data=data.encode())
            imported = time.perf_counter() - t
            pids = sorted({*pids, *await server_pids()})
            imported_cpu = cpu_seconds(pids) - c
            assert result.rows == count
            await reset_responses()
            rows_parsed = parsed(data)
            t, c = time.perf_counter(), cpu_seconds(pids)
            await baseline(rows_parsed)
            raw = time.perf_counter() - t
            raw_cpu = cpu_seconds(sorted({*pids, *await server_pids()})) - c
            print(f"{label:8} {kind:19} {count:7d} rows  import {imported:6.2f} s = {count / imported:9,.0f} rows/s"
                  f" (cpu {imported_cpu:5.2f} s)   raw executemany {raw:6.2f} s = {count / raw:9,.0f} rows/s"
                  f" (cpu {raw_cpu:5.2f} s)   import/raw speed {raw / imported:5.2f}, cpu {raw_cpu / imported_cpu:5.2f}")
        await reset_responses()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pulse-rows", type=int, default=50_000)
    parser.add_argument("--contractors", type=int, default=5_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(f"sqlite://{folder}/bench.sqlite3", "sqlite", args.rows, args.pulse_rows, args.contractors))
    if args.no_postgres:
        return
    with scratch_postgres_sync() as url:
        asyncio.run(run(url, "postgres", args.rows, args.pulse_rows, args.contractors))


if __name__ == "__main__":
    main()
