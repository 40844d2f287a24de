"""How fast each dashboard view updates, through the real HTTP routes, signed in.

    .venv/bin/python -m bench.dashboard [--db PATH] [--repeat 5] [--user lead --password ...]

Without --db, a fresh SQLite file gets the demo brand (300 contractors, twelve
weekly waves, `models.demo`). The real server (`python -m dashboard.server`)
runs on a free port; each view's callback is POSTed to
`/dashboard/_dash-update-component` as the browser does, `--repeat` times,
and its median and worst time are printed next to two baselines measured in
the same run: a bare signed-in round trip (`/dashboard/_dash-dependencies`,
the guard and the WSGI bridge with no query) and the analytics calls alone
(the same `models.analytics` functions, in this process, no HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.testing import PASSWORD, USERNAME, LiveServer, fill_demo  # noqa: E402


def _inputs(page: str, **controls: Any) -> list[dict[str, Any]]:
    return [{"id": f"{page}-query", "property": "data", "value": {}}] + [
        {"id": f"{page}-{name}", "property": prop, "value": value} for name, (prop, value) in controls.items()
    ]


def _payload(outputs: list[tuple[str, str]], inputs: list[dict[str, Any]]) -> dict[str, Any]:
    if len(outputs) == 1:
        output = f"{outputs[0][0]}.{outputs[0][1]}"
        outs: Any = {"id": outputs[0][0], "property": outputs[0][1]}
    else:
        output = ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        outs = [{"id": i, "property": p} for i, p in outputs]
    return {"output": output, "outputs": outs, "inputs": inputs, "changedPropIds": [inputs[0]["id"] + ".data"],
            "state": []}


VIEWS: dict[str, dict[str, Any]] = {
    "overview": _payload([("overview-body", "children"), ("overview-period", "children")], _inputs("overview")),
    "linkage (lag 0)": _payload([("linkage-body", "children")], _inputs("linkage", lag=("value", 0))),
    "linkage (lag 4 wk)": _payload([("linkage-body", "children")], _inputs("linkage", lag=("value", 4))),
    "linkage r by lag (0-8)": {**_payload([("linkage-lags", "figure")], _inputs("linkage")),
                               "state": [{"id": "linkage-lag", "property": "value", "value": 0}]},
    "drivers": _payload([("drivers-body", "children")], _inputs("drivers")),
    "segments (region)": _payload([("segments-body", "children")], _inputs("segments", by=("value", "region"))),
    "segments (tenure)": _payload([("segments-body", "children")],
                                  _inputs("segments", by=("value", "tenure_band"))),
    "follow-up": _payload([("followup-table", "children")], _inputs("followup")),
}


class Browserless:
    """A signed-in HTTP client (urllib with a cookie jar): what a browser sends, minus drawing."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def sign_in(self, username: str, password: str) -> None:
        form = self.opener.open(self.base + "/login").read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token, "no CSRF token on the login form"
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf": token.group(1)})
        answer = self.opener.open(self.base + "/login", data=body.encode())
        assert "/dashboard/" in answer.url, "sign-in failed"

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path) as answer:
            return answer.read()  # type: ignore[no-any-return]

    def update(self, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.base + "/dashboard/_dash-update-component",
                                         data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"})
        with self.opener.open(request) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    action()  # warm-up: first request of a route, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


async def analytics_alone(url: str, repeat: int) -> dict[str, list[float]]:
    """The same query-layer calls the views make, in-process: what the dashboard adds is the rest."""
    from dashboard import casework, data
    from models.db import database

    async def direct(coro_factory: Callable[[], Any]) -> list[float]:
        await coro_factory()
        out = []
        for _ in range(repeat):
            start = time.perf_counter()
            await coro_factory()
            out.append((time.perf_counter() - start) * 1000)
        return out

    async with database(url, apply_migrations=False):
        from models import analytics
        from models.settings import settings

        options = await analytics.filter_options()
        filters = data.default_filters(options)
        window = analytics.Window(filters.start, filters.end)
        t = {"min_group": settings.min_group, "min_comment_group": settings.min_comment_group}

        async def overview() -> None:
            await analytics.filter_options()
            for w in (window, window.previous()):
                await analytics.index_report(window=w, **t)
                await analytics.customer_report(window=w)

        async def linkage(lag: int) -> None:
            await analytics.filter_options()
            await analytics.linkage_report(window=window, lag_days=lag, min_group=settings.min_group)

        async def lags() -> None:
            await analytics.filter_options()
            for weeks in range(9):
                await analytics.linkage_report(window=window, lag_days=7 * weeks, min_group=settings.min_group)

        async def drivers() -> None:
            await analytics.filter_options()
            await analytics.linkage_report(window=window, min_group=settings.min_group)
            await analytics.index_report(window=window, **t)

        async def segments(by: str) -> None:
            await analytics.filter_options()
            await analytics.index_report(window=window, group_by=by, **t)
            await analytics.customer_report(window=window, group_by=by)

        async def followup() -> None:
            from models.followup import find_cases, timing_by_segment

            await analytics.filter_options()
            await find_cases(start=filters.start, end=filters.end, page_size=casework.CASES_PER_PAGE)
            await timing_by_segment(start=filters.start, end=filters.end, target_hours=settings.followup_target_hours)

        return {
            "overview": await direct(overview),
            "linkage (lag 0)": await direct(lambda: linkage(0)),
            "linkage (lag 4 wk)": await direct(lambda: linkage(28)),
            "linkage r by lag (0-8)": await direct(lags),
            "drivers": await direct(drivers),
            "segments (region)": await direct(lambda: segments("region")),
            "segments (tenure)": await direct(lambda: segments("tenure_band")),
            "follow-up": await direct(followup),
        }


async def _add_user(url: str, username: str, password: str) -> None:
    from models.db import database
    from models.keys import create_user

    async with database(url):
        await create_user(username=username, password=password)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an existing SQLite file (default: a fresh demo brand)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--user", default=USERNAME)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--add-user", action="store_true",
                        help="create (or reset) --user in --db first; only on a copy you own")
    args = parser.parse_args(argv)
    folder = tempfile.TemporaryDirectory(prefix="rapport-bench-")
    if args.db:
        url = f"sqlite://{args.db}"
        if args.add_user:
            asyncio.run(_add_user(url, args.user, args.password))
    else:
        url = f"sqlite://{folder.name}/demo.sqlite3"
        start = time.perf_counter()
        asyncio.run(fill_demo(url))
        print(f"demo brand generated in {time.perf_counter() - start:.1f} s ({url})")
    with LiveServer(url) as server:
        client = Browserless(server.base)
        client.sign_in(args.user, args.password)
        baseline = timed(lambda: client.get("/dashboard/_dash-dependencies"), args.repeat)
        results = {}
        for name, payload in VIEWS.items():
            answer = client.update(payload)
            assert "response" in answer, f"{name}: {str(answer)[:200]}"
            results[name] = timed(lambda p=payload: client.update(p), args.repeat)  # type: ignore[misc]
    alone = asyncio.run(analytics_alone(url, args.repeat))
    folder.cleanup()

    print(f"\nEach view's callback through HTTP, signed in; median and worst of {args.repeat} (ms)")
    print(f"{'view':<24}{'median':>9}{'worst':>9}{'analytics alone':>17}{'dashboard adds':>16}")
    print(f"{'(signed-in round trip)':<24}{statistics.median(baseline):>9.0f}{max(baseline):>9.0f}")
    for name, times in results.items():
        base = statistics.median(alone[name])
        print(f"{name:<24}{statistics.median(times):>9.0f}{max(times):>9.0f}{base:>17.0f}"
              f"{statistics.median(times) - base:>16.0f}")
    slow = [name for name, times in results.items() if statistics.median(times) >= 1000]
    print("\nevery view under 1 s" if not slow else f"\nover 1 s: {', '.join(slow)}")


if __name__ == "__main__":
    main()
