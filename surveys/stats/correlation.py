"""Correlation: Pearson r, Spearman rho, the Fisher z interval, p-values,
the Benjamini-Hochberg adjustment and the power to detect a correlation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _scipy_stats

from surveys.stats.columns import (
    StatisticsError,
    as_pair,
    check_probability,
    check_r,
    is_constant,
    settled,
)

__all__ = [
    "Correlation",
    "benjamini_hochberg",
    "correlate",
    "correlation_p_value",
    "fisher_interval",
    "min_sample_size",
    "pearson",
    "pearson_arrays",
    "power_for",
    "spearman",
]


@dataclass(frozen=True)
class Correlation:
    """Pearson r with its Fisher z interval and p-value, plus Spearman's rho.

    ``ci_low``/``ci_high`` and ``p_value`` account for ``k`` partialled-out
    covariates (0 for a plain correlation).  ``rho`` is ``None`` for partial
    correlations.
    """

    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    rho: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-ready dict with the same keys."""
        return asdict(self)


def pearson_arrays(xs: np.ndarray, ys: np.ndarray) -> float | None:
    if len(xs) < 2 or is_constant(xs) or is_constant(ys):
        return None
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0.0 or syy <= 0.0:  # underflow on tiny spreads
        return None
    denominator = math.sqrt(sxx * syy)
    if not 0.0 < denominator < math.inf:  # the product under- or overflowed
        denominator = math.sqrt(sxx) * math.sqrt(syy)
    r = float(dx @ dy) / denominator
    return max(-1.0, min(1.0, r))


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's product-moment correlation coefficient (Pearson 1895).

    r = Σ(x − x̄)(y − ȳ) / √(Σ(x − x̄)² · Σ(y − ȳ)²).  ``None`` when there are
    fewer than two pairs or either variable is constant.

    >>> pearson([1, 2, 3, 4], [2, 4, 6, 8])
    1.0
    >>> round(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 4)
    0.7746
    >>> pearson([1, 2, 3], [5, 5, 5]) is None
    True
    """
    return pearson_arrays(*as_pair(x, y))


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float | None:
    """Spearman's rank correlation (Spearman 1904): Pearson r of the ranks.

    Ties get the average of the ranks they span.  Values are `settle`d
    (9 significant digits) before ranking, so that means equal in exact
    arithmetic but a few bits apart after a database's floating-point
    averaging (SQLite and PostgreSQL sum in different orders) rank as the tie
    they are.  ``None`` under the same conditions as :func:`pearson`.

    >>> spearman([1, 2, 3, 4], [1, 4, 9, 16])
    1.0
    >>> round(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4)
    0.9487
    >>> spearman([0.1 + 0.2, 0.3, 1.0], [1, 2, 3]) == spearman([0.3, 0.3, 1.0], [1, 2, 3])
    True
    """
    xs, ys = as_pair(x, y)
    if len(xs) < 2:
        return None
    return pearson_arrays(
        _scipy_stats.rankdata(settled(xs), method="average"),
        _scipy_stats.rankdata(settled(ys), method="average"),
    )


def fisher_interval(
    r: float, n: int, *, confidence: float = 0.95, covariates: int = 0
) -> tuple[float, float] | None:
    """Confidence interval for a correlation; Fisher z interval (Fisher 1915).

    tanh(atanh(r) ± z₁₋α/₂ / √(n − 3 − k)) where k is the number of
    covariates partialled out.  ``None`` when n − 3 − k < 1; a perfect
    correlation r = ±1 gives the degenerate interval (r, r).

    >>> low, high = fisher_interval(0.5, 28)
    >>> round(low, 4), round(high, 4)
    (0.156, 0.7358)
    >>> fisher_interval(0.5, 3) is None
    True
    """
    check_r(r)
    check_probability(confidence, "confidence")
    if covariates < 0:
        raise StatisticsError("covariates must be >= 0")
    df = n - 3 - covariates
    if df < 1:
        return None
    if abs(r) == 1.0:
        return (float(r), float(r))
    z = float(_scipy_stats.norm.ppf((1.0 + confidence) / 2.0))
    centre, half = math.atanh(r), z / math.sqrt(df)
    return (math.tanh(centre - half), math.tanh(centre + half))


def correlation_p_value(r: float, n: int, *, covariates: int = 0) -> float | None:
    """Two-sided p-value of H0: ρ = 0, by Student's t (Student 1908; Fisher 1915).

    t = r · √(df / (1 − r²)) with df = n − 2 − k.  ``None`` when df < 1;
    0.0 when |r| = 1.

    >>> round(correlation_p_value(0.5, 30), 4)
    0.0049
    >>> correlation_p_value(0.5, 2) is None
    True
    """
    check_r(r)
    if covariates < 0:
        raise StatisticsError("covariates must be >= 0")
    df = n - 2 - covariates
    if df < 1:
        return None
    if abs(r) == 1.0:
        return 0.0
    t = abs(r) * math.sqrt(df / (1.0 - r * r))
    return min(1.0, float(2.0 * _scipy_stats.t.sf(t, df)))


def correlate(
    x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95
) -> Correlation:
    """Pearson r, its Fisher z interval and t-test p-value, and Spearman's rho.

    >>> c = correlate([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    >>> round(c.r, 4), round(c.p_value, 4), round(c.rho, 4)
    (0.7746, 0.124, 0.7379)
    >>> (c.ci_low, c.ci_high) == fisher_interval(c.r, 5)
    True
    """
    check_probability(confidence, "confidence")
    xs, ys = as_pair(x, y)
    n = len(xs)
    r = pearson_arrays(xs, ys)
    if r is None:
        return Correlation(n=n, r=None, ci_low=None, ci_high=None, p_value=None, rho=None)
    interval = fisher_interval(r, n, confidence=confidence)
    return Correlation(
        n=n,
        r=r,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        p_value=correlation_p_value(r, n),
        rho=spearman(xs, ys),
    )


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini–Hochberg (1995) step-up adjusted p-values (false discovery rate).

    p̃₍ᵢ₎ = min over j ≥ i of m·p₍ⱼ₎ / j, capped at 1, returned in input order.
    ``None`` entries pass through unchanged and are not counted in m.

    >>> benjamini_hochberg([0.01, None, 0.04, 0.03])
    [0.03, None, 0.04, 0.04]
    """
    present = [(index, p) for index, p in enumerate(p_values) if p is not None]
    for _, p in present:
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise StatisticsError(f"p-values must lie in [0, 1], not {p}")
    adjusted: list[float | None] = list(p_values)
    m = len(present)
    if m == 0:
        return adjusted
    ps = np.array([p for _, p in present], dtype=float)
    order = np.argsort(ps, kind="stable")
    scaled = ps[order] * m / np.arange(1, m + 1)
    stepped = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    for position, value in zip(order, stepped, strict=True):
        adjusted[present[position][0]] = float(value)
    return adjusted


def min_sample_size(r: float, *, power: float = 0.8, alpha: float = 0.05) -> int:
    """Sample size to detect a correlation r (two-sided), Fisher z approximation.

    n = ⌈((z₁₋α/₂ + z_power) / atanh|r|)² + 3⌉ (Fisher 1915; Cohen 1988).
    r must satisfy 0 < |r| < 1.

    >>> min_sample_size(0.3), min_sample_size(0.2)
    (85, 194)
    """
    if not 0.0 < abs(r) < 1.0:
        raise StatisticsError(f"r must satisfy 0 < |r| < 1, not {r}")
    check_probability(power, "power")
    check_probability(alpha, "alpha")
    z_alpha = float(_scipy_stats.norm.ppf(1.0 - alpha / 2.0))
    z_power = float(_scipy_stats.norm.ppf(power))
    return math.ceil(((z_alpha + z_power) / math.atanh(abs(r))) ** 2 + 3.0)


def power_for(r: float, n: int, *, alpha: float = 0.05) -> float | None:
    """Approximate power of the two-sided test of ρ = 0 when the truth is r.

    With δ = atanh|r| · √(n − 3): power = Φ(δ − z₁₋α/₂) + Φ(−δ − z₁₋α/₂)
    (Fisher z approximation, both tails; so power_for(0, n) = α).
    ``None`` when n <= 3.

    >>> round(power_for(0.3, 85), 3)
    0.8
    """
    check_r(r)
    check_probability(alpha, "alpha")
    if n <= 3:
        return None
    if abs(r) == 1.0:
        return 1.0
    z_alpha = float(_scipy_stats.norm.ppf(1.0 - alpha / 2.0))
    delta = math.atanh(abs(r)) * math.sqrt(n - 3)
    norm = _scipy_stats.norm
    return float(norm.cdf(delta - z_alpha) + norm.cdf(-delta - z_alpha))
