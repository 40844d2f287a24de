"""Screenshots of every dashboard view (1280×800) for the README, on demo data.

    .venv/bin/python docs/make_screenshots.py [--db /tmp/rapport-shots.sqlite3]

Generates the demo brand in a fresh SQLite file (unless --db exists), starts
the real dashboard on a free port, signs in with headless Debian chromium and
saves docs/screenshots/<view>.png, plus tablet-overview.png and
tablet-segments.png at a tablet's 820×1180.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer, fill_demo, sign_in  # noqa: E402

VIEWS = [("overview", ""), ("linkage", "linkage"), ("drivers", "drivers"), ("segments", "segments"),
         ("followup", "followup")]
READY = {name: f"#{name}-body .card, #{name}-body .notice" for name in
         ("overview", "linkage", "drivers", "segments")} | {"followup": "#followup-rows, #followup-empty"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/rapport-shots.sqlite3")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    url = f"sqlite://{args.db}"
    if not Path(args.db).exists():
        asyncio.run(fill_demo(url))
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with LiveServer(url) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        sign_in(page, server.base)
        for name, path in VIEWS:
            page.goto(f"{server.base}/dashboard/{path}")
            page.wait_for_selector(READY[name], timeout=20000)
            page.wait_for_timeout(600)  # let Plotly finish drawing
            page.screenshot(path=str(out / f"{name}.png"), timeout=20000)
            print(out / f"{name}.png")
        tablet = browser.new_page(viewport={"width": 820, "height": 1180})  # an iPad Air, portrait
        sign_in(tablet, server.base)
        for name, path in (("overview", ""), ("segments", "segments")):
            tablet.goto(f"{server.base}/dashboard/{path}")
            tablet.wait_for_selector(READY[name], timeout=20000)
            tablet.wait_for_timeout(600)
            tablet.screenshot(path=str(out / f"tablet-{name}.png"), timeout=20000)
            print(out / f"tablet-{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
