"""Statistics over plain sequences: correlation, intervals, reliability, drivers.

Pure functions in the manner of CPython's ``Lib/statistics.py``: numbers in,
numbers out, no I/O.  An *undefined* result (too few people, a column where
everyone gave the same answer) is returned as ``None`` so that callers can
render "not enough data"; :class:`StatisticsError` is raised only for caller
bugs such as sequences of different lengths or a probability outside [0, 1].

>>> c = correlate([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
>>> round(c.r, 4), round(c.rho, 4), c.n
(0.8286, 0.8286, 6)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _scipy_stats

__all__ = [
    "Correlation",
    "PartialCorrelator",
    "RelativeWeights",
    "Reliability",
    "StatisticsError",
    "benjamini_hochberg",
    "correlate",
    "correlation_p_value",
    "cronbach_alpha",
    "cronbach_alpha_from_variances",
    "dummy_columns",
    "fisher_interval",
    "linear_fit",
    "mean",
    "min_sample_size",
    "partial_correlate",
    "pearson",
    "power_for",
    "relative_weights",
    "reliability_from_sums",
    "settle",
    "share",
    "spearman",
    "spearman_brown",
    "variance_from_sums",
]

# A residual whose norm is below this fraction of the original column's
# (centred) norm is rounding noise: the covariates explain the column exactly.
_RESIDUAL_TOLERANCE = 1e-10


class StatisticsError(ValueError):
    """A statistics function was called incorrectly (a caller bug)."""


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


# -- helpers ------------------------------------------------------------------


def _column(data: Sequence[float] | np.ndarray, name: str = "data") -> np.ndarray:
    """``data`` as a 1-D float array; raise for non-finite values."""
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"{name} must be a sequence of numbers") from exc
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise StatisticsError(f"{name} must contain only finite numbers")
    return array


def _paired(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = _column(x, "x"), _column(y, "y")
    if len(xs) != len(ys):
        raise StatisticsError(
            f"x and y must have the same length ({len(xs)} != {len(ys)})"
        )
    return xs, ys


def _is_constant(array: np.ndarray) -> bool:
    """True when every value is equal (or there are none); exact, no rounding."""
    return len(array) == 0 or bool(array.min() == array.max())


def _check_probability(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise StatisticsError(f"{name} must be strictly between 0 and 1, not {value}")


def _check_r(r: float) -> None:
    if not -1.0 <= r <= 1.0:
        raise StatisticsError(f"a correlation must lie in [-1, 1], not {r}")


def _pearson_arrays(xs: np.ndarray, ys: np.ndarray) -> float | None:
    if len(xs) < 2 or _is_constant(xs) or _is_constant(ys):
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


# -- correlation --------------------------------------------------------------


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
    return _pearson_arrays(*_paired(x, y))


TIE_DIGITS = 9  # significant digits that decide ties (see `settle`)


def settle(value: float) -> float:
    """`value` rounded to TIE_DIGITS (9) significant digits, through its decimal text.

    Averages a database computes in floating point differ between backends
    (and summation orders) by a few units in the last place; settled, values
    equal in exact arithmetic are equal again, so a rank or a band boundary
    does not depend on the backend.

    >>> 0.1 + 0.2 == 0.3, settle(0.1 + 0.2) == settle(0.3)
    (False, True)
    """
    return float(format(value, f".{TIE_DIGITS}g"))


def _settled(values: np.ndarray) -> np.ndarray:
    return np.array([settle(v) for v in values.tolist()], dtype=float)


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
    xs, ys = _paired(x, y)
    if len(xs) < 2:
        return None
    return _pearson_arrays(
        _scipy_stats.rankdata(_settled(xs), method="average"),
        _scipy_stats.rankdata(_settled(ys), method="average"),
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
    _check_r(r)
    _check_probability(confidence, "confidence")
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
    _check_r(r)
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
    _check_probability(confidence, "confidence")
    xs, ys = _paired(x, y)
    n = len(xs)
    r = _pearson_arrays(xs, ys)
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


def _covariate_basis(covariates: Sequence[Sequence[float]], n: int) -> np.ndarray:
    """The usable covariate columns, centred and scaled, as an n × k array.

    Constant columns are dropped, and so is any column that is a linear
    combination of the intercept and the columns already kept.  Scaling makes
    the rank test independent of the columns' units.
    """
    kept: list[np.ndarray] = []
    for index, raw in enumerate(covariates):
        column = _column(raw, f"covariates[{index}]")
        if len(column) != n:
            raise StatisticsError(
                f"covariates[{index}] has length {len(column)}, expected {n}"
            )
        if _is_constant(column):
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
    if _is_constant(values) or scale == 0.0:
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
    _check_probability(confidence, "confidence")
    xs, ys = _paired(x, y)
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
    r = _pearson_arrays(x_residuals, y_residuals)
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
        _check_probability(confidence, "confidence")
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


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float] | None:
    """Simple least-squares line y ≈ slope·x + intercept (Legendre 1805).

    slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², intercept = ȳ − slope·x̄.
    ``None`` when n < 2 or x is constant.

    >>> linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    (2.0, 1.0)
    """
    xs, ys = _paired(x, y)
    if len(xs) < 2 or _is_constant(xs):
        return None
    dx = xs - xs.mean()
    sxx = float(dx @ dx)
    if sxx <= 0.0:
        return None
    slope = float(dx @ (ys - ys.mean())) / sxx
    return (slope, float(ys.mean()) - slope * float(xs.mean()))


# -- drivers ------------------------------------------------------------------


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
    ys = _column(y, "y")
    n = len(ys)
    names = list(predictors)
    columns = {name: _column(predictors[name], name) for name in names}
    for name, column in columns.items():
        if len(column) != n:
            raise StatisticsError(
                f"predictor {name!r} has length {len(column)}, expected {n}"
            )
    if n <= len(names) + 1 or _is_constant(ys):
        return None

    def standardised(column: np.ndarray) -> np.ndarray | None:
        centred = column - column.mean()
        norm = float(np.linalg.norm(centred))
        return None if _is_constant(column) or norm == 0.0 else centred / norm

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


# -- reliability --------------------------------------------------------------


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
    alpha = cronbach_alpha_from_variances(variances, total_variance)  # type: ignore[arg-type]
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
    _check_r(r)
    if r == -1.0:
        return None
    return 2.0 * r / (1.0 + r)


# -- power --------------------------------------------------------------------


def min_sample_size(r: float, *, power: float = 0.8, alpha: float = 0.05) -> int:
    """Sample size to detect a correlation r (two-sided), Fisher z approximation.

    n = ⌈((z₁₋α/₂ + z_power) / atanh|r|)² + 3⌉ (Fisher 1915; Cohen 1988).
    r must satisfy 0 < |r| < 1.

    >>> min_sample_size(0.3), min_sample_size(0.2)
    (85, 194)
    """
    if not 0.0 < abs(r) < 1.0:
        raise StatisticsError(f"r must satisfy 0 < |r| < 1, not {r}")
    _check_probability(power, "power")
    _check_probability(alpha, "alpha")
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
    _check_r(r)
    _check_probability(alpha, "alpha")
    if n <= 3:
        return None
    if abs(r) == 1.0:
        return 1.0
    z_alpha = float(_scipy_stats.norm.ppf(1.0 - alpha / 2.0))
    delta = math.atanh(abs(r)) * math.sqrt(n - 3)
    norm = _scipy_stats.norm
    return float(norm.cdf(delta - z_alpha) + norm.cdf(-delta - z_alpha))


# -- conveniences -------------------------------------------------------------


def mean(xs: Sequence[float]) -> float | None:
    """Arithmetic mean, or ``None`` for no data.

    >>> mean([1, 2, 3, 4])
    2.5
    >>> mean([]) is None
    True
    """
    values = list(xs)
    if not values:
        return None
    return math.fsum(values) / len(values)


def share(flags: Sequence[bool]) -> float | None:
    """Fraction of true flags (e.g. top-two box), or ``None`` for no data.

    >>> share([True, False, True, True])
    0.75
    """
    values = list(flags)
    if not values:
        return None
    return sum(1 for flag in values if flag) / len(values)
