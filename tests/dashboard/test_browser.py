"""The real dashboard in headless Debian chromium: sign in, every view, filters, privacy, follow-up.

One uvicorn server (`python -m dashboard.server`) on a free 127.0.0.1 port
over a temporary SQLite file with a small demo brand, in which four
contractors have a region of their own ("Islands") whose scores must never
show.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.testing import CHROMIUM, SMALL_REGION, LiveServer, sign_in

if not Path(CHROMIUM).exists():  # pragma: no cover - the machine has Debian's chromium
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
expect.set_options(timeout=20000)  # two cores run the server, the analytics and chromium's drawing
HIDDEN = "hidden (<5)"


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    sign_in(page, server.base)
    yield page
    context.close()


def number(locator: Any) -> str:
    """The text of a KPI once it is drawn (a loading view reads as empty)."""
    expect(locator).to_have_text(re.compile(r"\d"))
    return str(locator.inner_text())


def choose(page: Any, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).click()


def test_an_anonymous_browser_lands_on_the_login(browser: Any, server: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.base + "/dashboard/segments?region=North")
    assert page.url.startswith(server.base + "/login?next=")
    assert page.locator("#password").is_visible()
    context.close()


def test_every_view_opens_with_its_numbers(page: Any, server: LiveServer) -> None:
    assert re.fullmatch(r"\d+\.\d/ 100 ± \d+\.\d", number(page.locator("#overview-cei .kpi-value")).replace("\n", ""))
    expect(page.locator("#overview-rate-trend .main-svg").first).to_be_visible()
    page.click("#nav-linkage")
    expect(page.locator("#linkage-headline")).to_contain_text(
        re.compile(r"associated with .*: r = 0\.\d\d, 95 % CI .*, \d+ contractors"))
    expect(page.locator("#linkage-correlations tbody tr")).to_have_count(7)  # CEI and six dimensions
    expect(page.locator("#linkage-bands .xtitle")).to_contain_text("Index band")  # CSAT by CEI band
    expect(page.locator("#linkage-lags .xtitle")).to_contain_text("weeks after the pulse")
    page.click("#nav-drivers")
    expect(page.locator("#drivers-table tbody tr")).to_have_count(6)
    page.click("#nav-segments")
    expect(page.locator("#segments-table")).to_be_visible()
    page.click("#nav-followup")
    expect(page.locator("#followup-rows")).to_be_visible()
    expect(page).to_have_title("Follow-up · Rapport")


def test_a_filter_changes_the_numbers_and_the_url_keeps_it(page: Any, server: LiveServer) -> None:
    csat = page.locator("#overview-csat .kpi-value")
    before = number(csat)
    choose(page, "filters-region", "North")
    page.wait_for_url(re.compile(r"region=North"))
    expect(csat).not_to_have_text(before)
    after = number(csat)
    assert after != before
    # the address is the view: open it afresh and the same filter and numbers come back
    page.goto(page.url)
    expect(page.locator("#filters-region")).to_have_text("North")
    expect(csat).to_have_text(after)
    # the navigation carries the filter to the other views
    page.click("#nav-segments")
    page.wait_for_url(re.compile(r"/dashboard/segments\?.*region=North"))


def test_a_four_contractor_region_stays_hidden(page: Any, server: LiveServer) -> None:
    page.goto(server.base + "/dashboard/segments")
    row = page.locator("#segments-table tbody tr", has_text=SMALL_REGION)
    expect(row).to_have_count(1)
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == SMALL_REGION
    assert cells[1:8] == [HIDDEN] * 7  # CEI and six dimensions
    headers = [text.lower() for text in page.locator("#segments-table thead th").all_inner_texts()]
    pulse_rate, customer_rate = headers.index("pulse response %"), headers.index("customer response %")
    assert cells[pulse_rate] == HIDDEN  # whether its people answered is theirs too
    assert cells[customer_rate].rstrip(" ▲▼").isdigit()  # customers are not under the contractors' rule
    # a shown figure may carry ▲ or ▼: its gap from the company figure is beyond noise
    rows = [[cell.removesuffix(" ▲").removesuffix(" ▼") for cell in r.locator("td").all_inner_texts()]
            for r in page.locator("#segments-table tbody tr").all()]
    assert all(r[pulse_rate] == r[1] for r in rows if not r[1].isdigit())  # hidden alike, with the same mark
    assert all(r[pulse_rate].isdigit() and 0 <= int(r[pulse_rate]) <= 100 for r in rows if r[1].isdigit())
    assert all(r[customer_rate].isdigit() for r in rows)
    assert not any(cell in ("-0", "+0") for r in rows for cell in r)  # a zero carries no sign
    for other in page.locator("#segments-table tbody tr").all():  # its shield: hidden, not blank, not 0
        texts = other.locator("td").all_inner_texts()
        if "hidden*" in texts:
            assert texts[1:8] == ["hidden*"] * 7
    expect(page.locator("#segments-hidden")).to_contain_text(SMALL_REGION)
    expect(page.locator("#segments-legend")).to_contain_text(HIDDEN)
    # another filter: still hidden, never a number. Wait for the filtered figures
    # (the text changes and nothing is loading any more: a loading view's text is
    # hidden, not gone), not the ones on screen.
    before = page.inner_text("#segments-body")
    choose(page, "filters-service", "delivery")
    page.wait_for_url(re.compile(r"service_type=delivery"))
    page.wait_for_function("old => { const body = document.querySelector('#segments-body'); "
                           "return body !== null && body.innerText !== old && "
                           "document.querySelector('[data-dash-is-loading=true]') === null && "
                           "body.querySelector('#segments-table, #segments-empty, #segments-refused') !== null; }",
                           arg=before)
    page.wait_for_load_state("networkidle")
    row = page.locator("#segments-table tbody tr", has_text=SMALL_REGION)
    if row.count():
        assert row.locator("td").all_inner_texts()[1:8] == [HIDDEN] * 7
    # the region on its own: the overview hides the index, the linkage says why it is empty
    page.goto(server.base + f"/dashboard/?region={SMALL_REGION}")
    expect(page.locator("#overview-cei")).to_contain_text(HIDDEN)
    page.click("#nav-linkage")
    expect(page.locator("#linkage-empty")).to_contain_text("Not enough contractors")
    page.click("#nav-drivers")
    expect(page.locator("#drivers-empty")).to_be_visible()


@pytest.fixture(scope="module")
def collector(server: LiveServer) -> Iterator[LiveServer]:
    """The collector on the same database, serving the survey links."""
    url = server.env["DATABASE_URL"]
    with LiveServer(url, command=("collector.cli", "serve")) as live:
        yield live


def _in_thread(coro: Any) -> Any:
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this thread
        return thread.submit(asyncio.run, coro).result()


def _closed_events(url: str) -> list[dict[str, Any]]:
    """The data of the followup.closed events queued in the outbox."""

    async def read() -> list[dict[str, Any]]:
        from models.db import database
        from models.entities import WebhookDelivery

        async with database(url):
            return [json.loads(d.payload)["data"] for d in await WebhookDelivery.filter(event="followup.closed")]

    return _in_thread(read())  # type: ignore[no-any-return]


def _new_job(url: str, external_id: str) -> str:
    """A job of an existing contractor, with the brand's customer reference: its survey token;
    and a webhook endpoint that listens for followup.closed."""

    async def make() -> str:
        from models import outbox
        from models.db import database
        from models.entities import Contractor, WebhookEndpoint
        from models.queries import now_utc, register_job

        async with database(url):
            await WebhookEndpoint.create(url="http://127.0.0.1:9/crm", secret="whsec_test",
                                         events=outbox.events_column(["followup.closed"]))
            contractor = await Contractor.filter(region="North").order_by("id").first()
            assert contractor is not None
            job, _ = await register_job(external_id=external_id, contractor=contractor.external_id,
                                        completed_at=now_utc() - timedelta(hours=2), customer_ref="CRM-4242")
            return job.token

    return _in_thread(make())  # type: ignore[no-any-return]


def test_a_detractor_from_a_survey_link_is_assigned_noted_and_closed_by_keyboard_at_820_px(
        browser: Any, server: LiveServer, collector: LiveServer) -> None:
    token = _new_job(server.env["DATABASE_URL"], "JOB-BROWSER-1")
    context = browser.new_context(viewport={"width": 820, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    # the customer answers through their link: NPS 2, CSAT 1
    page.goto(f"{collector.base}/s/{token}")
    for label in ("q-csat-1", "q-nps-2", "q-ces-2", "q-promise_kept-no"):
        page.click(f"label[for={label}]")
    page.fill("#q-comment", "Nobody came and nobody called.")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Thank")
    # the lead finds the case by its job
    sign_in(page, server.base)
    today = date.today()
    page.goto(f"{server.base}/dashboard/followup?from={today - timedelta(days=2)}&to={today}&q=JOB-BROWSER-1")
    expect(page.locator("#followup-total")).to_contain_text("1 open case")
    case = page.locator("#followup-rows li.case", has_text="JOB-BROWSER-1")
    expect(case).to_contain_text("Nobody came and nobody called.")
    expect(case).to_contain_text("NPS 2")
    state = case.locator(".case-state")
    expect(state).to_contain_text("Open")
    expect(state).to_contain_text("customer ref CRM-4242")
    no_sideways_scroll = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert page.evaluate(no_sideways_scroll)
    # everything by keyboard: open the disclosure, choose the assignee, press the buttons
    summary = case.locator("summary")
    summary.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus ring
    page.keyboard.press("Enter")
    assign = case.get_by_role("button", name="Assign", exact=True)
    expect(assign).to_be_visible()
    assert page.evaluate(no_sideways_scroll)
    case.locator(".case-assignees").get_by_label("lead", exact=True).focus()  # the assignee: a radio button
    page.keyboard.press("Space")
    expect(case.locator(".case-assignees").get_by_label("lead", exact=True)).to_be_checked()
    assign.focus()
    page.keyboard.press("Enter")
    expect(state).to_contain_text("assigned to lead")
    case.locator("textarea").focus()
    page.keyboard.type("Called the customer; a new visit is booked.")
    case.get_by_role("button", name="Add note").focus()
    page.keyboard.press("Enter")
    expect(state).to_contain_text("lead, ")
    expect(state).to_contain_text("Called the customer; a new visit is booked.")
    case.get_by_label("Process").focus()
    page.keyboard.press("Space")
    case.get_by_role("button", name="Save root cause").focus()
    page.keyboard.press("Enter")
    expect(state).to_contain_text("root cause: Process")
    case.locator("input[type=text]").focus()
    page.keyboard.type("Visit rebooked, fee refunded")
    case.get_by_role("button", name="Close case").focus()
    page.keyboard.press("Enter")
    expect(state).to_contain_text("Closed")
    expect(state).to_contain_text("closed by lead")
    [event] = _closed_events(server.env["DATABASE_URL"])  # queued with the close, for the worker to send
    assert (event["job"], event["customer_ref"], event["root_cause"], event["outcome"], event["closed_by"]) == (
        "JOB-BROWSER-1", "CRM-4242", "process", "Visit rebooked, fee refunded", "lead")
    # the URL holds the controls: the closed list shows it, the open one no longer does
    page.get_by_role("link", name="Closed", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"show=closed"))
    expect(page.locator("#followup-rows li.case", has_text="JOB-BROWSER-1")).to_contain_text("Visit rebooked")
    page.goto(page.url.replace("show=closed", "show=open"))
    expect(page.locator("#followup-empty")).to_be_visible()
    # the whole list, a case opened, the time-to-act table: still no sideways scroll at 820 px
    page.goto(f"{server.base}/dashboard/followup")
    page.locator("#followup-rows summary").first.click()
    expect(page.locator("#followup-timing-table")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(no_sideways_scroll)
    context.close()


def _detractor_and_evaluation(url: str) -> int:
    """A detractor answer about a job in North, then the worker's alert evaluation: alerts raised."""

    async def make() -> int:
        from models.alerts import evaluate_alerts
        from models.db import database
        from models.entities import Contractor, CustomerResponse
        from models.queries import now_utc, register_job

        async with database(url):
            contractor = await Contractor.filter(region="North").order_by("id").first()
            assert contractor is not None
            job, _ = await register_job(external_id="JOB-ALERT-1", contractor=contractor.external_id,
                                        completed_at=now_utc() - timedelta(hours=1))
            await CustomerResponse.create(job=job, contractor=contractor, completed_at=job.completed_at,
                                          submitted_at=now_utc(), csat=1, nps=1, ces=1, promise_kept=False)
            return len(await evaluate_alerts())

    return _in_thread(make())  # type: ignore[no-any-return]


