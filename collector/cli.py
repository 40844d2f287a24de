"""The `rapport` command: serve the collector, migrate, manage keys and users, import, demo, run,
forget people, read the audit log, send the weekly digest (collector.digest_cli).

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
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from collector.cli_common import CommandError, table, when, with_database
from collector.settings import settings as collector_settings
from models.settings import SettingsError, normalise_database_url, settings

__all__ = [
    "IMPORT_KINDS",
    "OneLineFormatter",
    "cmd_apikey",
    "cmd_audit",
    "cmd_forget",
    "cmd_import",
    "cmd_migrate",
    "cmd_serve",
    "cmd_user",
    "log_config",
    "main",
]

IMPORT_KINDS = ("contractors", "customer-responses", "pulse-responses")


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

        uvicorn.run(create_app(args.database_url, with_worker=collector_settings.worker_in_serve), **options)


def cmd_migrate(args: argparse.Namespace) -> None:
    from models.db import migrate

    asyncio.run(migrate(args.database_url))
    print("database is up to date")


def cmd_apikey(args: argparse.Namespace) -> None:
    from models.keys import create_api_key, list_api_keys, revoke_api_key

    if args.action == "list":
        keys = with_database(args.database_url, list_api_keys)
        table(("name", "starts", "created", "last used", "state"),
               [(k.name, k.prefix + "…", when(k.created_at), when(k.last_used_at),
                 f"revoked {when(k.revoked_at)}" if k.revoked_at else "active") for k in keys])
        return
    if args.action == "create":
        key = with_database(args.database_url, lambda: create_api_key(name=args.name))
        print(f"API key {args.name!r} created. It is shown only once; send it as 'Authorization: Bearer <key>':")
        print(key)
    else:
        with_database(args.database_url, lambda: revoke_api_key(name=args.name))
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
        users = with_database(args.database_url, keys.list_users)
        table(("name", "created", "last sign-in", "state", "sessions"),
               [(u.username, when(u.created_at), when(u.last_login_at),
                 f"disabled {when(u.disabled_at)}" if u.disabled_at else "active", str(u.sessions)) for u in users])
    elif args.action == "disable":
        ended = with_database(args.database_url, lambda: keys.disable_user(username=args.name))
        print(f"user {args.name!r} is disabled; {ended} session(s) ended")
    elif args.action == "enable":
        with_database(args.database_url, lambda: keys.enable_user(username=args.name))
        print(f"user {args.name!r} can sign in again")
    elif args.action == "delete":
        ended = with_database(args.database_url, lambda: keys.delete_user(username=args.name))
        print(f"user {args.name!r} is deleted; {ended} session(s) ended")
    else:
        password = _password(args)
        with_database(args.database_url, lambda: keys.create_user(username=args.name, password=password))
        print(f"user {args.name!r} can sign in to the dashboard")


def cmd_forget(args: argparse.Namespace) -> None:
    from models.forget import NotFoundError, forget_contractor, forget_customer_response

    async def work() -> Any:
        if args.what == "contractor":
            return await forget_contractor(external_id=args.external_id)
        return await forget_customer_response(job_external_id=args.job, token=args.token)

    try:
        forgotten = with_database(args.database_url, work)
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

    for e in with_database(args.database_url, work):
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
        result = with_database(args.database_url, lambda: import_csv(kind=args.kind, data=data))
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
    importer.format_help = _with_columns(importer)  # type: ignore[method-assign]  # argparse has no hook for text after the usage
    importer.set_defaults(run=cmd_import)

    from collector import demo_cli, digest_cli, webhook_cli

    demo_cli.register(commands)  # demo, run
    webhook_cli.register(commands)  # webhook add|list|remove|deliveries|replay, worker
    digest_cli.register(commands)  # digest send|subscribe|unsubscribe|list
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
