"""Sending e-mail: the SMTP server named by one URL, through the standard library's smtplib.

`RAPPORT_SMTP_URL` takes three forms (user and password optional, percent-encoded):

- ``smtp://user:pass@host:25`` — plain SMTP (a relay on the same machine or network);
- ``smtp+starttls://user:pass@host:587`` — SMTP upgraded with STARTTLS before signing in
  (``smtp://…?starttls=1`` says the same);
- ``smtps://user:pass@host:465`` — SMTP over TLS from the first byte.

A password is never sent over plain SMTP to another machine: that combination is refused
when the URL is read. The sender is `RAPPORT_SMTP_FROM`.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["DEFAULT_PORTS", "LOCAL_HOSTS", "TIMEOUT", "MailError", "SmtpServer", "parse_smtp_url", "send"]

DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TIMEOUT = 20.0  # seconds for each SMTP exchange


class MailError(ValueError):
    """The SMTP URL cannot be used, or the server refused the message."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # plain, starttls or tls
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print the password
        who = f"{self.username}@" if self.username else ""
        return f"SmtpServer({self.security}://{who}{self.host}:{self.port})"


def parse_smtp_url(url: str) -> SmtpServer:
    """The server an SMTP URL names.

    >>> parse_smtp_url("smtps://ana:s%40cret@mail.example.com")
    SmtpServer(tls://ana@mail.example.com:465)
    >>> parse_smtp_url("smtp://127.0.0.1:2525").security
    'plain'
    >>> parse_smtp_url("smtp://u:p@mail.example.com?starttls=1").port
    587
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    if scheme == "smtps":
        security = "tls"
    elif scheme == "smtp+starttls" or (scheme == "smtp" and starttls):
        security = "starttls"
    elif scheme == "smtp":
        security = "plain"
    else:
        raise MailError(f"RAPPORT_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, not {scheme!r}")
    if not parts.hostname:
        raise MailError("RAPPORT_SMTP_URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError:
        raise MailError("RAPPORT_SMTP_URL has a port that is not a number") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if password and security == "plain" and parts.hostname not in LOCAL_HOSTS:
        raise MailError("RAPPORT_SMTP_URL would send a password unencrypted: use smtp+starttls:// or smtps://")
    return SmtpServer(host=parts.hostname, port=port, security=security, username=username, password=password)


def _send_now(server: SmtpServer, messages: list[EmailMessage]) -> list[str | None]:
    """Send each message over one connection; per message, None when accepted, else why not."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.security == "tls":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    outcome: list[str | None] = []
    with client:
        if server.security == "starttls":
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password or "")
        for message in messages:
            try:
                refused = client.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                outcome.append(f"refused by the server ({_codes(exc.recipients)})")
            except smtplib.SMTPResponseException as exc:
                outcome.append(f"refused by the server ({exc.smtp_code})")
            else:
                outcome.append(f"refused by the server ({_codes(refused)})" if refused else None)
    return outcome


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(str(code) for code, _ in refused.values())


async def send(server: SmtpServer, messages: list[EmailMessage]) -> list[str | None]:
    """Send in a worker thread (smtplib blocks); raises MailError when the server cannot
    be reached or refuses the sign-in, else says per message whether it was accepted."""
    if not messages:
        return []
    try:
        return await asyncio.to_thread(_send_now, server, messages)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the SMTP server refused the sign-in ({exc.smtp_code})") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"the SMTP server {server.host}:{server.port} could not be used "
                        f"({type(exc).__name__})") from None
