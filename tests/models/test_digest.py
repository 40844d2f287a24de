"""The weekly digest, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1: its content,
its link, once per user and week, opt-in only, and a failure that leaves the week to retry."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from dashboard.testing import free_port
from models.demo import generate
from models.digest import DigestWeek, digest_setting, digest_week, list_subscribers, send_due_digests, set_digest
from models.entities import DigestDelivery
from models.keys import create_user, disable_user
from models.mail import MailError, parse_smtp_url

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)  # a Wednesday: the digest closes 2026-W11
DATA_NOW = NOW - timedelta(hours=2)


class Inbox:
    """What the SMTP server received: each message, parsed, with its envelope."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def text_of(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


async def brand_with_users() -> None:
    await generate(contractors=60, weeks=6, jobs_per_week=400, seed=5, now=DATA_NOW)
    for name in ("ana", "ben", "cara"):
        await create_user(username=name, password="correct horse battery")


async def test_the_digest_goes_once_a_week_to_those_who_asked(db: str, smtp: tuple[str, Inbox]) -> None:
    url, inbox = smtp
    await brand_with_users()
    await set_digest(username="ana", weekly=True, email="ana@example.com")
    await set_digest(username="ben", weekly=True, email="ben@example.com")
    await set_digest(username="ben", weekly=False)  # changed his mind: the address is kept, nothing is sent
    assert (await digest_setting(username="ben")).email == "ben@example.com"

    run = await send_due_digests(NOW, smtp_url=url, sender="rapport@example.com")
    assert run.week == "2026-W11" and run.sent == ["ana"] and not run.failed
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["ana@example.com"]
    assert message["To"] == "ana@example.com" and message["From"] == "rapport@example.com"
    assert message["Subject"] == "Acme Delivery: your weekly Rapport digest, 2026-W11"
    text, page = text_of(message, "plain"), text_of(message, "html")
    assert "The four weeks 16 Feb – 15 Mar 2026, compared with 19 Jan – 15 Feb 2026." in text
    for figure in ("Connection & Empowerment Index", "CSAT", "NPS", "Customer effort", "Customer response rate"):
        assert figure in text and figure.replace("&", "&amp;") in page
    assert "/ 100" in text and "previous period" in text
    assert re.search(r"CSAT +\d+ ± \d+ %", text), text  # the reports' own intervals reach the e-mail
    # each change tested as on the Overview (models.analytics.period_changes), never a bare delta
    assert re.search(r"previous period \d+ % · (no clear change: [+−]?\d|(up|down) \d).*95 % CI", text), text
    assert "never shown for fewer than 5 contractors" in text
    link = "http://127.0.0.1:8050/dashboard/report?from=2026-02-16&to=2026-03-15"
    assert link in text and f'href="{link.replace("&", "&amp;")}"' in page

    # the schedule runs again that week (hourly, daily): nobody gets it twice
    later = await send_due_digests(NOW + timedelta(days=3), smtp_url=url)
    assert later.sent == [] and later.already == 1 and len(inbox.messages) == 1
    # ben turns it on again in the same week: he gets this week's, ana still not twice
    await set_digest(username="ben", weekly=True)
    again = await send_due_digests(NOW + timedelta(days=3, hours=1), smtp_url=url)
    assert again.sent == ["ben"] and [m[0] for m in inbox.messages] == [["ana@example.com"], ["ben@example.com"]]
    # the next week, each gets the next digest once
    next_week = await send_due_digests(NOW + timedelta(days=7), smtp_url=url)
    assert sorted(next_week.sent) == ["ana", "ben"] and next_week.week == "2026-W12"
    assert len(inbox.messages) == 4
    assert await DigestDelivery.filter(sent_at__isnull=False).count() == 4
    assert [s.username for s in await list_subscribers()] == ["ana", "ben"]


async def test_a_refused_address_or_a_server_down_is_retried_later(db: str, smtp: tuple[str, Inbox]) -> None:
    url, inbox = smtp
    await brand_with_users()
    await set_digest(username="ana", weekly=True, email="ana@example.com")
    await set_digest(username="cara", weekly=True, email="cara@example.com")
    inbox.refuse.add("cara@example.com")
    run = await send_due_digests(NOW, smtp_url=url)
    assert run.sent == ["ana"] and "550" in run.failed["cara"]
    inbox.refuse.clear()
    retry = await send_due_digests(NOW + timedelta(hours=1), smtp_url=url)
    assert retry.sent == ["cara"] and retry.already == 1

    # no server listening: an error, and the week stays due for the next run
    closed = f"smtp://127.0.0.1:{free_port()}"
    with pytest.raises(MailError, match="could not be used"):
        await send_due_digests(NOW + timedelta(days=7), smtp_url=closed)
    assert await DigestDelivery.filter(week="2026-W12").count() == 0
    assert sorted((await send_due_digests(NOW + timedelta(days=7), smtp_url=url)).sent) == ["ana", "cara"]


