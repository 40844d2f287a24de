"""`rapport digest`: subscribe, list, send to a real local SMTP server (aiosmtpd), unsubscribe."""

from __future__ import annotations

import dataclasses

import pytest

from tests.collector.test_cli import _query, _rapport
from tests.models.test_digest import Inbox, text_of


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    from dashboard.testing import free_port

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


def test_digest_commands(db_url: str, smtp: tuple[str, Inbox], monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    import models.digest
    from models.keys import create_user

    url, inbox = smtp
    _query(db_url, lambda: create_user(username="ana", password="correct horse battery"))
    assert _rapport(db_url, "digest", "subscribe", "ana") == 2
    assert "needs an e-mail address" in capsys.readouterr().err
    assert _rapport(db_url, "digest", "subscribe", "ana", "--email", "ana@example.com") == 0
    assert capsys.readouterr().out == "weekly digest on for ana (ana@example.com)\n"
    assert _rapport(db_url, "digest", "list") == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["ana", "ana@example.com", "on", "never"]

    # RAPPORT_SMTP_URL unset: a clear error, nothing recorded as sent
    monkeypatch.setattr(models.digest, "settings", dataclasses.replace(models.digest.settings, smtp_url=None))
    assert _rapport(db_url, "digest", "send") == 2
    assert "RAPPORT_SMTP_URL is not set" in capsys.readouterr().err
    monkeypatch.setattr(models.digest, "settings", dataclasses.replace(models.digest.settings, smtp_url=url))
    assert _rapport(db_url, "digest", "send", "--now", "2026-03-18T15:30") == 0
    assert capsys.readouterr().out.splitlines() == ["sent the digest of 2026-W11 to ana",
                                                   "2026-W11: 1 sent, 0 failed, 0 had it already"]
    assert "2026-W11" in str(inbox.messages[0][1]["Subject"]) and "CSAT" in text_of(inbox.messages[0][1], "plain")
    assert _rapport(db_url, "digest", "send", "--now", "2026-03-19") == 0
    assert capsys.readouterr().out.endswith("2026-W11: 0 sent, 0 failed, 1 had it already\n")
    assert _rapport(db_url, "digest", "unsubscribe", "ana") == 0
    assert _rapport(db_url, "digest", "send", "--now", "2026-03-25") == 0
    assert len(inbox.messages) == 1
    assert _rapport(db_url, "digest", "unsubscribe", "nobody") == 2
