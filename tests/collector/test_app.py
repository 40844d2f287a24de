from starlette.testclient import TestClient


def test_healthz_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_admin_api_refuses_missing_or_wrong_keys(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/v1/anything").status_code == 401
    wrong = client.get("/api/v1/anything", headers={"Authorization": "Bearer rpk_nope"})
    assert wrong.status_code == 401
    assert "API key" in wrong.json()["error"]
    # a good key gets past the guard (to a 404 here: the path does not exist)
    assert client.get("/api/v1/anything", headers=auth).status_code == 404
