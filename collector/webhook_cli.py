"""`rapport webhook add|list|remove|deliveries|replay` and `rapport worker`.

Registered on the `rapport` parser by collector.cli; a mistake raises ValueError
or LookupError, which the command prints as one line with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import UTC, date, datetime
from typing import Any

from collector.cli_common import with_database

__all__ = ["register"]


def _since(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date such as 2026-11-01, not {text!r}") from None


def _cmd_add(args: argparse.Namespace) -> None:
    from models import webhooks

    events = [name for name in args.events.split(",") if name.strip()]
    endpoint, secret = with_database(args.database_url, lambda: webhooks.add_endpoint(url=args.url, events=events))
    print(f"webhook {endpoint.id} added: {endpoint.url}")
    print(f"events: {', '.join(endpoint.events)}")
    print("its signing secret, shown this once (docs/webhooks.md: verifying a delivery):")
    print(secret)


def _cmd_list(args: argparse.Namespace) -> None:
    from models import webhooks

    endpoints = with_database(args.database_url, webhooks.list_endpoints)
    if not endpoints:
        print("no webhooks (add one with `rapport webhook add URL --events ...`)")
        return
    print(f"{'id':>4}  {'pending':>7}  {'failed':>6}  {'delivered':>9}  url  events")
    for e in endpoints:
        print(f"{e.id:>4}  {e.pending:>7}  {e.failed:>6}  {e.delivered:>9}  {e.url}  {','.join(e.events)}")


def _cmd_remove(args: argparse.Namespace) -> None:
    from models import webhooks

    if not with_database(args.database_url, lambda: webhooks.remove_endpoint(endpoint_id=args.id)):
        raise LookupError(f"no webhook {args.id}")
    print(f"webhook {args.id} removed, with the events still queued for it")


def _cmd_deliveries(args: argparse.Namespace) -> None:
    from models import webhooks

    status = None if args.status == "all" else args.status
    rows = with_database(args.database_url,
                         lambda: webhooks.deliveries(endpoint_id=args.id, status=status, limit=args.limit))
    if not rows:
        print("no deliveries")
        return
    print("endpoint  status     attempts  created                    event_id                              "
          "event  last error")
    for d in rows:
        print(f"{d.endpoint_id:>8}  {d.status:<9}  {d.attempts:>8}  {d.created_at.isoformat(timespec='seconds'):<25}  "
              f"{d.event_id}  {d.event}  {d.last_error or ''}")


def _cmd_replay(args: argparse.Namespace) -> None:
    from models import webhooks

    status = None if args.status == "all" else args.status

    async def work() -> int:
        if not any(e.id == args.id for e in await webhooks.list_endpoints()):
            raise LookupError(f"no webhook {args.id}")
        return await webhooks.replay(endpoint_id=args.id, event_ids=args.event or (), status=status, since=args.since)

    print(f"{with_database(args.database_url, work)} events of webhook {args.id} queued again")


def _cmd_worker(args: argparse.Namespace) -> None:
    from collector.worker import run_until

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_until(stop)

    # Migrations are the release step's (`rapport migrate`) or `rapport serve`'s.
    with_database(args.database_url, work, migrate=False)


def register(commands: Any) -> None:
    """Add `webhook` and `worker` to the `rapport` command's subparsers."""
    from models import outbox  # light: the event names and statuses; the rest loads with a command
    webhook = commands.add_parser("webhook", help="webhook endpoints: add, list, remove, deliveries, replay")
    actions = webhook.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an endpoint; its signing secret is printed once, as the last line")
    add.add_argument("url", help="the http:// or https:// address events are POSTed to")
    add.add_argument("--events", required=True,
                     help=f"comma-separated: {', '.join(outbox.EVENTS)}, alert.<name> or {outbox.ALERT_ALL}")
    add.set_defaults(run=_cmd_add)
    actions.add_parser("list", help="endpoints with their events counted by status; never the secrets").set_defaults(
        run=_cmd_list)
    remove = actions.add_parser("remove", help="delete an endpoint and its queue")
    remove.add_argument("id", type=int)
    remove.set_defaults(run=_cmd_remove)
    shown = actions.add_parser("deliveries", help="events and their delivery state, newest first")
    shown.add_argument("id", type=int, nargs="?", help="one endpoint (default: all)")
    shown.add_argument("--status", choices=(*outbox.STATUSES, "all"), default="failed",
                       help="which events (default: failed)")
    shown.add_argument("--limit", type=int, default=50)
    shown.set_defaults(run=_cmd_deliveries)
    replay = actions.add_parser("replay", help="send events again, in their order (default: the failed ones)")
    replay.add_argument("id", type=int)
    replay.add_argument("--event", action="append", metavar="EVENT_ID", help="this event (repeatable)")
    replay.add_argument("--status", choices=(*outbox.STATUSES, "all"), default="failed",
                        help="without --event: the events of this status (default: failed)")
    replay.add_argument("--since", type=_since, help="only events created since this day (YYYY-MM-DD, UTC)")
    replay.set_defaults(run=_cmd_replay)

    commands.add_parser("worker", help="deliver webhooks and run the periodic jobs (as `rapport serve` does)"
                        ).set_defaults(run=_cmd_worker)