def test_an_alert_subscription_raises_an_alert_counted_in_the_header(page: Any, server: LiveServer) -> None:
    page.goto(server.base + "/dashboard/alerts")
    expect(page.locator("#shell-alerts")).to_contain_text("Alerts 0")
    choose(page, "alerts-regions", "North")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page.locator("#alerts-status")).to_have_text("Subscribed: A detractor in my regions.")
    expect(page.locator("#alerts-subscriptions")).to_contain_text("A detractor in North")
    assert _detractor_and_evaluation(server.env["DATABASE_URL"]) == 1
    page.goto(server.base + "/dashboard/alerts")
    expect(page.locator("#shell-alerts")).to_contain_text("Alerts 1")
    expect(page.locator("#alerts-list")).to_contain_text("Detractor in North: job JOB-ALERT-1")
    page.get_by_role("button", name="Mark all as seen").click()
    expect(page.locator("#alerts-status")).to_have_text("1 alert marked as seen.")
    page.reload()
    expect(page.locator("#shell-alerts")).to_contain_text("Alerts 0")
    page.locator("#alerts-subscriptions").get_by_role("button", name="Remove").click()
    expect(page.locator("#alerts-status")).to_have_text("Subscription removed.")


def test_plotly_is_fetched_once_while_the_server_computes_the_view(page: Any, server: LiveServer) -> None:
    """assets/rapport.js starts plotly.js as soon as the shell is up, not once the view's
    figures have arrived, and dcc.Graph takes that one copy instead of loading its own."""
    page.goto(server.base + "/dashboard/")
    expect(page.locator("#overview-rate-trend .main-svg").first).to_be_visible()
    timing = page.evaluate("""() => {
        const entries = performance.getEntriesByType('resource');
        const plotly = entries.filter(e => e.name.includes('plotly.min.js')).map(e => e.startTime);
        const updates = entries.filter(e => e.name.includes('_dash-update-component'));
        const view = updates.reduce((a, b) => (b.duration > a.duration ? b : a));  // the page router's
        return {plotly, viewEnd: view.responseEnd};
    }""")
    assert len(timing["plotly"]) == 1
    assert timing["plotly"][0] < timing["viewEnd"]
    assert page.evaluate("() => typeof window.Plotly.newPlot") == "function"


