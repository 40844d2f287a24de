"""A live dashboard for browser tests, screenshots and the benchmark.

`fill_demo(url)` puts a small demo brand, a user and a four-contractor region
("Islands", whose scores must stay hidden) into a database;
`LiveServer(url)` runs the real `python -m dashboard.server` on a free
127.0.0.1 port for as long as its `with` block lasts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PASSWORD",
    "ROOT",
    "SMALL_REGION",
    "USERNAME",
    "LiveServer",
    "fill_demo",
    "free_port",
    "sign_in",
]

ROOT = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "lead", "correct horse battery"
SMALL_REGION = "Islands"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fill_demo(url: str, *, contractors: int = 300, weeks: int = 12, seed: int = 7) -> None:
    """The demo brand, the user `lead`, and four contractors moved to a region of their own."""
    from models.db import database
    from models.demo import generate
    from models.entities import Contractor, PulseResponse
    from models.keys import create_user

    async with database(url):
        await generate(contractors=contractors, weeks=weeks, seed=seed)
        await create_user(username=USERNAME, password=PASSWORD)
        ids = [c.id for c in await Contractor.all().order_by("id").limit(4)]
        await Contractor.filter(id__in=ids).update(region=SMALL_REGION)
        # as if they had always been there: answers keep the groups they were given with
        await PulseResponse.filter(contractor_id__in=ids).update(region=SMALL_REGION)


class LiveServer:
    """`python -m dashboard.server` (or another `command`, such as the collector's
    `collector.cli serve`) on a free port, logging to a file (a full pipe would stall it)."""

    def __init__(self, url: str, env: dict[str, str] | None = None,
                 command: tuple[str, ...] = ("dashboard.server",)) -> None:
        self.command = command
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {}), "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}

    def __enter__(self) -> LiveServer:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.command, "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.output()) from None
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the dashboard did not start within 30 s")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def sign_in(page: Any, base: str, path: str = "/dashboard/") -> None:
    """Sign in through the real form (Playwright page)."""
    page.goto(base + path)
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/**")
