"""The public survey pages, on both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from models import queries
from models.entities import CustomerResponse, Job, PulseResponse, PulseWave
from surveys.schema import builtin_survey

FORM = {"csat": "4", "nps": "9", "ces": "6", "promise_kept": "yes", "comment": "Fine"}
PULSE = {q.id: "4" for q in builtin_survey("pulse").questions if q.dimension}


def _run(client: TestClient, fn: Any) -> Any:
    return client.portal.call(fn)  # type: ignore[union-attr]


def _job_token(client: TestClient) -> str:
    async def make() -> str:
        await queries.upsert_contractor(external_id="c1", name="Ana")
        job, _ = await queries.register_job(external_id="j1", contractor="c1", completed_at=datetime.now(UTC))
        return job.token

    return _run(client, make)


def _invite_token(client: TestClient, *, closed: bool = False) -> str:
    async def make() -> str:
        now = datetime.now(UTC)
        await queries.upsert_contractor(external_id="c1", name="Ana")
        await queries.create_wave(
            name="w1", opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=-1 if closed else 3)
        )
        [invite] = await queries.create_invites(wave="w1")
        return invite.token

    return _run(client, make)


def _submission_id(html: str) -> str:
    match = re.search(r'name="submission_id" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _count(client: TestClient, model: Any) -> int:
    return _run(client, lambda: model.all().count())


def test_customer_page_is_a_small_accessible_form(client: TestClient) -> None:
    token = _job_token(client)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.text
    assert "How satisfied were you with this service?" in html
    assert "Was the service what Acme Delivery promised?" in html
    assert html.count("<fieldset") == 4 and html.count("<legend>") == 4
    assert '<label class="legend" for="q-comment">' in html
    assert html.count('type="radio" id="q-nps-') == 11
    assert 'for="q-csat-5"' in html
    assert "<script" not in html
    # nothing from another host
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    css = client.get("/static/rapport.css")
    assert css.status_code == 200
    assert len(page.content) + len(css.content) < 20_000


def test_pages_send_security_headers(client: TestClient) -> None:
    page = client.get(f"/s/{_job_token(client)}")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/s/unknown").headers["referrer-policy"] == "no-referrer"


def test_pulse_page_is_under_20_kb_and_says_it_is_confidential(client: TestClient) -> None:
    page = client.get(f"/p/{_invite_token(client)}")
    assert page.status_code == 200
    assert "confidential" in page.text and "groups of at least 5 people" in page.text
    assert "I feel part of a community with other Acme Delivery contractors." in page.text
    css = client.get("/static/rapport.css")
    assert len(page.content) + len(css.content) < 20_000


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("", "es-MX,es;q=0.9", "¿Qué tan satisfecho estás con este servicio?"),
        ("?lang=en", "es", "How satisfied were you with this service?"),
        ("?lang=es", "en", "¿Qué tan satisfecho estás con este servicio?"),
        ("", "fr", "How satisfied were you with this service?"),
    ],
)
def test_language_from_query_then_accept_language(
    client: TestClient, query: str, header: str, expected: str
) -> None:
    page = client.get(f"/s/{_job_token(client)}{query}", headers={"Accept-Language": header})
    assert expected in page.text


def test_answering_shows_thanks_and_stores_once(client: TestClient) -> None:
    token = _job_token(client)
    form = client.get(f"/s/{token}").text
    data = {**FORM, "submission_id": _submission_id(form), "lang": "en"}
    thanks = client.post(f"/s/{token}", data=data)
    assert thanks.status_code == 200
    assert "Thank you! Your answers help Acme Delivery serve you better." in thanks.text
    # the browser resends the same form: same thank-you, no second row
    again = client.post(f"/s/{token}", data=data)
    assert again.status_code == 200 and "Thank you!" in again.text
    assert _count(client, CustomerResponse) == 1
    row = _run(client, lambda: CustomerResponse.get())
    assert (row.csat, row.nps, row.ces, row.promise_kept, row.comment, row.source) == (4, 9, 6, True, "Fine", "web")


def test_already_answered_link_says_so_kindly(client: TestClient) -> None:
    token = _job_token(client)
    client.post(f"/s/{token}", data={**FORM, "submission_id": "first"})
    page = client.get(f"/s/{token}")
    assert page.status_code == 409 and "answered already" in page.text
    other = client.post(f"/s/{token}", data={**FORM, "submission_id": "second"})
    assert other.status_code == 409 and "answered already" in other.text
    assert _count(client, CustomerResponse) == 1


def test_invalid_answers_are_kept_with_errors_beside_their_questions(client: TestClient) -> None:
    token = _job_token(client)
    page = client.post(
        f"/s/{token}",
        data={"csat": "4", "nps": "11", "comment": "<b>keep me</b>", "submission_id": "abc", "lang": "es"},
    )
    assert page.status_code == 422
    html = page.text
    assert 'id="q-csat-4" name="csat" value="4" checked' in html
    assert "&lt;b&gt;keep me&lt;/b&gt;</textarea>" in html  # kept, and escaped
    assert 'value="abc"' in html  # the same submission id
    nps = html.index('id="e-nps"')
    assert html.rindex("<legend>", 0, nps) > html.index('name="csat" value="5"')  # next to its own question
    assert "Elige un número del 0 al 10." in html
    assert "Por favor, responde esta pregunta." in html  # ces and promise_kept
    assert _count(client, CustomerResponse) == 0


def test_unknown_link_is_a_404_page(client: TestClient) -> None:
    for path in ("/s/nope", "/p/nope"):
        page = client.get(path)
        assert page.status_code == 404 and "not valid" in page.text
    assert client.post("/s/nope", data=FORM).status_code == 404


def test_a_customer_token_does_not_open_the_pulse_page(client: TestClient) -> None:
    assert client.get(f"/p/{_job_token(client)}").status_code == 404


def test_expired_customer_link_is_a_410_page(client: TestClient) -> None:
    token = _job_token(client)
    _run(client, lambda: Job.filter(token=token).update(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    page = client.get(f"/s/{token}")
    assert page.status_code == 410 and "expired" in page.text
    assert client.post(f"/s/{token}", data=FORM).status_code == 410
    assert _count(client, CustomerResponse) == 0


def test_closed_wave_is_a_410_page(client: TestClient) -> None:
    token = _invite_token(client, closed=True)
    assert client.get(f"/p/{token}").status_code == 410
    assert client.post(f"/p/{token}", data=PULSE).status_code == 410


def test_pulse_form_is_answered_once(client: TestClient) -> None:
    token = _invite_token(client)
    thanks = client.post(f"/p/{token}?lang=es", data={**PULSE, "submission_id": "p1"})
    assert thanks.status_code == 200 and "¡Gracias!" in thanks.text
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p1"}).status_code == 200
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p2"}).status_code == 409
    assert client.get(f"/p/{token}").status_code == 409
    assert _count(client, PulseResponse) == 1
    _run(client, lambda: PulseWave.all().update(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    # a resend of the stored submission after the wave closed still gets its thank-you
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p1"}).status_code == 200
