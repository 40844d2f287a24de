"""Each /api/v1 route's contract, declared once on its endpoint, used twice.

An endpoint declares what it takes and answers with `@operation(...)`: a
pydantic model for its query parameters, one for its JSON body, and the types
of its responses (TypedDicts, so a handler builds plain dicts that mypy checks
and the JSON stays as it was). The wrapper parses and validates the request
with those models before the handler runs, and passes them in as `query=` and
`body=`; any refusal is an `ApiError` whose message and `parameter`/`field`
say what to fix. `collector.openapi` reads the same declaration to write the
document. Pydantic rather than msgspec: its JSON Schema is 2020-12 (the OpenAPI
3.1 dialect) for models and TypedDicts alike, and custom field types carry both
their check and their schema (`Text`, `Instant`, `Day` below).

    @operation(summary="Create a pulse wave", body=WaveIn, responses={201: Reply("Created.", Wave)},
               errors={409: "A wave with this name exists."})
    async def post_wave(request: Request, body: WaveIn) -> Response: ...
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic_core import PydanticCustomError, core_schema
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.errors import BadParameter, BadRequest
from collector.guards import BadInput, BodyLimit, parse_json

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "Body",
    "Contract",
    "Day",
    "Endpoint",
    "FieldType",
    "Handler",
    "Instant",
    "Query",
    "Reply",
    "Text",
    "Whole",
    "by_method",
    "contract_of",
    "operation",
    "route",
]

MIN_YEAR, MAX_YEAR = 1900, 2200  # dates outside these are typing mistakes, and some overflow

Handler = Callable[..., Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Reply:
    """One documented answer: its description, its JSON type (None: no body
    described), other media types it may come as, and headers it carries."""

    description: str
    schema: Any = None
    others: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contract:
    """What an endpoint takes and answers; see `operation`."""

    summary: str
    description: str = ""
    query: type[Query] | None = None
    body: type[Body] | None = None
    body_required: bool = True
    raw_body: Mapping[str, dict[str, Any]] | None = None  # media type -> schema, for bodies read by the handler
    responses: Mapping[int, Reply] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)
    public: bool = False
    body_limit: int | None = None
    tags: tuple[str, ...] = ()


def operation(**declared: Any) -> Callable[[Handler], Endpoint]:
    """Attach a `Contract` to a handler and parse its query and body by it.

    The handler is called as `handler(request, query=..., body=...)` with the
    parsed models it declared (only those)."""
    contract = Contract(**declared)

    def decorate(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            inputs: dict[str, Any] = {}
            if contract.query is not None:
                inputs["query"] = contract.query.parse(request)
            if contract.body is not None:
                inputs["body"] = await contract.body.read(request, required=contract.body_required)
            return await handler(request, **inputs)

        endpoint.__contract__ = contract  # type: ignore[attr-defined]  # read by collector.openapi
        return endpoint

    return decorate


def by_method(**endpoints: Endpoint) -> Endpoint:
    """One endpoint for one address that several methods answer (`get=..., post=...`), so that
    its route's 405 lists every method in `Allow`. Each keeps its own contract."""
    chosen = {method.upper(): endpoint for method, endpoint in endpoints.items()}

    async def endpoint(request: Request) -> Response:
        return await chosen["GET" if request.method == "HEAD" else request.method](request)

    endpoint.__contracts__ = {m: contract_of(e) for m, e in chosen.items()}  # type: ignore[attr-defined]  # read by contract_of
    return endpoint


def contract_of(endpoint: Any, method: str = "GET") -> Contract | None:
    """The contract `endpoint` declares for `method` (collector.openapi, collector.access)."""
    found = getattr(endpoint, "__contracts__", {}).get(method.upper(), getattr(endpoint, "__contract__", None))
    return found if isinstance(found, Contract) else None


def route(path: str, endpoint: Endpoint, methods: list[str]) -> Route:
    """The Route of a contracted endpoint, with its body limit enforced: the contract's
    `body_limit` (the largest of a `by_method` endpoint's), the same number the OpenAPI
    document gives for its 413, so the two cannot drift apart."""
    limits = [c.body_limit for m in methods if (c := contract_of(endpoint, m)) is not None and c.body_limit]
    return Route(path, endpoint, methods=methods,
                 middleware=[Middleware(BodyLimit, limit=max(limits))] if limits else None)


# --- request models ------------------------------------------------------------------


def _name(info: core_schema.ValidationInfo) -> str:
    return (info.field_name or "value").rstrip("_")  # `from_` is the parameter `from`


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("rapport", "{message}", {"message": message})


