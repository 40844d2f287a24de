"""Benchmark: full survey submissions through the real HTTP server, next to a bare insert.

For SQLite (a temp file) and PostgreSQL (a fresh database on
postgres://postgres@127.0.0.1:5432, dropped afterwards), this script

1. migrates the database and seeds more jobs (one survey link each) than the
   run can use, with a bulk insert;
2. waits for a quiet machine (1-minute load average under 1.0; at most
   --max-wait seconds, then measures anyway and says so);
3. serves a minimal Starlette app under uvicorn (one worker, access log off)
   and loads two baselines: one plain Tortoise insert per POST (into
   contractors), and one raw SQL statement per POST storing a customer
   response for the token in the path into the same customer_responses table
   the collector writes (its indexes and foreign keys included):
   `INSERT ... SELECT FROM jobs WHERE token = $1`, no validation, no checks;
4. serves the collector under the same uvicorn settings on the same database
   and fires JSON submissions at POST /api/v1/responses/{token}, a distinct
   token per request: link lookup, validation, insert;
5. checks from the server side that every answered request stored exactly one
   row and that none failed (a reused token would measure the 409 path);

then prints requests/s, p50 and p99 for each, and the server's CPU time per
request: the app process (from /proc/PID/stat) and, for PostgreSQL, the
database backends serving it (their pids from pg_stat_activity). CPU per
request is the steadier figure: wall-clock ratios on a shared 2-core machine
swing by 2x from run to run. Target (issue 2): ratio submit/ORM baseline >= 60 %
and p99 < 100 ms at 64 concurrent clients.

Load comes from `wrk` (Debian: `apt-get install -y wrk`) when it is on the
PATH: `wrk -t2 -c64 -d10s --latency` with a Lua script that gives each wrk
thread its own stride through a tokens file. Without wrk a Python client in
this process is used instead, with a note: it shares the two cores with the
servers and makes both sides look slower.

Both servers run with the same uvicorn --loop/--http: uvloop and httptools
when importable (from the venv or PYTHONPATH, which the servers inherit),
else asyncio and h11.

    .venv/bin/python -m bench.submit [--duration 10] [--concurrency 64] [--backends sqlite,postgres]

Not a test: it takes a minute or two (plus any wait for a quiet machine).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
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

from bench.scratch import scratch_postgres

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": "On time and friendly."}
WARMUP_SECONDS = 2.0
PATHS = {"insert": "/insert", "raw": "/raw/", "submit": "/api/v1/responses/"}
MAX_RATE = 5000  # requests/s no server here reaches; seeds this many links per second of load


# --- the baseline server -----------------------------------------------------------


def baseline_app() -> Starlette:
    """One POST that does one plain Tortoise insert (uvicorn factory; URL from DATABASE_URL)."""
    from models.db import tortoise_config
    from models.entities import Contractor

    async def insert(request: Request) -> Response:
        await request.body()
        row = await Contractor.create(external_id=uuid.uuid4().hex, name="bench")
        return JSONResponse({"id": row.id}, status_code=201)

    async def raw(request: Request) -> Response:
        """The least a submission can cost: one raw statement, the answers as given."""
        from models.db import connection

        body = json.loads(await request.body())
        conn = connection()
        postgres = conn.capabilities.dialect == "postgres"
        values = [request.path_params["token"], datetime.now(UTC), json.dumps(body["answers"]),
                  body["submission_id"]]
        rows = await conn.execute_query_dict(RAW_INSERT["postgres" if postgres else "sqlite"], values)
        return JSONResponse({"id": rows[0]["id"]}, status_code=201) if rows else JSONResponse({}, status_code=409)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(os.environ["DATABASE_URL"])):
            yield

    return Starlette(routes=[Route("/insert", insert, methods=["POST"]), Route("/raw/{token}", raw, methods=["POST"]),
                             Route("/healthz", healthz)], lifespan=lifespan)


def _raw_insert(postgres: bool) -> str:
    p = (lambda n, t: f"${n}::{t}") if postgres else (lambda n, t: f"?{n}")
    return (
        "INSERT INTO customer_responses (job_id, contractor_id, completed_at, submitted_at, csat, nps, ces, "
        "promise_kept, comment, answers, survey_version, lang, source, submission_id) "
        f"SELECT j.id, j.contractor_id, j.completed_at, {p(2, 'timestamptz')}, 4, 9, 6, true, 'On time and friendly.', "
        f"{p(3, 'jsonb')}, 1, 'en', 'api', {p(4, 'varchar')} FROM jobs j WHERE j.token = {p(1, 'varchar')} "
        "ON CONFLICT DO NOTHING RETURNING id"
    )


RAW_INSERT = {"postgres": _raw_insert(True), "sqlite": _raw_insert(False)}


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


async def _count(url: str, table: str) -> tuple[int, int]:
    """(rows, distinct ids of the row's owner) in `table`, read with a plain driver
    while the server runs: customer_responses by job, contractors by external id."""
    key = "job_id" if table == "customer_responses" else "external_id"
    sql = f"SELECT count(*), count(DISTINCT {key}) FROM {table}"
    if url.startswith("sqlite://"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite://").split("?", 1)[0], timeout=30)
        try:
            rows, distinct = conn.execute(sql).fetchone()
        finally:
            conn.close()
        return int(rows), int(distinct)
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        record = await conn.fetchrow(sql)
    finally:
        await conn.close()
    return int(record[0]), int(record[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uvicorn_flavour() -> tuple[str, str]:
    """The --loop and --http both servers get: the fast ones when importable, else the pure ones."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


class Server:
    """uvicorn in a subprocess, one worker, access log off."""

    def __init__(self, target: str, url: str, loop: str, http: str) -> None:
        self.port = _free_port()
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1", "--loop", loop, "--http", http,
             "--no-access-log", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(150):
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


# --- results -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int  # answered
    failures: int  # answered with another status, or socket errors
    seconds: float
    p50_ms: float
    p99_ms: float
    load: float = 0.0  # 1-minute load average just before the run
    stored: int = 0  # rows the server stored during the run
    app_cpu: float = 0.0  # CPU seconds of the app process during the run
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends serving it (0 for SQLite: in-process)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU (app + database) per answered request, in milliseconds."""
        return (self.app_cpu + self.db_cpu) * 1000 / max(1, self.requests)

    def line(self) -> str:
        per = 1000 / max(1, self.requests)
        return (
            f"  {self.name:<9} {self.rate:7.0f} req/s   p50 {self.p50_ms:6.1f} ms   "
            f"p99 {self.p99_ms:6.1f} ms   CPU/request {self.cpu_ms:5.2f} ms "
            f"(app {self.app_cpu * per:.2f} + db {self.db_cpu * per:.2f})   ({self.requests} requests, "
            f"{self.failures} failed, {self.stored} rows stored; load before {self.load:.2f})"
        )


# --- server CPU --------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (fields 14 and 15 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to this database (none for SQLite)."""
    if url.startswith("sqlite://"):
        return []
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def cpu_snapshot(server_pid: int, url: str) -> tuple[float, dict[int, float]]:
    return cpu_seconds(server_pid), {pid: cpu_seconds(pid) for pid in await backend_pids(url)}


def cpu_used(before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]) -> tuple[float, float]:
    """(app, database) CPU seconds between two snapshots; a backend that appeared counts from zero."""
    app = after[0] - before[0]
    db = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
    return app, db


