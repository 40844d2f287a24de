"""Bootstraps over contractors: the CEI's interval and the drivers' relative weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from surveys.stats import RelativeWeights, StatisticsError, relative_weights
from surveys.uncertainty.intervals import BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED, METHOD_BOOTSTRAP, Interval

__all__ = [
    "CeiBootstrap",
    "DriverBootstrap",
    "bootstrap_cei",
    "bootstrap_drivers",
]

def _resample_counts(rng: np.random.Generator, units: int, replicates: int) -> np.ndarray:
    """How often each of `units` is drawn in each replicate (rows): a resample
    with replacement of the same size (Efron 1979).

    Drawn as `units` uniform picks per replicate, counted with one bincount
    (offset per row): the multinomial counts, about three times faster than
    numpy's multinomial with a vector of equal probabilities.

    >>> counts = _resample_counts(np.random.default_rng(1), 4, 3)
    >>> counts.shape, counts.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    picks = rng.integers(0, units, size=(replicates, units))
    picks += np.arange(replicates)[:, None] * units
    return np.bincount(picks.ravel(), minlength=replicates * units).reshape(replicates, units)


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
