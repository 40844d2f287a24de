"""GET /api/v1/index, /customer and /linkage: parse, call models.analytics, answer.

The handlers hold no formula: the dashboard calls the same functions.
Bad parameters get a 400 whose body names the parameter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from models import analytics, queries
from models.analytics import CUSTOMER_GROUP_BY, GROUP_BY, LINKAGE_GROUP_BY, TENURE_BANDS, Population, Window
from models.settings import settings

__all__ = [
    "DEFAULT_DAYS",
    "MAX_LAG_DAYS",
    "OPENAPI_PATHS",
    "BadParameter",
    "customer",
    "index",
    "linkage",
    "routes",
]

DEFAULT_DAYS = 90
MAX_LAG_DAYS = 365


class BadParameter(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _date(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"'{name}' must be an ISO 8601 date (YYYY-MM-DD), not {raw!r}") from None


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"'{name}' must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"'{name}' must be between {low} and {high}, not {value}")
    return value


def _choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise BadParameter(name, f"'{name}' must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _window(request: Request) -> Window:
    today = datetime.now(UTC).date()
    end = _date(request, "to", today)
    start = _date(request, "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        raise BadParameter("to", "'to' must not be before 'from'")
    return Window(start, end)


def _population(request: Request) -> Population:
    return Population(
        region=request.query_params.get("region") or None,
        service_type=request.query_params.get("service_type") or None,
        tenure_band=_choice(request, "tenure_band", TENURE_BANDS),
    )


async def _known_population(population: Population) -> None:
    """A region or service type nobody has is refused (400), not answered with empty
    figures that read like "no one answered": almost always a typo or a stale link."""
    for name in ("region", "service_type"):
        value = getattr(population, name)
        if value is not None and value not in await queries.known_values(field=name):  # type: ignore[arg-type]
            raise BadParameter(name, f"no contractor has {name} {value!r}")


def _bad(exc: BadParameter) -> Response:
    return JSONResponse({"error": str(exc), "parameter": exc.name}, status_code=400)


async def index(request: Request) -> Response:
    try:
        window, population = _window(request), _population(request)
        group_by = _choice(request, "group_by", GROUP_BY)
        await _known_population(population)
    except BadParameter as exc:
        return _bad(exc)
    try:
        report = await analytics.index_report(
            window=window, population=population, group_by=group_by,
            min_group=settings.min_group, min_comment_group=settings.min_comment_group)
    except analytics.OneAttribute as exc:
        return _bad(BadParameter(exc.parameter, str(exc)))
    return JSONResponse(report)


async def customer(request: Request) -> Response:
    try:
        window, population = _window(request), _population(request)
        group_by = _choice(request, "group_by", CUSTOMER_GROUP_BY)
        await _known_population(population)
    except BadParameter as exc:
        return _bad(exc)
    return JSONResponse(await analytics.customer_report(
        window=window, population=population, group_by=group_by))


def _retired(request: Request, name: str, setting: str) -> None:
    """A parameter the API no longer takes: a clear 400 rather than silently ignoring it
    (brands integrate against this API)."""
    if name in request.query_params:
        raise BadParameter(name, f"'{name}' is no longer a request parameter: it is the deployment setting "
                                 f"{setting}, so that no request can move who is included; remove it "
                                 "from the request")


async def linkage(request: Request) -> Response:
    try:
        window, population = _window(request), _population(request)
        group_by = _choice(request, "group_by", LINKAGE_GROUP_BY)
        lag_days = _int(request, "lag_days", 0, 0, MAX_LAG_DAYS)
        _retired(request, "min_responses", "RAPPORT_MIN_CUSTOMER_RESPONSES")
        await _known_population(population)
    except BadParameter as exc:
        return _bad(exc)
    return JSONResponse(await analytics.linkage_report(
        window=window, population=population, group_by=group_by, lag_days=lag_days,
        min_responses=settings.min_customer_responses, min_group=settings.min_group))


routes: list[BaseRoute] = [
    Route("/api/v1/index", index, methods=["GET"]),
    Route("/api/v1/customer", customer, methods=["GET"]),
    Route("/api/v1/linkage", linkage, methods=["GET"]),
]


# --- OpenAPI 3.1 ---------------------------------------------------------------------


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_COMMON = [
    _param("from", f"First day (ISO 8601 date, inclusive); default {DEFAULT_DAYS} days before 'to'.",
           {"type": "string", "format": "date"}),
    _param("to", "Last day (ISO 8601 date, inclusive); default today (UTC).", {"type": "string", "format": "date"}),
    _param("region", "Only contractors of this region.", {"type": "string"}),
    _param("service_type", "Only contractors of this service type.", {"type": "string"}),
    _param("tenure_band", "Only contractors in this tenure band at 'to'.",
           {"type": "string", "enum": list(TENURE_BANDS)}),
]
_ERRORS = {
    "400": {"description": "A bad parameter (also a region or service type no contractor has); the body names it.",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "error": {"type": "string"}, "parameter": {"type": "string"}}}}}},
    "401": {"description": "No valid API key."},
}


def _get(summary: str, description: str, group_by: tuple[str, ...], extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {
        "summary": summary,
        "description": description,
        "tags": ["analytics"],
        "security": [{"bearerAuth": []}],
        "parameters": [*_COMMON, _param("group_by", "Break the results down.",
                                        {"type": "string", "enum": list(group_by)}), *extra],
        "responses": {"200": {"description": "The report (see docs/metrics.md).",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      **_ERRORS},
    }}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/index": _get(
        "Connection & Empowerment Index",
        "CEI, each dimension with % favourable and reliability, overall, per group and per wave, over the "
        "pulse waves that closed in the window. Groups that could single out a contractor come back with "
        "suppressed: true, null scores and a banded count. Filter or break down by one of region, "
        "service_type and tenure_band at a time.",
        GROUP_BY, []),
    "/api/v1/customer": _get(
        "Customer metrics",
        "CSAT mean and %, NPS, CES mean and %, promise kept %, responses, jobs and response rate, "
        "over jobs completed in the window; overall, per group and per ISO week.",
        CUSTOMER_GROUP_BY, []),
    "/api/v1/linkage": _get(
        "CEI and customer satisfaction",
        "Pearson r with Fisher 95 % CI, p, BH-adjusted p, Spearman rho, partial r; drivers by Johnson's "
        "relative weights; CSAT by fixed CEI band (0–20 … 80–100, counts as steps). The pulse side is the "
        "waves that closed in the window with at least RAPPORT_MIN_GROUP respondents; a contractor needs "
        "RAPPORT_MIN_CUSTOMER_RESPONSES customer answers (a deployment setting: a request sending "
        "'min_responses' gets a 400). Correlations over fewer than RAPPORT_MIN_GROUP contractors are null "
        "with a reason. Associations, not causes.",
        LINKAGE_GROUP_BY,
        [_param("lag_days", "Customer window = pulse window shifted by this many days. It changes which "
                            "contractors are included.",
                {"type": "integer", "minimum": 0, "maximum": MAX_LAG_DAYS, "default": 0})]),
}
