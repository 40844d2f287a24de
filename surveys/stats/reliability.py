"""Reliability of a scale: Cronbach's alpha (from items or from sums) and the
Spearman-Brown step-up (Brown 1910; Spearman 1910)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from surveys.stats.columns import (
    StatisticsError,
    check_r,
)

__all__ = [
    "Reliability",
    "cronbach_alpha",
    "cronbach_alpha_from_variances",
    "reliability_from_sums",
    "spearman_brown",
    "variance_from_sums",
]


def cronbach_alpha(items: Sequence[Sequence[float | None]]) -> float | None:
    """Cronbach's (1951) alpha of a scale; rows are respondents, columns items.

    α = k/(k − 1) · (1 − Σ var(itemᵢ) / var(total)), sample variances, after
    dropping every row with a missing (``None``) answer.  ``None`` when there
    are fewer than 2 items, fewer than 2 complete rows, or the totals do not
    vary.

    >>> round(cronbach_alpha([[1, 2], [2, 3], [3, 3], [4, 5], [5, None]]), 4)
    0.96
    """
    rows = [list(row) for row in items]
    if not rows:
        return None
    k = len(rows[0])
    if any(len(row) != k for row in rows):
        raise StatisticsError("every row must answer the same number of items")
    complete = [row for row in rows if all(value is not None for value in row)]
    if k < 2 or len(complete) < 2:
        return None
    table = np.array(complete, dtype=float)
    if not np.all(np.isfinite(table)):
        raise StatisticsError("items must contain only finite numbers or None")
    item_variances = table.var(axis=0, ddof=1)
    total_variance = float(table.sum(axis=1).var(ddof=1))
    return cronbach_alpha_from_variances(item_variances.tolist(), total_variance)


def cronbach_alpha_from_variances(
    item_variances: Sequence[float], total_variance: float
) -> float | None:
    """Cronbach's (1951) alpha from item variances and the variance of totals.

    α = k/(k − 1) · (1 − Σ var(itemᵢ) / var(total)).  ``None`` when there are
    fewer than 2 items or ``total_variance`` <= 0.

    >>> cronbach_alpha_from_variances([1.0, 1.0], 3.0)
    0.6666666666666667
    """
    if any(not v >= 0.0 for v in item_variances):  # also rejects NaN
        raise StatisticsError("item variances must be >= 0")
    k = len(item_variances)
    if k < 2 or not total_variance > 0.0:
        return None
    return k / (k - 1) * (1.0 - math.fsum(item_variances) / total_variance)


def variance_from_sums(n: int, total: float, squares: float) -> float | None:
    """Sample variance (n − 1 in the denominator) from a count, a sum and a sum
    of squares; exact for integers. ``None`` when n < 2.

    >>> variance_from_sums(3, 6, 14)  # 1, 2, 3
    1.0
    """
    if n < 2:
        return None
    return (squares * n - total * total) / (n * (n - 1))


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha of a scale and, for two items, Spearman-Brown;
    ``reliability`` is the one to read (Spearman-Brown for two items)."""

    alpha: float | None
    spearman_brown: float | None
    reliability: float | None
    n_complete: int


def reliability_from_sums(items: Sequence[tuple[int, float, float]],
                          total: tuple[int, float, float] | None) -> Reliability:
    """Reliability from per-item (n, sum, sum of squares) and the same for the
    item totals, every term over the same complete responses.

    α = k/(k − 1) · (1 − Σ var(itemᵢ) / var(total)) (Cronbach 1951); for two
    items also 2r / (1 + r) with r = cov / √(var₁ var₂) and
    cov = (var(total) − var₁ − var₂) / 2 (Spearman 1910; Brown 1910).

    >>> reliability_from_sums([(3, 6, 14), (3, 7, 17)], (3, 13, 61)).alpha  # rows 1,2 / 2,2 / 3,3
    0.8571428571428572
    """
    n_complete = total[0] if total else 0
    none = Reliability(None, None, None, n_complete)
    k = len(items)
    if total is None or k < 2:
        return none
    variances = [variance_from_sums(*item) for item in items]
    total_variance = variance_from_sums(*total)
    if total_variance is None or any(v is None for v in variances):
        return none
    alpha = cronbach_alpha_from_variances(variances, total_variance)  # type: ignore[arg-type]  # no None: checked
    if k != 2:
        return Reliability(alpha, None, alpha, n_complete)
    v1, v2 = variances
    if not (v1 and v2):  # an item that does not vary: no correlation
        return Reliability(alpha, None, None, n_complete)
    r = max(-1.0, min(1.0, (total_variance - v1 - v2) / 2.0 / math.sqrt(v1 * v2)))
    brown = spearman_brown(r)
    return Reliability(alpha, brown, brown, n_complete)


def spearman_brown(r: float) -> float | None:
    """Reliability of a two-item scale from the inter-item correlation.

    2r / (1 + r) (Spearman 1910; Brown 1910).  ``None`` when r = −1.

    >>> spearman_brown(0.5)
    0.6666666666666666
    """
    check_r(r)
    if r == -1.0:
        return None
    return 2.0 * r / (1.0 + r)
