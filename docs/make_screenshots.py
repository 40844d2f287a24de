"""Screenshots of every dashboard view for the README, on demo data.

    .venv/bin/python docs/make_screenshots.py [--db /tmp/rapport-shots.sqlite3]

Generates the demo brand in a fresh SQLite file (unless --db exists), starts
the real dashboard on a free port, signs in with headless Debian chromium and
saves, in docs/screenshots/:

- <view>.png at a desktop's 1280×800 (the top of the page);
- tablet-<view>.png at a tablet's 820×1180 and phone-<view>.png at a phone's
  390×844, the whole page;
- report.png, the printable report as it prints (print media, A4 width).

A view is photographed once it is whole: its content on screen, every Plotly
chart drawn, no Dash callback loading (the same test as bench/browser.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import READY  # noqa: E402
from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer, fill_demo, sign_in  # noqa: E402

# name: (path, a selector that says the view's own content is on screen)
VIEWS = {
    "overview": ("", "#overview-kpis"),
    "linkage": ("linkage", "#linkage-headline, #linkage-empty"),
    "drivers": ("drivers", "#drivers-table, #drivers-empty"),
    "segments": ("segments", "#segments-table, #segments-empty"),
    "followup": ("followup", "#followup-rows, #followup-empty"),
    "comments": ("comments", "#comments-contractors, #comments-customers"),
}
SIZES = {"": (1280, 800), "tablet-": (820, 1180), "phone-": (390, 844)}


def whole(page: Any, selector: str) -> None:
    page.wait_for_function(READY, arg=[selector], polling="raf", timeout=30000)
    page.wait_for_timeout(400)  # Plotly's transitions


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
        for prefix, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            sign_in(page, server.base)
            for name, (path, selector) in VIEWS.items():
                page.goto(f"{server.base}/dashboard/{path}")
                whole(page, selector)
                target = out / f"{prefix}{name}.png"
                page.screenshot(path=str(target), full_page=bool(prefix), timeout=30000)
                print(target)
            page.close()
        page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
        sign_in(page, server.base)
        page.goto(f"{server.base}/dashboard/report")
        whole(page, "#report-privacy")
        page.emulate_media(media="print")
        page.wait_for_timeout(400)
        page.locator("#report-sheet").screenshot(path=str(out / "report.png"))
        print(out / "report.png")
        browser.close()


if __name__ == "__main__":
    main()
