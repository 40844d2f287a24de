"""Margins of error: Wilson, NPS and t intervals, and the Interval and Change they give."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats as _scipy_stats

from surveys.stats import StatisticsError, variance_from_sums

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
    "Change",
    "Interval",
    "mean_interval",
    "nps_interval",
    "wilson_interval",
]

BOOTSTRAP_REPLICATES = 1000
BOOTSTRAP_SEED = 20_261_123  # fixed: the same data gives the same interval on every reload

METHOD_WILSON = "Wilson score interval"
METHOD_NPS = "normal interval, variance of the promoter (+1) / passive (0) / detractor (−1) indicator"
METHOD_T = "Student's t interval of the mean"
METHOD_BOOTSTRAP = "percentile bootstrap over contractors"
TEST_PROPORTIONS = "two-sample z test on the difference of proportions"
TEST_NPS = "two-sample z test on the difference of NPS"
TEST_WELCH = "Welch's t test"
TEST_ESTIMATES = "z test on the difference, bootstrap standard errors"
TEST_SUBGROUP = "z test of the group against the whole it belongs to"


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(f"confidence must be strictly between 0 and 1, not {confidence}")
    return float(_scipy_stats.norm.ppf((1.0 + confidence) / 2.0))


def _counts(n: int, *parts: int) -> None:
    if n < 0 or any(p < 0 for p in parts) or sum(parts) > n:
        raise StatisticsError(f"counts {parts} do not fit in n = {n}")


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval [low, high] and standard error.

    ``margin`` is the half-width, the "± x" shown beside a figure (Wilson and
    bootstrap intervals are not quite symmetric: the half-width is the mean
    of the two sides).
    """

    estimate: float
    low: float
    high: float
    se: float
    method: str
    n: int = 0  # the units behind it: answers, or contractors for a bootstrap

    @property
    def margin(self) -> float:
        return (self.high - self.low) / 2.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "margin": self.margin}


@dataclass(frozen=True)
class Change:
    """A difference (current − previous, or group − whole) with its interval,
    two-sided p-value and whether it is beyond noise (``clear``: the interval
    excludes 0, the same as p < 1 − confidence)."""

    difference: float
    low: float
    high: float
    p_value: float
    test: str

    @property
    def clear(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clear": self.clear}


def _change(difference: float, se: float, test: str, confidence: float, df: float | None = None) -> Change | None:
    if not se > 0.0 or not math.isfinite(se):
        return None
    if df is None:
        crit = _z(confidence)
        p = 2.0 * float(_scipy_stats.norm.sf(abs(difference) / se))
    else:
        _z(confidence)
        crit = float(_scipy_stats.t.ppf((1.0 + confidence) / 2.0, df))
        p = 2.0 * float(_scipy_stats.t.sf(abs(difference) / se, df))
    return Change(difference, difference - crit * se, difference + crit * se, min(1.0, p), test)


# -- intervals ----------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Interval | None:
    """A proportion in percent with the Wilson (1927) score interval.

    centre = (p̂ + z²/2n) / (1 + z²/n), half = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²);
    ``se`` is the plain √(p̂(1 − p̂)/n), in points. Good near 0 % and 100 %
    where the normal (Wald) interval is not (Brown, Cai & DasGupta 2001).
    ``None`` when n = 0.

    >>> ci = wilson_interval(10, 10)
    >>> ci.estimate, round(ci.low, 1), round(ci.high, 1)
    (100.0, 72.2, 100.0)
    """
    _counts(n, successes)
    if n == 0:
        return None
    z = _z(confidence)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(100 * p, 100 * max(0.0, centre - half), 100 * min(1.0, centre + half),
                    100 * math.sqrt(p * (1 - p) / n), METHOD_WILSON, n)


def _nps_parts(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """NPS on −100…100 and its standard error: the mean of an indicator that is
    +1 for a promoter, −1 for a detractor and 0 otherwise has variance
    p₊ + p₋ − (p₊ − p₋)²."""
    plus, minus = promoters / n, detractors / n
    variance = plus + minus - (plus - minus) ** 2
    return 100 * (plus - minus), 100 * math.sqrt(max(variance, 0.0) / n)


def nps_interval(promoters: int, detractors: int, n: int, *, confidence: float = 0.95) -> Interval | None:
    """NPS with its normal interval: NPS ± z · 100 · √((p₊ + p₋ − (p₊ − p₋)²) / n),
    clipped to [−100, 100]. ``None`` when n < 2 or every answer is in one class
    (no spread to estimate the error from).

    >>> ci = nps_interval(50, 20, 100)
    >>> ci.estimate, round(ci.margin, 1)
    (30.0, 15.3)
    """
    _counts(n, promoters, detractors)
    if n < 2:
        return None
    estimate, se = _nps_parts(promoters, detractors, n)
    if se == 0.0:
        return None
    half = _z(confidence) * se
    return Interval(estimate, max(-100.0, estimate - half), min(100.0, estimate + half), se, METHOD_NPS, n)


def mean_interval(n: int, total: float, squares: float, *, confidence: float = 0.95) -> Interval | None:
    """A mean from its count, sum and sum of squares, with Student's (1908) t
    interval: x̄ ± t₍n−1₎ · s/√n. ``None`` when n < 2 or the answers do not vary.

    >>> ci = mean_interval(4, 20, 104)  # 4, 5, 5, 6
    >>> ci.estimate, round(ci.low, 2), round(ci.high, 2)
    (5.0, 3.16, 6.84)
    """
    if n < 2:
        return None
    variance = variance_from_sums(n, total, squares)
    if variance is None or not variance > 0.0:
        return None
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(f"confidence must be strictly between 0 and 1, not {confidence}")
    se = math.sqrt(variance / n)
    half = float(_scipy_stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * se
    mean = total / n
    return Interval(mean, mean - half, mean + half, se, METHOD_T, n)


# -- changes and gaps ---------------------------------------------------------------------
