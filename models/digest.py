"""The weekly digest: an e-mail with the headline figures to each dashboard user who asks for it.

Each user turns it on or off (the dashboard's "E-mail digest" page, or `rapport
digest subscribe|unsubscribe NAME`). A digest covers the last complete ISO week
before it is sent: the headline figures of the four weeks that end on that
week's Sunday, beside the four weeks before, as the Overview shows them (the
same `models.analytics` reports, so the same privacy gate: a hidden index stays
hidden). Margins of error are shown when the reports carry them.

`send_due_digests(now)` is what a schedule calls, as often as it likes: every
delivery is claimed in `digest_deliveries` (one row per user and week, unique)
before it is sent and stamped once the SMTP server accepted it, so each week's
digest reaches each user once. A claim whose sending failed is released (the
next run tries again); one left by a run that died mid-way is taken over after
an hour.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlencode

from tortoise.exceptions import IntegrityError

from models import analytics
from models.db import side_by_side
from models.entities import DigestDelivery, DigestSubscription, User
from models.mail import MailError, parse_smtp_url, send
from models.settings import settings

__all__ = [
    "MAX_EMAIL",
    "PERIOD_WEEKS",
    "STALE_CLAIM",
    "DigestRun",
    "DigestWeek",
    "Subscriber",
    "compose",
    "digest_figures",
    "digest_setting",
    "digest_week",
    "list_subscribers",
    "report_url",
    "send_due_digests",
    "set_digest",
]

PERIOD_WEEKS = 4  # the Overview's default period: recent enough to act on
STALE_CLAIM = timedelta(hours=1)  # a claim this old without a send died with its run
MAX_EMAIL = 254


# --- who gets it --------------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    username: str
    email: str | None
    weekly: bool
    last_sent: datetime | None = None


def _valid_email(email: str) -> str:
    """A single address, trimmed; refuses anything that could smuggle a header or a second recipient."""
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if (not at or not local or not domain or len(email) > MAX_EMAIL
            or any(c.isspace() or c in ',;<>"\\' or ord(c) < 32 for c in email)):
        raise ValueError(f"not an e-mail address: {email[:60]!r}")
    return email


async def set_digest(*, username: str, weekly: bool, email: str | None = None) -> Subscriber:
    """Turn `username`'s weekly digest on or off, optionally to a new address.

    Raises LookupError for an unknown user, ValueError for a bad address or for
    turning it on without any address.
    """
    user = await User.get_or_none(username=username)
    if user is None:
        raise LookupError(f"no user {username!r}")
    current = await DigestSubscription.get_or_none(user_id=user.id)
    address = _valid_email(email) if email else (current.email if current else None)
    if weekly and not address:
        raise ValueError("the weekly digest needs an e-mail address")
    if current is None:
        if address:
            await DigestSubscription.create(user_id=user.id, email=address, weekly=weekly)
    else:
        current.email, current.weekly = address or current.email, weekly
        await current.save(update_fields=["email", "weekly", "updated_at"])
    return await digest_setting(username=username)


async def digest_setting(*, username: str) -> Subscriber:
    """The user's digest address and whether it is on (off, no address, for one who never set it)."""
    user = await User.get_or_none(username=username)
    if user is None:
        raise LookupError(f"no user {username!r}")
    current = await DigestSubscription.get_or_none(user_id=user.id)
    last = await DigestDelivery.filter(user_id=user.id, sent_at__isnull=False).order_by("-sent_at").first()
    return Subscriber(username, current.email if current else None, bool(current and current.weekly),
                      last.sent_at if last else None)


async def list_subscribers() -> list[Subscriber]:
    """Every user with a digest address, on or off, by name."""
    out = []
    for sub in await DigestSubscription.all().select_related("user").order_by("user__username"):
        last = await DigestDelivery.filter(user_id=sub.user.id, sent_at__isnull=False).order_by("-sent_at").first()
        out.append(Subscriber(sub.user.username, sub.email, sub.weekly, last.sent_at if last else None))
    return out


# --- what it says -------------------------------------------------------------


