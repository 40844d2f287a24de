"""Changes and gaps beyond noise, read off the reports' own intervals.

The reports carry each figure's 95 % interval as a dict (`KEY_ci`, from
`surveys.uncertainty.Interval.as_dict`); these functions put two reports side
by side and test the difference with `surveys.uncertainty` (the formulas live
there): a period against the one it is compared with (the Overview, the
printable report, the weekly digest) and a segment against the whole it
belongs to (Segments). Pure: report dicts in, `Change` dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from surveys import uncertainty

__all__ = ["interval_of", "period_changes", "segment_gaps"]


def interval_of(ci: Mapping[str, Any] | None) -> uncertainty.Interval | None:
    """The interval a report gives as a dict, back as a `surveys.uncertainty.Interval`."""
    if not ci:
        return None
    return uncertainty.Interval(ci["estimate"], ci["low"], ci["high"], ci["se"], ci["method"], ci.get("n", 0))


def period_changes(index: Mapping[str, Any], index_before: Mapping[str, Any], customer: Mapping[str, Any],
                   customer_before: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Each headline's change against the previous period, tested (surveys.uncertainty.change):
    the CEI by its bootstrap errors, CSAT % and response rates by the z test on two
    proportions, NPS by its z test, CES by Welch's t. Customer figures compare complete
    weeks only (`customer_report(...)["complete"]`); pulse figures come from closed waves only."""
    def tested(now: Any, before: Any) -> dict[str, Any] | None:
        a, b = interval_of(now), interval_of(before)
        found = uncertainty.change(a, b) if a and b else None
        return found.as_dict() if found else None

    pulse_rate = None
    if index.get("n_invited") and index_before.get("n_invited") and not index.get("suppressed") \
            and not index_before.get("suppressed"):
        found = uncertainty.proportion_change(index["n_answered"], index["n_invited"],
                                              index_before["n_answered"], index_before["n_invited"])
        pulse_rate = found.as_dict() if found else None
    return {
        "cei": None if index.get("suppressed") or index_before.get("suppressed")
        else tested(index.get("cei_ci"), index_before.get("cei_ci")),
        "csat_pct": tested(customer.get("csat_pct_ci"), customer_before.get("csat_pct_ci")),
        "nps": tested(customer.get("nps_ci"), customer_before.get("nps_ci")),
        "ces_mean": tested(customer.get("ces_mean_ci"), customer_before.get("ces_mean_ci")),
        "response_rate": tested(customer.get("response_rate_ci"), customer_before.get("response_rate_ci")),
        "pulse_response_rate": pulse_rate,
    }


def segment_gaps(index: Mapping[str, Any], customer: Mapping[str, Any]) -> dict[Any, dict[str, dict[str, Any]]]:
    """Each shown group's gap from the company figure, tested (surveys.uncertainty.subgroup_gap:
    a z test of the group against the whole it belongs to), per measure: the CEI and each
    dimension score (bootstrap errors), the pulse response rate (Wilson, from its two counts),
    CSAT % and the customer response rate (Wilson), NPS. A measure is left out where there is
    nothing to test: a hidden group or figure, a missing interval, a group that is the whole."""
    def gap(group_ci: Mapping[str, Any] | None, whole_ci: Mapping[str, Any] | None) -> dict[str, Any] | None:
        a, b = interval_of(group_ci), interval_of(whole_ci)
        found = uncertainty.subgroup_gap(a, b) if a and b else None
        return found.as_dict() if found else None

    def rate(row: Mapping[str, Any]) -> dict[str, Any] | None:
        if row.get("suppressed") or not row.get("n_invited"):
            return None
        found = uncertainty.wilson_interval(row.get("n_answered") or 0, row["n_invited"])
        return found.as_dict() if found else None

    overall = index.get("overall") or {}
    whole_dims = overall.get("dimensions") or {}
    customer_whole = customer.get("overall") or {}
    customer_groups = {row["group"]: row for row in customer.get("groups", [])}
    gaps: dict[Any, dict[str, dict[str, Any]]] = {}
    for row in index.get("groups", []):
        found: dict[str, dict[str, Any] | None] = {}
        if not row.get("suppressed") and not overall.get("suppressed"):
            found["cei"] = gap(row.get("cei_ci"), overall.get("cei_ci"))
            for key, dim in (row.get("dimensions") or {}).items():
                found[key] = gap(dim.get("score_ci"), (whole_dims.get(key) or {}).get("score_ci"))
            found["pulse_response_rate"] = gap(rate(row), rate(overall))
        c = customer_groups.get(row["group"], {})
        for key in ("csat_pct", "nps", "response_rate"):
            found[key] = gap(c.get(f"{key}_ci"), customer_whole.get(f"{key}_ci"))
        gaps[row["group"]] = {k: v for k, v in found.items() if v is not None}
    return gaps
