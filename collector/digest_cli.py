"""`rapport digest`: the weekly digest e-mail from the command line.

    rapport digest send [--now 2026-11-30T07:00]   send this week's digest to whoever is due
    rapport digest subscribe NAME --email ADDRESS   turn a user's digest on (at a new address)
    rapport digest unsubscribe NAME                 turn it off (the address is kept)
    rapport digest list                             who gets it, and when it last went out

Registered by `collector.cli` with `register`.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from collector.cli_common import table, when, with_database

__all__ = ["register"]


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(commands: Any) -> None:
    """Add `digest` and its actions to the `rapport` command's subparsers."""
    digest = commands.add_parser("digest", help="the weekly digest e-mail: send it, turn it on or off",
                                 description="The weekly digest e-mail to dashboard users who asked for it. "
                                             "The mail server is RAPPORT_SMTP_URL (smtp://, smtp+starttls:// "
                                             "or smtps://), the sender RAPPORT_SMTP_FROM.")
    actions = digest.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser("send", help="send this week's digest to every user due for it (once a week each)")
    send.add_argument("--now", type=_moment, default=None,
                      help="the moment to act as (ISO; default: now): the digest covers the week before it")
    subscribe = actions.add_parser("subscribe", help="turn a user's weekly digest on")
    subscribe.add_argument("name")
    subscribe.add_argument("--email", help="the address to send it to (default: the one kept)")
    unsubscribe = actions.add_parser("unsubscribe", help="turn a user's weekly digest off")
    unsubscribe.add_argument("name")
    actions.add_parser("list", help="users with a digest address, on or off, and the last one sent")
    digest.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> None:
    from models import digest

    if args.action == "send":
        run = with_database(args.database_url, lambda: digest.send_due_digests(args.now))
        for name in run.sent:
            print(f"sent the digest of {run.week} to {name}")
        for name, why in run.failed.items():
            print(f"not sent to {name}: {why}")
        print(f"{run.week}: {len(run.sent)} sent, {len(run.failed)} failed, {run.already} had it already")
        if run.failed:
            raise ValueError(f"{len(run.failed)} digest(s) not sent; the next run tries again")
        return
    if args.action == "list":
        subscribers = with_database(args.database_url, digest.list_subscribers)
        rows = [(s.username, s.email or "", "on" if s.weekly else "off", when(s.last_sent)) for s in subscribers]
        table(("user", "e-mail", "weekly", "last sent"), rows)
        return
    on = args.action == "subscribe"
    result = with_database(args.database_url, lambda: digest.set_digest(
        username=args.name, weekly=on, email=getattr(args, "email", None)))
    print(f"weekly digest {'on' if on else 'off'} for {result.username}" + (f" ({result.email})" if on else ""))
