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


def _main(html: str) -> str:
    return html[html.index("<main>"):]


def test_answering_redirects_to_the_thanks_and_stores_once(client: TestClient) -> None:
    token = _job_token(client)
    form = client.get(f"/s/{token}").text
    data = {**FORM, "submission_id": _submission_id(form), "lang": "en"}
    posted = client.post(f"/s/{token}", data=data, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == f"/s/{token}/thanks?lang=en"
    assert posted.headers["cache-control"] == "no-store"
    thanks = client.get(posted.headers["location"])
    assert thanks.status_code == 200
    assert "Your answers help Acme Delivery serve you better." in thanks.text
    assert _main(thanks.text).count("Thank you") == 1  # the heading, not the heading and the text
    # reloading the result page shows the same result
    assert client.get(posted.headers["location"]).text == thanks.text
    # the browser resends the same form: same thank-you, no second row
    again = client.post(f"/s/{token}", data=data)
    assert again.status_code == 200 and again.url.path == f"/s/{token}/thanks"
    assert _count(client, CustomerResponse) == 1
    row = _run(client, lambda: CustomerResponse.get())
    assert (row.csat, row.nps, row.ces, row.promise_kept, row.comment, row.source) == (4, 9, 6, True, "Fine", "web")


def test_already_answered_link_says_so_kindly(client: TestClient) -> None:
    token = _job_token(client)
    client.post(f"/s/{token}", data={**FORM, "submission_id": "first"})
    page = client.get(f"/s/{token}")
    assert page.status_code == 409 and "answered already" in page.text
    other = client.post(f"/s/{token}", data={**FORM, "submission_id": "second"}, follow_redirects=False)
    assert other.status_code == 303 and other.headers["location"] == f"/s/{token}?lang=en"
    again = client.get(other.headers["location"])
    assert again.status_code == 409 and "answered already" in again.text
    assert _count(client, CustomerResponse) == 1


def test_invalid_answers_are_kept_with_errors_beside_their_questions(client: TestClient) -> None:
    token = _job_token(client)
    posted = client.post(
        f"/s/{token}",
        data={"csat": "4", "nps": "11", "comment": "<b>keep me</b>", "submission_id": "abc", "lang": "es"},
        follow_redirects=False,
    )
    # POST/redirect/GET: the answers to fix are shown by a page a browser may reload
    assert posted.status_code == 303 and posted.headers["location"] == f"/s/{token}?lang=es"
    page = client.get(posted.headers["location"])
    assert page.status_code == 200 and client.get(posted.headers["location"]).text == page.text
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
    assert client.post(f"/s/{token}", data=FORM).status_code == 410  # after the 303 to the link
    assert _count(client, CustomerResponse) == 0


def test_closed_wave_is_a_410_page(client: TestClient) -> None:
    token = _invite_token(client, closed=True)
    assert client.get(f"/p/{token}").status_code == 410
    assert client.post(f"/p/{token}", data=PULSE).status_code == 410


def test_pulse_form_is_answered_once(client: TestClient) -> None:
    token = _invite_token(client)
    thanks = client.post(f"/p/{token}?lang=es", data={**PULSE, "submission_id": "p1"})
    assert thanks.status_code == 200 and thanks.url.path == f"/p/{token}/thanks"
    assert "<h1>Gracias</h1>" in thanks.text and _main(thanks.text).count("Gracias") == 1
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p1"}).status_code == 200
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p2"}).status_code == 409
    assert client.get(f"/p/{token}").status_code == 409
    assert _count(client, PulseResponse) == 1
    _run(client, lambda: PulseWave.all().update(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    # a resend of the stored submission after the wave closed still gets its thank-you
    assert client.post(f"/p/{token}", data={**PULSE, "submission_id": "p1"}).status_code == 200


def test_a_failed_form_then_a_correct_one_leaves_only_pages_a_browser_may_reload(client: TestClient) -> None:
    token = _job_token(client)
    submission = _submission_id(client.get(f"/s/{token}").text)
    failed = client.post(f"/s/{token}", data={"csat": "5", "submission_id": submission, "lang": "en"},
                         follow_redirects=False)
    assert failed.status_code == 303 and failed.headers["location"] == f"/s/{token}?lang=en"
    shown = client.get(failed.headers["location"])
    assert "3 answers are missing." in shown.text and 'id="q-csat-5" name="csat" value="5" checked' in shown.text
    assert _submission_id(shown.text) == submission  # a double-sent correction is still stored once
    stored = client.post(f"/s/{token}", data={**FORM, "submission_id": submission, "lang": "en"},
                         follow_redirects=False)
    assert stored.status_code == 303 and stored.headers["location"] == f"/s/{token}/thanks?lang=en"
    assert not client.cookies  # the draft is gone once the answers are stored
    # Back to the page that showed the errors: a GET, which now says the survey is answered
    back = client.get(failed.headers["location"])
    assert back.status_code == 409 and "answered already" in back.text and "<form" not in back.text
    assert client.get(stored.headers["location"]).status_code == 200
    assert _count(client, CustomerResponse) == 1


def test_the_result_page_of_an_unanswered_link_leads_to_its_form(client: TestClient) -> None:
    token = _job_token(client)
    result = client.get(f"/s/{token}/thanks?lang=es", follow_redirects=False)
    assert result.status_code == 303 and result.headers["location"] == f"/s/{token}?lang=es"
    assert client.get("/s/nope/thanks").status_code == 404


def test_answers_too_long_for_a_draft_are_shown_at_once(client: TestClient) -> None:
    token = _job_token(client)
    page = client.post(f"/s/{token}", data={"csat": "9", "comment": "x" * 20_000}, follow_redirects=False)
    assert page.status_code == 422 and "Please shorten your answer" in page.text and not client.cookies


def test_pulse_errors_say_how_many_link_to_the_first_and_focus_it(client: TestClient) -> None:
    token = _invite_token(client)
    missing = ["process_exceptions", "knowledge_training"]
    answers = {k: v for k, v in PULSE.items() if k not in missing}
    page = client.post(f"/p/{token}", data=answers)
    assert page.status_code == 200 and page.url.path == f"/p/{token}"
    html = _main(page.text)
    summary = html[html.index('id="problems"'):html.index("<form")]
    assert "2 answers are missing." in summary
    assert summary.index('href="#q-process_exceptions"') < summary.index('href="#q-knowledge_training"')
    assert 'id="q-process_exceptions"' in html and 'id="q-knowledge_training"' in html
    assert html.count("autofocus") == 1
    assert 'id="q-process_exceptions-1" name="process_exceptions" value="1" autofocus' in html
    assert "Please choose an answer, or “Prefer not to say”." in html
    assert html.count("confidential") == 1  # the promise is made once


def test_pulse_index_items_offer_prefer_not_to_say_in_both_languages(client: TestClient) -> None:
    token = _invite_token(client)
    pulse = builtin_survey("pulse")
    items = sum(1 for q in pulse.questions if q.dimension)
    assert client.get(f"/p/{token}").text.count("> Prefer not to say</label>") == items
    assert client.get(f"/p/{token}?lang=es").text.count("> Prefiero no responder</label>") == items
    assert "Prefer not to say" not in client.get(f"/s/{_job_token(client)}").text


def test_prefer_not_to_say_counts_as_unanswered_and_keeps_the_half_answered_rule(client: TestClient) -> None:
    from models.entities import PulseScore

    token = _invite_token(client)
    skipped = {"process_exceptions": "skip", "knowledge_training": "skip", "knowledge_one_place": "skip"}
    thanks = client.post(f"/p/{token}", data={**PULSE, **skipped})
    assert thanks.status_code == 200 and thanks.url.path == f"/p/{token}/thanks"
    row = _run(client, lambda: PulseResponse.get())
    assert all(row.answers[item] is None for item in skipped)
    scores = {s.dimension: s.answered for s in _run(client, lambda: PulseScore.all())}
    assert scores["process"] == 1  # one of two items: half, still scored
    assert "knowledge" not in scores  # one of three: under half, left out


def test_not_open_yet_says_when_the_wave_opens_in_the_pages_language(client: TestClient) -> None:
    async def make() -> str:
        await queries.upsert_contractor(external_id="c1", name="Ana")
        await queries.create_wave(name="later", opens_at=datetime(2099, 12, 7, 9, 0, tzinfo=UTC),
                                  closes_at=datetime(2099, 12, 14, tzinfo=UTC))
        [invite] = await queries.create_invites(wave="later")
        return invite.token

    token = _run(client, make)
    page = client.get(f"/p/{token}")
    assert page.status_code == 403
    assert "This survey opens on Monday 7 December 2099 at 09:00 (UTC)." in page.text
    spanish = client.get(f"/p/{token}?lang=es")
    assert "Esta encuesta se abre el lunes 7 de diciembre de 2099 a las 09:00 (UTC)." in spanish.text
    assert client.post(f"/p/{token}", data=PULSE).status_code == 403
    assert _count(client, PulseResponse) == 0