def test_every_view_draws_under_the_content_security_policy(browser: Any, server: LiveServer) -> None:
    """The CSP allows Dash's own scripts and its two inline ones by hash: nothing is blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto(server.base + "/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    sign_in(page, server.base)
    expect(page.locator("#overview-rate-trend .main-svg").first).to_be_visible()
    for view in ("linkage", "drivers", "segments", "followup", "comments"):
        page.click(f"#nav-{view}")
        page.wait_for_url(re.compile(view))
    expect(page.locator("#comments-contractors .comment-waves")).to_be_visible()
    page.wait_for_load_state("networkidle")
    context.close()
    assert refused == []


# --- every control in the URL, every width, axe-core -------------------------------------------

VIEWS = {"": "#overview-rate-trend .main-svg", "linkage": "#linkage-lags .main-svg",
         "drivers": "#drivers-body .card, #drivers-empty", "segments": "#segments-body .card, #segments-empty",
         "followup": "#followup-rows, #followup-empty", "alerts": "#alerts-body",
         "webhooks": "#webhooks-none, #webhooks-endpoints",
         "comments": "#comments-contractors .comment-waves"}
AXE = sorted((Path(__file__).resolve().parents[2] / ".venv").glob("axe-core-*/axe.min.js"))


def slider_value(page: Any) -> str:
    return str(page.locator("#linkage-lag [role=slider]").get_attribute("aria-valuenow"))


def selected_lag(page: Any) -> int:
    """The lag the lag chart highlights (its one larger marker)."""
    sizes = page.evaluate("() => document.querySelector('#linkage-lags .js-plotly-plot').data[0].marker.size")
    xs = page.evaluate("() => document.querySelector('#linkage-lags .js-plotly-plot').data[0].x")
    return int(xs[sizes.index(max(sizes))])


def test_a_reloaded_url_restores_every_control_of_every_view(page: Any, server: LiveServer) -> None:
    # the filter bar: a preset and the comparison
    choose(page, "filters-preset", "Year to date")
    page.wait_for_url(re.compile(r"period=year-to-date"))
    choose(page, "filters-compare", "Same period last year")
    page.wait_for_url(re.compile(r"compare=last-year"))
    expect(page.locator("#overview-period")).to_contain_text("same period last year")
    start = page.locator("#filters-dates").input_value()
    assert start.startswith("1 Jan ")
    page.reload()
    expect(page.locator("#filters-preset")).to_have_text("Year to date")
    expect(page.locator("#filters-compare")).to_have_text("Same period last year")
    expect(page.locator("#filters-dates")).to_have_value(start)
    expect(page.locator("#overview-csat .kpi-delta")).to_contain_text("same period last year")
    # Linkage: the lag, by keyboard; the lag chart follows it without a reload
    page.goto(server.base + "/dashboard/linkage")
    expect(page.locator("#linkage-lags .main-svg").first).to_be_visible()
    page.locator("#linkage-lag [role=slider]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"lag=2"))
    page.wait_for_function("() => { const p = document.querySelector('#linkage-lags .js-plotly-plot'); "
                           "return p && p.data && p.data[0] && p.data[0].marker.size[2] > p.data[0].marker.size[0]; }")
    assert selected_lag(page) == 2
    page.reload()
    expect(page.locator("#linkage-lag [role=slider]")).to_have_attribute("aria-valuenow", "2")
    expect(page.locator("#linkage-headline, #linkage-empty").first).to_contain_text(re.compile(r"\w"))
    page.wait_for_function("() => { const p = document.querySelector('#linkage-lags .js-plotly-plot'); "
                           "return p && p.data && p.data[0] && p.data[0].marker.size.length > 2; }")
    assert selected_lag(page) == 2
    # a filter changed afterwards keeps the page's control
    choose(page, "filters-region", "North")
    page.wait_for_url(re.compile(r"region=North"))
    assert "lag=2" in page.url
    expect(page.locator("#linkage-lag [role=slider]")).to_have_attribute("aria-valuenow", "2")
    # Segments: break down by
    page.goto(server.base + "/dashboard/segments")
    expect(page.locator("#segments-table")).to_be_visible()
    page.get_by_label("Service type", exact=True).check()
    page.wait_for_url(re.compile(r"by=service_type"))
    expect(page.locator("#segments-table th").first).to_have_text(re.compile("service type", re.I))
    page.reload()
    expect(page.get_by_label("Service type", exact=True)).to_be_checked()
    expect(page.locator("#segments-table th").first).to_have_text(re.compile("service type", re.I))
    # Follow-up: show, sort, search and page
    page.goto(server.base + "/dashboard/followup")
    expect(page.locator("#followup-rows, #followup-empty").first).to_be_visible()
    page.locator("#followup-show").get_by_role("link", name="All", exact=True).click()
    page.wait_for_url(re.compile(r"show=all"))
    # each step waits for the list of the new address (its links carry the choice so far)
    expect(page.locator("#followup-show-all")).to_have_attribute("aria-current", "true")
    page.locator("#followup-sort").get_by_role("link", name="Newest first").click()
    page.wait_for_url(re.compile(r"sort=newest"))
    assert "show=all" in page.url
    expect(page.locator("#followup-sort-newest")).to_have_attribute("aria-current", "true")
    page.locator("#followup-next").click()
    page.wait_for_url(re.compile(r"page=2"))
    page.reload()
    expect(page.locator("#followup-show-all")).to_have_attribute("aria-current", "true")
    expect(page.locator("#followup-sort-newest")).to_have_attribute("aria-current", "true")
    expect(page.locator("#followup-total")).to_contain_text("Page 2 of")


def test_a_lag_whose_customers_are_still_to_come_says_so(page: Any, server: LiveServer) -> None:
    """The demo's data runs to today, so the default period's customers 4 weeks on lie ahead."""
    page.goto(server.base + "/dashboard/linkage?lag=2")
    expect(page.locator("#linkage-future")).to_contain_text(re.compile(r"ends \d+ days? after today"))
    page.goto(server.base + "/dashboard/linkage?lag=4")
    expect(page.locator("#linkage-future")).to_contain_text("wholly in the future")
    page.goto(server.base + "/dashboard/linkage?lag=0")
    expect(page.locator("#linkage-headline, #linkage-empty").first).to_be_visible()
    expect(page.locator("#linkage-future")).to_have_count(0)


@pytest.mark.parametrize("width", [1440, 820, 390])
def test_every_view_fits_its_viewport_and_passes_axe(browser: Any, server: LiveServer, width: int) -> None:
    """No sideways page scroll, the whole navigation on screen, and no axe-core violation of
    serious or critical impact (WCAG A/AA rules, colour contrast included) on any view."""
    assert AXE, "axe-core is missing: `make browser` fetches it into .venv"
    axe = AXE[-1].read_text()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    sign_in(page, server.base)
    try:
        for view, ready in VIEWS.items():
            page.goto(f"{server.base}/dashboard/{view}")
            expect(page.locator(ready).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner, f"/{view} is {scroll} px wide at {width} px"
            for link in page.locator(".nav-link").all():
                box = link.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, link.inner_text()
            page.evaluate(axe)
            found = page.evaluate("""async () => {
                const result = await axe.run(document, {resultTypes: ["violations"]});
                return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
            }""")
            assert found == [], f"/{view} at {width} px: {found}"
    finally:
        context.close()


# --- what contractors say ------------------------------------------------------------------------


def test_the_comments_view_counts_themes_and_its_theme_filter_survives_a_reload(page: Any,
                                                                                server: LiveServer) -> None:
    page.goto(server.base + "/dashboard/comments")
    expect(page).to_have_title("What contractors say · Rapport")
    contractors, customers = page.locator("#comments-contractors"), page.locator("#comments-customers")
    shown = contractors.locator(".comment-wave:not(.wave-hidden)")
    expect(shown.first).to_be_visible()
    # each closed wave shown: its themes counted, its comments listed with their theme tags
    assert int(shown.first.locator(".theme-count").first.inner_text()) > 0
    expect(shown.first.locator(".comment-text").first).to_be_visible()
    expect(contractors.locator(".wave-hidden", has_text="In progress.")).to_have_count(1)  # the open wave
    knowledge = contractors.locator("#comments-theme-knowledge")
    total = int(knowledge.inner_text().rsplit(" ", 1)[1])
    assert total > 0
    expect(customers.locator("#comments-customer-list .comment").first).to_be_visible()
    expect(page.locator("#comments-customer-total")).to_contain_text("Page 1 of")
    # choose a theme: the URL holds it, the lists hold only that theme, a reload restores both
    page.wait_for_load_state("networkidle")
    knowledge.click()
    page.wait_for_url(re.compile(r"/dashboard/comments\?.*theme=knowledge"))
    expect(page.locator("#comments-theme-knowledge")).to_have_attribute("aria-current", "true")
    tags = contractors.locator(".comment .comment-tags")
    expect(tags.first).to_be_visible()
    assert all("Knowledge" in t for t in tags.all_inner_texts())
    listed = contractors.locator(".comment").count()
    assert 0 < listed <= total
    page.locator("#comments-ctheme-punctuality").click()
    page.wait_for_url(re.compile(r"ctheme=punctuality"))
    assert "theme=knowledge" in page.url
    # the view is drawn with the page: wait for it (and its search form) before searching
    expect(page.locator("#comments-ctheme-punctuality")).to_have_attribute("aria-current", "true")
    page.locator("#comments-q").fill("time")
    page.locator("#comments-search").click()
    page.wait_for_url(re.compile(r"q=time"))
    page.reload()
    expect(page.locator("#comments-theme-knowledge")).to_have_attribute("aria-current", "true")
    expect(page.locator("#comments-ctheme-punctuality")).to_have_attribute("aria-current", "true")
    expect(page.locator("#comments-q")).to_have_value("time")
    expect(page.locator("#comments-customer-total")).to_contain_text(" match.")
    for text in customers.locator(".comment-text").all_inner_texts():
        assert "time" in text.lower()
    # the four-contractor region: every wave hidden, with the reason and no count
    page.goto(server.base + f"/dashboard/comments?region={SMALL_REGION}")
    hidden = page.locator("#comments-contractors .wave-hidden", has_text="Hidden.")
    expect(hidden.first).to_be_visible()
    expect(hidden.first).to_contain_text("Comments are shown only for groups of 10 or more who answered")
    expect(page.locator("#comments-contractors .comment")).to_have_count(0)
    assert not re.search(r"\b[1-9] comments?\b", page.locator("#comments-contractors").inner_text())


def test_a_hostile_comments_address_gives_a_clean_page(page: Any, server: LiveServer) -> None:
    for query in ("?q=%00%00&theme=%00&ctheme=x%00&page=%00", "?q=" + "x" * 5000 + "&page=99999999999999",
                  "?theme=" + "k" * 3000 + "&q=%F0%9F%99%82'%20OR%201=1"):
        errors: list[str] = []
        page.on("response", lambda r, errors=errors: errors.append(r.url) if r.status >= 500 else None)
        page.goto(server.base + "/dashboard/comments" + query)
        expect(page.locator("#comments-contractors")).to_be_visible()
        expect(page.locator("#comments-customers")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert errors == []
        assert len(page.locator("#comments-q").input_value()) <= 100
