"""Tests of change: whether a difference between periods or a gap between a group and
the whole is beyond noise."""

from __future__ import annotations

import math

from surveys.stats import variance_from_sums
from surveys.uncertainty.intervals import (
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
    _change,
    _counts,
    _nps_parts,
)

__all__ = [
    "change",
    "estimate_change",
    "mean_change",
    "nps_change",
    "proportion_change",
    "subgroup_gap",
]

def proportion_change(x1: int, n1: int, x0: int, n0: int, *, confidence: float = 0.95) -> Change | None:
    """Change of a percentage from (x0 of n0) to (x1 of n1), in points: two-sample
    z test with the unpooled standard error √(p₁(1 − p₁)/n₁ + p₀(1 − p₀)/n₀),
    so that the interval and the test agree. ``None`` when either n is 0 or
    both proportions are 0 % or 100 %.

    >>> c = proportion_change(60, 100, 40, 100)
    >>> round(c.difference, 1), c.clear
    (20.0, True)
    """
    _counts(n1, x1)
    _counts(n0, x0)
    if n1 == 0 or n0 == 0:
        return None
    p1, p0 = x1 / n1, x0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return _change(100 * (p1 - p0), 100 * se, TEST_PROPORTIONS, confidence)


def nps_change(current: tuple[int, int, int], previous: tuple[int, int, int], *,
               confidence: float = 0.95) -> Change | None:
    """Change of NPS between two independent samples, each (promoters,
    detractors, n): z test on the difference with SE = √(SE₁² + SE₀²), each
    from the indicator variance (see `nps_interval`). ``None`` without spread.

    >>> c = nps_change((50, 20, 100), (50, 20, 100))
    >>> c.difference, c.clear
    (0.0, False)
    """
    for promoters, detractors, n in (current, previous):
        _counts(n, promoters, detractors)
        if n < 2:
            return None
    e1, s1 = _nps_parts(*current)
    e0, s0 = _nps_parts(*previous)
    return _change(e1 - e0, math.sqrt(s1 * s1 + s0 * s0), TEST_NPS, confidence)


def mean_change(current: tuple[int, float, float], previous: tuple[int, float, float], *,
                confidence: float = 0.95) -> Change | None:
    """Change of a mean between two independent samples, each (n, sum, sum of
    squares): Welch's (1947) t test, Welch–Satterthwaite degrees of freedom.
    ``None`` when either sample has fewer than two answers or neither varies.

    >>> c = mean_change((4, 20, 104), (4, 12, 40))  # 4 5 5 6 against 2 3 3 4
    >>> c.difference, c.clear
    (2.0, True)
    """
    (n1, t1, q1), (n0, t0, q0) = current, previous
    if n1 < 2 or n0 < 2:
        return None
    v1, v0 = variance_from_sums(n1, t1, q1) or 0.0, variance_from_sums(n0, t0, q0) or 0.0
    a, b = max(v1, 0.0) / n1, max(v0, 0.0) / n0
    if not a + b > 0.0:
        return None
    df = (a + b) ** 2 / ((a * a / (n1 - 1) if a else 0.0) + (b * b / (n0 - 1) if b else 0.0))
    return _change(t1 / n1 - t0 / n0, math.sqrt(a + b), TEST_WELCH, confidence, df=df)


def estimate_change(current: Interval, previous: Interval, *, confidence: float = 0.95) -> Change | None:
    """Change between two estimates from independent samples, from their own
    standard errors: z = (θ₁ − θ₀) / √(SE₁² + SE₀²). For the CEI the SEs are the
    bootstrap ones; contractors who answered in both periods make the two
    correlated, and a positive correlation makes this test conservative.

    >>> a, b = Interval(60.0, 58.0, 62.0, 1.0, "x"), Interval(55.0, 53.0, 57.0, 1.0, "x")
    >>> estimate_change(a, b).clear
    True
    """
    se = math.sqrt(current.se ** 2 + previous.se ** 2)
    return _change(current.estimate - previous.estimate, se, TEST_ESTIMATES, confidence)


def change(current: Interval, previous: Interval, *, confidence: float = 0.95) -> Change | None:
    """The test of a change between two periods for intervals of any kind
    above: Welch's t test for means (t intervals; SEs and n give the
    Welch–Satterthwaite degrees of freedom), else the z test on the difference
    (`estimate_change`), which for Wilson and NPS intervals is the same as
    `proportion_change` and `nps_change`.

    >>> from surveys.uncertainty import mean_interval
    >>> a, b = mean_interval(4, 20, 104), mean_interval(4, 12, 40)
    >>> change(a, b) == mean_change((4, 20, 104), (4, 12, 40))
    True
    """
    if current.method == METHOD_T and previous.method == METHOD_T and current.n > 1 and previous.n > 1:
        a, b = current.se ** 2, previous.se ** 2
        df = (a + b) ** 2 / (a * a / (current.n - 1) + b * b / (previous.n - 1))
        return _change(current.estimate - previous.estimate, math.sqrt(a + b), TEST_WELCH, confidence, df=df)
    found = estimate_change(current, previous, confidence=confidence)
    if found is None:
        return None
    test = {METHOD_WILSON: TEST_PROPORTIONS, METHOD_NPS: TEST_NPS}.get(current.method, found.test)
    return Change(found.difference, found.low, found.high, found.p_value, test)


def subgroup_gap(group: Interval, whole: Interval, *, confidence: float = 0.95) -> Change | None:
    """Gap between a group and the whole it is part of (a segment against the
    company). The whole contains the group, so the two are correlated: with
    the whole's mean over N and the group's over n of the same kind of units,
    cov(group, whole) = var(whole), hence var(group − whole) = SE_g² − SE_w².
    When that is not positive (the group is nearly all of the whole) the gap
    is not tested: ``None``.

    >>> g, w = Interval(50.0, 46.0, 54.0, 2.0, "x"), Interval(56.0, 55.0, 57.0, 0.5, "x")
    >>> gap = subgroup_gap(g, w)
    >>> gap.difference, gap.clear
    (-6.0, True)
    """
    variance = group.se ** 2 - whole.se ** 2
    if not variance > 0.0:
        return None
    return _change(group.estimate - whole.estimate, math.sqrt(variance), TEST_SUBGROUP, confidence)


# -- bootstrap ----------------------------------------------------------------------------
