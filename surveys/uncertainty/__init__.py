"""Margins of error and tests of change: how sure a number is, and whether a
difference is beyond noise.

Pure functions over counts and sums (the analytics aggregate in SQL and pass
the sums here), numbers in and numbers out, no I/O. Every interval is 95 %
unless asked otherwise; every method is named in its docstring and in
docs/metrics.md, "Margins of error". ``None`` means "not enough data for an
interval" (fewer than two answers, or no spread to estimate); caller bugs
raise :class:`surveys.stats.StatisticsError`.

>>> ci = wilson_interval(80, 100)
>>> round(ci.low, 1), round(ci.high, 1)
(71.1, 86.7)
>>> change = proportion_change(80, 100, 70, 100)
>>> change.clear, round(change.p_value, 3)
(False, 0.1)
"""

from __future__ import annotations

from surveys.uncertainty.bootstrap import CeiBootstrap, DriverBootstrap, bootstrap_cei, bootstrap_drivers
from surveys.uncertainty.changes import (
    change,
    estimate_change,
    mean_change,
    nps_change,
    proportion_change,
    subgroup_gap,
)
from surveys.uncertainty.intervals import (
    BOOTSTRAP_REPLICATES,
    BOOTSTRAP_SEED,
    METHOD_BOOTSTRAP,
    METHOD_NPS,
    METHOD_T,
    METHOD_WILSON,
    TEST_ESTIMATES,
    TEST_NPS,
    TEST_PROPORTIONS,
    TEST_SUBGROUP,
    TEST_WELCH,
    Change,
    Interval,
    mean_interval,
    nps_interval,
    wilson_interval,
)

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "METHOD_BOOTSTRAP",
    "METHOD_NPS",
    "METHOD_T",
    "METHOD_WILSON",
    "TEST_ESTIMATES",
    "TEST_NPS",
    "TEST_PROPORTIONS",
    "TEST_SUBGROUP",
    "TEST_WELCH",
    "CeiBootstrap",
    "Change",
    "DriverBootstrap",
    "Interval",
    "bootstrap_cei",
    "bootstrap_drivers",
    "change",
    "estimate_change",
    "mean_change",
    "mean_interval",
    "nps_change",
    "nps_interval",
    "proportion_change",
    "subgroup_gap",
    "wilson_interval",
]
