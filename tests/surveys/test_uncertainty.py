"""Margins of error and tests of change (surveys.uncertainty): exact values,
edge cases, and coverage checked by seeded simulation."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from surveys import uncertainty as u
from surveys.stats import StatisticsError


def test_doctests() -> None:
    assert doctest.testmod(u).failed == 0


def test_wilson_known_values_and_edges() -> None:
    ci = u.wilson_interval(0, 20)
    assert ci is not None and ci.estimate == 0.0 and ci.low == 0.0 and 0 < ci.high < 20
    ci = u.wilson_interval(15, 20)
    assert ci is not None
    assert round(ci.low, 2) == 53.13 and round(ci.high, 2) == 88.81  # Wilson, z = 1.96
    assert u.wilson_interval(0, 0) is None
    with pytest.raises(StatisticsError):
        u.wilson_interval(5, 4)


def test_nps_interval_matches_the_indicator_variance() -> None:
    ci = u.nps_interval(40, 25, 100)
    assert ci is not None
    values = np.array([1] * 40 + [-1] * 25 + [0] * 35, dtype=float)
    assert ci.estimate == pytest.approx(100 * values.mean())
    assert ci.se == pytest.approx(100 * values.std(ddof=0) / np.sqrt(100))
    assert u.nps_interval(10, 0, 10) is None  # everyone a promoter: no spread
    assert u.nps_interval(1, 0, 1) is None


def test_mean_interval_is_the_t_interval() -> None:
    data = np.array([2, 5, 7, 7, 6, 4, 3, 7], dtype=float)
    ci = u.mean_interval(len(data), data.sum(), (data ** 2).sum())
    assert ci is not None
    from scipy import stats

    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))
    assert u.mean_interval(3, 15, 75) is None  # 5, 5, 5
    assert u.mean_interval(1, 5, 25) is None


def _coverage(hits: list[bool]) -> float:
    return sum(hits) / len(hits)


def test_wilson_covers_about_95_percent() -> None:
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(2000):
        x = int(rng.binomial(60, 0.8))
        ci = u.wilson_interval(x, 60)
        assert ci is not None
        hits.append(ci.low <= 80 <= ci.high)
    assert 0.93 <= _coverage(hits) <= 0.98  # a discrete count: Wilson errs slightly above 95 %


def test_nps_interval_covers_about_95_percent() -> None:
    rng = np.random.default_rng(2)
    p = [0.45, 0.35, 0.20]  # promoters, passives, detractors: NPS 25
    hits = []
    for _ in range(2000):
        promoters, _, detractors = rng.multinomial(150, p)
        ci = u.nps_interval(int(promoters), int(detractors), 150)
        assert ci is not None
        hits.append(ci.low <= 25 <= ci.high)
    assert 0.93 <= _coverage(hits) <= 0.97


def test_mean_interval_covers_about_95_percent() -> None:
    rng = np.random.default_rng(3)
    hits = []
    for _ in range(2000):
        data = rng.integers(1, 8, size=40).astype(float)  # uniform 1–7, mean 4
        ci = u.mean_interval(40, data.sum(), (data ** 2).sum())
        assert ci is not None
        hits.append(ci.low <= 4 <= ci.high)
    assert 0.93 <= _coverage(hits) <= 0.97


def test_changes_flag_noise_about_5_percent_of_the_time() -> None:
    """Two samples from the same population: a clear change in about 5 % of trials."""
    rng = np.random.default_rng(4)
    flagged = {"prop": [], "nps": [], "mean": []}
    for _ in range(1500):
        a, b = rng.binomial(200, 0.7), rng.binomial(200, 0.7)
        flagged["prop"].append(u.proportion_change(int(a), 200, int(b), 200).clear)  # type: ignore[union-attr]
        pa, _, da = rng.multinomial(200, [0.4, 0.4, 0.2])
        pb, _, db = rng.multinomial(200, [0.4, 0.4, 0.2])
        flagged["nps"].append(u.nps_change((int(pa), int(da), 200), (int(pb), int(db), 200)).clear)  # type: ignore[union-attr]
        x, y = rng.integers(1, 8, size=80).astype(float), rng.integers(1, 8, size=50).astype(float)
        change = u.mean_change((80, x.sum(), (x ** 2).sum()), (50, y.sum(), (y ** 2).sum()))
        flagged["mean"].append(change.clear)  # type: ignore[union-attr]
    for name, values in flagged.items():
        assert 0.03 <= _coverage(values) <= 0.07, name


def test_a_real_change_is_found() -> None:
    change = u.proportion_change(150, 200, 110, 200)
    assert change is not None and change.clear and change.difference == pytest.approx(20.0)
    assert u.proportion_change(0, 0, 1, 2) is None


def test_welch_matches_scipy() -> None:
    from scipy import stats

    x = np.array([5, 6, 7, 5, 6, 7, 7, 6], dtype=float)
    y = np.array([4, 5, 3, 6, 2, 5], dtype=float)
    change = u.mean_change((len(x), x.sum(), (x ** 2).sum()), (len(y), y.sum(), (y ** 2).sum()))
    assert change is not None
    assert change.p_value == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue)
    assert change.test == "Welch's t test"


def test_subgroup_gap_uses_the_nested_variance() -> None:
    group, whole = u.Interval(50.0, 0, 0, 3.0, "x"), u.Interval(54.0, 0, 0, 1.0, "x")
    gap = u.subgroup_gap(group, whole)
    assert gap is not None
    assert gap.high - gap.difference == pytest.approx(1.959964 * np.sqrt(8.0), rel=1e-5)
    assert u.subgroup_gap(u.Interval(50.0, 0, 0, 1.0, "x"), whole) is None  # the group is the whole


def test_subgroup_gap_flags_noise_about_5_percent() -> None:
    """A random fifth of one population against the whole: clear in about 5 % of trials."""
    rng = np.random.default_rng(5)
    flags = []
    for _ in range(1500):
        data = rng.normal(55, 15, size=500)
        part = data[:100]
        whole = u.Interval(float(data.mean()), 0, 0, float(data.std(ddof=1) / np.sqrt(500)), "x")
        group = u.Interval(float(part.mean()), 0, 0, float(part.std(ddof=1) / np.sqrt(100)), "x")
        flags.append(u.subgroup_gap(group, whole).clear)  # type: ignore[union-attr]
    assert 0.03 <= _coverage(flags) <= 0.07


def _contractors(rng: np.random.Generator, count: int, waves: int) -> tuple[np.ndarray, np.ndarray]:
    """Six dimensions per contractor, each answered in `waves` waves, with a
    person effect shared across waves and dimensions (true mean 55)."""
    person = rng.normal(0, 12, size=(count, 1))
    sums = np.zeros((count, 6))
    for _ in range(waves):
        sums += np.clip(55 + person + rng.normal(0, 10, size=(count, 6)), 0, 100)
    return sums, np.full((count, 6), float(waves))


def test_bootstrap_cei_is_the_pooled_index_and_deterministic() -> None:
    rng = np.random.default_rng(6)
    sums, counts = _contractors(rng, 80, 3)
    weights = {f"d{i}": 1.0 for i in range(6)}
    first = u.bootstrap_cei(sums, counts, weights)
    again = u.bootstrap_cei(sums, counts, weights)
    assert first == again
    assert first.cei is not None
    assert first.cei.estimate == pytest.approx(float((sums.sum(0) / counts.sum(0)).mean()))
    assert first.cei.low < first.cei.estimate < first.cei.high
    assert first.dimensions["d0"] is not None
    assert first.dimensions["d0"].estimate == pytest.approx(sums[:, 0].sum() / counts[:, 0].sum())
    # a dimension nobody scored: no interval for it, and the CEI is over the others
    counts[:, 5] = 0
    sums[:, 5] = 0
    partial = u.bootstrap_cei(sums, counts, weights)
    assert partial.dimensions["d5"] is None and partial.cei is not None
    assert u.bootstrap_cei(sums[:1], counts[:1], weights).cei is None


def test_bootstrap_cei_covers_about_95_percent() -> None:
    """Clustered data (a person effect across waves): resampling contractors,
    not answers, keeps the coverage near 95 %."""
    rng = np.random.default_rng(7)
    weights = {f"d{i}": 1.0 for i in range(6)}
    truth = []
    for _ in range(5):  # the population mean after clipping, estimated on a big sample
        s, c = _contractors(rng, 20000, 1)
        truth.append(s.sum() / c.sum())
    true_cei = float(np.mean(truth))
    hits = []
    for trial in range(200):
        sums, counts = _contractors(rng, 60, 3)
        ci = u.bootstrap_cei(sums, counts, weights, replicates=400, seed=trial).cei
        assert ci is not None
        hits.append(ci.low <= true_cei <= ci.high)
    assert 0.90 <= _coverage(hits) <= 0.985


def test_bootstrap_drivers_tells_apart_only_what_differs() -> None:
    rng = np.random.default_rng(8)
    n = 300
    common = rng.normal(size=n)
    dims = {f"d{i}": common + rng.normal(size=n) for i in range(6)}
    # all six move together and matter equally: one tier
    y = sum(dims.values()) * 0.2 + rng.normal(size=n)
    equal = u.bootstrap_drivers(dims, y, replicates=1000)
    assert equal is not None
    assert len(equal.tiers) == 1 and sorted(equal.tiers[0]) == sorted(dims)
    for d, interval in equal.weights.items():
        assert interval.low <= interval.estimate <= interval.high, d
    # two clearly matter more
    y = 1.5 * dims["d0"] + 1.5 * dims["d1"] + 0.1 * dims["d2"] + rng.normal(size=n)
    strong = u.bootstrap_drivers(dims, y, replicates=1000)
    assert strong is not None
    assert sorted(strong.tiers[0]) == ["d0", "d1"]
    assert strong.above[("d0", "d2")] and not strong.above[("d0", "d1")]


def test_bootstrap_drivers_is_undefined_when_the_weights_are() -> None:
    assert u.bootstrap_drivers({"a": [1, 2, 3], "b": [3, 1, 2]}, [1, 1, 1]) is None


def test_the_batched_weights_are_johnsons() -> None:
    """The bootstrap's batched algebra gives `surveys.stats.relative_weights` on every resample."""
    from surveys.stats import relative_weights

    rng = np.random.default_rng(9)
    common = rng.normal(size=120)
    columns = np.column_stack([common + rng.normal(size=120) for _ in range(4)])
    y = columns @ [0.5, 0.2, 0.1, 0.0] + rng.normal(size=120)
    draws = rng.multinomial(120, np.full(120, 1 / 120), size=5).astype(float)
    batched = u._replicate_weights(np.column_stack([columns, y]), draws)
    for row, counts in zip(batched, draws, strict=True):
        pick = np.repeat(np.arange(120), counts.astype(int))
        one = relative_weights({str(j): columns[pick, j].tolist() for j in range(4)}, y[pick].tolist())
        assert one is not None
        assert row == pytest.approx([one.weights[str(j)] for j in range(4)])
