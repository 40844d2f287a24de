"""Drivers: a least-squares line and Johnson's relative weights (Johnson 2000),
which split R² among correlated predictors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from surveys.stats.columns import (
    StatisticsError,
    as_column,
    as_pair,
    is_constant,
)

__all__ = [
    "RelativeWeights",
    "linear_fit",
    "relative_weights",
]


@dataclass(frozen=True)
class RelativeWeights:
    """Johnson's (2000) decomposition of R² into one weight per predictor.

    ``weights`` sum to ``r_squared``; ``shares`` are the weights as percent of
    the explained variance (all 0 when ``r_squared`` is 0).
    """

    r_squared: float
    weights: dict[str, float]
    shares: dict[str, float]
    n: int


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float] | None:
    """Simple least-squares line y ≈ slope·x + intercept (Legendre 1805).

    slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², intercept = ȳ − slope·x̄.
    ``None`` when n < 2 or x is constant.

    >>> linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    (2.0, 1.0)
    """
    xs, ys = as_pair(x, y)
    if len(xs) < 2 or is_constant(xs):
        return None
    dx = xs - xs.mean()
    sxx = float(dx @ dx)
    if sxx <= 0.0:
        return None
    slope = float(dx @ (ys - ys.mean())) / sxx
    return (slope, float(ys.mean()) - slope * float(xs.mean()))


def relative_weights(
    predictors: Mapping[str, Sequence[float]], y: Sequence[float]
) -> RelativeWeights | None:
    """Relative weights of correlated predictors (Johnson 2000).

    With R = Q Λ Qᵀ the predictors' correlation matrix and r_xy their
    correlations with y: Λ* = Q Λ^½ Qᵀ, β = Λ*⁻¹ r_xy, and the weight of
    predictor j is Σₖ Λ*ⱼₖ² βₖ².  The weights are non-negative and sum to the
    R² of the OLS regression of y on all predictors.  Constant predictors get
    weight 0; exactly collinear ones share their weight (pseudo-inverse).
    ``None`` when n <= number of predictors + 1 or y is constant.

    >>> rw = relative_weights({"a": [1, 2, 3, 4, 5, 6], "b": [1, 0, 1, 0, 1, 0]},
    ...                       [1, 2, 4, 3, 6, 5])
    >>> round(rw.r_squared, 4), round(rw.weights["a"], 4), round(rw.shares["a"], 1)
    (0.9238, 0.8494, 91.9)
    """
    ys = as_column(y, "y")
    n = len(ys)
    names = list(predictors)
    columns = {name: as_column(predictors[name], name) for name in names}
    for name, column in columns.items():
        if len(column) != n:
            raise StatisticsError(
                f"predictor {name!r} has length {len(column)}, expected {n}"
            )
    if n <= len(names) + 1 or is_constant(ys):
        return None

    def standardised(column: np.ndarray) -> np.ndarray | None:
        centred = column - column.mean()
        norm = float(np.linalg.norm(centred))
        return None if is_constant(column) or norm == 0.0 else centred / norm

    y_std = standardised(ys)
    if y_std is None:
        return None
    standardised_columns = {name: standardised(column) for name, column in columns.items()}
    usable = {name: column for name, column in standardised_columns.items() if column is not None}
    kept = [name for name in names if name in usable]
    weights = dict.fromkeys(names, 0.0)
    if kept:
        x_std = np.column_stack([usable[name] for name in kept])
        correlations = x_std.T @ x_std
        r_xy = x_std.T @ y_std
        eigenvalues, eigenvectors = np.linalg.eigh(correlations)
        tolerance = max(float(eigenvalues.max()), 1.0) * len(kept) * np.finfo(float).eps
        positive = eigenvalues > tolerance
        root = np.sqrt(np.where(positive, eigenvalues, 0.0))
        inverse_root = np.zeros_like(root)
        inverse_root[positive] = 1.0 / root[positive]
        lambda_star = eigenvectors @ np.diag(root) @ eigenvectors.T
        beta = eigenvectors @ np.diag(inverse_root) @ eigenvectors.T @ r_xy
        raw = (lambda_star**2) @ (beta**2)
        for name, value in zip(kept, raw, strict=True):
            weights[name] = float(value)
    r_squared = min(1.0, sum(weights.values()))
    if r_squared > 0.0:
        shares = {name: value / r_squared * 100.0 for name, value in weights.items()}
    else:
        shares = dict.fromkeys(names, 0.0)
    return RelativeWeights(r_squared=r_squared, weights=weights, shares=shares, n=n)
