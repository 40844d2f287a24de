"""Stress: at least 20,000 concurrent survey submissions while PostgreSQL restarts and stops.

Not a test (it takes a minute or two and restarts a database server): a script
that proves, repeatably, that every acknowledged answer is stored once.

1. initdb's a throw-away PostgreSQL cluster in a temporary folder on a free
   port (`bench.cluster.PrivateCluster`; never the shared server), migrates it
   and seeds one job (one survey link) per submission;
2. starts the collector against it with `rapport serve` (one worker, its
   access log to a file);
3. drives the submissions from --clients concurrent clients, each on its own
   keep-alive connection; a client retries the same submission (same token,
   same submission id) after a 503 (waiting as Retry-After says, capped at
   --max-wait-s), a 5xx or a broken connection, until it gets a 201;
4. restarts the cluster (pg_ctl restart -m fast) once a quarter of the
   submissions are acknowledged, and stops it for --outage seconds once
   three fifths are;
5. counts, from the database, what was stored.

It prints acknowledged / stored / duplicated / lost / 5xx (other than 503) /
503s / resets (connections broken or refused) / the recovery time after each
fault (from the server answering again to the first 201) / how many answers
clients got while the server was stopped and whether each was a 503 with
Retry-After / tracebacks in the collector's log.
Targets (issue 9): 0 lost, 0 duplicated, 0 500s, 0 resets, every answer
during the outage a 503 with Retry-After.

    nice .venv/bin/python -m bench.stress [--submissions 20000] [--clients 64] [--outage 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.cluster import PrivateCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Disconnect)\b")
ANSWERS = {"csat": 4, "nps": 9, "ces": 6, "promise_kept": True, "comment": "On time and friendly."}


@dataclass
class Tally:
    acknowledged: set[int] = field(default_factory=set)
    status: dict[int, int] = field(default_factory=dict)
    resets: int = 0
    missing_retry_after: int = 0
    during_outage: int = 0  # answers received while the server was stopped
    outage_not_503: int = 0  # ... that were not a 503 with Retry-After
    first_201_after: dict[str, float] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.status[status] = self.status.get(status, 0) + 1


class Phase:
    """What the database is doing now, for the clients to compare their answers with."""

    def __init__(self) -> None:
        self.stopped = False
        self.waiting_for: str | None = None  # a fault whose recovery is being timed
        self.back_at = 0.0  # when the server answered again after that fault


class Connection:
    """A bare HTTP/1.1 keep-alive connection (a client library would cost more CPU than the
    server under test on a shared 2-core machine)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[bytes, bytes]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: stress\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        await self.reader.readexactly(int(headers.get(b"content-length", b"0")))
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(head[9:12]), headers

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _seed(url: str, count: int) -> list[str]:
    from tortoise import Tortoise

    from models.db import database
    from models.entities import Contractor, Job
    from models.tokens import new_token

    async with database(url):
        contractor = await Contractor.create(external_id="stress", name="Stress")
        now = datetime.now(UTC)
        jobs = [Job(external_id=f"stress-{n}", contractor=contractor, completed_at=now, token=new_token(),
                    expires_at=now + timedelta(days=30)) for n in range(count)]
        await Job.bulk_create(jobs, batch_size=2000)
    await Tortoise.close_connections()
    return [job.token for job in jobs]


async def _stored(url: str) -> tuple[int, int, set[str]]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch("SELECT submission_id FROM customer_responses")
        distinct_jobs = await conn.fetchval("SELECT count(DISTINCT job_id) FROM customer_responses")
    finally:
        await conn.close()
    return len(rows), int(distinct_jobs), {row["submission_id"] for row in rows}


