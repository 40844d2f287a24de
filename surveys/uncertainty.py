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

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

from surveys.stats import RelativeWeights, StatisticsError, relative_weights, variance_from_sums

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


def _resample_counts(rng: np.random.Generator, units: int, replicates: int) -> np.ndarray:
    """How often each of `units` is drawn in each replicate (rows): a resample
    with replacement of the same size (Efron 1979)."""
    return rng.multinomial(units, np.full(units, 1.0 / units), size=replicates)


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.nanpercentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class CeiBootstrap:
    """The CEI and each dimension's score with percentile bootstrap intervals."""

    cei: Interval | None
    dimensions: dict[str, Interval | None]
    units: int
    replicates: int


def bootstrap_cei(
    sums: np.ndarray | Sequence[Sequence[float]],
    counts: np.ndarray | Sequence[Sequence[float]],
    weights: Mapping[str, float],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> CeiBootstrap:
    """Percentile bootstrap (Efron 1979) of the CEI, resampling contractors.

    Row c of ``sums`` / ``counts`` is one contractor: per dimension (columns,
    in the order of ``weights``) the sum of their 0–100 scores and how many
    scores that is, over the units the privacy gate lets the figure use. The
    CEI is Σ w_d · S_d / N_d over the dimensions scored, divided by the sum of
    their weights, with S_d, N_d the column totals — the index's own pooled
    formula. Each replicate draws contractors with replacement (all of a
    contractor's answers go together, so answers of one person across waves
    are not treated as independent) and recomputes the same formula; the
    interval is the 2.5th and 97.5th percentile, ``se`` the replicates'
    standard deviation. Seeded: the same data gives the same interval.
    Intervals are ``None`` with fewer than two contractors.

    >>> b = bootstrap_cei([[50, 60], [70, 80], [60, 70], [40, 50]], [[1, 1]] * 4, {"a": 1, "b": 1})
    >>> round(b.cei.estimate, 1), b.cei.low < 60 < b.cei.high
    (60.0, True)
    """
    s = np.asarray(sums, dtype=float)
    n = np.asarray(counts, dtype=float)
    names = list(weights)
    if s.ndim != 2 or s.shape != n.shape or s.shape[1] != len(names):
        raise StatisticsError("sums and counts must be contractors × dimensions, one column per weight")
    if replicates < 2:
        raise StatisticsError("replicates must be at least 2")
    w = np.array([weights[d] for d in names], dtype=float)
    units = s.shape[0]
    total_s, total_n = s.sum(axis=0), n.sum(axis=0)
    scored = total_n > 0

    def cei_of(ts: np.ndarray, tn: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = ts / tn
        present = tn > 0
        weighted = np.where(present, means * w, 0.0).sum(axis=-1)
        return np.asarray(weighted / np.where(present, w, 0.0).sum(axis=-1))

    if units < 2 or not scored.any():
        return CeiBootstrap(None, dict.fromkeys(names), units, 0)
    rng = np.random.default_rng(seed)
    cei_reps: list[np.ndarray] = []
    dim_reps: list[np.ndarray] = []
    for start in range(0, replicates, 250):  # bounded memory: 250 × contractors at a time
        draws = _resample_counts(rng, units, min(250, replicates - start)).astype(float)
        ts, tn = draws @ s, draws @ n
        with np.errstate(invalid="ignore", divide="ignore"):
            dim_reps.append(ts / tn)
        cei_reps.append(cei_of(ts, tn))
    cei_all, dims_all = np.concatenate(cei_reps), np.vstack(dim_reps)
    point = float(cei_of(total_s, total_n))

    def interval(estimate: float, values: np.ndarray) -> Interval:
        low, high = _percentile(values, confidence)
        return Interval(estimate, low, high, float(np.nanstd(values, ddof=1)), METHOD_BOOTSTRAP, units)

    dims = {d: interval(float(total_s[j] / total_n[j]), dims_all[:, j]) if total_n[j] > 0 else None
            for j, d in enumerate(names)}
    return CeiBootstrap(interval(point, cei_all), dims, units, replicates)


@dataclass(frozen=True)
class DriverBootstrap:
    """Relative weights with percentile bootstrap intervals, and which pairs
    of dimensions can be told apart.

    ``weights[d]`` and ``shares[d]`` are intervals (the share in percent of
    R²); ``above[(a, b)]`` is True when a's weight is clearly above b's: the
    bootstrap test of their difference rejects "equal" after Holm's
    correction over every pair, so that six look-alike dimensions are not
    told apart by the luck of one comparison in fifteen. ``tiers`` groups the
    dimensions: the first tier is every dimension that no other is clearly
    above; the next tier the same among the rest, and so on. One tier means
    none stands out.
    """

    weights: dict[str, Interval]
    shares: dict[str, Interval]
    above: dict[tuple[str, str], bool]
    tiers: list[list[str]]
    n: int
    replicates: int


def _holm(p_values: Mapping[tuple[str, str], float], alpha: float) -> set[tuple[str, str]]:
    """The hypotheses Holm's (1979) step-down procedure rejects at family-wise level alpha."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    rejected: set[tuple[str, str]] = set()
    for rank, (key, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - rank):
            break
        rejected.add(key)
    return rejected


def _weights(names: list[str], columns: np.ndarray, ys: np.ndarray) -> RelativeWeights | None:
    """`relative_weights` of the named columns (the arrays go in as they are: it reads them as arrays)."""
    return relative_weights({d: columns[:, j] for j, d in enumerate(names)}, ys)  # type: ignore[misc, arg-type]


def _replicate_weights(data: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Johnson's relative weights for many resamples at once.

    ``data`` is n × (p + 1), the predictors then y; ``draws`` is R × n, how
    often each row is drawn. Each replicate's correlation matrix comes from
    its weighted sums and cross-products (one matrix product for all), then
    the same algebra as `surveys.stats.relative_weights` on a stack of
    matrices. A replicate where a column does not vary is NaN.
    """
    n_draws = draws.sum(axis=1, keepdims=True)
    centre = data - data.mean(axis=0)  # shifting first keeps the sums of products well conditioned
    means = draws @ centre / n_draws
    products = (centre[:, :, None] * centre[:, None, :]).reshape(len(centre), -1)
    second = (draws @ products / n_draws).reshape(len(draws), data.shape[1], data.shape[1])
    cov = second - means[:, :, None] * means[:, None, :]
    scale = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / (scale[:, :, None] * scale[:, None, :])
    p = data.shape[1] - 1
    r_xx, r_xy = corr[:, :p, :p], corr[:, :p, p]
    bad = ~np.isfinite(corr).all(axis=(1, 2))
    r_xx = np.where(bad[:, None, None], np.eye(p), r_xx)
    r_xy = np.where(bad[:, None], 0.0, r_xy)
    values, vectors = np.linalg.eigh(r_xx)
    tolerance = np.maximum(values.max(axis=1, keepdims=True), 1.0) * p * np.finfo(float).eps
    positive = values > tolerance
    root = np.sqrt(np.where(positive, values, 0.0))
    inverse = np.zeros_like(root)
    inverse[positive] = 1.0 / root[positive]
    transposed = np.swapaxes(vectors, 1, 2)
    lambda_star = vectors @ (root[:, :, None] * transposed)
    beta = (vectors @ (inverse[:, :, None] * transposed) @ r_xy[:, :, None])[:, :, 0]
    weights = np.einsum("rjk,rk->rj", lambda_star ** 2, beta ** 2)
    weights[bad] = np.nan
    return np.asarray(weights)


def bootstrap_drivers(
    predictors: Mapping[str, Sequence[float] | np.ndarray],
    y: Sequence[float] | np.ndarray,
    *,
    replicates: int = 1000,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> DriverBootstrap | None:
    """Johnson's (2000) relative weights (`surveys.stats.relative_weights`) with
    percentile bootstrap intervals over contractors (rows), as Tonidandel,
    LeBreton & Johnson (2009) recommend. Each pair of dimensions is tested
    with the bootstrap distribution of the difference of their weights:
    p = 2 · min(share of replicates ≤ 0, share ≥ 0), the pairs then judged
    together with Holm's correction at 1 − confidence. A replicate where the
    weights are undefined (a column constant in the resample) is dropped.
    ``None`` when the weights are undefined on the full data.

    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.normal(size=200), rng.normal(size=200)
    >>> out = bootstrap_drivers({"a": a, "b": b}, 2 * a + b + rng.normal(size=200), replicates=200)
    >>> out.tiers
    [['a'], ['b']]
    """
    names = list(predictors)
    columns = np.column_stack([np.asarray(predictors[d], dtype=float) for d in names])
    ys = np.asarray(y, dtype=float)
    full = _weights(names, columns, ys)
    if full is None:
        return None
    if replicates < 2:
        raise StatisticsError("replicates must be at least 2")
    rng = np.random.default_rng(seed)
    n = len(ys)
    data = np.column_stack([columns, ys])
    chunks = []
    for start in range(0, replicates, 250):
        chunks.append(_replicate_weights(data, _resample_counts(rng, n, min(250, replicates - start)).astype(float)))
    draws = np.vstack(chunks)
    draws = draws[np.isfinite(draws).all(axis=1)]
    if len(draws) < 2:
        return None
    totals = draws.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_draws = np.where(totals > 0, draws / totals * 100.0, 0.0)

    def interval(estimate: float, values: np.ndarray) -> Interval:
        low, high = _percentile(values, confidence)
        return Interval(estimate, low, high, float(np.std(values, ddof=1)), METHOD_BOOTSTRAP, n)

    weights = {d: interval(full.weights[d], draws[:, j]) for j, d in enumerate(names)}
    share_intervals = {d: interval(full.shares[d], share_draws[:, j]) for j, d in enumerate(names)}
    p_values: dict[tuple[str, str], float] = {}
    for (i, a), (j, b) in combinations(enumerate(names), 2):
        difference = draws[:, i] - draws[:, j]
        p_values[(a, b)] = min(1.0, 2.0 * min(float(np.mean(difference <= 0)), float(np.mean(difference >= 0))))
    rejected = _holm(p_values, 1.0 - confidence)
    above: dict[tuple[str, str], bool] = {}
    for a, b in combinations(names, 2):
        clear = (a, b) in rejected
        above[(a, b)] = clear and full.weights[a] > full.weights[b]
        above[(b, a)] = clear and full.weights[b] > full.weights[a]
    tiers: list[list[str]] = []
    left = list(names)
    while left:
        top = [a for a in left if not any(above[(b, a)] for b in left if b != a)]
        tiers.append(top)
        left = [a for a in left if a not in top]
    return DriverBootstrap(weights, share_intervals, above, tiers, n, len(draws))
