"""Alerts a dashboard user subscribes to, evaluated by a periodic job.

Three kinds (KINDS):

- ``detractor``: a detractor answer (NPS 0–6 or CSAT 1–2) about a job of a
  contractor in one of the user's regions;
- ``cei_drop``: the CEI of a segment (region, service type or tenure band)
  dropped by more than ``threshold`` points between the last two closed
  waves, read from the privacy-gated figures (`analytics.index_by_wave`): a
  hidden group raises nothing;
- ``response_rate``: the response rate of an open wave is under ``threshold``
  % within a day of its close.

An alert is recorded once per subscription and subject (its key), and each
new alert is handed to the outbox as a webhook event (EVENTS) in the same
transaction. The dashboard's header counts a user's alerts not yet seen.

All functions are async and take keyword-only arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import analytics, outbox
from models.entities import (
    Alert,
    AlertSubscription,
    CustomerResponse,
    User,
)
from models.followup import detractor_q
from models.settings import settings
from models.waves import WaveStatus, waves_in

__all__ = [
    "CEI_GROUPS",
    "CEI_LOOKBACK_DAYS",
    "CLOSING_WITHIN",
    "EVENTS",
    "KINDS",
    "LATE_COMMIT",
    "AlertError",
    "RaisedAlert",
    "alerts_for",
    "describe",
    "evaluate_alerts",
    "mark_seen",
    "subscribe",
    "subscriptions_for",
    "unseen_count",
    "unsubscribe",
]

KINDS = ("detractor", "cei_drop", "response_rate")
EVENTS = {"detractor": "alert.detractor", "cei_drop": "alert.cei_drop", "response_rate": "alert.response_rate"}
CEI_GROUPS = ("region", "service_type", "tenure_band")
CLOSING_WITHIN = timedelta(days=1)  # response-rate alerts: a wave closing within this long
LATE_COMMIT = timedelta(minutes=10)  # detractor alerts: how late an answer may commit and still be seen
CEI_LOOKBACK_DAYS = 400  # the closed waves compared are found among those of this many days


class AlertError(ValueError):
    """A subscription that cannot be made; the message says why."""


@dataclass(frozen=True)
class RaisedAlert:
    id: int
    user: str
    kind: str
    message: str
    at: datetime
    data: dict[str, Any]
    seen: bool = False

    def event(self) -> dict[str, Any]:
        """The webhook payload: which alert, for whom, and its subject."""
        return {"alert_id": self.id, "user": self.user, "kind": self.kind, "message": self.message,
                "at": self.at.isoformat(), **self.data}


# --- subscriptions ------------------------------------------------------------


async def subscribe(
    *, username: str, kind: str, regions: list[str] | None = None, group_by: str | None = None,
    threshold: float | None = None,
) -> AlertSubscription:
    """Subscribe a dashboard user; a detractor subscription starts from the answers to come."""
    user = await User.get_or_none(username=username)
    if user is None:
        raise AlertError(f"no dashboard user {username!r}")
    if kind not in KINDS:
        raise AlertError(f"kind must be one of {', '.join(KINDS)}")
    fields: dict[str, Any] = {"user": user, "kind": kind}
    if kind == "detractor":
        chosen = sorted({r.strip() for r in regions or [] if r and r.strip()})
        if not chosen:
            raise AlertError("a detractor alert needs at least one region")
        last = await CustomerResponse.all().order_by("-id").first()
        fields |= {"regions": chosen, "after_response_id": last.id if last else 0}
    elif kind == "cei_drop":
        if group_by not in CEI_GROUPS:
            raise AlertError(f"group_by must be one of {', '.join(CEI_GROUPS)}")
        if threshold is None or not 0 < threshold <= 100:
            raise AlertError("threshold must be a number of points between 0 and 100")
        fields |= {"group_by": group_by, "threshold": float(threshold)}
    else:
        if threshold is None or not 0 < threshold <= 100:
            raise AlertError("threshold must be a percentage between 0 and 100")
        fields |= {"threshold": float(threshold)}
    return await AlertSubscription.create(**fields)


async def subscriptions_for(*, username: str) -> list[AlertSubscription]:
    return await AlertSubscription.filter(user__username=username).order_by("id")


async def unsubscribe(*, username: str, subscription_id: int) -> bool:
    return bool(await AlertSubscription.filter(id=subscription_id, user__username=username).delete())


def describe(subscription: AlertSubscription) -> str:
    """The subscription in a sentence, for the dashboard."""
    if subscription.kind == "detractor":
        return f"A detractor in {', '.join(subscription.regions)}"
    if subscription.kind == "cei_drop":
        label = (subscription.group_by or "").replace("_", " ")
        return f"CEI of a {label} dropped by more than {subscription.threshold:g} points between closed waves"
    return f"Response rate of an open wave under {subscription.threshold:g} % a day before it closes"


# --- alerts -------------------------------------------------------------------


def _raised(alert: Alert, user: str, kind: str) -> RaisedAlert:
    return RaisedAlert(alert.id, user, kind, alert.message, alert.at, dict(alert.data), alert.seen_at is not None)


async def alerts_for(*, username: str, limit: int = 50) -> list[RaisedAlert]:
    rows = await (Alert.filter(subscription__user__username=username).select_related("subscription")
                  .order_by("-at", "-id").limit(limit))
    return [_raised(a, username, a.subscription.kind) for a in rows]


async def unseen_count(*, username: str) -> int:
    return await Alert.filter(subscription__user__username=username, seen_at__isnull=True).count()


async def mark_seen(*, username: str, now: datetime | None = None) -> int:
    ids = Alert.filter(subscription__user__username=username, seen_at__isnull=True).values_list("id", flat=True)
    return await Alert.filter(id__in=list(await ids)).update(seen_at=now or datetime.now(UTC))


async def _record(subscription: AlertSubscription, user: str, *, key: str, message: str, data: dict[str, Any],
                  at: datetime, response_id: int | None = None) -> RaisedAlert | None:
    """The alert stored with its webhook event, once per (subscription, key)."""
    if await Alert.filter(subscription_id=subscription.id, key=key).exists():
        return None
    try:
        async with in_transaction() as conn:
            alert = await Alert.create(subscription_id=subscription.id, key=key, message=message, data=data, at=at,
                                       response_id=response_id, using_db=conn)
            raised = _raised(alert, user, subscription.kind)
            await outbox.emit(EVENTS[subscription.kind], raised.event(), using_db=conn, now=at)
    except IntegrityError:  # raised at the same moment by another evaluation
        return None
    return raised


async def evaluate_alerts(*, now: datetime | None = None) -> list[RaisedAlert]:
    """Raise every alert due now (the worker's periodic job); returns those raised."""
    at = now or datetime.now(UTC)
    subscriptions = await AlertSubscription.filter(user__disabled_at__isnull=True).select_related("user")
    raised: list[RaisedAlert] = []
    by_kind: dict[str, list[AlertSubscription]] = {}
    for s in subscriptions:
        by_kind.setdefault(s.kind, []).append(s)
    for s in by_kind.get("detractor", []):
        raised += await _detractors(s, at)
    if by_kind.get("cei_drop"):
        drops = await _cei_changes(at)
        for s in by_kind["cei_drop"]:
            raised += await _cei_drops(s, drops, at)
    if by_kind.get("response_rate"):
        rates = await _closing_rates(at)
        for s in by_kind["response_rate"]:
            raised += await _low_rates(s, rates, at)
    return raised


async def _detractors(s: AlertSubscription, at: datetime) -> list[RaisedAlert]:
    """The detractors after the subscription's cursor, and those below it submitted within
    LATE_COMMIT: ids are taken when a row is inserted, not when it commits, so on PostgreSQL an
    answer can become visible after one with a higher id moved the cursor past it. Each answer
    raises one alert however often it is looked at (the alerts' key)."""
    cursor = s.after_response_id
    newest = await CustomerResponse.filter(id__gt=cursor).order_by("-id").first()
    late = Q(id__lte=cursor, submitted_at__gte=max(at - LATE_COMMIT, s.created_at))
    window = late | Q(id__gt=cursor, id__lte=newest.id) if newest else late
    rows = await (CustomerResponse.filter(window, detractor_q(), contractor__region__in=list(s.regions))
                  .select_related("job", "contractor").order_by("id"))
    done = {a.response_id for a in await Alert.filter(subscription_id=s.id, response_id__in=[r.id for r in rows])
            .only("id", "response_id")}
    out = []
    for row in (r for r in rows if r.id not in done):
        data = {"response_id": row.id, "job": row.job.external_id, "contractor": row.contractor.external_id,
                "region": row.contractor.region, "csat": row.csat, "nps": row.nps,
                "submitted_at": row.submitted_at.isoformat()}
        message = (f"Detractor in {row.contractor.region}: job {row.job.external_id} "
                   f"({row.contractor.name}), NPS {_or_dash(row.nps)}, CSAT {_or_dash(row.csat)}")
        made = await _record(s, s.user.username, key=f"response:{row.id}", message=message, data=data, at=at,
                             response_id=row.id)
        if made:
            out.append(made)
    if newest:
        await AlertSubscription.filter(id=s.id, after_response_id__lt=newest.id).update(after_response_id=newest.id)
    return out


def _or_dash(value: int | None) -> str:
    return "–" if value is None else str(value)


@dataclass(frozen=True)
class _CeiChange:
    group_by: str
    group: str
    before_wave: str
    after_wave: str
    before: float
    after: float


async def _cei_changes(at: datetime) -> list[_CeiChange]:
    """The CEI of every shown segment in the last two closed waves (hidden groups left out).
    The job runs every minute: the per-wave index is read over the window from the earlier
    of the two waves' close (models.waves counts which ones are reported), not the whole look-back."""
    lookback = at.date() - timedelta(days=CEI_LOOKBACK_DAYS)
    reported = [w for w in await waves_in(lookback, at.date(), min_group=settings.min_group, now=at) if w.reported]
    if len(reported) < 2:
        return []
    before, after = sorted(reported, key=lambda w: w.closes_at)[-2:]
    window = analytics.Window(before.closes_at.astimezone(UTC).date(), at.date())
    rows = await analytics.index_by_wave(window=window, min_group=settings.min_group,
                                         min_comment_group=settings.min_comment_group, now=at)
    before_wave, after_wave = before.name, after.name
    figures: dict[tuple[str, str, str], float] = {}
    for r in rows:
        if r["group_by"] and not r["suppressed"] and r["cei"] is not None and r["wave"] in (before_wave, after_wave):
            figures[(r["wave"], r["group_by"], str(r["group"]))] = r["cei"]
    return [
        _CeiChange(g, name, before_wave, after_wave, figures[(before_wave, g, name)], value)
        for (wave, g, name), value in sorted(figures.items())
        if wave == after_wave and (before_wave, g, name) in figures
    ]


async def _cei_drops(s: AlertSubscription, changes: list[_CeiChange], at: datetime) -> list[RaisedAlert]:
    out = []
    for c in changes:
        drop = c.before - c.after
        if c.group_by != s.group_by or s.threshold is None or drop <= s.threshold:
            continue
        data = {"group_by": c.group_by, "group": c.group, "before_wave": c.before_wave, "after_wave": c.after_wave,
                "cei_before": round(c.before, 1), "cei_after": round(c.after, 1), "drop": round(drop, 1)}
        message = (f"CEI of {c.group} fell {drop:.1f} points, {c.before:.1f} → {c.after:.1f} "
                   f"({c.before_wave} → {c.after_wave})")
        made = await _record(s, s.user.username, key=f"cei:{c.after_wave}:{c.group_by}:{c.group}",
                             message=message, data=data, at=at)
        if made:
            out.append(made)
    return out


async def _closing_rates(at: datetime) -> list[WaveStatus]:
    """Every open wave that closes within CLOSING_WITHIN, counted as `models.waves` counts it."""
    closing = at + CLOSING_WITHIN
    waves = await waves_in(at.date(), closing.date(), min_group=settings.min_group, now=at)
    return [w for w in waves if w.state == "open" and w.opens_at <= at and w.closes_at <= closing and w.invited]


async def _low_rates(s: AlertSubscription, waves: list[WaveStatus], at: datetime) -> list[RaisedAlert]:
    """A wave under the subscription's threshold. Its figures are the ones the wave may show
    (WaveStatus.as_dict): with fewer than min_group answers there is no rate, only the band,
    and the alert fires only when even min_group - 1 answers would be under the threshold."""
    out = []
    for w in waves:
        shown = w.as_dict(settings.min_group)
        rate = shown["response_rate"]
        ceiling = rate if rate is not None else (settings.min_group - 1) / w.invited
        if s.threshold is None or ceiling * 100 >= s.threshold:
            continue
        data = {"wave": w.name, "closes_at": w.closes_at.isoformat(), "invited": w.invited,
                "answered": shown["n_contractors"],
                "response_rate_pct": None if rate is None else round(rate * 100, 1)}
        so_far = f"{rate * 100:.0f} % answered" if rate is not None else f"{shown['n_contractors']} answered"
        message = f"Wave {w.name} closes {w.closes_at:%d %b %H:%M} UTC with {so_far} (under {s.threshold:g} %)"
        made = await _record(s, s.user.username, key=f"rate:{w.name}", message=message, data=data, at=at)
        if made:
            out.append(made)
    return out