@dataclass(frozen=True)
class DigestWeek:
    """The ISO week a digest closes, and the period its figures cover."""

    label: str  # "2026-W47"
    start: date  # the first day of the period (a Monday)
    end: date  # the week's Sunday

    @property
    def window(self) -> analytics.Window:
        return analytics.Window(self.start, self.end)


def digest_week(now: datetime) -> DigestWeek:
    """The last complete ISO week before `now` (UTC), and the four weeks ending with it.

    >>> digest_week(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # a Monday
    DigestWeek(label='2026-W48', start=datetime.date(2026, 11, 2), end=datetime.date(2026, 11, 29))
    >>> digest_week(datetime(2026, 12, 6, 23, 59, tzinfo=UTC)).label  # the Sunday after
    '2026-W48'
    """
    today = now.astimezone(UTC).date()
    sunday = today - timedelta(days=today.isoweekday())
    year, week, _ = sunday.isocalendar()
    return DigestWeek(f"{year}-W{week:02d}", sunday - timedelta(days=7 * PERIOD_WEEKS - 1), sunday)


async def digest_figures(week: DigestWeek) -> dict[str, Any]:
    """The Overview's reports for the digest's period and the one before it."""
    window = week.window
    least, comments = settings.min_group, settings.min_comment_group
    index, index_before, customer, customer_before = await side_by_side(
        analytics.index_report(window=window, min_group=least, min_comment_group=comments),
        analytics.index_report(window=window.previous(), min_group=least, min_comment_group=comments),
        analytics.customer_report(window=window),
        analytics.customer_report(window=window.previous()),
    )
    return {"index": index, "index_previous": index_before, "customer": customer,
            "customer_previous": customer_before,
            "changes": analytics.period_changes(index["overall"], index_before["overall"],
                                                customer.get("complete") or {}, customer_before.get("complete") or {})}


def _margin(row: Mapping[str, Any], key: str) -> float | None:
    """The 95 % margin of error of `key`: the half-width the reports give in `KEY_ci`
    (surveys.uncertainty.Interval.as_dict), or None where they give no interval."""
    interval = row.get(f"{key}_ci")
    margin = interval.get("margin") if isinstance(interval, Mapping) else None
    return float(margin) if isinstance(margin, int | float) else None


def _number(value: float | None, pattern: str, margin: float | None = None) -> str:
    if value is None:
        return "–"
    text = pattern.format(value)
    if margin is not None:
        text += " ± " + pattern.replace("+", "").format(margin)
    return text


def _verdict(test: Mapping[str, Any] | None, pattern: str, unit: str) -> str:
    """A change in words as the Overview tiles put it: beyond noise or not, with its 95 % interval
    (`models.analytics.period_changes`); '' where it could not be tested.

    >>> _verdict({"difference": -3.2, "low": -5.0, "high": -1.4, "clear": True}, "{:+.1f}", " pts")
    ' · down 3.2 pts, beyond noise (95 % CI −5.0 to −1.4)'
    >>> _verdict({"difference": 1.0, "low": -2.0, "high": 4.0, "clear": False}, "{:+.0f}", "")
    ' · no clear change: +1 (95 % CI −2 to +4)'
    """
    if not test:
        return ""
    low, high, difference = (pattern.format(test[k]).replace("-", "−") for k in ("low", "high", "difference"))
    interval = f"(95 % CI {low} to {high})"
    if not test.get("clear"):
        return f" · no clear change: {difference}{unit} {interval}"
    size = pattern.replace("+", "").format(abs(test["difference"]))
    return f" · {'up' if test['difference'] > 0 else 'down'} {size}{unit}, beyond noise {interval}"


