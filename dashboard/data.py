"""The one place the dashboard reads data: a sync facade over the async query layer.

How a synchronous Dash callback reaches async Tortoise
------------------------------------------------------
Dash runs under Flask, mounted in Starlette through a2wsgi, so every callback
runs in one of a2wsgi's worker threads, while Tortoise lives on uvicorn's
event loop (opened by ``RegisterTortoise`` in the Starlette lifespan). The
lifespan captures that loop in a :class:`LoopRunner` and hands it to the Flask
app (``server.config["RAPPORT_RUN"]``). A callback submits its coroutine to
that loop with ``asyncio.run_coroutine_threadsafe`` and waits for the result
in its own thread. So there is one loop, one connection pool, one ORM
initialisation: no second ``Tortoise.init`` per thread, no ``asyncio.run``
per request (which would create a loop the pool's connections do not belong
to). The worker thread blocks, the event loop does not. The coroutine runs as
a new task on that loop, so it finds the ORM through the global fallback
context that ``RegisterTortoise`` enables (Tortoise 1.x keeps its context in
a context variable, which a task started elsewhere would not inherit).

The seam is narrow on purpose: a *runner* is any callable that takes a
coroutine and returns its result, so a test can pass a plain function.

Every number comes from ``models.analytics`` (the same functions as the JSON
API); this module only translates the dashboard's filters into their
arguments. No formula lives here. The follow-up cases and the alerts go
through the same runner in `dashboard.casework`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from models import analytics, digest
from models.db import side_by_side
from models.queries import survey_in_force
from models.settings import settings
from surveys.association import drivers_reading
from surveys.schema import localize

__all__ = [
    "COMPARISONS",
    "DEFAULT_DAYS",
    "PRESETS",
    "RELATIVE_PRESETS",
    "RUNNER_KEY",
    "YEAR_AGO",
    "CommentChoice",
    "Filters",
    "LoopRunner",
    "Runner",
    "comment_themes",
    "comments_view",
    "current_runner",
    "current_user",
    "customer_view",
    "default_filters",
    "digest_setting",
    "dimension_levers",
    "drivers_view",
    "filter_options",
    "filters_for",
    "linkage_by_lag",
    "linkage_view",
    "overview_view",
    "preset_dates",
    "report_view",
    "segments_view",
    "set_digest",
    "year_earlier",
]

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, Any]], Any]
RUNNER_KEY = "RAPPORT_RUN"
DEFAULT_DAYS = 28  # four weeks: recent enough to act on, with a previous period to compare
YEAR_AGO = timedelta(weeks=52)  # "same period last year": 364 days back, so weekdays and ISO weeks line up

# Period presets, the URL's `period`. The first three are relative: a link that holds one
# follows the data (its dates are worked out on each load from the last day with data);
# "last-year" moves the dates on screen 52 weeks back, so its link keeps explicit dates.
PRESETS = {
    "last-4-weeks": "Last 4 weeks",
    "last-quarter": "Last quarter",
    "year-to-date": "Year to date",
    "last-year": "Same period last year",
}
RELATIVE_PRESETS = ("last-4-weeks", "last-quarter", "year-to-date")
# What the period is compared with, the URL's `compare` ("previous" when absent).
COMPARISONS = {"previous": "Previous period", "last-year": "Same period last year"}


def preset_dates(preset: str, end: date) -> tuple[date, date]:
    """The dates of a relative preset, for data up to `end`.

    >>> preset_dates("last-4-weeks", date(2026, 11, 23))
    (datetime.date(2026, 10, 27), datetime.date(2026, 11, 23))
    >>> preset_dates("last-quarter", date(2026, 11, 23))  # the last full calendar quarter
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
    >>> preset_dates("last-quarter", date(2026, 2, 3))
    (datetime.date(2025, 10, 1), datetime.date(2025, 12, 31))
    >>> preset_dates("year-to-date", date(2026, 11, 23))
    (datetime.date(2026, 1, 1), datetime.date(2026, 11, 23))
    """
    if preset == "last-quarter":
        quarter_start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
        last_end = quarter_start - timedelta(days=1)
        return date(last_end.year, last_end.month - 2, 1), last_end
    if preset == "year-to-date":
        return date(end.year, 1, 1), end
    if preset == "last-4-weeks":
        return end - timedelta(days=DEFAULT_DAYS - 1), end
    raise ValueError(f"not a relative preset: {preset!r}")


def year_earlier(start: date, end: date) -> tuple[date, date]:
    """The same dates 52 weeks earlier (same weekdays).

    >>> year_earlier(date(2026, 11, 2), date(2026, 11, 29))
    (datetime.date(2025, 11, 3), datetime.date(2025, 11, 30))
    """
    return start - YEAR_AGO, end - YEAR_AGO


class LoopRunner:
    """Runs a coroutine on the server's event loop from a worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, timeout: float = 30.0) -> None:
        self.loop = loop
        self.timeout = timeout

    def __call__(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)


