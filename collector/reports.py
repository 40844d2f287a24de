"""The analytics reports' answers as types: /api/v1/index, /customer, /linkage and /comments.

`models.analytics` builds the reports as plain dicts (the dashboard reads the
same ones); these TypedDicts describe every field, nullable where a figure can
be hidden or undefined, so that the OpenAPI document tells an integrator's
generated client each field. tests/collector/test_contract.py holds real
reports (suppressed groups included) to these schemas.
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

__all__ = [
    "Band",
    "CommentsReport",
    "ContractorComment",
    "ContractorComments",
    "Correlation",
    "Count",
    "CustomerComment",
    "CustomerComments",
    "CustomerComplete",
    "CustomerReport",
    "CustomerRow",
    "CustomerWeek",
    "Day",
    "DimensionFigures",
    "DimensionLabel",
    "Driver",
    "Drivers",
    "IndexReport",
    "IndexRow",
    "Interval",
    "LinkageGroup",
    "LinkageReport",
    "Moment",
    "PartialCorrelation",
    "Population",
    "Power",
    "Span",
    "WaveComments",
    "WaveListed",
]

Count = Annotated[int | str, Field(description="Exact from min_group up; below it a band such as 'fewer than 5'.")]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


Span = TypedDict("Span", {"from": Day, "to": Day})  # inclusive dates; `from` is a keyword


class Interval(TypedDict):
    """A 95 % confidence interval (surveys.uncertainty; docs/metrics.md, "Margins of error")."""

    estimate: float
    low: float
    high: float
    se: Annotated[float, Field(description="Standard error (bootstrap: the replicates' standard deviation).")]
    margin: Annotated[float, Field(description="Half the interval's width: the '± x' shown beside a figure.")]
    method: str
    n: Annotated[int, Field(description="Units behind it: answers, or contractors for a bootstrap.")]


class Population(TypedDict):
    region: str | None
    service_type: str | None
    tenure_band: str | None


class DimensionLabel(TypedDict):
    id: str
    label: str


class DimensionFigures(TypedDict):
    score: float | None
    score_ci: Interval | None
    favourable_pct: float | None
    n_contractors: int | None
    alpha: float | None
    spearman_brown: float | None
    reliability: float | None
    reliability_low: bool | None
    n_complete: int | None


class IndexRow(TypedDict):
    """The figures of one group (or everyone, or one wave); hidden ones are null with a reason."""

    group: str | None
    n_contractors: Count | None
    n_responses: int | None
    n_waves: int
    n_invited: int | None
    n_answered: Annotated[int | None, Field(
        description="Invitations answered: response_rate = n_answered / n_invited.")]
    response_rate: float | None
    cei: float | None
    cei_ci: Interval | None
    cei_favourable_pct: float | None
    dimensions: dict[str, DimensionFigures]
    suppressed: bool
    reason: str | None
    comments: list[str] | None
    comments_suppressed: bool
    wave: NotRequired[str]
    opens_at: NotRequired[Moment]
    closes_at: NotRequired[Moment]
    state: NotRequired[str]


class WaveListed(TypedDict):
    wave: str
    opens_at: Moment
    closes_at: Moment
    state: str
    n_invited: int
    n_contractors: Count
    response_rate: float | None


class IndexReport(TypedDict):
    window: Span
    population: Population
    group_by: str | None
    min_group: int
    min_comment_group: int
    cei_unit: str
    waves_rule: str
    dimensions: list[DimensionLabel]
    overall: IndexRow
    groups: list[IndexRow]
    trend: Annotated[list[IndexRow], Field(description="One row per wave of the window, with the wave's fields.")]
    waves: list[WaveListed]


class CustomerRow(TypedDict):
    group: str | None
    n: int
    jobs: int
    response_rate: float | None
    csat_mean: float | None
    csat_pct: float | None
    nps: float | None
    promoters_pct: float | None
    detractors_pct: float | None
    ces_mean: float | None
    ces_pct: float | None
    promise_kept_pct: float | None
    csat_pct_ci: Interval | None
    nps_ci: Interval | None
    ces_mean_ci: Interval | None
    response_rate_ci: Interval | None


class CustomerWeek(CustomerRow):
    week: Annotated[str, Field(description="ISO week, e.g. 2026-W10.")]
    week_start: Day
    state: Annotated[str, Field(description="complete, partial (cut by the window) or in_progress (not over).")]


class CustomerComplete(CustomerRow):
    weeks: Annotated[list[str], Field(description="The complete weeks these figures cover.")]


class CustomerReport(TypedDict):
    window: Span
    population: Population
    group_by: str | None
    overall: CustomerRow
    complete: Annotated[CustomerComplete, Field(description="The complete weeks only: what a change compares.")]
    groups: list[CustomerRow]
    trend: list[CustomerWeek]


class Power(TypedDict):
    n_needed: int
    power: float | None
    adequate: bool
    message: str | None


class PartialCorrelation(TypedDict):
    """A correlation over at least min_group contractors; null with a reason under."""

    n: Count
    r: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    suppressed: bool
    reason: str | None


class Correlation(PartialCorrelation):
    """One dimension (or the CEI) against one outcome, and the same controlled for region, service type
    and tenure (`partial`)."""

    x: str
    y: str
    rho: float | None
    partial: PartialCorrelation


class Driver(TypedDict):
    id: str
    label: str
    weight: float
    share: float
    r: float | None
    r_ci_low: float | None
    r_ci_high: float | None


class Drivers(TypedDict):
    method: str
    citation: str
    outcome: str
    r_squared: float
    n: int
    dimensions: list[Driver]


class Band(TypedDict):
    band: str
    cei_from: int
    cei_to: int
    n: Count
    csat_mean: float | None
    suppressed: bool
    reason: str | None


class LinkageGroup(TypedDict):
    group: str | None
    suppressed: bool
    reason: str | None
    n_contractors: Count
    csat_mean: float | None
    r: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    rho: float | None
    n: Count


class LinkageReport(TypedDict):
    window: Span
    customer_window: Span
    lag_days: int
    min_responses: int
    min_group: int
    population: Population
    group_by: str | None
    waves: list[str]
    n: int
    suppressed: bool
    reason: str | None
    wording: str
    headline: str | None
    power: Power
    correlations: list[Correlation]
    drivers: Drivers | None
    bands: list[Band]
    groups: list[LinkageGroup]


# --- /api/v1/comments ---------------------------------------------------------------------


class ContractorComment(TypedDict):
    text: str
    themes: Annotated[list[str], Field(description="The ids of the themes the comment has.")]


class WaveComments(TypedDict):
    wave: str
    closes_on: Day
    state: Annotated[str, Field(description="reported, too_few or open.")]
    shown: bool
    reason: Annotated[str | None, Field(description="Why a wave's comments are hidden; never how many there are.")]
    n_comments: int | None
    n_matching: int | None
    themes: Annotated[dict[str, int] | None, Field(description="Comments per theme, over every shown comment.")]
    comments: list[ContractorComment]


class ContractorComments(TypedDict):
    window: Span
    population: Population
    min_comment_group: int
    threshold: Annotated[int, Field(description="Fewest respondents of a group whose comments are shown.")]
    themes: list[DimensionLabel]
    theme: str | None
    search: str | None
    max_per_wave: int
    waves: Annotated[list[WaveComments], Field(description="Waves still open first, then newest closed first.")]
    refused: str | None


class CustomerComment(TypedDict):
    day: Day
    csat: int | None
    nps: int | None
    region: str | None
    service_type: str | None
    text: str
    themes: list[str]


class CustomerComments(TypedDict):
    window: Span
    population: Population
    themes: list[DimensionLabel]
    theme: str | None
    search: str | None
    counts: dict[str, int]
    n_comments: int
    total: int
    page: int
    pages: int
    page_size: int
    comments: list[CustomerComment]


class CommentsReport(TypedDict):
    contractors: ContractorComments
    customers: CustomerComments
