"""The printable report's data and layout, without a browser: the same numbers as the views,
the period and filters on it, a small group hidden."""

from __future__ import annotations

import doctest
from datetime import date

from dashboard import data
from tests.dashboard.test_data import FILTERS, _find, _text, loop_thread, world_run  # noqa: F401 (fixtures)


def _page():  # type: ignore[no-untyped-def]
    from dashboard.app import create_dash_app

    create_dash_app()  # registers the pages
    from dashboard.pages import report

    return report


def test_the_report_shows_the_views_own_numbers(world_run: data.Runner) -> None:  # noqa: F811
    page = _page()

    report = data.report_view(world_run, FILTERS)
    overview = data.overview_view(world_run, FILTERS)
    assert {k: report[k] for k in overview} == overview
    assert report["linkage"] == data.linkage_view(world_run, FILTERS, lag_weeks=0)
    rendered = page.render(report, report["linkage"], FILTERS, user="lead", today=date(2026, 3, 25))
    assert _text(_find(rendered, "report-period")) == "25 Feb 2026 – 24 Mar 2026, compared with 28 Jan 2026 – 24 Feb 2026"
    assert _text(_find(rendered, "report-filters")) == "Region: all · Service type: all · Tenure: all"
    assert "never shown for fewer than 5 contractors" in _text(_find(rendered, "report-privacy"))
    assert _text(_find(rendered, "report-csat")).startswith("CSAT")
    assert "Islands: fewer than 5 contractors answered" in _text(_find(rendered, "report-waves"))

    islands = FILTERS.with_(region="islands")
    small = data.report_view(world_run, islands)
    rendered = page.render(small, small["linkage"], islands, user="lead", today=date(2026, 3, 25))
    for tile in ("report-cei", "report-pulse"):
        text = _text(_find(rendered, tile))
        assert "hidden (<5)" in text and "4" not in text.replace("(<5)", "")
    assert "Not enough contractors" in _text(_find(rendered, "report-linkage"))
    assert _text(_find(rendered, "report-filters")).startswith("Region: islands")


def test_doctests() -> None:
    assert doctest.testmod(_page()).failed == 0


def test_the_report_carries_the_overviews_tiles_with_their_margins_and_tested_changes(
        world_run: data.Runner) -> None:  # noqa: F811
    page = _page()
    from dashboard.pages import overview

    report = data.report_view(world_run, FILTERS)
    printed = page.render(report, report["linkage"], FILTERS, user="lead", today=date(2026, 3, 25))
    shown = overview.render(report)
    for tile in ("cei", "csat", "nps", "ces", "rate", "pulse"):
        assert _text(_find(printed, f"report-{tile}")) == _text(_find(shown, f"overview-{tile}"))
    csat = _text(_find(printed, "report-csat"))
    assert "± " in csat and "complete week" in csat  # its margin; the change compares complete weeks only
    # the same marked gaps as the Overview's charts: the hidden wave is labelled on the CEI chart
    cei_chart = _find(printed, "report-cei-trend").figure
    assert any("hidden" in (a.get("text") or "") for a in cei_chart["layout"]["annotations"])