async def test_a_disabled_user_gets_nothing_and_a_hidden_index_stays_hidden(db: str, smtp: tuple[str, Inbox]) -> None:
    url, inbox = smtp
    # four contractors: no wave reaches five answers, so the index is hidden; customers are not under that rule
    await generate(contractors=4, weeks=4, jobs_per_week=60, seed=5, now=DATA_NOW)
    await create_user(username="ana", password="correct horse battery")
    await create_user(username="ben", password="correct horse battery")
    await set_digest(username="ana", weekly=True, email="ana@example.com")
    await set_digest(username="ben", weekly=True, email="ben@example.com")
    await disable_user(username="ben")
    run = await send_due_digests(NOW, smtp_url=url)
    assert run.sent == ["ana"] and [m[0] for m in inbox.messages] == [["ana@example.com"]]
    lines = text_of(inbox.messages[0][1], "plain").splitlines()
    cei = next(i for i, line in enumerate(lines) if line.startswith("Connection & Empowerment Index"))
    assert lines[cei].endswith("hidden (<5)") and "fewer than 5 contractors" in lines[cei + 1]
    assert not any(ch.isdigit() for ch in lines[cei].replace("(<5)", ""))
    csat = next(line for line in lines if line.startswith("CSAT"))
    assert csat.rstrip().endswith("%") and any(ch.isdigit() for ch in csat)


async def test_settings_refuse_what_cannot_be_used(db: str) -> None:
    await create_user(username="ana", password="correct horse battery")
    with pytest.raises(ValueError, match="needs an e-mail address"):
        await set_digest(username="ana", weekly=True)
    for bad in ("ana", "ana@example.com\r\nBcc: eve@example.com", "a@b, eve@example.com", "<ana@example.com>"):
        with pytest.raises(ValueError, match="not an e-mail address"):
            await set_digest(username="ana", weekly=True, email=bad)
    with pytest.raises(LookupError):
        await set_digest(username="nobody", weekly=False)
    assert not (await digest_setting(username="ana")).weekly


def test_the_smtp_url_forms() -> None:
    assert parse_smtp_url("smtp+starttls://ana:p%40ss@mail.example.com").security == "starttls"
    assert parse_smtp_url("smtp+starttls://ana:p%40ss@mail.example.com").password == "p@ss"
    assert parse_smtp_url("smtps://mail.example.com:2465").port == 2465
    assert "p@ss" not in repr(parse_smtp_url("smtps://ana:p%40ss@mail.example.com"))
    with pytest.raises(MailError, match="unencrypted"):
        parse_smtp_url("smtp://ana:secret@mail.example.com")
    with pytest.raises(MailError, match="must start with"):
        parse_smtp_url("http://mail.example.com")


def test_the_digest_week_is_the_last_complete_one() -> None:
    assert digest_week(NOW) == DigestWeek("2026-W11", NOW.date().replace(day=16, month=2),
                                          NOW.date().replace(day=15))
    monday = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)
    assert digest_week(monday).label == digest_week(monday - timedelta(seconds=1) + timedelta(days=7)).label


def test_margins_are_shown_when_the_reports_carry_them() -> None:
    from models.digest import compose

    week = digest_week(NOW)
    # the intervals as the reports carry them (surveys.uncertainty.Interval.as_dict)
    overall = {"cei": 61.24, "cei_ci": {"estimate": 61.24, "low": 59.1, "high": 63.3, "margin": 2.1},
               "n_contractors": 240, "n_waves": 4}
    customer = {"csat_pct": 81.2, "csat_pct_ci": {"estimate": 81.2, "low": 78.8, "high": 83.6, "margin": 2.4},
                "nps": 31.0, "ces_mean": 5.4, "response_rate": 0.3, "n": 900, "jobs": 3000}
    figures = {"index": {"overall": overall, "waves": [{"wave": "2026-W12", "state": "open",
                                                          "closes_at": "2026-03-22T23:59:59+00:00"}]},
               "index_previous": {"overall": {"cei": 60.0}},
               "customer": {"overall": customer}, "customer_previous": {"overall": {"csat_pct": 80.0}},
               "changes": {"cei": {"difference": 1.24, "low": -1.0, "high": 3.48, "clear": False},
                           "csat_pct": {"difference": 3.2, "low": 1.0, "high": 5.4, "clear": True}}}
    text = text_of(compose(figures, week=week, to="ana@example.com", sender="rapport@example.com"), "plain")
    assert "previous period 60.0 · no clear change: +1.2 pts (95 % CI −1.0 to +3.5)" in text
    assert "previous period 80 · up 3.2 pts, beyond noise (95 % CI +1.0 to +5.4)" in text
    assert "61.2 ± 2.1 / 100" in text and "81 ± 2 %" in text  # a margin where there is one
    assert "NPS                             +31\n" in text  # none where there is none
    assert "previous period 60.0" in text and "previous period no data" in text
    assert "2026-W12 is still open (until 2026-03-22)" in text


async def test_deleting_a_user_deletes_their_digest_rows(db: str, smtp: tuple[str, Inbox]) -> None:
    from models.entities import DigestSubscription
    from models.keys import delete_user

    url, _ = smtp
    await create_user(username="ana", password="correct horse battery")
    await set_digest(username="ana", weekly=True, email="ana@example.com")
    assert (await send_due_digests(NOW, smtp_url=url)).sent == ["ana"]
    await delete_user(username="ana")
    assert await DigestSubscription.all().count() == 0 and await DigestDelivery.all().count() == 0


async def test_the_worker_sends_the_digest_once_a_week(db: str, smtp: tuple[str, Inbox],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import models.digest
    from collector.worker import PERIODIC

    url, inbox = smtp
    monkeypatch.setattr(models.digest, "settings", dataclasses.replace(models.digest.settings, smtp_url=url))
    job = next(job for job in PERIODIC if job.name == "weekly_digest")
    assert job.every == 3600.0
    await create_user(username="ana", password="correct horse battery")
    await set_digest(username="ana", weekly=True, email="ana@example.com")
    first, second = await job.run(), await job.run()
    assert first.sent == ["ana"] and second.sent == [] and second.already == 1  # type: ignore[attr-defined]
    assert len(inbox.messages) == 1
