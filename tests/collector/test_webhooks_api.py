"""/api/v1/webhooks on both backends: key required, the secret shown once, bad
input named, deliveries listed and replayed; the CLI does the same."""

from __future__ import annotations

from starlette.testclient import TestClient

from collector.cli import main


def test_create_list_deliveries_replay_delete(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/v1/webhooks").status_code == 401
    made = client.post("/api/v1/webhooks", json={"url": "https://crm.test/hook",
                                                  "events": ["customer_response.created", "alert.*"]}, headers=auth)
    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["alert.*", "customer_response.created"]
    listed = client.get("/api/v1/webhooks", headers=auth).json()["webhooks"]
    assert listed == [{k: v for k, v in body.items() if k != "secret"}]  # the secret never again
    bad = client.post("/api/v1/webhooks", json={"url": "https://crm.test/hook", "events": ["everything"]},
                      headers=auth)
    assert bad.status_code == 400 and bad.json()["field"] == "events"
    assert client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["followup.closed"]},
                       headers=auth).json()["field"] == "url"
    path = f"/api/v1/webhooks/{body['id']}"
    assert client.get(path + "/deliveries?status=failed", headers=auth).json() == {"deliveries": []}
    assert client.post(path + "/replay", json={}, headers=auth).json() == {"queued": 0}
    assert client.get("/api/v1/webhooks/x/deliveries", headers=auth).status_code == 404
    assert client.delete(path, headers=auth).status_code == 204
    assert client.delete(path, headers=auth).status_code == 404


def test_cli_add_list_remove(db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--database-url", db_url, "webhook", "add", "https://crm.test/hook",
                 "--events", "customer_response.detractor,pulse_wave.closed"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("webhook ") and " added: https://crm.test/hook" in out[0] and out[-1].startswith("whsec_")
    endpoint = out[0].split()[1]
    assert main(["--database-url", db_url, "webhook", "list"]) == 0
    listed = capsys.readouterr().out
    assert "https://crm.test/hook" in listed and "whsec_" not in listed
    assert main(["--database-url", db_url, "webhook", "deliveries", "--status", "all"]) == 0
    assert "no deliveries" in capsys.readouterr().out
    assert main(["--database-url", db_url, "webhook", "add", "https://x.test", "--events", "nope"]) == 2
    assert main(["--database-url", db_url, "webhook", "remove", endpoint]) == 0
    assert main(["--database-url", db_url, "webhook", "remove", endpoint]) == 2
