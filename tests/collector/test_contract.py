"""The API contract: the generated OpenAPI document is valid OpenAPI 3.1, names every route, and the
analytics answers, with figures and with hidden groups, match their schemas field by field."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from collector.app import create_app
from collector.contract import contract_of
from tests import factories as f


def _document() -> dict[str, Any]:
    with TestClient(create_app("sqlite://:memory:")) as client:
        answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def test_the_generated_document_is_valid_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises OpenAPIValidationError, naming the place, if it is not


def test_every_api_route_and_method_is_documented_with_its_errors() -> None:
    document, app = _document(), create_app("sqlite://:memory:")
    [mount] = [r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1"]
    seen = 0
    for route in mount.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            seen += 1
            operation = document["paths"][f"/api/v1{route.path}"][method.lower()]
            contract = contract_of(route.endpoint, method)
            assert contract is not None, f"{method} {route.path} declares no contract"
            assert ("security" in operation) is contract.public
            for status in ("400", "503", *(() if contract.public else ("401", "429"))):
                error = operation["responses"][status]["content"]["application/json"]["schema"]
                assert {"$ref": "#/components/schemas/ErrorBody"} in (error, *error.get("anyOf", ()))
    assert seen == sum(len(operations) for operations in document["paths"].values()) == 29
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "error", "parameter", "field", "retry_after"}


def test_the_limits_the_handlers_enforce_are_in_the_schemas() -> None:
    schemas = _document()["components"]["schemas"]
    assert schemas["ContractorIn"]["properties"]["external_id"]["maxLength"] == 128
    assert schemas["ContractorIn"]["properties"]["region"]["maxLength"] == 100
    assert schemas["Submission"]["properties"]["submission_id"]["maxLength"] == 64
    assert schemas["WaveIn"]["properties"]["name"]["maxLength"] == 100
    lag = next(p for p in _document()["paths"]["/api/v1/linkage"]["get"]["parameters"] if p["name"] == "lag_days")
    assert lag["schema"]["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 365}


def _validator(document: dict[str, Any], path: str) -> Any:
    """A validator of the 200 answer of GET `path`, resolving the document's references."""
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


@pytest.mark.parametrize("query", ["", "&group_by=region", "&group_by=wave", "&region=tiny", "&group_by=tenure_band"])
def test_analytics_answers_match_their_full_schemas(client: TestClient, auth: dict[str, str], query: str) -> None:
    world = f.World()
    client.portal.call(lambda: f.correlated_world(world, n=30, regions=("north", "south", "tiny")))  # type: ignore[union-attr]
    document = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/index", "/api/v1/customer", "/api/v1/linkage", "/api/v1/comments"):
        if path not in ("/api/v1/index", "/api/v1/comments") and "wave" in query:
            continue
        if path == "/api/v1/comments" and "group_by" in query:  # no breakdown: comments come per wave  # waves break down the pulse figures only
            continue
        answer = client.get(f"{path}?from=2026-03-01&to=2026-03-31{query}", headers=auth)
        assert answer.status_code == 200, answer.text
        errors = [str(e) for e in _validator(document, path).iter_errors(answer.json())]
        assert errors == [], (path, query, errors[:3])


def test_a_report_schema_lists_every_field_the_report_has(client: TestClient, auth: dict[str, str]) -> None:
    world = f.World()
    client.portal.call(lambda: f.correlated_world(world, n=30))  # type: ignore[union-attr]
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    report = client.get("/api/v1/linkage?from=2026-03-01&to=2026-03-31&group_by=region", headers=auth).json()
    assert set(schemas["LinkageReport"]["properties"]) == set(report)
    assert set(schemas["Correlation"]["properties"]) == set(report["correlations"][0])
    assert set(schemas["Drivers"]["properties"]) == set(report["drivers"])
    index = client.get("/api/v1/index?from=2026-03-01&to=2026-03-31", headers=auth).json()
    assert set(schemas["IndexReport"]["properties"]) == set(index)
    assert set(schemas["IndexRow"]["properties"]) >= set(index["trend"][0])
    assert set(schemas["DimensionFigures"]["properties"]) == set(next(iter(index["overall"]["dimensions"].values())))