# --- load: wrk ---------------------------------------------------------------------

# Each wrk thread has its own Lua state. setup() runs in the main state once per
# thread and hands each its id; init() then keeps every n-th token of the file
# for that thread, so no two requests (in any thread) carry the same token.
# When a thread runs out it sends a token that does not exist: a 404, counted
# as a failure, never a silent 409. done() prints one JSON line to parse.
WRK_SCRIPT = r"""
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  mode, path = args[1], args[2]
  headers = {["Content-Type"] = "application/json"}
  tokens, next_token = {}, 1
  if mode ~= "insert" then
    local stride, i = tonumber(args[4]), 0
    for line in io.lines(args[3]) do
      if i % stride == id then tokens[#tokens + 1] = line end
      i = i + 1
    end
    answers = args[5]
  end
end

function request()
  if mode == "insert" then
    return wrk.format("POST", path, headers, '{"n": 1}')
  end
  local token = tokens[next_token] or ("exhausted-" .. id .. "-" .. next_token)
  next_token = next_token + 1
  local body = '{"answers": ' .. answers .. ', "submission_id": "' .. token .. '"}'
  return wrk.format("POST", path .. token, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


async def _wrk(
    name: str, base: str, *, mode: str, tokens: list[str] | None, seconds: float, threads: int,
    concurrency: int, workdir: Path,
) -> Result:
    script = workdir / "submit.lua"
    script.write_text(WRK_SCRIPT)
    args = [mode, PATHS[mode]]
    if tokens is not None:
        token_file = workdir / f"tokens-{name}.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        args += [str(token_file), str(threads), json.dumps(ANSWERS)]
    process = await asyncio.create_subprocess_exec(
        "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--latency", "-s", str(script),
        base, "--", *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    match = re.search(r"^WRK-RESULT (\{.*\})$", text, re.MULTILINE)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    data = json.loads(match.group(1))
    failures = data["status_errors"] + data["socket_errors"]
    return Result(
        name, data["requests"] - data["status_errors"], failures, data["duration_us"] / 1e6,
        data["p50_us"] / 1000, data["p99_us"] / 1000,
    )


# --- load: the Python fallback -----------------------------------------------------


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


async def _python_load(
    name: str, base: str, *, mode: str, tokens: list[str] | None, seconds: float, concurrency: int,
) -> Result:
    latencies: list[float] = []
    failures = 0
    next_index = 0
    port = int(base.rsplit(":", 1)[1])
    connections = [Connection("127.0.0.1", port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    start = time.perf_counter()
    deadline = start + seconds

    def make(index: int) -> tuple[str, dict[str, object]]:
        if mode != "insert":
            assert tokens is not None
            token = tokens[index] if index < len(tokens) else f"exhausted-{index}"
            return f"{PATHS[mode]}{token}", {"answers": ANSWERS, "submission_id": token}
        return "/insert", {"n": index}

    async def worker(connection: Connection) -> None:
        nonlocal next_index, failures
        while time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            path, body = make(index)
            began = time.perf_counter()
            status = await connection.post(path, json.dumps(body).encode())
            if status == 201:
                latencies.append(time.perf_counter() - began)
            else:
                failures += 1

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for c in connections:
            c.close()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return Result(name, len(latencies), failures, elapsed, pct(50), pct(99))


# --- the runs ----------------------------------------------------------------------


@dataclass
class Options:
    seconds: float
    threads: int
    concurrency: int
    max_wait: float
    quiet_load: float
    loop: str
    http: str
    use_wrk: bool


async def wait_for_quiet(options: Options) -> float:
    """Wait until the 1-minute load average is under the threshold (or time is up); returns it."""
    deadline = time.monotonic() + options.max_wait
    load = os.getloadavg()[0]
    if load >= options.quiet_load:
        print(f"  waiting for a quiet machine: load {load:.2f} >= {options.quiet_load} "
              f"(at most {options.max_wait:.0f} s)", flush=True)
    while load >= options.quiet_load and time.monotonic() < deadline:
        await asyncio.sleep(min(20.0, max(0.0, deadline - time.monotonic())))
        load = os.getloadavg()[0]
    if load >= options.quiet_load:
        print(f"  still busy after {options.max_wait:.0f} s (load {load:.2f}); measuring anyway", flush=True)
    return load


async def _drive(
    name: str, server: Server, url: str, *, mode: str, tokens: list[str] | None, seconds: float,
    options: Options, workdir: Path,
) -> Result:
    """Load one server for `seconds`, then count what it stored and check it against the answers."""
    table = "contractors" if mode == "insert" else "customer_responses"
    before, _ = await _count(url, table)
    load = os.getloadavg()[0]
    cpu_before = await cpu_snapshot(server.process.pid, url)
    if options.use_wrk:
        result = await _wrk(name, server.base, mode=mode, tokens=tokens, seconds=seconds,
                            threads=options.threads, concurrency=options.concurrency, workdir=workdir)
    else:
        result = await _python_load(name, server.base, mode=mode, tokens=tokens, seconds=seconds,
                                    concurrency=options.concurrency)
    cpu_after = await cpu_snapshot(server.process.pid, url)
    result.app_cpu, result.db_cpu = cpu_used(cpu_before, cpu_after)
    await asyncio.sleep(1.0)  # requests in flight when the load stopped finish on the server
    after, distinct = await _count(url, table)
    result.load, result.stored = load, after - before
    # wrk counts the answers it read; up to one request per connection may have been
    # sent, and stored, when it stopped reading. Nothing else may differ.
    problems = []
    if result.failures:
        problems.append(f"{result.failures} requests failed (non-2xx or socket errors)")
    if not result.requests <= result.stored <= result.requests + options.concurrency:
        problems.append(f"{result.requests} requests answered but {result.stored} rows stored")
    if distinct != after:
        problems.append(f"{after} rows for {distinct} distinct owners")
    if problems:
        raise RuntimeError(f"{name}: " + "; ".join(problems))
    return result


async def bench(url: str, options: Options) -> tuple[list[Result], float]:
    """The ORM baseline, the raw SQL baseline and the collector, in that order."""
    per_run = int(MAX_RATE * options.seconds)
    per_warmup = int(MAX_RATE * WARMUP_SECONDS)
    tokens = iter(await _prepare(url, 2 * (per_run + per_warmup)))

    def take(n: int) -> list[str]:
        return [next(tokens) for _ in range(n)]

    quiet = await wait_for_quiet(options)
    results = []
    with tempfile.TemporaryDirectory(prefix="rapport-wrk-") as folder:
        for name, target, mode in (
            ("baseline", "bench.submit:baseline_app", "insert"),
            ("raw SQL", "bench.submit:baseline_app", "raw"),
            ("submit", "collector.app:create_app", "submit"),
        ):
            server = Server(target, url, options.loop, options.http)
            keyed = mode != "insert"
            try:
                await server.ready()
                await _drive("warm-up", server, url, mode=mode, tokens=take(per_warmup) if keyed else None,
                             seconds=WARMUP_SECONDS, options=options, workdir=Path(folder))
                results.append(await _drive(name, server, url, mode=mode, tokens=take(per_run) if keyed else None,
                                            seconds=options.seconds, options=options, workdir=Path(folder)))
            finally:
                server.stop()
    return results, quiet


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-wait", type=float, default=25 * 60,
                        help="seconds to wait at most for a quiet machine (0: do not wait)")
    parser.add_argument("--quiet-load", type=float, default=1.0, help="1-minute load average counted as quiet")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk is there")
    parser.add_argument("--plain", action="store_true",
                        help="serve with --loop asyncio --http h11 (to compare with uvloop and httptools)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from models.settings import normalise_database_url

    loop, http = ("asyncio", "h11") if args.plain else uvicorn_flavour()
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    if not use_wrk:
        print("note: wrk not found on the PATH (Debian: apt-get install -y wrk); the load comes from a "
              "Python client on the same cores, which eats a core and inflates latency on both sides.",
              flush=True)
    options = Options(args.duration, args.threads, args.concurrency, args.max_wait, args.quiet_load,
                      loop, http, use_wrk)
    client = f"wrk -t{args.threads} -c{args.concurrency} -d{args.duration:g}s" if use_wrk else "Python client"
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
                url = normalise_database_url(f"sqlite://{folder}/bench.sqlite3")
                (baseline, raw, submit), quiet = await bench(url, options)
        else:
            async with scratch_postgres() as url:
                (baseline, raw, submit), quiet = await bench(url, options)
        ratio = submit.rate / baseline.rate
        print(f"{backend} ({client}; uvicorn 1 worker, --loop {loop} --http {http}, access log off; "
              f"load average {quiet:.2f} when the runs began)")
        for result in (baseline, raw, submit):
            print(result.line())
        verdict = "meets" if ratio >= 0.6 and submit.p99_ms < 100 else "MISSES"
        print(f"  ratio submit/baseline {ratio:.0%}  ({verdict} the target: >= 60 %, p99 < 100 ms)")
        print(f"  submit/raw SQL: {submit.rate / raw.rate:.0%} of the requests/s, "
              f"{submit.cpu_ms / raw.cpu_ms:.1f}x the server CPU per request", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
