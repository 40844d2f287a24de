"""Partial correlation: r after the covariates are regressed out of both
columns, and dummy columns for a categorical covariate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from surveys.stats.columns import (
    StatisticsError,
    as_column,
    as_pair,
    check_probability,
    is_constant,
)
from surveys.stats.correlation import Correlation, correlation_p_value, fisher_interval, pearson_arrays

__all__ = [
    "PartialCorrelator",
    "dummy_columns",
    "partial_correlate",
]


# A residual whose norm is below this fraction of the original column's
# (centred) norm is rounding noise: the covariates explain the column exactly.
_RESIDUAL_TOLERANCE = 1e-10


def _covariate_basis(covariates: Sequence[Sequence[float]], n: int) -> np.ndarray:
    """The usable covariate columns, centred and scaled, as an n × k array.

    Constant columns are dropped, and so is any column that is a linear
    combination of the intercept and the columns already kept.  Scaling makes
    the rank test independent of the columns' units.
    """
    kept: list[np.ndarray] = []
    for index, raw in enumerate(covariates):
        column = as_column(raw, f"covariates[{index}]")
        if len(column) != n:
            raise StatisticsError(
                f"covariates[{index}] has length {len(column)}, expected {n}"
            )
        if is_constant(column):
            continue
        centred = column - column.mean()
        norm = float(np.linalg.norm(centred))
        if norm == 0.0:
            continue
        candidate = np.column_stack([*kept, centred / norm])
        if np.linalg.matrix_rank(candidate) == len(kept) + 1:
            kept.append(centred / norm)
    if not kept:
        return np.empty((n, 0))
    return np.column_stack(kept)


def _span(design: np.ndarray) -> np.ndarray:
    """An orthonormal basis (Householder QR) of the columns of a full-rank
    design: least-squares fits then cost two matrix-vector products."""
    q, _ = np.linalg.qr(design)
    return q


def _residuals(values: np.ndarray, span: np.ndarray) -> np.ndarray | None:
    """Least-squares residuals of ``values`` on a design given by its
    orthonormal basis ``span`` (from `_span`, the design having an intercept
    column); ``None`` when the design explains them exactly."""
    centred = values - values.mean()
    scale = float(np.linalg.norm(centred))
    if is_constant(values) or scale == 0.0:
        return None
    residuals: np.ndarray = values - span @ (span.T @ values)
    if float(np.linalg.norm(residuals)) <= _RESIDUAL_TOLERANCE * scale:
        return None
    return residuals


def partial_correlate(
    x: Sequence[float],
    y: Sequence[float],
    covariates: Sequence[Sequence[float]],
    *,
    confidence: float = 0.95,
) -> Correlation:
    """Partial correlation of x and y controlling for ``covariates`` (columns).

    x and y are residualised on [1, covariates…] by least squares and r is the
    Pearson correlation of the residuals (Yule 1897; Fisher 1924).  Constant
    and linearly dependent covariate columns are dropped; k, the number kept,
    enters the interval (n − 3 − k) and the p-value (df = n − 2 − k).
    ``rho`` is always ``None``.

    >>> c = partial_correlate([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6],
    ...                       [[1, 1, 2, 2, 3, 3, 3]])
    >>> round(c.r, 4), c.rho
    (-0.619, None)
    """
    check_probability(confidence, "confidence")
    xs, ys = as_pair(x, y)
    n = len(xs)
    basis = _covariate_basis(covariates, n)
    k = basis.shape[1]
    none = Correlation(n=n, r=None, ci_low=None, ci_high=None, p_value=None, rho=None)
    if n - 1 - k < 1:
        return none
    design = _span(np.column_stack([np.ones(n), basis]))
    return _partial_from_residuals(
        _residuals(xs, design), _residuals(ys, design), n, k, confidence
    )


def _partial_from_residuals(
    x_residuals: np.ndarray | None,
    y_residuals: np.ndarray | None,
    n: int,
    k: int,
    confidence: float,
) -> Correlation:
    none = Correlation(n=n, r=None, ci_low=None, ci_high=None, p_value=None, rho=None)
    if x_residuals is None or y_residuals is None:
        return none
    r = pearson_arrays(x_residuals, y_residuals)
    if r is None:
        return none
    interval = fisher_interval(r, n, confidence=confidence, covariates=k)
    return Correlation(
        n=n,
        r=r,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        p_value=correlation_p_value(r, n, covariates=k),
        rho=None,
    )


class PartialCorrelator:
    """`partial_correlate` for many pairs of columns over the same people.

    ``columns`` maps names to equal-length columns where NaN (or None) marks
    a missing value; ``covariates`` are columns of the same length, also with
    NaN for missing. Each pair uses the rows where both its columns and every
    covariate are present, exactly as
    `partial_correlate` would on those rows; the covariate basis is built once
    per set of rows and each column residualised once, so a grid of
    correlations costs little more than one regression per column.

    >>> pc = PartialCorrelator({"a": [1, 2, 3, 4, 5, 6, 7], "b": [2, 1, 4, 3, 7, 5, 6]},
    ...                        [[1, 1, 2, 2, 3, 3, 3]])
    >>> round(pc.correlate("a", "b").r, 4)
    -0.619
    """

    def __init__(
        self,
        columns: Mapping[str, Sequence[float | None]],
        covariates: Sequence[Sequence[float]],
    ) -> None:
        self._columns = {
            name: np.array([np.nan if v is None else v for v in values], dtype=float)
            for name, values in columns.items()
        }
        lengths = {len(c) for c in self._columns.values()}
        if len(lengths) > 1:
            raise StatisticsError("columns must all have the same length")
        n = lengths.pop() if lengths else 0
        self._covariates = [
            np.array([np.nan if v is None else v for v in c], dtype=float) for c in covariates
        ]
        if any(len(c) != n for c in self._covariates):
            raise StatisticsError("covariates must have the length of the columns")
        self._complete = np.ones(n, dtype=bool)
        for c in self._covariates:
            self._complete &= ~np.isnan(c)
        self._designs: dict[bytes, tuple[np.ndarray, int]] = {}
        self._residual_cache: dict[tuple[bytes, str], np.ndarray | None] = {}

    def _design(self, keep: np.ndarray) -> tuple[np.ndarray, int]:
        token = keep.tobytes()
        if token not in self._designs:
            n = int(keep.sum())
            basis = _covariate_basis([c[keep] for c in self._covariates], n)
            self._designs[token] = (_span(np.column_stack([np.ones(n), basis])), basis.shape[1])
        return self._designs[token]

    def _residual(self, keep: np.ndarray, name: str, design: np.ndarray) -> np.ndarray | None:
        token = (keep.tobytes(), name)
        if token not in self._residual_cache:
            self._residual_cache[token] = _residuals(self._columns[name][keep], design)
        return self._residual_cache[token]

    def correlate(self, x: str, y: str, *, confidence: float = 0.95) -> Correlation:
        """The partial correlation of columns ``x`` and ``y``; KeyError for an unknown name."""
        check_probability(confidence, "confidence")
        keep = ~np.isnan(self._columns[x]) & ~np.isnan(self._columns[y]) & self._complete
        n = int(keep.sum())
        design, k = self._design(keep)
        if n - 1 - k < 1:
            return Correlation(n=n, r=None, ci_low=None, ci_high=None, p_value=None, rho=None)
        return _partial_from_residuals(
            self._residual(keep, x, design), self._residual(keep, y, design), n, k, confidence
        )


def dummy_columns(labels: Sequence[str]) -> list[list[float]]:
    """One-hot (dummy) coding of a categorical covariate, first level dropped.

    Levels are sorted; the first is the reference and gets no column, so the
    columns are not collinear with the intercept.  One level gives ``[]``.

    >>> dummy_columns(["north", "south", "east", "south"])
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    >>> dummy_columns(["east", "east"])
    []
    """
    levels = sorted(set(labels))
    return [[1.0 if label == level else 0.0 for label in labels] for level in levels[1:]]
