"""GET /api/v1/index, /customer, /linkage and /comments: parse, call models.analytics, answer.

The handlers hold no formula: the dashboard calls the same functions.
Bad parameters get a 400 whose body names the parameter (collector.errors).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.contract import Day, Query, Reply, Whole, operation
from collector.errors import BadParameter
from collector.reports import CommentsReport, CustomerReport, IndexReport, LinkageReport
from models import analytics, queries
from models.analytics import CUSTOMER_GROUP_BY, GROUP_BY, LINKAGE_GROUP_BY, TENURE_BANDS, Population, Window
from models.analytics.comments import MAX_SEARCH
from models.settings import settings

__all__ = [
    "DEFAULT_DAYS",
    "MAX_LAG_DAYS",
    "CommentsQuery",
    "CustomerQuery",
    "IndexQuery",
    "LinkageQuery",
    "Report",
    "TenureBand",
    "comments",
    "customer",
    "index",
    "linkage",
    "routes",
]

DEFAULT_DAYS = 90
MAX_LAG_DAYS = 365

_DATE = "'{name}' must be an ISO 8601 date (YYYY-MM-DD), not {raw!r}"
TenureBand = Literal[TENURE_BANDS]  # type: ignore[valid-type]  # the bands are data; Literal takes them as values


def _choices(name: str, choices: tuple[str, ...]) -> str:
    return f"'{name}' must be one of {', '.join(choices)}, not {{raw!r}}"


class Report(Query):
    """The window and the population every report takes."""

    from_: Annotated[date | None, Day(_DATE, years=False, description=f"First day (ISO 8601 date, inclusive); "
                                     f"default {DEFAULT_DAYS} days before 'to'."), Field(alias="from")] = None
    to: Annotated[date | None, Day(_DATE, years=False,
                                   description="Last day (ISO 8601 date, inclusive); default today (UTC).")] = None
    region: Annotated[str | None, Field(description="Only contractors of this region (one some contractor "
                                                    "has).")] = None
    service_type: Annotated[str | None, Field(description="Only contractors of this service type (one some "
                                                          "contractor has).")] = None
    tenure_band: Annotated[TenureBand | None, Field(description="Only contractors in this tenure band at 'to'.")] = None

    invalid: ClassVar[dict[str, str]] = {"tenure_band": _choices("tenure_band", TENURE_BANDS)}

    def window(self) -> Window:
        end = self.to or datetime.now(UTC).date()
        start = self.from_ or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise BadParameter("to", "'to' must not be before 'from'")
        return Window(start, end)

    async def population(self) -> Population:
        """The filters; a region or service type nobody has is refused (400), not answered with empty
        figures that read like "no one answered": almost always a typo or a stale link."""
        population = Population(region=self.region, service_type=self.service_type, tenure_band=self.tenure_band)
        filters: tuple[tuple[Literal["region", "service_type"], str | None], ...] = (
            ("region", population.region), ("service_type", population.service_type))
        for name, value in filters:
            if value is not None and value not in await queries.known_values(field=name):
                raise BadParameter(name, f"no contractor has {name} {value!r}")
        return population


class IndexQuery(Report):
    group_by: Annotated[Literal[GROUP_BY] | None, Field(description="Break the results down.")] = None  # type: ignore[valid-type]  # values from models.analytics

    invalid: ClassVar[dict[str, str]] = {**Report.invalid, "group_by": _choices("group_by", GROUP_BY)}


class CustomerQuery(Report):
    group_by: Annotated[Literal[CUSTOMER_GROUP_BY] | None, Field(description="Break the results down.")] = None  # type: ignore[valid-type]  # values from models.analytics

    invalid: ClassVar[dict[str, str]] = {**Report.invalid, "group_by": _choices("group_by", CUSTOMER_GROUP_BY)}


class LinkageQuery(Report):
    group_by: Annotated[Literal[LINKAGE_GROUP_BY] | None, Field(description="Break the results down.")] = None  # type: ignore[valid-type]  # values from models.analytics
    lag_days: Annotated[int, Whole(0, MAX_LAG_DAYS, "Customer window = pulse window shifted by this many days. "
                                   "It changes which contractors are included.")] = 0

    invalid: ClassVar[dict[str, str]] = {**Report.invalid, "group_by": _choices("group_by", LINKAGE_GROUP_BY)}


class CommentsQuery(Report):
    theme: Annotated[str | None, Field(max_length=64, description="Only contractors' comments with this theme "
                                                                  "(a pulse theme id, GET /surveys).")] = None
    customer_theme: Annotated[str | None, Field(max_length=64, description="Only customers' comments with this "
                                                "theme (a customer theme id).")] = None
    q: Annotated[str | None, Field(max_length=MAX_SEARCH, description="Only comments holding these words in a row "
                                   "(the last one a prefix), case and accents ignored.")] = None
    page: Annotated[int, Whole(1, 10_000, "The page of customers' comments.")] = 1


_BAD = {400: "A bad parameter (also a region or service type no contractor has); `parameter` names it."}
_ANALYTICS = ("analytics",)


@operation(summary="Connection & Empowerment Index", tags=_ANALYTICS, query=IndexQuery, errors=_BAD,
           description="CEI, each dimension with % favourable and reliability, overall, per group and per wave, "
           "over the pulse waves that closed in the window. Groups that could single out a contractor come back "
           "with suppressed: true, null scores and a banded count. Filter or break down by one of region, "
           "service_type and tenure_band at a time.",
           responses={200: Reply("The report (see docs/metrics.md).", IndexReport)})
async def index(request: Request, query: IndexQuery) -> Response:
    window, population = query.window(), await query.population()
    return JSONResponse(await analytics.index_report(
        window=window, population=population, group_by=query.group_by,
        min_group=settings.min_group, min_comment_group=settings.min_comment_group))


@operation(summary="Customer metrics", tags=_ANALYTICS, query=CustomerQuery, errors=_BAD,
           description="CSAT mean and %, NPS, CES mean and %, promise kept %, responses, jobs and response rate, "
           "over jobs completed in the window; overall, per group and per ISO week.",
           responses={200: Reply("The report (see docs/metrics.md).", CustomerReport)})
async def customer(request: Request, query: CustomerQuery) -> Response:
    window, population = query.window(), await query.population()
    return JSONResponse(await analytics.customer_report(window=window, population=population,
                                                        group_by=query.group_by))


@operation(summary="CEI and customer satisfaction", tags=_ANALYTICS, query=LinkageQuery, errors=_BAD,
           description="Pearson r with Fisher 95 % CI, p, BH-adjusted p, Spearman rho, partial r; drivers by "
           "Johnson's relative weights; CSAT by fixed CEI band (0–20 … 80–100, counts as steps). The pulse side is "
           "the waves that closed in the window with at least RAPPORT_MIN_GROUP respondents; a contractor needs "
           "RAPPORT_MIN_CUSTOMER_RESPONSES customer answers (a deployment setting: a request sending "
           "'min_responses' gets a 400). Correlations over fewer than RAPPORT_MIN_GROUP contractors are null "
           "with a reason. Associations, not causes.",
           responses={200: Reply("The report (see docs/metrics.md).", LinkageReport)})
async def linkage(request: Request, query: LinkageQuery) -> Response:
    if "min_responses" in request.query_params:  # retired: a clear 400 rather than silently ignoring it
        raise BadParameter("min_responses", "'min_responses' is no longer a request parameter: it is the "
                           "deployment setting RAPPORT_MIN_CUSTOMER_RESPONSES, so that no request can move who "
                           "is included; remove it from the request")
    window, population = query.window(), await query.population()
    return JSONResponse(await analytics.linkage_report(
        window=window, population=population, group_by=query.group_by, lag_days=query.lag_days,
        min_responses=settings.min_customer_responses, min_group=settings.min_group))


@operation(summary="What contractors and customers say", tags=_ANALYTICS, query=CommentsQuery, errors=_BAD,
           description="Contractors' pulse comments per wave that closed in the window, newest first, only for "
           "groups that pass the comment gate (RAPPORT_MIN_COMMENT_GROUP respondents, a small group's sibling "
           "hidden with it; the same gate as /index), at most 20 a wave in an order that says nothing about who "
           "wrote them or when, with counts per theme; a hidden wave gives its reason and no count. Customers' "
           "comments of the window, every answer, newest first, 20 a page, with CSAT, NPS, the job's day, region "
           "and service type (never the contractor). Themes are the survey files' keyword lists.",
           responses={200: Reply("The comments (see docs/metrics.md, 'Comments and themes').", CommentsReport)})
async def comments(request: Request, query: CommentsQuery) -> Response:
    window, population = query.window(), await query.population()
    try:
        contractors = await analytics.contractor_comments(
            window=window, population=population, theme=query.theme, search=query.q,
            min_group=settings.min_group, min_comment_group=settings.min_comment_group)
    except ValueError as exc:
        raise BadParameter("theme", str(exc)) from None
    try:
        customers = await analytics.customer_comments(window=window, population=population,
                                                      theme=query.customer_theme, search=query.q, page=query.page)
    except ValueError as exc:
        raise BadParameter("customer_theme", str(exc)) from None
    return JSONResponse({"contractors": contractors, "customers": customers})


routes: list[BaseRoute] = [
    Route("/index", index, methods=["GET"]),
    Route("/customer", customer, methods=["GET"]),
    Route("/linkage", linkage, methods=["GET"]),
    Route("/comments", comments, methods=["GET"]),
]
