"""The follow-up cases, the alerts and the webhooks' deliveries, read and changed through
the dashboard's runner (dashboard.data).

The Follow-up and Alerts pages call these; each reads or writes in one hop to
the event loop. The rules are `models.followup`'s and `models.alerts`'; this
module only translates the dashboard's filters and the signed-in user into
their arguments.
"""

from __future__ import annotations

from typing import Any

from dashboard.data import Filters, Runner
from models import alerts, analytics, followup, webhooks
from models.entities import Contractor, User
from models.settings import settings

__all__ = [
    "CASES_PER_PAGE",
    "alert_count",
    "alerts_view",
    "change_followup",
    "followup_case",
    "followup_view",
    "mark_alerts_seen",
    "subscribe_alert",
    "unsubscribe_alert",
    "webhook_deliveries",
]

CASES_PER_PAGE = 20


async def _tenure_ids(filters: Filters) -> list[int] | None:
    """The contractors of the filters' tenure band (the analytics' own band at the
    window's end), or None when no band is chosen."""
    if not filters.tenure_band:
        return None
    return [c["id"] for c in await Contractor.all().values("id", "started_on")
            if analytics.tenure_band(c["started_on"], filters.end) == filters.tenure_band]


def followup_view(run: Runner, filters: Filters, *, show: str, sort: str, search: str | None, page: int,
                  segment: str, page_size: int = CASES_PER_PAGE) -> dict[str, Any]:
    """One page of the follow-up cases answered in the period with their total ("cases"),
    time to act per segment against RAPPORT_FOLLOWUP_TARGET_HOURS ("timing") and the
    users a case can be assigned to ("assignees"), in one hop to the loop."""

    async def read() -> dict[str, Any]:
        ids = await _tenure_ids(filters)
        cases = await followup.find_cases(
            start=filters.start, end=filters.end, show=show, sort=sort, search=search, region=filters.region,
            service_type=filters.service_type, contractor_ids=ids, page=page, page_size=page_size)
        timing = await followup.timing_by_segment(
            segment=segment, target_hours=settings.followup_target_hours, start=filters.start, end=filters.end,
            region=filters.region, service_type=filters.service_type, contractor_ids=ids)
        users = await User.filter(disabled_at__isnull=True).order_by("username").values_list("username", flat=True)
        return {"cases": cases, "timing": timing, "assignees": list(users)}

    return run(read())  # type: ignore[no-any-return]


def followup_case(run: Runner, *, case_id: int) -> followup.Case:
    return run(followup.get_case(case_id=case_id))  # type: ignore[no-any-return]


def change_followup(run: Runner, *, case_id: int, change: followup.CaseChange, by: str) -> followup.Case:
    """Apply one change to a case as the signed-in user (CaseError / CaseNotFound if it cannot be made)."""
    return run(followup.change_case(case_id=case_id, change=change, by=by))  # type: ignore[no-any-return]


def alert_count(run: Runner, *, username: str) -> int:
    """The user's alerts not yet seen (the header's count)."""
    return run(alerts.unseen_count(username=username))  # type: ignore[no-any-return]


def alerts_view(run: Runner, *, username: str) -> dict[str, Any]:
    """The user's newest alerts ("alerts"), subscriptions ("subscriptions") and the regions to choose from."""

    async def read() -> dict[str, Any]:
        return {"alerts": await alerts.alerts_for(username=username),
                "subscriptions": await alerts.subscriptions_for(username=username),
                "regions": (await analytics.filter_options()).get("regions", [])}

    return run(read())  # type: ignore[no-any-return]


def subscribe_alert(run: Runner, *, username: str, kind: str, regions: list[str] | None, group_by: str | None,
                    threshold: float | None) -> Any:
    """Subscribe the user (AlertError says what is missing)."""
    return run(alerts.subscribe(username=username, kind=kind, regions=regions, group_by=group_by,
                                threshold=threshold))


def unsubscribe_alert(run: Runner, *, username: str, subscription_id: int) -> bool:
    return run(alerts.unsubscribe(username=username, subscription_id=subscription_id))  # type: ignore[no-any-return]


def mark_alerts_seen(run: Runner, *, username: str) -> int:
    return run(alerts.mark_seen(username=username))  # type: ignore[no-any-return]


def webhook_deliveries(run: Runner, *, failed_limit: int = 50) -> tuple[list[webhooks.Endpoint],
                                                                          list[webhooks.Delivery]]:
    """Every endpoint with its events counted by status, and the newest failed deliveries."""
    async def both() -> tuple[list[webhooks.Endpoint], list[webhooks.Delivery]]:
        return await webhooks.list_endpoints(), await webhooks.deliveries(status="failed", limit=failed_limit)

    return run(both())  # type: ignore[no-any-return]  # the runner returns what the coroutine returns