async def _ready(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: stress\r\nConnection: close\r\n\r\n")
            if (await reader.read(20)).startswith(b"HTTP/1.1 200"):
                writer.close()
                return
            writer.close()
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the collector did not start")


async def _wait_healthy(port: int) -> float:
    """The moment /healthz answers 200 again."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: stress\r\nConnection: close\r\n\r\n")
            ok = (await reader.read(20)).startswith(b"HTTP/1.1 200")
            writer.close()
            if ok:
                return time.monotonic()
        except OSError:
            pass
        await asyncio.sleep(0.05)


async def drive(tokens: list[str], port: int, clients: int, cluster: PrivateCluster, outage: float,
                max_wait: float) -> tuple[Tally, dict[str, float], float]:
    tally = Tally()
    phase = Phase()
    queue = list(range(len(tokens)))
    queue.reverse()
    total = len(tokens)
    recovery: dict[str, float] = {}

    async def client() -> None:
        connection = Connection(port)
        while queue:
            index = queue.pop()
            body = json.dumps({"answers": ANSWERS, "submission_id": f"stress-{index}"}).encode()
            while True:
                stopped = phase.stopped
                try:
                    status, headers = await connection.post(f"/api/v1/responses/{tokens[index]}", body)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    tally.resets += 1
                    connection.close()
                    await asyncio.sleep(0.2)
                    continue
                tally.count(status)
                retry_after = headers.get(b"retry-after")
                if stopped and phase.stopped:
                    tally.during_outage += 1
                    if status != 503 or retry_after is None:
                        tally.outage_not_503 += 1
                if status == 201:
                    tally.acknowledged.add(index)
                    if phase.waiting_for is not None and phase.back_at:
                        recovery[phase.waiting_for] = time.monotonic() - phase.back_at
                        phase.waiting_for = None
                    break
                if status == 503 and retry_after is None:
                    tally.missing_retry_after += 1
                wait = min(float(retry_after or 1), max_wait) if status == 503 else 0.2
                await asyncio.sleep(wait)
        connection.close()

    async def faults() -> None:
        while len(tally.acknowledged) < total // 4:
            await asyncio.sleep(0.05)
        print(f"  restarting PostgreSQL at {len(tally.acknowledged)} acknowledged", flush=True)
        phase.waiting_for, phase.back_at = "restart", 0.0
        await asyncio.to_thread(cluster.restart)
        phase.back_at = await _wait_healthy(port)
        while len(tally.acknowledged) < total * 3 // 5:
            await asyncio.sleep(0.05)
        print(f"  stopping PostgreSQL for {outage:g} s at {len(tally.acknowledged)} acknowledged", flush=True)
        await asyncio.to_thread(cluster.stop)
        phase.stopped = True
        await asyncio.sleep(outage)
        phase.stopped = False
        phase.waiting_for, phase.back_at = "stop", 0.0
        await asyncio.to_thread(cluster.start)
        phase.back_at = await _wait_healthy(port)

    started = time.monotonic()
    await asyncio.gather(faults(), *(client() for _ in range(clients)))
    return tally, recovery, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--outage", type=float, default=4.0, help="seconds the cluster stays stopped")
    parser.add_argument("--max-wait-s", type=float, default=1.0, help="cap on a client's wait after a 503")
    parser.add_argument("--keep-log", metavar="FILE", help="copy the collector's log here")
    args = parser.parse_args()

    with PrivateCluster(max_connections=50) as cluster:
        print(f"private PostgreSQL cluster in {cluster.folder} on port {cluster.port}", flush=True)
        tokens = asyncio.run(_seed(cluster.url, args.submissions))
        port = free_port()
        log_path = cluster.folder / "collector.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "collector.cli", "--database-url", cluster.url, "serve", "--port", str(port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                asyncio.run(_ready(port))
                tally, recovery, seconds = asyncio.run(
                    drive(tokens, port, args.clients, cluster, args.outage, args.max_wait_s))
            finally:
                server.terminate()
                server.wait(timeout=20)
        stored, distinct_jobs, submission_ids = asyncio.run(_stored(cluster.url))
        log_text = log_path.read_text(errors="replace")
        if args.keep_log:
            Path(args.keep_log).write_text(log_text)

    acked_ids = {f"stress-{i}" for i in tally.acknowledged}
    lost = len(acked_ids - submission_ids)
    five_xx = sum(n for status, n in tally.status.items() if status >= 500 and status != 503)
    print(f"submissions {args.submissions} from {args.clients} clients in {seconds:.1f} s; "
          f"answers by status: {dict(sorted(tally.status.items()))}")
    print(f"  acknowledged {len(tally.acknowledged)}   stored {stored}   duplicated {stored - distinct_jobs}   "
          f"lost {lost}   5xx (not 503) {five_xx}   503 {tally.status.get(503, 0)}   resets {tally.resets}")
    print(f"  recovery (server back -> first 201): after the restart "
          f"{recovery.get('restart', float('nan')) * 1000:.0f} ms, after the stop "
          f"{recovery.get('stop', float('nan')) * 1000:.0f} ms")
    print(f"  answers while stopped: {tally.during_outage}, of which not 503 + Retry-After: "
          f"{tally.outage_not_503}; 503s without Retry-After: {tally.missing_retry_after}")
    print(f"  collector log: {log_text.count('Traceback')} tracebacks, "
          f"{log_text.count('database unavailable')} 'database unavailable' lines")
    for line in sorted({line for line in log_text.splitlines() if EXCEPTION_LINE.match(line)}):
        print(f"    log: {line[:200]}")
    ok = (lost == 0 and stored == distinct_jobs == len(tally.acknowledged) and five_xx == 0 and tally.resets == 0
          and tally.outage_not_503 == 0 and tally.missing_retry_after == 0 and tally.during_outage > 0)
    print("  verdict:", "meets the targets" if ok else "MISSES the targets", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
