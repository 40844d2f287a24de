"""What every analytics report shares: windows, filters, tenure bands, the
SQL plumbing (placeholders per dialect), the filter options and the
reports' constants."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from models.entities import PulseWave
from models.queries import survey_in_force
from models.sql import Query
from surveys.schema import Survey
from surveys.tenure import TENURE_BANDS, UNKNOWN_TENURE, band_code, band_name, tenure_limits

__all__ = [
    "CUSTOMER_GROUP_BY",
    "DRIVER_CITATION",
    "DRIVER_METHOD",
    "GROUP_BY",
    "LINKAGE_GROUP_BY",
    "MAX_COMMENTS",
    "MODERATE_R",
    "OUTCOMES",
    "RELIABILITY_FLOOR",
    "WORDING",
    "Population",
    "Window",
    "conditions",
    "dimension_labels",
    "filter_options",
    "group_label",
    "group_order",
    "key_sql",
    "pulse_survey",
    "tenure_sql",
]

GROUP_BY = ("region", "service_type", "tenure_band", "wave")
# Customer answers belong to jobs, not to pulse waves: no wave breakdown there.
CUSTOMER_GROUP_BY = ("region", "service_type", "tenure_band")
LINKAGE_GROUP_BY = ("region", "service_type", "tenure_band")
OUTCOMES = ("csat", "promoters", "ces")
MODERATE_R = 0.3
MAX_COMMENTS = 20
RELIABILITY_FLOOR = 0.7  # Nunnally (1978)
WORDING = (
    "These are associations, not causes: contractors who feel more connected may "
    "serve customers better, happier customers may make contractors feel better, "
    "or both may follow something else."
)


DRIVER_METHOD = "Johnson's relative weights"
DRIVER_CITATION = (
    "Johnson, J. W. (2000). A heuristic method for estimating the relative weight of "
    "predictor variables in multiple regression. Multivariate Behavioral Research, 35(1), 1–19."
)


@dataclass(frozen=True)
class Window:
    """Inclusive dates [start, end], in UTC."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a window must not end before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Window:
        """The window of the same length that ends the day before this one starts."""
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def shifted(self, days: int) -> Window:
        return Window(self.start + timedelta(days=days), self.end + timedelta(days=days))

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 UTC, the day after end 00:00 UTC)."""
        return (
            datetime.combine(self.start, time(), UTC),
            datetime.combine(self.end + timedelta(days=1), time(), UTC),
        )

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class Population:
    """Filters on contractors; None means everyone."""

    region: str | None = None
    service_type: str | None = None
    tenure_band: str | None = None

    def __post_init__(self) -> None:
        if self.tenure_band is not None and self.tenure_band not in (*TENURE_BANDS, UNKNOWN_TENURE):
            raise ValueError(f"tenure_band must be one of {', '.join(TENURE_BANDS)}")

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- SQL fragments ------------------------------------------------------------------


def tenure_sql(q: Query, end: date) -> str:
    """Tenure band as a code: -1 unknown, else the index in TENURE_BANDS."""
    b3, b12, b24 = (q.p(limit) for limit in tenure_limits(end))
    return (
        "(CASE WHEN c.started_on IS NULL THEN -1 "
        f"WHEN c.started_on > {b3} THEN 0 WHEN c.started_on > {b12} THEN 1 "
        f"WHEN c.started_on > {b24} THEN 2 ELSE 3 END)"
    )


def conditions(q: Query, population: Population, end: date) -> dict[str, str]:
    """One SQL condition per active filter, on the contractor `c`."""
    out = {}
    for name, value in population.active().items():
        if name == "tenure_band":
            out[name] = f"{tenure_sql(q, end)} = {q.p(band_code(value))}"
        else:
            out[name] = f"c.{name} = {q.p(value)}"
    return out


def key_sql(q: Query, key: str | None, end: date, wave_column: str = "r.wave_id") -> str:
    if key is None:
        return "0"
    if key == "tenure_band":
        return tenure_sql(q, end)
    if key == "wave":
        return wave_column
    return f"c.{key}"


def pulse_survey() -> Survey:
    """The pulse definition in force (models.queries.survey_in_force, the one loader)."""
    return survey_in_force("pulse")


def dimension_labels(survey: Survey) -> list[dict[str, str]]:
    return [{"id": d.id, "label": d.labels.get("en", d.id)} for d in survey.dimensions]


def group_label(key: str | None, g: Any, waves: dict[int, dict[str, Any]]) -> Any:
    if key == "tenure_band":
        return band_name(g)
    if key == "wave":
        return waves.get(int(g), {}).get("name", str(g))
    return None if key is None else g


def group_order(key: str | None, g: Any, waves: dict[int, dict[str, Any]]) -> tuple[Any, ...]:
    if key == "tenure_band":
        return (int(g) if int(g) >= 0 else 99,)
    if key == "wave":
        return (waves.get(int(g), {}).get("opens_at", ""), str(g))
    return (str(g),)


async def filter_options() -> dict[str, Any]:
    """The values the filters offer and the span of dates with data."""
    q = Query()
    regions = [r["v"] for r in await q.rows(
        "SELECT DISTINCT region AS v FROM contractors WHERE region <> '' ORDER BY 1")]
    services = [r["v"] for r in await q.rows(
        "SELECT DISTINCT service_type AS v FROM contractors WHERE service_type <> '' ORDER BY 1")]
    span = (await q.rows(
        "SELECT MIN(d) AS first, MAX(d) AS last FROM ("
        "SELECT MIN(submitted_at) AS d FROM pulse_responses UNION ALL "
        "SELECT MAX(submitted_at) FROM pulse_responses UNION ALL "
        "SELECT MIN(completed_at) FROM customer_responses UNION ALL "
        "SELECT MAX(completed_at) FROM customer_responses) AS t"))[0]

    def day(value: Any) -> str | None:
        if value is None:
            return None
        return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10]

    rows = await PulseWave.all().order_by("opens_at").values("name", "opens_at", "closes_at")
    waves = [{"name": r["name"], "opens_at": r["opens_at"].isoformat(), "closes_at": r["closes_at"].isoformat()}
             for r in rows]
    return {
        "regions": regions,
        "service_types": services,
        "tenure_bands": list(TENURE_BANDS),
        "waves": waves,
        "first_date": day(span["first"]),
        "last_date": day(span["last"]),
    }
