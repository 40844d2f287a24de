"""The printable report and the digest setting in headless Debian chromium.

The report is printed with Chromium's own print to PDF (Playwright's `page.pdf`), on A4 and on
Letter, and read back with pypdf: one page each, with the period, the filters and the privacy note.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.testing import CHROMIUM, SMALL_REGION, LiveServer, sign_in

if not Path(CHROMIUM).exists():  # pragma: no cover - the machine has Debian's chromium
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
pypdf = pytest.importorskip("pypdf")
expect = sync_api.expect
expect.set_options(timeout=20000)
CHARTS = ("report-cei-trend", "report-csat-trend", "report-nps-trend", "report-rate-trend")


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server.base)
    yield page
    assert not errors, errors  # no CSP violation, no failed callback
    context.close()


def drawn(page: Any) -> None:
    """Every chart of the report drawn (static SVG)."""
    for chart in CHARTS:
        expect(page.locator(f"#{chart} .main-svg").first).to_be_attached()


def pdf_text(page: Any, paper: str) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(page.pdf(format=paper, print_background=True)))
    text = " ".join(p.extract_text() for p in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def test_the_report_prints_on_one_page_with_its_period_filters_and_privacy_note(page: Any, server: LiveServer) -> None:
    end = date.today()  # the demo's last four weeks, and the four before
    start, before, before_end = end - timedelta(days=27), end - timedelta(days=55), end - timedelta(days=28)
    period = f"{start:%-d %b %Y} – {end:%-d %b %Y}, compared with {before:%-d %b %Y} – {before_end:%-d %b %Y}"
    page.goto(server.base + f"/dashboard/?from={start}&to={end}&region=North")
    expect(page.locator("#shell-report")).to_have_attribute("href", re.compile(r"/dashboard/report\?.*region=North"))
    page.click("#shell-report")
    page.wait_for_url(re.compile(rf"/dashboard/report\?.*from={start}.*region=North"))
    drawn(page)
    expect(page.locator("#report-period")).to_have_text(period)
    expect(page.locator("#report-filters")).to_have_text("Region: North · Service type: all · Tenure: all")
    expect(page.locator("#report-csat .kpi-value")).to_have_text(re.compile(r"\d+%"))
    assert page.locator("#report-sheet .main-svg").count() >= len(CHARTS)
    assert page.locator("#report-sheet .modebar").count() == 0  # static charts: nothing a printout would lose
    for paper in ("A4", "Letter"):
        pages, text = pdf_text(page, paper)
        assert pages == 1, f"{paper}: {pages} pages"
        assert period in text
        assert "Region: North · Service type: all · Tenure: all" in text
        assert "never shown for fewer than 5 contractors" in text and "Results are associations, not causes." in text
        assert "CSAT by week" in text and "Print report" not in text and "Sign out" not in text


def test_the_report_of_the_current_period_has_the_figures_and_keeps_a_small_group_hidden(
        page: Any, server: LiveServer) -> None:
    page.goto(server.base + "/dashboard/report")
    drawn(page)
    expect(page.locator("#report-cei .kpi-value")).to_have_text(re.compile(r"\d+\.\d/ 100"))
    expect(page.locator("#report-linkage")).to_contain_text("associated with")
    expect(page.locator("#report-printed, .report-printed")).to_contain_text(f"{date.today():%-d %b %Y} by lead")
    _, text = pdf_text(page, "A4")
    assert re.search(r"\d+\.\d / 100", text) and "Connection & customer experience" in text
    page.goto(server.base + f"/dashboard/report?region={SMALL_REGION}")
    drawn(page)
    expect(page.locator("#report-cei")).to_contain_text("hidden (<5)")
    expect(page.locator("#report-pulse")).to_contain_text("hidden (<5)")
    expect(page.locator("#report-linkage")).to_contain_text("Not enough contractors")
    _, text = pdf_text(page, "Letter")
    assert "hidden (<5)" in text and f"Region: {SMALL_REGION}" in text


def test_the_report_needs_a_sign_in(browser: Any, server: LiveServer) -> None:
    context = browser.new_context()
    anonymous = context.new_page()
    anonymous.goto(server.base + "/dashboard/report?region=North")
    assert anonymous.url.startswith(server.base + "/login?next=")
    context.close()


def test_the_digest_is_turned_on_and_off_on_the_dashboard(page: Any, server: LiveServer) -> None:
    page.click("#shell-digest")
    expect(page.locator("#digest-status")).to_have_text("The weekly digest is off.")
    page.click("#digest-weekly input")
    page.click("#digest-save")
    expect(page.locator("#digest-status")).to_contain_text("Not saved: the weekly digest needs an e-mail address")
    page.fill("#digest-email", "lead@example.com")
    page.click("#digest-save")
    expect(page.locator("#digest-status")).to_have_text("Saved. The weekly digest is on, to lead@example.com.")
    page.reload()
    expect(page.locator("#digest-email")).to_have_value("lead@example.com")
    expect(page.locator("#digest-weekly input")).to_be_checked()
    page.click("#digest-weekly input")
    page.click("#digest-save")
    expect(page.locator("#digest-status")).to_have_text("Saved. The weekly digest is off.")
