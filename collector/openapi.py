"""The OpenAPI 3.1 document of /api/v1, generated from the routes themselves.

It walks the app's routes as Starlette's `SchemaGenerator` does (into every
`Mount`), reads each endpoint's `Contract` (collector.contract) and writes the
operation: parameters and body from the request models, answers from the
response types, all schemas by pydantic (JSON Schema 2020-12, the dialect of
OpenAPI 3.1) under components/schemas. Every operation also lists the
answers any call may get: 400 for a NUL in the address, 401 and 429 behind a
key, 413 above its body limit, 503 while the database is unavailable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from collector.contract import Contract, Reply, contract_of, operation
from collector.errors import ErrorBody

__all__ = ["DESCRIPTION", "document", "openapi_json", "operations"]

DESCRIPTION = (
    "Survey links out, answers in. Every call needs `Authorization: Bearer <key>` (create one with "
    "`rapport apikey create NAME`), except answering a link and this document. Any call may answer 503 with "
    "Retry-After while the database is unavailable (retry with the same submission_id: it is stored once), "
    "413 when its body is larger than the route accepts (a survey answer 32 KB, other JSON 1 MB, a CSV import "
    "32 MB) and 400 naming the field for a NUL character, an unpaired surrogate, JSON nested more than 8 levels, "
    "a repeated key or a date outside 1900-2200. Unknown query parameters and body fields are ignored; an "
    "empty query parameter counts as not given. Every error answers `{\"error\": ...}`, with `parameter` or "
    "`field` naming the value to fix."
)
_CONVERTER = re.compile(r":\w+}")
_PATH_PARAMETER = re.compile(r"{(\w+)}")
_COMMON: dict[int, str] = {
    400: "A value cannot be used (also a NUL character or an unpaired surrogate in the address); the body "
         "names it.",
    503: "The database is briefly unavailable; retry after Retry-After seconds.",
}
_GUARDED: dict[int, str] = {
    401: "Missing or unknown API key.",
    429: "Too many wrong API keys from this address; retry after Retry-After seconds.",
}
_RETRY_AFTER = {"Retry-After": "Seconds to wait before trying again."}


def operations(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, Contract]]:
    """(path template, method, contract) of every route with a contract, mounts included."""
    for route in routes:
        if isinstance(route, Mount):
            yield from operations(route.routes, prefix + _CONVERTER.sub("}", route.path))
        elif isinstance(route, Route) and route.include_in_schema:
            for method in sorted(route.methods or ("GET",)):
                contract = contract_of(route.endpoint, method)
                if method != "HEAD" and contract is not None:
                    yield prefix + _CONVERTER.sub("}", route.path), method.lower(), contract


class _Schemas:
    """Collects the types an operation names; renders them all at once, shared under $defs."""

    def __init__(self) -> None:
        self.types: dict[tuple[int, JsonSchemaMode], tuple[Any, JsonSchemaMode, TypeAdapter[Any]]] = {}
        self.refs: dict[tuple[int, JsonSchemaMode], dict[str, Any]] = {}

    def ref(self, kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        """A placeholder filled with the type's schema by `render`."""
        key = (id(kind), mode)
        if key not in self.types:
            self.types[key] = (key, mode, TypeAdapter(kind))
            self.refs[key] = {}
        return self.refs[key]

    def render(self) -> dict[str, Any]:
        if not self.types:
            return {}
        found, definitions = TypeAdapter.json_schemas(list(self.types.values()),
                                                      ref_template="#/components/schemas/{model}")
        for (key, _), schema in found.items():
            self.refs[key].update(schema)
        return dict(sorted(definitions.get("$defs", {}).items()))


def _json(schemas: _Schemas, kind: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schemas.ref(kind, "serialization")}}


def _answer(schemas: _Schemas, reply: Reply) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    content = {**(_json(schemas, reply.schema) if reply.schema is not None else {}),
               **{media: {"schema": schema} for media, schema in reply.others.items()}}
    if content:
        answer["content"] = content
    if reply.headers:
        answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                             for name, text in reply.headers.items()}
    return answer


def _error(schemas: _Schemas, description: str, status: int) -> dict[str, Any]:
    headers = {**(_RETRY_AFTER if status in (429, 503) else {}),
               **({"WWW-Authenticate": "Bearer"} if status == 401 else {}),
               **({"Allow": "The methods this address takes."} if status == 405 else {})}
    return _answer(schemas, Reply(description, ErrorBody, headers=headers))


def _query_parameters(contract: Contract) -> list[dict[str, Any]]:
    if contract.query is None:
        return []
    schema = contract.query.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    found = []
    for name, described in schema.get("properties", {}).items():
        described = {k: v for k, v in described.items() if k not in ("title", "default")}
        description = described.pop("description", None)
        if described != {"type": "string"}:  # an empty value means "not given" (collector.contract.Query)
            described = {"anyOf": [described, {"type": "string", "maxLength": 0}]}
        parameter = {"name": name, "in": "query", "required": name in required, "schema": described}
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def _operation(schemas: _Schemas, path: str, contract: Contract) -> dict[str, Any]:
    found: dict[str, Any] = {"summary": contract.summary}
    if contract.description:
        found["description"] = contract.description
    if contract.tags:
        found["tags"] = list(contract.tags)
    if contract.public:
        found["security"] = []
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in _PATH_PARAMETER.findall(path)]
    parameters += _query_parameters(contract)
    if parameters:
        found["parameters"] = parameters
    if contract.body is not None:
        found["requestBody"] = {"required": contract.body_required,
                                "content": {"application/json": {"schema": schemas.ref(contract.body, "validation")}}}
    elif contract.raw_body is not None:
        found["requestBody"] = {"required": True,
                                "content": {media: {"schema": schema} for media, schema in contract.raw_body.items()}}
    errors = {**_COMMON, **({} if contract.public else _GUARDED), **contract.errors}
    if contract.body_limit is not None:
        errors.setdefault(413, f"The body is larger than {contract.body_limit:,} bytes.")
    answers = {str(status): _answer(schemas, reply) for status, reply in contract.responses.items()}
    answers |= {str(status): _error(schemas, text, status) for status, text in errors.items()
                if str(status) not in answers}
    found["responses"] = dict(sorted(answers.items()))
    return found


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route under /api/ in `routes`."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for path, method, contract in operations(routes):
        if path.startswith("/api/"):
            paths.setdefault(path, {})[method] = _operation(schemas, path, contract)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rapport collector API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas.render(),
        },
    }


@operation(summary="This document", public=True,
           responses={200: Reply("The OpenAPI 3.1 document.", dict[str, Any])})
async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(request.app.routes))
