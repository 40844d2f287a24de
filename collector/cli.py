"""The `rapport` command: serve the collector, migrate, manage keys and users, import, demo, run,
forget people, read the audit log.

Errors print one clear line to stderr (an import's, one more line per error)
and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from models.settings import SettingsError, normalise_database_url, settings

__all__ = ["main"]

T = TypeVar("T")
DEMO_USER = "demo"
DEMO_PASSWORD_FILE = Path(".rapport-demo-password")  # beside .rapport-secret; never in git
IMPORT_KINDS = ("contractors", "customer-responses", "pulse-responses")
STOP_GRACE = 20.0  # seconds `rapport run` waits for the servers to finish after a stop


class CommandError(Exception):
    """A command cannot be done; the message is shown as is."""


def _with_database(url: str, work: Callable[[], Awaitable[T]]) -> T:
    from models.db import database

    async def run() -> T:
        async with database(url):
            return await work()

    return asyncio.run(run())


class OneLineFormatter(logging.Formatter):
    """A record and its exception's class on one line, without the traceback: for
    expected trouble (asyncpg's pool failing to reconnect while PostgreSQL is down),
    whose message may also quote values."""

    def format(self, record: logging.LogRecord) -> str:
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        return f"{line} ({kind})" if kind else line


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus Rapport's loggers (rapport.access: one JSON line per
    request) to the same stderr. uvicorn's own access log stays off: it prints
    paths, and paths hold survey tokens. asyncpg's warnings are one line each."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["rapport"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["formatters"]["one_line"] = {"()": OneLineFormatter}
    for name, formatter in (("rapport", "rapport"), ("one_line", "one_line")):
        config["handlers"][name] = {"formatter": formatter, "class": "logging.StreamHandler",
                                    "stream": "ext://sys.stderr"}
    config["loggers"]["rapport"] = {"handlers": ["rapport"], "level": "INFO", "propagate": False}
    config["loggers"]["asyncpg"] = {"handlers": ["one_line"], "level": "WARNING", "propagate": False}
    return config


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from models.db import migrate

    asyncio.run(migrate(args.database_url))
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False, "log_config": log_config()}
    if args.workers > 1:
        # each worker is a fresh interpreter: it reads the database from the environment
        os.environ["DATABASE_URL"] = args.database_url
        uvicorn.run("collector.app:serve_app", factory=True, workers=args.workers, **options)
    else:
        from collector.app import create_app

        uvicorn.run(create_app(args.database_url, with_worker=settings.worker_in_serve), **options)


def cmd_migrate(args: argparse.Namespace) -> None:
    from models.db import migrate

    asyncio.run(migrate(args.database_url))
    print("database is up to date")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_apikey(args: argparse.Namespace) -> None:
    from models.keys import create_api_key, list_api_keys, revoke_api_key

    if args.action == "list":
        keys = _with_database(args.database_url, list_api_keys)
        _table(("name", "starts", "created", "last used", "state"),
               [(k.name, k.prefix + "…", _when(k.created_at), _when(k.last_used_at),
                 f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active") for k in keys])
        return
    if args.action == "create":
        key = _with_database(args.database_url, lambda: create_api_key(name=args.name))
        print(f"API key {args.name!r} created. It is shown only once; send it as 'Authorization: Bearer <key>':")
        print(key)
    else:
        _with_database(args.database_url, lambda: revoke_api_key(name=args.name))
        print(f"API key {args.name!r} revoked")


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    if os.environ.get("RAPPORT_PASSWORD"):
        return os.environ["RAPPORT_PASSWORD"]
    if not sys.stdin.isatty():
        raise CommandError("no password: pass --password, set RAPPORT_PASSWORD, or run in a terminal")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise CommandError("the passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> None:
    from models import keys

    if args.action == "list":
        users = _with_database(args.database_url, keys.list_users)
        _table(("name", "created", "last sign-in", "state", "sessions"),
               [(u.username, _when(u.created_at), _when(u.last_login_at),
                 f"disabled {_when(u.disabled_at)}" if u.disabled_at else "active", str(u.sessions)) for u in users])
    elif args.action == "disable":
        ended = _with_database(args.database_url, lambda: keys.disable_user(username=args.name))
        print(f"user {args.name!r} is disabled; {ended} session(s) ended")
    elif args.action == "enable":
        _with_database(args.database_url, lambda: keys.enable_user(username=args.name))
        print(f"user {args.name!r} can sign in again")
    elif args.action == "delete":
        ended = _with_database(args.database_url, lambda: keys.delete_user(username=args.name))
        print(f"user {args.name!r} is deleted; {ended} session(s) ended")
    else:
        password = _password(args)
        _with_database(args.database_url, lambda: keys.create_user(username=args.name, password=password))
        print(f"user {args.name!r} can sign in to the dashboard")


def cmd_forget(args: argparse.Namespace) -> None:
    from models.forget import NotFoundError, forget_contractor, forget_customer_response

    async def work() -> Any:
        if args.what == "contractor":
            return await forget_contractor(external_id=args.external_id)
        return await forget_customer_response(job_external_id=args.job, token=args.token)

    try:
        forgotten = _with_database(args.database_url, work)
    except NotFoundError as exc:
        raise CommandError(f"{exc}; nothing was deleted") from None
    deleted = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in forgotten.as_dict().items() if n)
    print(f"forgotten: {deleted}")


def _since(raw: str) -> datetime:
    """'7d', '12h', '30m', or an ISO date or date-time (UTC unless it says otherwise)."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if raw[-1:] in units and raw[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[raw[-1]]: int(raw[:-1])})
    try:
        moment = datetime.fromisoformat(raw) if "T" in raw or " " in raw else datetime.combine(
            date.fromisoformat(raw), datetime.min.time())
    except ValueError:
        raise CommandError(f"--since must be like 7d, 12h, 30m, 2026-11-01 or 2026-11-01T08:00, not {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_audit(args: argparse.Namespace) -> None:
    from models.audit import entries, prune

    since = _since(args.since) if args.since else None

    async def work() -> Any:
        await prune()
        return await entries(since=since, actor=args.actor, limit=args.limit)

    for e in _with_database(args.database_url, work):
        params = " ".join(f"{k}={v}" for k, v in sorted(e.params.items()))
        status = f" -> {e.status}" if e.status is not None else ""
        print(f"{e.at.astimezone(UTC).isoformat(timespec='seconds')}  {e.actor_kind}:{e.actor}  {e.client}  "
              f"{e.action}{status}{'  ' + params if params else ''}")


def cmd_import(args: argparse.Namespace) -> None:
    from models.transfer import CsvImportError, import_csv

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        result = _with_database(args.database_url, lambda: import_csv(kind=args.kind, data=data))
    except CsvImportError as exc:
        raise CommandError(_import_errors(args.file, exc)) from None
    print(json.dumps(result.as_dict(), default=str))


def _import_errors(file: str, problem: Any) -> str:
    """Every error the importer listed, one per line, and how many there are in all."""
    count = problem.error_count
    lines = [f"{file}: {count} error{'s' if count != 1 else ''}; nothing was imported"]
    lines += [f"  line {e.line}" + (f", {e.column}" if e.column else "") + f": {e.message}"
              for e in problem.errors]
    if count > len(problem.errors):
        lines.append(f"  ... and {count - len(problem.errors)} more (the first {len(problem.errors)} are listed)")
    return "\n".join(lines)


def _import_help() -> str:
    from models.transfer import import_columns

    return "columns (header names exact, any order):\n\n" + "\n\n".join(
        import_columns(kind).describe() for kind in IMPORT_KINDS
    )


def _with_columns(parser: argparse.ArgumentParser) -> Callable[[], str]:
    """`parser`'s help with each kind's columns, written only when help is asked for
    (they come from the survey files in force, read through the database layer)."""

    def format_help() -> str:
        parser.epilog = _import_help()
        return argparse.ArgumentParser.format_help(parser)

    return format_help


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
        result, signs_in = _with_database(args.database_url, work)
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
        print(f"Customer survey to try: {result.survey_url}")
        print(f"Contractor pulse to try: {result.pulse_url}")
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapport", description="Rapport: survey links out, answers in.")
    parser.add_argument(
        "--database-url",
        default=None,
        help="sqlite://FILE or postgres://... (default: $DATABASE_URL, else sqlite://rapport.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    defaults = argparse.ArgumentDefaultsHelpFormatter
    serve = commands.add_parser("serve", help="migrate the database, then serve the collector",
                                description="Apply pending migrations, then serve the survey pages and the API.",
                                formatter_class=defaults)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes serving requests; more than 1 reads DATABASE_URL in each")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=cmd_migrate)

    apikey = commands.add_parser("apikey", help="create, list or revoke API keys")
    apikey_actions = apikey.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("create", "create a key; prints it as the last line"), ("revoke", "revoke a key")):
        sub = apikey_actions.add_parser(action, help=text)
        sub.add_argument("name")
        sub.set_defaults(run=cmd_apikey)
    apikey_actions.add_parser("list", help="names, creation and last use; never the keys").set_defaults(
        run=cmd_apikey)

    user = commands.add_parser("user", help="dashboard users")
    user_actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = user_actions.add_parser("create", help="create a user or set a new password")
    create.add_argument("name")
    create.add_argument("--password", help="else $RAPPORT_PASSWORD, else asked twice")
    create.set_defaults(run=cmd_user)
    user_actions.add_parser("list", help="users, last sign-in and open sessions").set_defaults(run=cmd_user)
    for action, text in (("disable", "refuse the user's sign-ins and end all their sessions"),
                         ("enable", "let a disabled user sign in again"),
                         ("delete", "delete the user and end all their sessions")):
        sub = user_actions.add_parser(action, help=text)
        sub.add_argument("name")
        sub.set_defaults(run=cmd_user)

    forget = commands.add_parser("forget", help="delete a person's data for good (GDPR Art. 17)")
    forget_what = forget.add_subparsers(dest="what", required=True, metavar="WHAT")
    contractor = forget_what.add_parser(
        "contractor", help="the contractor, their pulse answers and links, their jobs and those jobs' customer answers")
    contractor.add_argument("external_id")
    contractor.set_defaults(run=cmd_forget)
    customer = forget_what.add_parser("customer-response", help="one customer's answers, with their job and link")
    which = customer.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", metavar="EXTERNAL_ID", help="the job's external id")
    which.add_argument("--token", help="the token of the survey link (the part after /s/)")
    customer.set_defaults(run=cmd_forget)

    audit = commands.add_parser("audit", help="who read, exported or deleted what, oldest first")
    audit.add_argument("--since", help="7d, 12h, 30m, or an ISO date or date-time")
    audit.add_argument("--actor", help="an API key name or a dashboard user")
    audit.add_argument("--limit", type=int, default=1000, help="the newest N entries (default 1000)")
    audit.set_defaults(run=cmd_audit)

    importer = commands.add_parser(
        "import", help="import a CSV file whole, or nothing",
        description="Import a CSV file (UTF-8, a header line first) whole, or nothing: every error is "
                    "listed with its line and column, and nothing is stored unless every line is good.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importer.add_argument("kind", choices=IMPORT_KINDS, help="what the file holds: %(choices)s")
    importer.add_argument("file", help="the CSV file")
    importer.format_help = _with_columns(importer)  # type: ignore[method-assign]
    importer.set_defaults(run=cmd_import)

    demo = commands.add_parser("demo", help="fill an empty database with a believable demo brand",
                               description="Fill the database with a demo brand and print an API key, "
                                           "survey links and the dashboard login (its password is kept "
                                           f"in {DEMO_PASSWORD_FILE}).",
                               formatter_class=defaults)
    demo.add_argument("--if-empty", action="store_true", help="leave a database that holds data as it is")
    demo.add_argument("--wipe", action="store_true", help="delete all survey data first")
    demo.add_argument("--contractors", type=int, default=300, help="how many contractors to invent")
    demo.add_argument("--seed", type=int, default=7, help="random seed: the same seed, the same demo")
    demo.set_defaults(run=cmd_demo)

    run = commands.add_parser("run", help="demo data if empty, then the collector and the dashboard together",
                              description="What `make run` does: `rapport demo --if-empty`, then the "
                                          "collector and the dashboard side by side; Ctrl-C or SIGTERM "
                                          "stops both.",
                              formatter_class=defaults)
    run.add_argument("--host", default="127.0.0.1", help="address both servers listen on")
    run.add_argument("--port", type=int, default=8000, help="the collector's port")
    run.add_argument("--dash-port", type=int, default=8050, help="the dashboard's port")
    run.set_defaults(run=cmd_run)

    from collector import webhook_cli

    webhook_cli.register(commands)  # webhook add|list|remove|deliveries|replay, worker
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.database_url = normalise_database_url(args.database_url) if args.database_url else settings.database_url
        if getattr(args, "workers", 1) < 1:
            raise CommandError("--workers must be at least 1")
        args.run(args)
    except KeyboardInterrupt:
        return 130
    except (CommandError, SettingsError, ValueError, LookupError, OSError) as exc:
        # CredentialError, the importer's errors and unreachable databases land here
        print(f"rapport: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a database error, say: one line, no traceback
        print(f"rapport: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
