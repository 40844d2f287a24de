"""Done-when test of the webhooks (issue 11), on PostgreSQL: a real HTTP receiver on
127.0.0.1 refuses its first deliveries, is down for a while and recovers; two
`rapport worker` processes run at once, one is killed (SIGKILL, holding its
lease) and another started. Every event arrives, exactly once after
de-duplication by event id, in order per endpoint, with a valid signature, and
an endpoint never has two deliveries in flight at once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from models import outbox, webhooks
from models.entities import WebhookDelivery
from tests.conftest import _empty, _run, open_database

pytestmark = pytest.mark.anyio

RAPPORT = str(Path(sys.executable).with_name("rapport"))
FAST_ENV = {"RAPPORT_WEBHOOK_BACKOFF": "0.05", "RAPPORT_WEBHOOK_BACKOFF_MAX": "0.4", "RAPPORT_WORKER_POLL": "0.05",
            "RAPPORT_WORKER_LEASE": "2", "RAPPORT_WEBHOOK_TIMEOUT": "2"}


class Receiver:
    """A threaded HTTP server that can refuse, go down and come back on its port."""

    def __init__(self, refuse_first: int) -> None:
        self.refuse_first = refuse_first
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []  # every request, accepted or not
        self.accepted: dict[str, list[bytes]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight = 0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.in_flight[self.path] += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight[self.path])
                    receiver.requests.append((self.path, dict(self.headers), body))
                    refuse = len(receiver.requests) <= receiver.refuse_first
                time.sleep(0.002)  # a window in which a second delivery would overlap
                with receiver.lock:
                    receiver.in_flight[self.path] -= 1
                    if not refuse:
                        receiver.accepted[self.path].append(body)
                self.send_response(503 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def first_arrivals(self, path: str) -> list[str]:
        seen: list[str] = []
        with self.lock:
            for body in self.accepted[path]:
                event_id = json.loads(body)["id"]
                if event_id not in seen:
                    seen.append(event_id)
        return seen


def _worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **FAST_ENV}
    return subprocess.Popen([RAPPORT, "--database-url", url, "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _emit(events: dict[str, list[str]], endpoint_event: dict[str, str], n: int) -> None:
    for i in range(n):
        for path, event in endpoint_event.items():
            async with in_transaction():  # like a response or a case: the event commits with it
                before = await WebhookDelivery.all().count()
                await outbox.emit(event, {"path": path, "i": i})
            row = await WebhookDelivery.all().order_by("-id").first()
            assert row is not None and await WebhookDelivery.all().count() == before + 1
            events[path].append(row.event_id)


async def _wait(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


@pytest.fixture
def pg(_postgres_url: str) -> str:
    _run(_empty(_postgres_url))
    return _postgres_url


async def test_every_event_once_in_order_through_refusals_an_outage_and_a_killed_worker(pg: str) -> None:
    await open_database(pg)
    receiver = Receiver(refuse_first=6)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        base = f"http://127.0.0.1:{receiver.port}"
        secrets: dict[str, str] = {}
        endpoint_event = {"/crm": "customer_response.created", "/ops": "alert.detractor_in_region"}
        for path, event in endpoint_event.items():
            _, secrets[path] = await webhooks.add_endpoint(url=base + path, events=[event])
        events: dict[str, list[str]] = defaultdict(list)

        workers += [_worker(pg), _worker(pg)]  # two at once, from the start
        await _emit(events, endpoint_event, 15)
        assert await _wait(lambda: len(receiver.requests) >= 12, 30)  # refusals, then some accepted
        receiver.down()
        await _emit(events, endpoint_event, 10)  # queued while the receiver is down
        await asyncio.sleep(0.5)  # failed attempts pile up, with back-off
        workers[0].send_signal(signal.SIGKILL)  # a crash, holding whatever it had leased
        workers[0].wait()
        workers.append(_worker(pg))  # restarted
        await asyncio.sleep(1.0)
        receiver.up()
        await _emit(events, endpoint_event, 10)

        def complete() -> bool:
            return all(receiver.first_arrivals(path) == events[path] for path in endpoint_event)

        assert await _wait(complete, 60), {p: (len(receiver.first_arrivals(p)), len(events[p])) for p in events}
        for path in endpoint_event:
            assert receiver.first_arrivals(path) == events[path]  # every event, in the order emitted
            assert len(events[path]) == 35
        assert receiver.most_in_flight == 1  # an endpoint's next delivery waits for the previous one
        for path, headers, body in receiver.requests:
            stamp, signature = (part.split("=", 1)[1] for part in headers["Rapport-Signature"].split(","))
            expected = hmac.new(secrets[path].encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signature, expected)
            assert json.loads(body)["data"]["path"] == path
        await asyncio.sleep(0.3)  # the last delivery's row is written after its answer
        assert await WebhookDelivery.filter(status="delivered").count() == 70
        for worker in workers[1:]:  # SIGTERM: each finishes its round, gives its leases back, exits 0
            worker.terminate()
            assert worker.wait(timeout=10) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            worker.wait(timeout=10)
        if receiver.server is not None:
            receiver.down()
        await Tortoise.close_connections()