def current_runner() -> Runner:
    """The runner installed by the server's lifespan (inside a Flask request)."""
    import flask

    return flask.current_app.config[RUNNER_KEY]  # type: ignore[no-any-return]


def current_user() -> str:
    """The signed-in user of the current Dash request (the guard put it in the session)."""
    import flask

    scope = flask.request.environ.get("asgi.scope", {})
    return str(scope.get("session", {}).get("user", ""))


@dataclass(frozen=True)
class Filters:
    """What the filter bar and the URL's query string hold."""

    start: date
    end: date
    region: str | None = None
    service_type: str | None = None
    tenure_band: str | None = None
    period: str | None = None  # the preset that chose the dates (PRESETS), if one did
    compare: str = "previous"  # COMPARISONS

    @classmethod
    def default(cls, today: date | None = None) -> Filters:
        end = today or date.today()
        return cls(start=end - timedelta(days=DEFAULT_DAYS - 1), end=end)

    @classmethod
    def from_query(cls, query: Mapping[str, Any], today: date | None = None) -> Filters:
        """Read `from`, `to`, `period`, `compare`, `region`, `service_type`, `tenure`
        leniently: a bad value falls back to the default rather than breaking a shared
        link. A relative `period` (RELATIVE_PRESETS) decides the dates, counted back
        from `today` (the last day with data), whatever `from` and `to` say."""
        base = cls.default(today)
        period = _text(query.get("period"))
        period = period if period in PRESETS else None
        compare = _text(query.get("compare"))
        if period in RELATIVE_PRESETS:
            start, end = preset_dates(str(period), base.end)
        else:
            start, end = _date(query.get("from"), base.start), _date(query.get("to"), base.end)
        if start > end:
            start, end = end, start
        return cls(
            start=start,
            end=end,
            region=_text(query.get("region")),
            service_type=_text(query.get("service_type")),
            tenure_band=_text(query.get("tenure")),
            period=period,
            compare=compare if compare in COMPARISONS else "previous",
        )

    def query(self) -> dict[str, str]:
        """The query string's values; a relative period stands for its dates."""
        out = {} if self.period in RELATIVE_PRESETS else {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for key, value in (
            ("period", self.period),
            ("region", self.region),
            ("service_type", self.service_type),
            ("tenure", self.tenure_band),
            ("compare", None if self.compare == "previous" else self.compare),
        ):
            if value:
                out[key] = value
        return out

    def comparison(self) -> tuple[date, date]:
        """The dates the period is compared with: the one just before, or 52 weeks earlier."""
        if self.compare == "last-year":
            return year_earlier(self.start, self.end)
        previous = analytics.Window(self.start, self.end).previous()
        return previous.start, previous.end

    @property
    def comparison_label(self) -> str:
        """How a change is worded: 'vs previous period' or 'vs same period last year'."""
        return "previous period" if self.compare != "last-year" else "same period last year"

    def search(self, **extra: Any) -> str:
        """The URL query string ('?from=…&to=…') that reproduces these filters."""
        params = self.query() | {k: str(v) for k, v in extra.items() if v not in (None, "")}
        return "?" + urlencode(params)

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _date(raw: Any, default: date) -> date:
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if not raw:
        return default
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        return default


def _text(raw: Any) -> str | None:
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    value = str(raw).strip() if raw is not None else ""
    return value or None


# --- the views' reads -------------------------------------------------------
# Each takes the runner first, so a test can pass any function that runs a
# coroutine; each batches its queries into one coroutine (one hop to the loop),
# run side by side on PostgreSQL's pool, one after the other on SQLite (whose
# one connection would only interleave them: measured slower on 1M rows).


def _window(filters: Filters) -> analytics.Window:
    return analytics.Window(filters.start, filters.end)


def _population(filters: Filters) -> analytics.Population:
    return analytics.Population(
        region=filters.region, service_type=filters.service_type, tenure_band=filters.tenure_band
    )


def filter_options(run: Runner) -> dict[str, Any]:
    """Regions, service types, tenure bands and the first/last date with data."""
    return run(analytics.filter_options())  # type: ignore[no-any-return]


def default_filters(options: Mapping[str, Any], today: date | None = None) -> Filters:
    """The last four weeks up to today, or up to the last day with data if that is earlier."""
    end = today or date.today()
    last = options.get("last_date")
    if last:
        end = min(end, date.fromisoformat(str(last)[:10]))
    return Filters.default(end)


def filters_for(run: Runner, query: Mapping[str, Any]) -> Filters:
    """The filters a page's query string asks for, defaults filled in."""
    if query.get("from") and query.get("to") and _text(query.get("period")) not in RELATIVE_PRESETS:
        return Filters.from_query(query)
    return Filters.from_query(query, today=default_filters(filter_options(run)).end)


def overview_view(run: Runner, filters: Filters) -> dict[str, Any]:
    """The index and the customer report for the period and for the one it is compared
    with (the period before, or the same period last year: `filters.compare`)."""
    return _overview(run, filters, with_linkage=False)


def report_view(run: Runner, filters: Filters) -> dict[str, Any]:
    """The printable report: the Overview's reports (against the same comparison period)
    and the linkage (lag 0), in one hop, side by side on PostgreSQL."""
    return _overview(run, filters, with_linkage=True)


def _overview(run: Runner, filters: Filters, *, with_linkage: bool) -> dict[str, Any]:
    window, population = _window(filters), _population(filters)
    against = analytics.Window(*filters.comparison())
    # the comparison period's trend is never drawn: it needs only its overall margin (the
    # tested change), not one per wave
    reports = [
        _index(window=window, population=population),
        _index(window=against, population=population, trend_margins=False),
        analytics.customer_report(window=window, population=population),
        analytics.customer_report(window=against, population=population),
    ]
    if with_linkage:
        reports.append(analytics.linkage_report(window=window, population=population, min_group=settings.min_group))

    async def together() -> dict[str, Any]:
        index, before, customer, customer_before, *linkage = await side_by_side(*reports)
        view = {"index": index, "index_previous": before, "customer": customer,
                "customer_previous": customer_before,
                "changes": analytics.period_changes(index["overall"], before["overall"],
                                          customer["complete"], customer_before["complete"])}
        return {**view, "linkage": linkage[0]} if linkage else view

    return run(together())  # type: ignore[no-any-return]


def customer_view(run: Runner, filters: Filters, *, group_by: str | None = None) -> dict[str, Any]:
    return run(analytics.customer_report(  # type: ignore[no-any-return]
        window=_window(filters), population=_population(filters), group_by=group_by))


def linkage_view(run: Runner, filters: Filters, *, lag_weeks: int = 0) -> dict[str, Any]:
    """Linkage of the pulse in the period with customers `lag_weeks` later."""
    return run(analytics.linkage_report(  # type: ignore[no-any-return]
        window=_window(filters), population=_population(filters), lag_days=7 * lag_weeks,
        min_group=settings.min_group))


def linkage_by_lag(run: Runner, filters: Filters, *, max_weeks: int = 8) -> list[dict[str, Any]]:
    """CEI × CSAT for customers 0…max_weeks weeks after the pulse (r, CI, n for the lag
    chart): the figures of one linkage report per lag, read for all lags at once
    (`analytics.linkage_lags`)."""
    lags = run(analytics.linkage_lags(window=_window(filters), population=_population(filters),
                                      lags_days=[7 * weeks for weeks in range(max_weeks + 1)],
                                      min_group=settings.min_group))
    out = []
    for lag in lags:
        main: dict[str, Any] = lag["cei_csat"] or {}
        out.append({"lag_weeks": lag["lag_days"] // 7, "n": lag["n"], "suppressed": lag["suppressed"],
                    "r": main.get("r"), "ci_low": main.get("ci_low"), "ci_high": main.get("ci_high")})
    return out


def drivers_view(run: Runner, filters: Filters) -> dict[str, Any]:
    """Relative weights and correlations (linkage) beside the dimension scores (index)."""
    window, population = _window(filters), _population(filters)

    async def both() -> dict[str, Any]:
        linkage, index = await side_by_side(
            analytics.linkage_report(window=window, population=population, min_group=settings.min_group,
                                     driver_intervals=True),
            _index(window=window, population=population, trend_margins=False),
        )
        return {"linkage": linkage, "index": index, "reading": _drivers_reading(linkage, index)}

    return run(both())  # type: ignore[no-any-return]


def _drivers_reading(linkage: dict[str, Any], index: dict[str, Any]) -> list[str]:
    """The sentences of "How to read this" (surveys.association.drivers_reading), from the
    drivers' tiers and r intervals and the index's dimension scores with their margins."""
    drivers = linkage.get("drivers") or {}
    if not drivers.get("dimensions"):
        return []
    scores = (index.get("overall") or {}).get("dimensions") or {}
    order = [d["id"] for d in index.get("dimensions") or []]
    rows = []
    for d in sorted(drivers["dimensions"], key=lambda d: order.index(d["id"]) if d["id"] in order else len(order)):
        ci = (scores.get(d["id"]) or {}).get("score_ci") or {}
        rows.append({**d, "score": (scores.get(d["id"]) or {}).get("score"),
                     "score_low": ci.get("low"), "score_high": ci.get("high")})
    return drivers_reading(rows, drivers.get("tiers") or [[d["id"] for d in rows]], drivers.get("n", 0))


def segments_view(run: Runner, filters: Filters, *, group_by: str) -> dict[str, Any]:
    """The index and the customer report broken down by one attribute."""
    window, population = _window(filters), _population(filters)

    async def both() -> dict[str, Any]:
        index, customer = await side_by_side(
            _index(window=window, population=population, group_by=group_by, trend_margins=False),
            analytics.customer_report(window=window, population=population, group_by=group_by),
        )
        return {"index": index, "customer": customer, "gaps": analytics.segment_gaps(index, customer)}

    return run(both())  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CommentChoice:
    """What the comments view shows: a contractors' theme, a customers' theme, a search, a page."""

    theme: str | None = None
    customer_theme: str | None = None
    search: str | None = None
    page: int = 1


def comment_themes() -> dict[str, list[tuple[str, str]]]:
    """The themes of the comments (surveys.themes) as (id, English label), from the survey files."""
    return {kind: [(t.id, localize(t.labels, "en")) for t in survey_in_force(kind).themes]
            for kind in ("pulse", "customer")}


def comments_view(run: Runner, filters: Filters, choice: CommentChoice) -> dict[str, Any]:
    """Contractors' comments per closed wave (through the comment gate) and customers'
    comments, for the period and segment, in one hop."""
    window, population = _window(filters), _population(filters)

    async def both() -> dict[str, Any]:
        contractors, customers = await side_by_side(
            analytics.contractor_comments(window=window, population=population, theme=choice.theme,
                                          search=choice.search, min_group=settings.min_group,
                                          min_comment_group=settings.min_comment_group),
            analytics.customer_comments(window=window, population=population, theme=choice.customer_theme,
                                        search=choice.search, page=choice.page),
        )
        return {"contractors": contractors, "customers": customers}

    return run(both())  # type: ignore[no-any-return]


def digest_setting(run: Runner, *, username: str) -> digest.Subscriber:
    """The signed-in user's weekly digest: address, on or off, last sent."""
    return run(digest.digest_setting(username=username))  # type: ignore[no-any-return]


def set_digest(run: Runner, *, username: str, weekly: bool, email: str | None) -> digest.Subscriber:
    """Turn the user's weekly digest on or off (ValueError for an unusable address)."""
    return run(digest.set_digest(username=username, weekly=weekly, email=email))  # type: ignore[no-any-return]


def dimension_levers(lang: str = "en") -> list[dict[str, str]]:
    """Each pulse dimension with its label and what it stands for, from the survey file."""
    survey = survey_in_force("pulse")
    return [
        {"id": d.id, "label": localize(d.labels, lang, settings.brand),
         "levers": localize(d.description, lang, settings.brand) if d.description else ""}
        for d in survey.dimensions
    ]


async def _index(*, window: analytics.Window, population: analytics.Population,
                 group_by: str | None = None, trend_margins: bool = True) -> dict[str, Any]:
    """The index report, or when the filters name two attributes at once
    (which pulse figures refuse), a report that says so in place of figures.
    `trend_margins=False` for a view that shows no wave's margin (the groups' margins are
    always read: Segments tests each group's gap from the company with them)."""
    try:
        return await analytics.index_report(window=window, population=population, group_by=group_by,
                                            min_group=settings.min_group,
                                            min_comment_group=settings.min_comment_group,
                                            trend_margins=trend_margins)
    except analytics.OneAttribute as exc:
        return analytics.refused_report(window=window, population=population, group_by=group_by,
                                        reason=str(exc), **_thresholds())


def _thresholds() -> dict[str, int]:
    return {"min_group": settings.min_group, "min_comment_group": settings.min_comment_group}