def _first_problem(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """The first error as (name, message a person understands)."""
    error = exc.errors()[0]
    name = str(error["loc"][0]).rstrip("_") if error["loc"] else "body"
    described = model.model_fields.get(str(error["loc"][0])) if error["loc"] else None
    name = (described.alias if described is not None and described.alias else name)
    if error["type"] == "rapport":
        return name, str(error["ctx"]["message"])
    invalid = getattr(model, "invalid", {})
    if error["type"] == "missing":
        return name, invalid.get(name, f"{name} is required").format(name=name, raw=None)
    return name, invalid.get(name, "{name} is not valid").format(name=name, raw=error["input"])


class Body(BaseModel):
    """A JSON object body. Unknown fields are ignored; `invalid` says, per field,
    what a value of the wrong type should have been."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)
    invalid: ClassVar[dict[str, str]] = {}

    @classmethod
    async def read(cls, request: Request, *, required: bool = True) -> Any:
        raw = await request.body()
        if not required and not raw.strip():
            return cls.model_validate({})
        value = parse_json(raw)  # BadInput (a 400 naming the field) for NUL, depth, repeated keys
        if not isinstance(value, dict):
            raise BadRequest("the body must be a JSON object")
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            name, message = _first_problem(exc, cls)
            raise BadInput(name, message) from None


class Query(BaseModel):
    """Query parameters (each given once; the last if repeated). An empty value
    means the parameter was not given; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    invalid: ClassVar[dict[str, str]] = {}

    @classmethod
    def parse(cls, request: Request) -> Any:
        given = {k: v for k, v in request.query_params.items() if v != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            name, message = _first_problem(exc, cls)
            raise BadParameter(name, message) from None


# --- field types: each a check and its schema -------------------------------------------


class FieldType:
    """A field's type for pydantic: `check` validates (and converts) a value, `schema` documents it."""

    def check(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return self.schema()


@dataclass(frozen=True)
class Text(FieldType):
    """A string of at most `limit` characters, stripped; a required one must hold
    a character other than whitespace."""

    limit: int = 200
    required: bool = True
    description: str | None = None

    def check(self, value: Any, info: core_schema.ValidationInfo) -> str | None:
        name = _name(info)
        if value is None:
            if self.required:
                raise _refuse(f"{name} is required")
            return None  # an optional text: Annotated[str | None, Text(...)]
        if not isinstance(value, str) or (self.required and not value.strip()):
            raise _refuse(f"{name} must be a non-empty string")
        if len(value) > self.limit:
            raise _refuse(f"{name} must be at most {self.limit} characters")
        return value.strip()

    def schema(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "string" if self.required else ["string", "null"], "maxLength": self.limit}
        if self.required:
            found["pattern"] = r"\S"
        if self.description:
            found["description"] = self.description
        return found


def _in_range(name: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _refuse(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}")


@dataclass(frozen=True)
class Instant(FieldType):
    """An ISO 8601 date-time as UTC (without a zone it is UTC), 1900-2200."""

    description: str = "ISO 8601; without a zone means UTC."

    def check(self, value: Any, info: core_schema.ValidationInfo) -> datetime:
        name = _name(info)
        if value is None:
            raise _refuse(f"{name} is required")
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise _refuse(f"{name} must be an ISO 8601 date-time, e.g. 2025-03-01T14:30:00Z")
        try:  # 0001-01-01T00:00:00+14:00 is a valid string but no instant a database can hold
            instant = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except OverflowError:
            raise _refuse(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}") from None
        _in_range(name, instant.year)
        return instant

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "description": self.description}


@dataclass(frozen=True)
class Day(FieldType):
    """An ISO 8601 date (YYYY-MM-DD); `message` is the refusal, `{name}` and `{raw}` filled in."""

    message: str = "{name} must be an ISO 8601 date, e.g. 2024-05-01"
    years: bool = True  # refuse years outside MIN_YEAR..MAX_YEAR
    description: str | None = None
    nullable: bool = False

    def check(self, value: Any, info: core_schema.ValidationInfo) -> date | None:
        name = _name(info)
        if value is None and self.nullable:
            return None
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise _refuse(self.message.format(name=name, raw=value))
        if self.years:
            _in_range(name, parsed.year)
        return parsed

    def schema(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": ["string", "null"] if self.nullable else "string", "format": "date"}
        if self.description:
            found["description"] = self.description
        return found



@dataclass(frozen=True)
class Whole(FieldType):
    """A whole number from `low` to `high`, as a query parameter."""

    low: int
    high: int
    description: str | None = None

    def check(self, value: Any, info: core_schema.ValidationInfo) -> int:
        name = _name(info)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise _refuse(f"'{name}' must be a whole number, not {value!r}") from None
        if not self.low <= number <= self.high:
            raise _refuse(f"'{name}' must be between {self.low} and {self.high}, not {number}")
        return number

    def schema(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.description:
            found["description"] = self.description
        return found
