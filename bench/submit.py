"""Benchmark: full survey submissions through the real HTTP server, next to a bare insert.

For SQLite (a temp file) and PostgreSQL (a fresh database on
postgres://postgres@127.0.0.1:5432, dropped afterwards), this script

1. migrates the database and seeds one job (one survey link) per request;
2. serves the collector under uvicorn (one worker, access log off) and fires
   JSON submissions at POST /api/v1/responses/{token} from 64 concurrent
   clients: link lookup, validation, insert;
3. serves a minimal Starlette app doing one plain Tortoise insert per POST,
   under the same uvicorn settings on the same database, and loads it alike;

then prints requests/s, p50 and p99 for each and the ratio submit/baseline.
Target (issue 2): ratio >= 60 % and p99 < 100 ms at 64 concurrent clients.

    .venv/bin/python -m bench.submit [--requests 3000] [--concurrency 64] [--backends sqlite,postgres]

Not a test: it takes a minute or two and needs the ports free.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
ANSWERS = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": "On time and friendly."}
WARMUP = 200


# --- the baseline server -----------------------------------------------------------


def baseline_app() -> Starlette:
    """One POST that does one plain Tortoise insert (uvicorn factory; URL from DATABASE_URL)."""
    from models.db import tortoise_config
    from models.entities import Contractor

    async def insert(request: Request) -> Response:
        await request.body()
        row = await Contractor.create(external_id=uuid.uuid4().hex, name="bench")
        return JSONResponse({"id": row.id}, status_code=201)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(os.environ["DATABASE_URL"])):
            yield

    return Starlette(routes=[Route("/insert", insert, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan)


# --- set-up ------------------------------------------------------------------------


async def _prepare(url: str, jobs: int) -> list[str]:
    """Migrate, then seed one contractor and `jobs` jobs; returns their tokens."""
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from models.db import database
    from models.entities import Contractor, Job
    from models.tokens import new_token

    EXECUTOR_CACHE.clear()  # the cached INSERTs belong to the previous backend's dialect
    async with database(url):
        contractor = await Contractor.create(external_id="bench-contractor", name="Bench")
        now = datetime.now(UTC)
        rows = [
            Job(
                external_id=f"bench-{n}",
                contractor=contractor,
                completed_at=now,
                token=new_token(),
                expires_at=now + timedelta(days=30),
            )
            for n in range(jobs)
        ]
        await Job.bulk_create(rows, batch_size=1000)
        tokens = [row.token for row in rows]
    await Tortoise.close_connections()
    return tokens


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER + "/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn in a subprocess, one worker, access log off."""

    def __init__(self, target: str, url: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    if (await client.get(self.base + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server on {self.base} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- load --------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int
    failures: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"  {self.name:<9} {self.rate:7.0f} req/s   p50 {self.percentile(50):6.1f} ms   "
            f"p99 {self.percentile(99):6.1f} ms   ({self.requests} requests, {self.failures} failed)"
        )


class Connection:
    """A bare HTTP/1.1 keep-alive connection. httpx's pool costs more CPU per
    request than the servers under test (it capped both runs near 300 req/s on
    this 2-core machine), so the load side stays this thin."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> int:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def _load(
    name: str, base: str, make: Callable[[int], tuple[str, dict[str, object]]], count: int,
    concurrency: int, cap: float, expect: int = 201,
) -> Result:
    latencies: list[float] = []
    failures = 0
    next_index = 0
    port = int(base.rsplit(":", 1)[1])
    connections = [Connection("127.0.0.1", port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    start = time.perf_counter()
    deadline = start + cap

    async def worker(connection: Connection) -> None:
        nonlocal next_index, failures
        while next_index < count and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            path, body = make(index)
            payload = json.dumps(body).encode()
            began = time.perf_counter()
            status = await connection.post(path, payload)
            latencies.append(time.perf_counter() - began)
            if status != expect:
                failures += 1

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for c in connections:
            c.close()
    seconds = time.perf_counter() - start
    return Result(name, len(latencies), failures, seconds, latencies)


async def bench(backend: str, url: str, requests: int, concurrency: int, cap: float) -> tuple[Result, Result]:
    tokens = await _prepare(url, requests + WARMUP)

    def submission(index: int) -> tuple[str, dict[str, object]]:
        return f"/api/v1/responses/{tokens[index]}", {"answers": ANSWERS, "submission_id": uuid.uuid4().hex}

    def insert(index: int) -> tuple[str, dict[str, object]]:
        return "/insert", {"n": index}

    results = []
    for name, target, make in (
        ("baseline", "bench.submit:baseline_app", insert),
        ("submit", "collector.app:create_app", submission),
    ):
        server = Server(target, url)
        try:
            await server.ready()
            if name == "submit":  # warm up on tokens of their own
                warm = await _load("warmup", server.base, lambda i: submission(requests + i), WARMUP, concurrency, cap)
            else:
                warm = await _load("warmup", server.base, insert, WARMUP, concurrency, cap)
            assert warm.failures == 0, f"{name}: warm-up requests failed"
            results.append(await _load(name, server.base, make, requests, concurrency, cap))
        finally:
            server.stop()
    return results[0], results[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from models.settings import normalise_database_url

    for backend in args.backends.split(","):
        if backend == "sqlite":
            folder = tempfile.TemporaryDirectory(prefix="rapport-bench-")
            url = normalise_database_url(f"sqlite://{folder.name}/bench.sqlite3")
            cleanup = folder.cleanup
        else:
            name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
            await _admin(f'CREATE DATABASE "{name}"')
            url = f"{PG_SERVER}/{name}"

            def cleanup(name: str = name) -> None:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        try:
            baseline, submit = await bench(backend, url, args.requests, args.concurrency, args.cap)
        finally:
            if backend == "sqlite":
                cleanup()
            else:
                await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        ratio = submit.rate / baseline.rate
        print(f"{backend} ({args.concurrency} concurrent clients, uvicorn 1 worker, access log off)")
        print(baseline.line())
        print(submit.line())
        verdict = "meets" if ratio >= 0.6 and submit.percentile(99) < 100 else "MISSES"
        print(f"  ratio submit/baseline {ratio:.0%}  ({verdict} the target: >= 60 %, p99 < 100 ms)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
