"""The types of the admin API's bodies and answers (links out, answers in, surveys, forgetting, CSV).

Request bodies are `Body` models (parsed and checked by `collector.contract`);
answers are TypedDicts: handlers build plain dicts that mypy checks against
them, and the OpenAPI document shows their schema. The analytics reports'
types are in `collector.reports`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, TypeAdapter, WithJsonSchema
from typing_extensions import TypedDict

from collector.contract import Body, Day, Instant, Text
from models import forget, transfer
from models.entities import MAX_CUSTOMER_REF

__all__ = [
    "MAX_ID",
    "MAX_SUBMISSION_ID",
    "AnswerErrors",
    "Choice",
    "Contractor",
    "ContractorIn",
    "Dimension",
    "Forgotten",
    "ImportErrors",
    "ImportResult",
    "Invite",
    "InvitesIn",
    "JobIn",
    "Link",
    "Question",
    "Received",
    "RowError",
    "SkipAnswer",
    "Submission",
    "Survey",
    "Surveys",
    "Theme",
    "Wave",
    "WaveIn",
]

MAX_ID = 128
MAX_SUBMISSION_ID = 64


class ContractorIn(Body):
    """A contractor by its external id; fields left out keep their stored value."""

    invalid: ClassVar[dict[str, str]] = {"active": "active must be true or false",
                                         "attributes": "attributes must be a JSON object"}

    external_id: Annotated[str, Text(MAX_ID)]
    name: Annotated[str, Text(200)]
    region: Annotated[str | None, Text(100, required=False)] = None
    service_type: Annotated[str | None, Text(100, required=False)] = None
    started_on: Annotated[Any, Day(nullable=True)] = None
    active: bool | None = None
    attributes: dict[str, Any] | None = None


class Contractor(TypedDict):
    external_id: str
    name: str
    region: str | None
    service_type: str | None
    started_on: Annotated[str | None, Field(json_schema_extra={"format": "date"})]
    active: bool
    attributes: dict[str, Any] | None


class JobIn(Body):
    external_id: Annotated[str, Text(MAX_ID)]
    contractor: Annotated[str, Text(MAX_ID, description="The contractor's external id.")]
    completed_at: Annotated[Any, Instant("ISO 8601; without a zone means UTC. At most a day ahead of the "
                                         "server's clock.")]
    customer_ref: Annotated[str | None, Text(MAX_CUSTOMER_REF, required=False,
                                             description="Optional: how the brand reaches the customer (a CRM "
                                                         "id), shown to follow-up staff, never to contractors.")] = None


class Link(TypedDict):
    token: str
    survey_url: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    expires_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class WaveIn(Body):
    name: Annotated[str, Text(100, description="Part of the invites' address: no / \\ ? # %.")]
    opens_at: Annotated[Any, Instant()]
    closes_at: Annotated[Any, Instant("ISO 8601; without a zone means UTC. After opens_at.")]


class Wave(TypedDict):
    name: str
    opens_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    closes_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class InvitesIn(Body):
    """Which contractors to invite; none given: every active contractor."""

    invalid: ClassVar[dict[str, str]] = {"contractors": "contractors must be a list of contractor external ids"}

    contractors: list[str] | None = None


class Invite(TypedDict):
    contractor: str
    token: str
    pulse_url: Annotated[str, Field(json_schema_extra={"format": "uri"})]


class Submission(Body):
    invalid: ClassVar[dict[str, str]] = {"answers": "answers must be a JSON object of question id to answer"}

    answers: Annotated[dict[str, Any], Field(description="Question id to answer; see GET /api/v1/surveys.")]
    submission_id: Annotated[str | None, Text(MAX_SUBMISSION_ID, required=False,
                                              description="Chosen by the client; resending it returns "
                                                          "the original result.")] = None
    lang: Annotated[str | None, Text(16, required=False, description="Language of error messages (en, es).")] = None


class Received(TypedDict):
    status: Literal["received"]
    survey: Literal["customer", "pulse"]
    survey_version: int
    submitted_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    submission_id: str | None


class AnswerErrors(TypedDict):
    errors: Annotated[dict[str, str], Field(description="A message per question id.")]


class SkipAnswer(TypedDict):
    value: str
    labels: dict[str, str]


class Dimension(TypedDict):
    id: str
    labels: dict[str, str]
    weight: float
    description: dict[str, str]


class Choice(TypedDict):
    value: str
    labels: dict[str, str]


class Question(TypedDict):
    id: str
    type: str
    range: list[int] | None
    required: bool
    skippable: bool
    dimension: str | None
    reversed: bool
    labels: dict[str, str]
    low_labels: dict[str, str]
    high_labels: dict[str, str]
    choices: list[Choice]
    max_length: int | None


class Theme(TypedDict):
    """A theme of comments (surveys/themes.py): a dimension's keywords, or a theme of its own."""

    id: str
    labels: dict[str, str]
    dimension: str | None
    keywords: dict[str, list[str]]


class Survey(TypedDict):
    id: str
    version: int
    languages: list[str]
    title: dict[str, str]
    intro: dict[str, str]
    thanks: dict[str, str]
    skip: SkipAnswer | None
    dimensions: list[Dimension]
    questions: list[Question]
    themes: list[Theme]


class Surveys(TypedDict):
    surveys: list[Survey]


class Forgotten(TypedDict):
    """Rows deleted, per table (the fields of models.forget.Forgotten)."""

    forgotten: Annotated[dict[str, int], WithJsonSchema(TypeAdapter(forget.Forgotten).json_schema())]


ImportResult = transfer.ImportResult  # the dataclass the importer returns is the answer's type


class RowError(TypedDict):
    line: Annotated[int, Field(description="1 is the header line.")]
    column: str | None
    message: str


class ImportErrors(TypedDict):
    errors: list[RowError]
    error_count: Annotated[int, Field(description="All errors; at most 50 are listed.")]
