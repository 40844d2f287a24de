"""How long each dashboard view takes to load in a real browser, from navigation to the last chart drawn.

    .venv/bin/python -m bench.browser [--repeat 5] [--postgres [--scale 1.0] [--keep]] [--db FILE] [--dsn URL]

The real server (`python -m dashboard.server`) on a free port and headless
Debian chromium (Playwright), signed in once. Each view is opened afresh
(`page.goto`, a full page load) `--repeat` times after one warm-up; its time is
the page's own clock (`performance.now()`, which starts at navigation) at the
first animation frame where the view's own content is on screen, every Plotly
chart on the page has drawn its SVG and no Dash callback is still loading.
Printed: the median and the worst, and the median as a ratio of a bare
signed-in page measured the same way in the same run (the dashboard's shell
and Dash's scripts with a page that has no figures: Dash's own "not found"
page), plus the sign-in form to the Overview drawn, and the CPU time the
dashboard's server process spent per load (user + system, from /proc; the
database server's own CPU is not in it).

Data: by default a fresh SQLite file with the demo brand (300 contractors,
twelve weekly waves, `models.demo`); `--db FILE` an existing SQLite file;
`--postgres` a throwaway PostgreSQL database filled with bench/analytics.py's
5,000 contractors and 1,000,000 customer responses (`--scale` shrinks it), in a
child process, dropped at the end unless `--keep` (its URL is printed);
`--dsn URL` a PostgreSQL database kept that way (or any other), migrated to the
code's newest migration and given the user first, so runs before and after a
change measure the same data without filling it again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, PASSWORD, USERNAME, LiveServer, fill_demo  # noqa: E402

# view: (path, selectors that say its own content is on screen)
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "overview": ("/dashboard/", ("#overview-kpis", "#overview-rate-trend .main-svg")),
    "linkage": ("/dashboard/linkage", ("#linkage-headline, #linkage-empty", "#linkage-lags .xtitle, "
                                       "#linkage-lags .annotation-text")),
    "drivers": ("/dashboard/drivers", ("#drivers-table, #drivers-empty",)),
    "segments": ("/dashboard/segments", ("#segments-table, #segments-empty, #segments-refused",)),
    "follow-up": ("/dashboard/followup", ("#followup-rows, #followup-empty",)),
    "comments": ("/dashboard/comments", ("#comments-contractors .comment-waves",
                                         "#comments-customer-list, #comments-customer-empty")),
    "report": ("/dashboard/report", ("#report-privacy", "#report-rate-trend .main-svg")),
}
BARE = ("/dashboard/bench-bare-page", ("#_pages_content > *",))

# true (the page's clock) at the first frame where the view is whole; false until then
READY = """(selectors) => {
  if (!selectors.every(s => document.querySelector(s))) return false;
  if (document.querySelector('[data-dash-is-loading="true"], .dash-graph--pending')) return false;
  const graphs = [...document.querySelectorAll('.dash-graph')];
  if (!graphs.every(g => g.querySelector('.main-svg'))) return false;
  return performance.now();
}"""


def load_time(page: Any, base: str, path: str, selectors: tuple[str, ...], timeout_ms: float = 60000) -> float:
    """Milliseconds from navigation to the view drawn, by the page's own clock."""
    page.goto(base + path, wait_until="commit")
    handle = page.wait_for_function(READY, arg=list(selectors), polling="raf", timeout=timeout_ms)
    return float(handle.json_value())