def _lines(figures: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, what it is beside) for each headline figure, in the Overview's order,
    each change tested as on the Overview (customer figures over complete weeks)."""
    index, before = figures["index"]["overall"], figures["index_previous"]["overall"]
    customer, customer_before = figures["customer"]["overall"], figures["customer_previous"]["overall"]
    changes = figures.get("changes") or {}

    def was(value: float | None, pattern: str, key: str = "", unit: str = "", change: str = "{:+.1f}") -> str:
        return ("previous period " + ("no data" if value is None else pattern.format(value))
                + _verdict(changes.get(key), change, unit))

    out: list[tuple[str, str, str]] = []
    if index.get("suppressed"):
        out.append(("Connection & Empowerment Index", f"hidden (<{settings.min_group})",
                    f"fewer than {settings.min_group} contractors answered the pulse"))
    elif index.get("cei") is None:
        out.append(("Connection & Empowerment Index", "no data", "no pulse wave closed in the period"))
    else:
        previous = None if before.get("suppressed") else before.get("cei")
        out.append(("Connection & Empowerment Index", _number(index["cei"], "{:.1f}", _margin(index, "cei")) + " / 100",
                    f"{was(previous, '{:.1f}', 'cei', ' pts')} · {index.get('n_contractors')} contractors, "
                    f"{index.get('n_waves', 0)} closed wave(s)"))
    rows = (
        ("CSAT", "csat_pct", "{:.0f}", " %", ("{:+.1f}", " pts"), "share of customers answering 4–5"),
        ("NPS", "nps", "{:+.0f}", "", ("{:+.0f}", ""), "% promoters − % detractors"),
        ("Customer effort", "ces_mean", "{:.2f}", " / 7", ("{:+.2f}", ""), "mean of 1–7, higher is easier"),
    )
    for label, key, pattern, unit, (change, change_unit), meaning in rows:
        value = customer.get(key)
        out.append((label, _number(value, pattern, _margin(customer, key)) + (unit if value is not None else ""),
                    f"{was(customer_before.get(key), pattern, key, change_unit, change)} · {meaning}"))
    rate, rate_before = customer.get("response_rate"), customer_before.get("response_rate")
    out.append(("Customer response rate", "–" if rate is None else f"{100 * rate:.0f} %",
                f"{was(None if rate_before is None else 100 * rate_before, '{:.0f} %', 'response_rate', ' pts')} · "
                f"{customer.get('n', 0):,} answers for {customer.get('jobs', 0):,} jobs"))
    return out


def _notes(figures: Mapping[str, Any]) -> list[str]:
    notes = []
    for w in figures["index"].get("waves", []):
        if w.get("state") == "open":
            notes.append(f"Pulse wave {w['wave']} is still open (until {str(w['closes_at'])[:10]}), so it is not "
                         "in these figures yet.")
        elif w.get("state") == "too_few":
            notes.append(f"Pulse wave {w['wave']} is left out: fewer than {settings.min_group} contractors "
                         "answered it.")
    notes.append(f"Pulse scores come only from closed waves and are never shown for fewer than "
                 f"{settings.min_group} contractors. The figures are associations, not causes.")
    return notes


def report_url(week: DigestWeek, *, page: str = "report") -> str:
    """The dashboard's address for the digest's period (the printable report by default)."""
    base = settings.dashboard_url if settings.dashboard_url.endswith("/") else settings.dashboard_url + "/"
    return base + page + "?" + urlencode({"from": week.start.isoformat(), "to": week.end.isoformat()})


def compose(figures: Mapping[str, Any], *, week: DigestWeek, to: str, sender: str,
            brand: str | None = None) -> EmailMessage:
    """The digest as an e-mail: a plain-text part and the same in HTML."""
    brand = brand or settings.brand
    previous = analytics.Window(week.start, week.end).previous()
    period = f"{week.start:%-d %b} – {week.end:%-d %b %Y}"
    compared = f"{previous.start:%-d %b} – {previous.end:%-d %b %Y}"
    lines, notes = _lines(figures), _notes(figures)
    report, dashboard = report_url(week), report_url(week, page="")
    message = EmailMessage()
    message["Subject"] = f"{brand}: your weekly Rapport digest, {week.label}"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    width = max(len(label) for label, _, _ in lines)
    text = [f"{brand} · Rapport weekly digest, {week.label}", "",
            f"The four weeks {period}, compared with {compared}.", ""]
    text += [f"{label.ljust(width)}  {value}\n{' ' * width}  {beside}" for label, value, beside in lines]
    text += ["", *notes, "", f"The printable report: {report}", f"The dashboard: {dashboard}", "",
             "You get this e-mail because you turned on the weekly digest. Turn it off on the dashboard's "
             "\"E-mail digest\" page."]
    message.set_content("\n".join(text) + "\n")
    rows = "".join(
        f'<tr><th style="text-align:left;padding:6px 12px 6px 0;font-weight:600">{html.escape(label)}</th>'
        f'<td style="padding:6px 12px 6px 0;font-size:18px;font-weight:700;white-space:nowrap">'
        f"{html.escape(value)}</td>"
        f'<td style="padding:6px 0;color:#52606d">{html.escape(beside)}</td></tr>'
        for label, value, beside in lines)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(brand)} · Rapport weekly digest</title></head>"
        '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1f2933">'
        f'<h1 style="font-size:20px;margin:0 0 4px">{html.escape(brand)} · Rapport weekly digest, '
        f"{html.escape(week.label)}</h1>"
        f'<p style="color:#52606d;margin:0 0 16px">The four weeks {html.escape(period)}, compared with '
        f"{html.escape(compared)}.</p>"
        f'<table style="border-collapse:collapse">{rows}</table>'
        + "".join(f'<p style="color:#52606d">{html.escape(n)}</p>' for n in notes)
        + f'<p><a href="{html.escape(report)}">Open the printable report</a> · '
        f'<a href="{html.escape(dashboard)}">Open the dashboard</a></p>'
        '<p style="color:#52606d;font-size:12px">You get this e-mail because you turned on the weekly digest. '
        "Turn it off on the dashboard's \u201cE-mail digest\u201d page.</p></body></html>"
    )
    message.add_alternative(body, subtype="html")
    return message


# --- sending it once a week ---------------------------------------------------


@dataclass
class DigestRun:
    """What one run did: the week, who got it, whose failed (and why)."""

    week: str
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    already: int = 0  # subscribers whose digest of this week had gone out (or was going out) before


async def _claim(user_id: int, week: str, now: datetime) -> bool:
    try:
        await DigestDelivery.create(user_id=user_id, week=week, claimed_at=now)
        return True
    except IntegrityError:  # sent, or being sent; taken over only when that run died long ago
        return bool(await DigestDelivery.filter(user_id=user_id, week=week, sent_at__isnull=True,
                                                claimed_at__lt=now - STALE_CLAIM).update(claimed_at=now))


async def send_due_digests(now: datetime | None = None, *, smtp_url: str | None = None,
                           sender: str | None = None) -> DigestRun:
    """Send this week's digest to every subscribed, enabled user who has not had it.

    The periodic job's entry point (call it as often as you like: hourly, daily);
    `now` defaults to the clock. Raises MailError when no SMTP server is configured
    or the server cannot be reached (the claims are released, so a later run retries).
    """
    now = now or datetime.now(UTC)
    week = digest_week(now)
    run = DigestRun(week.label)
    url = smtp_url or settings.smtp_url
    subscribers = await DigestSubscription.filter(weekly=True, user__disabled_at__isnull=True).select_related("user")
    if not subscribers:
        return run
    if not url:
        raise MailError("RAPPORT_SMTP_URL is not set, so no digest can be sent")
    server = parse_smtp_url(url)
    claimed = []
    for sub in subscribers:
        if await _claim(sub.user.id, week.label, now):
            claimed.append(sub)
        else:
            run.already += 1
    if not claimed:
        return run
    try:
        figures = await digest_figures(week)
        messages = [compose(figures, week=week, to=sub.email, sender=sender or settings.smtp_from) for sub in claimed]
        outcomes = await send(server, messages)
    except BaseException:
        await DigestDelivery.filter(user_id__in=[s.user.id for s in claimed], week=week.label,
                                    sent_at__isnull=True).delete()
        raise
    for sub, problem in zip(claimed, outcomes, strict=True):
        if problem is None:
            await DigestDelivery.filter(user_id=sub.user.id, week=week.label).update(sent_at=datetime.now(UTC))
            run.sent.append(sub.user.username)
        else:
            await DigestDelivery.filter(user_id=sub.user.id, week=week.label, sent_at__isnull=True).delete()
            run.failed[sub.user.username] = problem
    return run
