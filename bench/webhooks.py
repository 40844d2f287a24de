"""Benchmark: webhook delivery on PostgreSQL (a scratch database, dropped afterwards).

1. Throughput: N events queued for one endpoint, one `rapport worker` process
   delivers them to a local receiver (a threaded http.server): events/s from
   the first arrival to the last, and the worker's CPU per event.
2. Lag: `rapport serve` (the worker inside it, as deployed) takes customer
   submissions at its full rate from a Python client (bench.submit's, 32
   connections) while an endpoint subscribes to customer_response.created:
   delivery lag = arrival at the receiver - the response's submitted_at
   (p50, p99, max), and the submission rate next to the same run with no
   endpoint subscribed (the cost of the outbox on the submission path).

    .venv/bin/python -m bench.webhooks [--events 3000] [--seconds 10]

Not a test. Wall-clock figures on a shared 2-core machine swing from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.scratch import scratch_postgres
from bench.submit import _free_port, _prepare, _python_load, cpu_seconds

RAPPORT = str(Path(sys.executable).with_name("rapport"))


class Receiver:
    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrivals.append((time.time(), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


async def _wait_for(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


async def _with_db(url: str, work):  # type: ignore[no-untyped-def]
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from models.db import database

    EXECUTOR_CACHE.clear()
    async with database(url, apply_migrations=False):
        result = await work()
    await Tortoise.close_connections()
    return result


async def throughput(url: str, events: int) -> None:
    from tortoise.transactions import in_transaction

    from models import outbox, webhooks

    receiver = Receiver()

    async def queue() -> None:
        await webhooks.add_endpoint(url=receiver.url + "/t", events=["followup.closed"])
        async with in_transaction():
            for n in range(events):
                await outbox.emit("followup.closed", {"n": n})

    await _with_db(url, queue)
    worker = subprocess.Popen([RAPPORT, "--database-url", url, "worker"], stderr=subprocess.DEVNULL)
    try:
        ok = await _wait_for(lambda: receiver.count() >= events, 300)
        cpu = cpu_seconds(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    first, last = receiver.arrivals[0][0], receiver.arrivals[-1][0]
    print(f"throughput: {receiver.count()} of {events} events delivered{'' if ok else ' (TIMED OUT)'} "
          f"in {last - first:.2f} s = {events / (last - first):.0f} events/s to one endpoint; "
          f"worker CPU {cpu * 1000 / events:.2f} ms/event (its start-up included)")
    receiver.server.shutdown()


async def lag(url: str, seconds: float, subscribe: bool, tokens: list[str]) -> tuple[float, list[float], float]:
    from models import webhooks

    receiver = Receiver()

    async def endpoints() -> None:
        for endpoint in await webhooks.list_endpoints():
            await webhooks.remove_endpoint(endpoint_id=endpoint.id)
        if subscribe:
            await webhooks.add_endpoint(url=receiver.url + "/lag", events=["customer_response.created"])

    await _with_db(url, endpoints)
    port = _free_port()
    server = subprocess.Popen([RAPPORT, "--database-url", url, "serve", "--port", str(port)],
                              stderr=subprocess.DEVNULL, env={**os.environ, "RAPPORT_WORKER_IN_SERVE": "on"})
    try:
        import httpx2 as httpx

        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        result = await _python_load("submit", f"http://127.0.0.1:{port}", mode="submit", tokens=tokens,
                                    seconds=seconds, concurrency=32)
        ended = time.time()
        if subscribe:
            await _wait_for(lambda: receiver.count() >= result.requests, 120)
    finally:
        server.terminate()
        server.wait(timeout=20)
    lags = sorted(t - datetime.fromisoformat(json.loads(body)["data"]["submitted_at"]).timestamp()
                  for t, body in receiver.arrivals)
    drained = (receiver.arrivals[-1][0] - ended) if receiver.arrivals else 0.0
    receiver.server.shutdown()
    return result.requests / result.seconds, lags, drained


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    async with scratch_postgres() as url:
        tokens = await _prepare(url, int(options.seconds * 2 * 3000))
        await throughput(url, options.events)
        half = len(tokens) // 2
        bare, _, _ = await lag(url, options.seconds, False, tokens[:half])
        rate, lags, drained = await lag(url, options.seconds, True, tokens[half:])

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p / 100 * len(lags)))] if lags else float("nan")

    print(f"submissions: {bare:.0f}/s with no endpoint, {rate:.0f}/s with one subscribed "
          f"(ratio {rate / bare:.2f}); {len(lags)} events delivered")
    print(f"delivery lag behind submission: p50 {pct(50):.2f} s, p99 {pct(99):.2f} s, max {lags[-1]:.2f} s; "
          f"last event {drained:.2f} s after the load ended (worker poll {os.environ.get('RAPPORT_WORKER_POLL', '1')} s)")


if __name__ == "__main__":
    asyncio.run(main())