def sign_in_time(browser: Any, base: str, user: str, password: str) -> float:
    """The login form submitted to the Overview drawn (ms), in a fresh context."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    start = time.perf_counter()
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/**")
    page.wait_for_function(READY, arg=list(VIEWS["overview"][1]), polling="raf", timeout=60000)
    elapsed = (time.perf_counter() - start) * 1000
    context.close()
    return elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(base: str, *, repeat: int, user: str, password: str,
            server_pid: int | None = None) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Load times per view (ms) and the server's CPU per load of each view (ms)."""
    from playwright.sync_api import sync_playwright

    def cpu() -> float:
        return cpu_seconds(server_pid) if server_pid else float("nan")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard/**")
        results: dict[str, list[float]] = {}
        server_cpu: dict[str, float] = {}
        for name, (path, selectors) in {"(bare signed-in page)": BARE, **VIEWS}.items():
            try:
                load_time(page, base, path, selectors)  # warm-up: the browser's cache, the server's first call
                before = cpu()
                results[name] = [load_time(page, base, path, selectors) for _ in range(repeat)]
                server_cpu[name] = (cpu() - before) * 1000 / repeat
            except Exception as exc:  # a view that never finishes is a result too
                print(f"{name}: not drawn ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})", flush=True)
        before = cpu()
        results["sign-in → overview"] = [sign_in_time(browser, base, user, password) for _ in range(repeat)]
        server_cpu["sign-in → overview"] = (cpu() - before) * 1000 / repeat
        browser.close()
    return results, server_cpu


def report(results: dict[str, list[float]], *, repeat: int, label: str,
           server_cpu: dict[str, float] | None = None) -> None:
    bare = statistics.median(results.get("(bare signed-in page)", [float("nan")]))
    server_cpu = server_cpu or {}
    print(f"\nView loads in headless chromium, {label}: navigation to the last chart drawn, "
          f"median and worst of {repeat} (ms); the server's CPU per load (ms)")
    print(f"{'view':<24}{'median':>9}{'worst':>9}{'× bare page':>13}{'server CPU':>12}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<24}{median:>9.0f}{max(times):>9.0f}{median / bare:>13.1f}"
              f"{server_cpu.get(name, float('nan')):>12.0f}")
    views = [name for name in VIEWS if name in results]
    slow = [name for name in views if statistics.median(results[name]) >= 1000]
    missing = [name for name in VIEWS if name not in results]
    print("\nevery view under 1 s" if not slow and not missing else
          f"\nover 1 s: {', '.join(slow) or 'none'}" + (f"; not drawn: {', '.join(missing)}" if missing else ""))


async def _add_user(url: str, username: str, password: str, *, migrate: bool = False) -> None:
    """The bench's user (created, or its password set); with `migrate`, the
    database brought to the newest migration first."""
    from models.db import database
    from models.db import migrate as migrate_database
    from models.keys import create_user

    if migrate:
        await migrate_database(url)
    async with database(url):
        await create_user(username=username, password=password)


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(url, label) of the data to measure on, made for this run unless --db names a file."""
    if args.db:
        yield f"sqlite://{args.db}", f"SQLite {args.db}"
        return
    if args.dsn:
        asyncio.run(_add_user(args.dsn, args.user, args.password, migrate=True))
        yield args.dsn, f"database {args.dsn.rsplit('/', 1)[-1]}"
        return
    if args.postgres:
        from bench.scratch import scratch_postgres_sync

        with scratch_postgres_sync(keep=args.keep) as url:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bench.analytics", "--scale", str(args.scale), "--load", url],
                           check=True, cwd=ROOT)
            asyncio.run(_add_user(url, args.user, args.password))
            print(f"PostgreSQL filled in {time.perf_counter() - start:.0f} s"
                  + (f"; kept: --dsn {url}" if args.keep else ""), flush=True)
            scale = f"{int(5000 * args.scale):,} contractors, {int(1_000_000 * args.scale):,} customer responses"
            yield url, f"PostgreSQL, {scale}"
        return
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
        url = f"sqlite://{folder}/demo.sqlite3"
        start = time.perf_counter()
        asyncio.run(fill_demo(url))
        print(f"demo brand generated in {time.perf_counter() - start:.1f} s", flush=True)
        yield url, "SQLite, the demo brand (300 contractors, 12 weeks)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", help="an existing SQLite file with a user --user (default: a fresh demo brand)")
    where.add_argument("--postgres", action="store_true",
                       help="a throwaway PostgreSQL database with bench/analytics.py's 1,000,000 responses")
    where.add_argument("--dsn", help="an existing database (e.g. one --keep left), migrated and given --user")
    parser.add_argument("--scale", type=float, default=1.0, help="with --postgres: a fraction of that data")
    parser.add_argument("--keep", action="store_true", help="with --postgres: keep the database for --dsn")
    parser.add_argument("--user", default=USERNAME)
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args(argv)
    if args.keep and not args.postgres:
        parser.error("--keep goes with --postgres")
    with database(args) as (url, label), LiveServer(url) as server:
        results, server_cpu = measure(server.base, repeat=args.repeat, user=args.user, password=args.password,
                                      server_pid=server.process.pid)
    report(results, repeat=args.repeat, label=label, server_cpu=server_cpu)


if __name__ == "__main__":
    main()
