"""The import and export endpoints: auth, body forms, status codes, streaming CSV."""

from __future__ import annotations

import csv
import io

from starlette.routing import Mount
from starlette.testclient import TestClient

CONTRACTORS = "external_id,name,region,service_type,started_on\nC1,Ana,North,delivery,2024-02-01\nC2,Bo,South,repair,\n"
CUSTOMER = (
    "job_external_id,contractor_external_id,completed_at,submitted_at,csat,nps,ces,promise_kept,comment\n"
    "J1,C1,2026-03-01T10:00:00Z,2026-03-01T12:00:00Z,5,10,7,yes,=1+1\n"
    "J2,C2,2026-03-02,2026-03-02T09:00:00,3,6,4,no,\n"
)


def test_import_and_export_need_a_key(client: TestClient) -> None:
    assert client.post("/api/v1/import/contractors", content=CONTRACTORS).status_code == 401
    assert client.get("/api/v1/export/customer-responses.csv").status_code == 401
    assert client.get("/api/v1/export/pulse-responses.csv").status_code == 401


def test_import_as_body_or_multipart_then_export(client: TestClient, auth: dict[str, str]) -> None:
    csv_headers = {**auth, "Content-Type": "text/csv"}
    response = client.post("/api/v1/import/contractors", content=CONTRACTORS, headers=csv_headers)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    response = client.post("/api/v1/import/customer-responses", headers=auth,
                           files={"file": ("answers.csv", CUSTOMER.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 2 and response.json()["jobs_created"] == 2

    export = client.get("/api/v1/export/customer-responses.csv", headers=auth)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][-1] == "source" and len(rows) == 3
    assert {r[0]: r[8] for r in rows[1:]}["J1"] == "'=1+1"
    window = client.get("/api/v1/export/customer-responses.csv?from=2026-03-02&to=2026-03-02", headers=auth)
    assert [r[0] for r in csv.reader(io.StringIO(window.text))][1:] == ["J2"]


def test_bad_lines_are_422_naming_line_and_column(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/import/contractors", content=CONTRACTORS, headers=auth)
    bad = CUSTOMER.replace(",3,6,4,no,", ",3,6,9,no,")
    response = client.post("/api/v1/import/customer-responses", content=bad, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"line": 3, "column": "ces", "message": "Choose a number from 1 to 7."}]
    rows = list(csv.reader(io.StringIO(client.get("/api/v1/export/customer-responses.csv", headers=auth).text)))
    assert len(rows) == 1  # nothing stored

    # every kind of error in one answer: a line's own and an unknown contractor's
    both = bad + "J3,C9,2026-03-02,2026-03-02T09:00:00,3,6,4,no,\n"
    response = client.post("/api/v1/import/customer-responses", content=both, headers=auth)
    assert response.status_code == 422 and response.json()["error_count"] == 2
    assert [(e["line"], e["column"]) for e in response.json()["errors"]] == [
        (3, "ces"), (4, "contractor_external_id")]

    unusable = client.post("/api/v1/import/pulse-responses", content="wave\n", headers=auth)
    assert unusable.status_code == 400 and unusable.json()["errors"][0]["line"] == 1
    no_file = client.post("/api/v1/import/contractors", headers=auth, files={"other": ("x.csv", b"x")})
    assert no_file.status_code == 400 and no_file.json()["parameter"] == "file"


def test_export_parameters_and_pulse_headers(client: TestClient, auth: dict[str, str]) -> None:
    bad = client.get("/api/v1/export/pulse-responses.csv?from=yesterday", headers=auth)
    assert bad.status_code == 400 and bad.json()["parameter"] == "from"
    backwards = client.get("/api/v1/export/customer-responses.csv?from=2026-03-02&to=2026-03-01T00:00:00Z",
                           headers=auth)
    assert backwards.status_code == 400 and backwards.json()["parameter"] == "to"
    pulse = client.get("/api/v1/export/pulse-responses.csv", headers=auth)
    assert pulse.status_code == 200
    assert pulse.headers["x-rapport-suppressed-responses"] == "0"
    header = next(csv.reader(io.StringIO(pulse.text)))
    assert header[0] == "wave" and "submitted_at" not in header and "contractor_external_id" not in header
    figures = client.get("/api/v1/export/pulse-index.csv?from=2026-01-01", headers=auth)
    assert figures.status_code == 200 and figures.headers["content-type"].startswith("text/csv")
    assert next(csv.reader(io.StringIO(figures.text)))[:4] == ["wave", "group_by", "group", "n_contractors"]
    assert client.get("/api/v1/export/pulse-index.csv?to=nope", headers=auth).json()["parameter"] == "to"


def test_openapi_lists_the_transfer_paths() -> None:
    from collector.openapi import document
    from collector.transfer import routes

    OPENAPI_PATHS = document([Mount("/api/v1", routes=routes)])["paths"]
    assert set(OPENAPI_PATHS) == {
        "/api/v1/import/contractors",
        "/api/v1/import/customer-responses",
        "/api/v1/import/pulse-responses",
        "/api/v1/export/customer-responses.csv",
        "/api/v1/export/pulse-responses.csv",
        "/api/v1/export/pulse-index.csv",
    }


def test_openapi_describes_each_import_by_its_one_column_definition() -> None:
    from collector.openapi import document
    from collector.transfer import routes
    from models.transfer import KINDS, import_columns

    OPENAPI_PATHS = document([Mount("/api/v1", routes=routes)])["paths"]
    for kind in KINDS:
        description = OPENAPI_PATHS[f"/api/v1/import/{kind}"]["post"]["description"]
        assert import_columns(kind).example_lines() in description
