"""`rapport demo` and `rapport run`: a believable demo brand, and the collector with the
dashboard side by side on it (what `make run` does).

Registered by `collector.cli` with `register`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from collector.cli_common import CommandError, with_database
from collector.settings import link_url
from models.settings import settings

__all__ = ["DEMO_PASSWORD_FILE", "DEMO_USER", "STOP_GRACE", "cmd_demo", "cmd_run", "register"]

DEMO_USER = "demo"
DEMO_PASSWORD_FILE = Path(".rapport-demo-password")  # beside .rapport-secret; never in git
STOP_GRACE = 20.0  # seconds `rapport run` waits for the servers to finish after a stop


def _kept_password() -> str | None:
    try:
        return DEMO_PASSWORD_FILE.read_text().strip() or None
    except FileNotFoundError:
        return None


def _keep_password(password: str) -> None:
    DEMO_PASSWORD_FILE.write_text(password + "\n")
    DEMO_PASSWORD_FILE.chmod(0o600)


def cmd_demo(args: argparse.Namespace) -> None:
    """The demo login's password is made once and kept in DEMO_PASSWORD_FILE, so
    every later run prints the same one; a demo user whose password was set
    some other way keeps it."""
    from models.demo import DemoError, generate, has_data
    from models.keys import authenticate_user, create_user, user_exists

    kept = _kept_password()
    password = kept or secrets.token_urlsafe(9)

    async def work() -> tuple[Any, bool]:
        """(the demo made, or None; whether `password` signs the demo user in)"""
        if args.if_empty and await has_data():
            if not await user_exists(username=DEMO_USER):
                await create_user(username=DEMO_USER, password=password)
                return None, True
            return None, kept is not None and await authenticate_user(username=DEMO_USER, password=kept) is not None
        result = await generate(contractors=args.contractors, seed=args.seed, wipe=args.wipe)
        await create_user(username=DEMO_USER, password=password)
        return result, True

    try:
        result, signs_in = with_database(args.database_url, work)
    except DemoError as exc:
        raise CommandError(str(exc)) from None
    if signs_in and kept is None:
        _keep_password(password)
    if result is None:
        print("The database already holds data: kept as it is (rapport demo --wipe starts over).")
        print("API keys are shown once only; make a new one with: rapport apikey create NAME")
    else:
        print(
            f"Demo brand: {result.contractors} contractors, {result.waves} weekly pulse waves "
            f"({result.pulse_responses} answers), {result.jobs} jobs "
            f"({result.customer_responses} customer answers)."
        )
        print(f"Customer survey to try: {link_url('customer', result.survey_token)}")
        print(f"Contractor pulse to try: {link_url('pulse', result.pulse_token)}")
    if signs_in:
        print(f"Dashboard: {settings.dashboard_url}  user {DEMO_USER!r}, password {password!r} "
              f"(kept in {DEMO_PASSWORD_FILE})")
    else:
        print(f"Dashboard: {settings.dashboard_url}  user {DEMO_USER!r}, with the password it was given "
              f"(not the one in {DEMO_PASSWORD_FILE}); set a new one with: rapport user create {DEMO_USER}")
    if result is not None:
        print("API key 'demo' (shown once; send as 'Authorization: Bearer <key>'):")
        print(result.api_key)


def cmd_run(args: argparse.Namespace) -> None:
    """Demo data if the database is empty, then the collector and the dashboard side
    by side until Ctrl-C or SIGTERM, which stop both and end with status 0.

    Each step runs in a process group of its own, so a Ctrl-C reaches only this
    command, which asks each running step to stop (SIGTERM) and waits for it: a
    server still importing its modules ends without a traceback, a running one
    finishes its requests.
    """
    env = {**os.environ, "DATABASE_URL": args.database_url}
    env.setdefault("RAPPORT_BASE_URL", f"http://{args.host}:{args.port}")
    env.setdefault("RAPPORT_DASHBOARD_URL", f"http://{args.host}:{args.dash_port}/dashboard/")
    running: dict[str, subprocess.Popen[bytes]] = {}
    stop_requested = False

    def start(name: str, *argv: str) -> None:
        running[name] = subprocess.Popen([sys.executable, "-m", *argv], env=env, process_group=0)

    def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
        nonlocal stop_requested
        stop_requested = signum is not None or stop_requested
        for process in running.values():
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        start("demo", "collector.cli", "demo", "--if-empty")
        if running.pop("demo").wait() != 0 and not stop_requested:
            raise CommandError("the demo data could not be made (see above)")
        if stop_requested:
            return
        start("collector", "collector.cli", "serve", "--host", args.host, "--port", str(args.port))
        start("dashboard", "dashboard.server", "--host", args.host, "--port", str(args.dash_port))
        failed = None
        while not stop_requested and failed is None:
            failed = next((name for name, p in running.items() if p.poll() is not None), None)
            time.sleep(0.1)
    finally:
        stop()
        deadline = time.monotonic() + STOP_GRACE
        for process in running.values():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if failed is not None and not stop_requested:
        status = running[failed].returncode
        raise CommandError(f"the {failed} stopped (status {status}), so both were stopped; see above")


def register(commands: Any) -> None:
    """Add `demo` and `run` to the `rapport` command's subparsers."""
    demo = commands.add_parser("demo", help="fill an empty database with a believable demo brand",
                               description="Fill the database with a demo brand and print an API key, "
                                           "survey links and the dashboard login (its password is kept "
                                           f"in {DEMO_PASSWORD_FILE}).",
                               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--if-empty", action="store_true", help="leave a database that holds data as it is")
    demo.add_argument("--wipe", action="store_true", help="delete all survey data first")
    demo.add_argument("--contractors", type=int, default=300, help="how many contractors to invent")
    demo.add_argument("--seed", type=int, default=7, help="random seed: the same seed, the same demo")
    demo.set_defaults(run=cmd_demo)

    run = commands.add_parser("run", help="demo data if empty, then the collector and the dashboard together",
                              description="What `make run` does: `rapport demo --if-empty`, then the "
                                          "collector and the dashboard side by side; Ctrl-C or SIGTERM "
                                          "stops both.",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--host", default="127.0.0.1", help="address both servers listen on")
    run.add_argument("--port", type=int, default=8000, help="the collector's port")
    run.add_argument("--dash-port", type=int, default=8050, help="the dashboard's port")
    run.set_defaults(run=cmd_run)
