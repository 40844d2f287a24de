"""The `rapport` command: serve the collector, migrate, manage keys and users, import, demo.

Errors print one clear line to stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from models.settings import SettingsError, normalise_database_url, settings

__all__ = ["main"]

T = TypeVar("T")
DEMO_USER = "demo"
IMPORT_KINDS = ("contractors", "customer-responses", "pulse-responses")


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
        uvicorn.run("collector.app:create_app", factory=True, workers=args.workers, **options)
    else:
        from collector.app import create_app

        uvicorn.run(create_app(args.database_url), **options)


def cmd_migrate(args: argparse.Namespace) -> None:
    from models.db import migrate

    asyncio.run(migrate(args.database_url))
    print("database is up to date")


def cmd_apikey(args: argparse.Namespace) -> None:
    from models.keys import create_api_key, revoke_api_key

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
    from models.keys import create_user

    password = _password(args)
    _with_database(args.database_url, lambda: create_user(username=args.name, password=password))
    print(f"user {args.name!r} can sign in to the dashboard")


def cmd_import(args: argparse.Namespace) -> None:
    from models.transfer import import_csv  # written alongside; imported only when used

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    result = _with_database(args.database_url, lambda: import_csv(kind=args.kind, data=data))
    summary = result.as_dict() if hasattr(result, "as_dict") else result
    print(json.dumps(summary, default=str) if isinstance(summary, dict) else summary)


def cmd_demo(args: argparse.Namespace) -> None:
    from models.demo import DemoError, generate, has_data
    from models.keys import create_user

    password = secrets.token_urlsafe(9)

    async def work() -> Any:
        if args.if_empty and await has_data():
            await create_user(username=DEMO_USER, password=password)
            return None
        result = await generate(contractors=args.contractors, seed=args.seed, wipe=args.wipe)
        await create_user(username=DEMO_USER, password=password)
        return result

    try:
        result = _with_database(args.database_url, work)
    except DemoError as exc:
        raise CommandError(str(exc)) from None
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
    print(f"Dashboard: {settings.dashboard_url}  user {DEMO_USER!r}, password {password!r}")
    if result is not None:
        print("API key 'demo' (shown once; send as 'Authorization: Bearer <key>'):")
        print(result.api_key)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapport", description="Rapport: survey links out, answers in.")
    parser.add_argument(
        "--database-url",
        default=None,
        help="sqlite://FILE or postgres://... (default: $DATABASE_URL, else sqlite://rapport.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve the collector")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=cmd_migrate)

    apikey = commands.add_parser("apikey", help="create or revoke API keys")
    apikey_actions = apikey.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("create", "create a key; prints it as the last line"), ("revoke", "revoke a key")):
        sub = apikey_actions.add_parser(action, help=text)
        sub.add_argument("name")
        sub.set_defaults(run=cmd_apikey)

    user = commands.add_parser("user", help="dashboard users")
    user_actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = user_actions.add_parser("create", help="create a user or set a new password")
    create.add_argument("name")
    create.add_argument("--password", help="else $RAPPORT_PASSWORD, else asked twice")
    create.set_defaults(run=cmd_user)

    importer = commands.add_parser("import", help="import a CSV file whole, or nothing")
    importer.add_argument("kind", choices=IMPORT_KINDS)
    importer.add_argument("file")
    importer.set_defaults(run=cmd_import)

    demo = commands.add_parser("demo", help="fill an empty database with a believable demo brand")
    demo.add_argument("--if-empty", action="store_true", help="leave a database that holds data as it is")
    demo.add_argument("--wipe", action="store_true", help="delete all survey data first")
    demo.add_argument("--contractors", type=int, default=300)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=cmd_demo)
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
