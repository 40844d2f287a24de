"""The survey pages in headless Debian chromium, JavaScript off: Back and reload after
answering never resend a form, and the pulse's error summary counts, links and focuses.

One collector (`python -m collector.cli serve`) on a free 127.0.0.1 port over a
temporary SQLite file with a small demo brand, whose live customer link and
live pulse link the tests answer.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dashboard.testing import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port
from surveys.schema import builtin_survey

if not Path(CHROMIUM).exists():  # pragma: no cover - the machine has Debian's chromium
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
PULSE_ITEMS = [q.id for q in builtin_survey("pulse").questions if q.dimension]


class Collector:
    def __init__(self, url: str, links: tuple[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.survey, self.pulse = (self.base + path for path in links)
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "--database-url", url, "serve", "--port", str(self.port)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("the collector did not start") from None
                time.sleep(0.1)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    from collector.settings import link_url
    from models.db import database
    from models.demo import generate

    url = f"sqlite://{tmp_path_factory.mktemp('pages')}/pages.sqlite3"

    async def fill() -> tuple[str, str]:
        async with database(url):
            demo = await generate(contractors=12, weeks=2, seed=3)
        return urlsplit(link_url("customer", demo.survey_token)).path, urlsplit(link_url("pulse", demo.pulse_token)).path

    live = Collector(url, asyncio.run(fill()))
    yield live
    live.close()


@pytest.fixture
def page(collector: Collector) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.set_default_timeout(20000)
        yield page
        browser.close()


def test_back_and_reload_after_a_failed_then_a_correct_form_resend_nothing(page: Any, collector: Collector) -> None:
    page.goto(collector.survey)
    page.click("label[for=q-csat-5]")
    page.click("button[type=submit]")
    assert page.url == collector.survey + "?lang=en"  # a GET: the answers to fix, from the redirect
    assert "3 answers are missing." in page.inner_text("#problems")
    page.reload()  # no "Confirm Form Resubmission": the same page again
    assert page.is_checked("#q-csat-5") and "3 answers are missing." in page.inner_text("#problems")
    for label in ("q-nps-9", "q-ces-6", "q-promise_kept-yes"):
        page.click(f"label[for={label}]")
    page.click("button[type=submit]")
    assert page.url == collector.survey + "/thanks?lang=en"
    assert page.inner_text("main").count("Thank you") == 1
    page.reload()
    assert page.inner_text("h1") == "Thank you"
    page.go_back()  # to the page that showed the errors: it is a GET, and says the survey is answered
    assert page.url == collector.survey + "?lang=en"
    assert "answered already" in page.inner_text("main")
    page.go_back()
    assert "answered already" in page.inner_text("main")


def test_the_pulse_says_how_many_are_missing_and_focuses_the_first(page: Any, collector: Collector) -> None:
    page.goto(collector.pulse)
    assert page.inner_text("main").count("confidential") == 1
    assert page.locator("text=Prefer not to say").count() == len(PULSE_ITEMS)
    missing = {"backing_has_my_back", "knowledge_training"}
    for item in PULSE_ITEMS:
        if item not in missing:
            page.click(f"label[for=q-{item}-4]")
    page.click("button[type=submit]")
    assert "2 answers are missing." in page.inner_text("#problems")
    links = page.locator("#problems a")
    assert [links.nth(i).get_attribute("href") for i in range(2)] == ["#q-backing_has_my_back",
                                                                      "#q-knowledge_training"]
    assert page.evaluate("document.activeElement.name") == "backing_has_my_back"
    page.check("#q-backing_has_my_back input[value=skip]")  # prefer not to say
    page.click("label[for=q-knowledge_training-2]")
    page.click("button[type=submit]")
    assert page.url.endswith("/thanks?lang=en") and page.inner_text("h1") == "Thank you"
    page.go_back()
    assert "answered already" in page.inner_text("main")
