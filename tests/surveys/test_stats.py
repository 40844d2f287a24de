"""Tests for surveys.stats against numpy/scipy references and hand-worked values."""

import doctest
import itertools
import json
import math
import statistics

import numpy as np
import pytest
from scipy import special
from scipy import stats as ss

import surveys.stats
from surveys.stats import (
    Correlation,
    RelativeWeights,
    StatisticsError,
    benjamini_hochberg,
    correlate,
    correlation_p_value,
    cronbach_alpha,
    cronbach_alpha_from_variances,
    dummy_columns,
    fisher_interval,
    linear_fit,
    mean,
    min_sample_size,
    partial_correlate,
    pearson,
    power_for,
    relative_weights,
    share,
    spearman,
    spearman_brown,
)

R_TOL = 1e-9

# Hand-made data: ties, negative association, survey-like 1–5 answers.
TIES_X = [1, 2, 2, 3, 4, 4, 4, 5, 5, 3]
TIES_Y = [2, 1, 3, 3, 5, 4, 6, 5, 5, 2]
NEG_X = [1, 2, 3, 4, 5, 6, 7]
NEG_Y = [10, 9, 9, 6, 5, 3, 1]
LIKERT_X = [4, 5, 3, 4, 2, 5, 4, 3, 1, 4, 5, 2]
LIKERT_Y = [9, 10, 7, 8, 6, 9, 7, 8, 3, 6, 10, 5]
WEAK_X = [1.5, -0.3, 2.2, 0.7, 1.1, -1.4, 0.2, 0.9]
WEAK_Y = [0.2, 1.1, -0.5, 0.4, 1.6, 0.3, -0.9, 0.8]
N3_X = [1, 2, 3]
N3_Y = [1, 3, 2]

DATASETS = [
    pytest.param(TIES_X, TIES_Y, id="ties"),
    pytest.param(NEG_X, NEG_Y, id="negative"),
    pytest.param(LIKERT_X, LIKERT_Y, id="likert"),
    pytest.param(WEAK_X, WEAK_Y, id="weak"),
    pytest.param(N3_X, N3_Y, id="n3"),
]


def beta_p_value(r, df):
    """Two-sided p of H0: rho = 0 via the regularised incomplete beta function,
    independent of the t-distribution route used by the module."""
    return special.betainc(df / 2, 0.5, df / (df + r * r * df / (1 - r * r)))


def test_doctests():
    result = doctest.testmod(surveys.stats)
    assert result.attempted > 20
    assert result.failed == 0


def test_public_surface():
    for name in surveys.stats.__all__:
        assert hasattr(surveys.stats, name), name
    assert issubclass(StatisticsError, ValueError)
    assert {"pearson", "correlate", "partial_correlate", "relative_weights"} <= set(
        surveys.stats.__all__
    )


# -- pearson / spearman --------------------------------------------------------


@pytest.mark.parametrize(("x", "y"), DATASETS)
def test_pearson_matches_scipy(x, y):
    assert pearson(x, y) == pytest.approx(ss.pearsonr(x, y).statistic, abs=R_TOL)


@pytest.mark.parametrize(("x", "y"), DATASETS)
def test_spearman_matches_scipy_with_ties(x, y):
    assert spearman(x, y) == pytest.approx(ss.spearmanr(x, y).statistic, abs=R_TOL)


def test_spearman_uses_average_ranks():
    # x ranks: 1, 2.5, 2.5, 4; y ranks: 1, 3, 2, 4 -> Pearson on those
    expected = np.corrcoef([1, 2.5, 2.5, 4], [1, 3, 2, 4])[0, 1]
    assert spearman([10, 20, 20, 30], [1, 3, 2, 4]) == pytest.approx(expected, abs=R_TOL)


def test_perfect_correlation_is_exact():
    x = [1, 2, 3, 4, 5]
    assert pearson(x, [3 * v + 1 for v in x]) == 1.0
    assert pearson(x, [-2 * v + 5 for v in x]) == -1.0
    assert spearman(x, [v**3 for v in x]) == 1.0
    assert spearman(x, [-math.exp(v) for v in x]) == -1.0


@pytest.mark.parametrize(
    ("x", "y"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([1], [2], id="n1"),
        pytest.param([3, 3, 3, 3], [1, 2, 3, 4], id="constant-x"),
        pytest.param([1, 2, 3, 4], [0.1, 0.1, 0.1, 0.1], id="constant-y"),
    ],
)
def test_pearson_and_spearman_undefined(x, y):
    assert pearson(x, y) is None
    assert spearman(x, y) is None


def test_two_points_correlate_perfectly():
    assert pearson([1, 2], [5, 3]) == -1.0


def test_mismatched_lengths_raise():
    with pytest.raises(StatisticsError):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(StatisticsError):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(StatisticsError):
        correlate([1, 2, 3], [1, 2])
    with pytest.raises(StatisticsError):
        linear_fit([1, 2, 3], [1, 2])


def test_non_finite_input_raises():
    with pytest.raises(StatisticsError):
        pearson([1, 2, float("nan")], [1, 2, 3])


# -- fisher interval / p-value ---------------------------------------------------


@pytest.mark.parametrize(("x", "y"), [p for p in DATASETS if p.id != "n3"])
@pytest.mark.parametrize("confidence", [0.95, 0.90])
def test_fisher_interval_matches_scipy(x, y, confidence):
    result = ss.pearsonr(x, y)
    expected = result.confidence_interval(confidence_level=confidence)
    low, high = fisher_interval(result.statistic, len(x), confidence=confidence)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


def test_fisher_interval_with_covariates_by_hand():
    # r = 0.4, n = 30, k = 2: atanh(0.4) ± 1.959964 / sqrt(25)
    z = 1.959963984540054
    low, high = fisher_interval(0.4, 30, covariates=2)
    assert low == pytest.approx(math.tanh(math.atanh(0.4) - z / 5), abs=1e-12)
    assert high == pytest.approx(math.tanh(math.atanh(0.4) + z / 5), abs=1e-12)


def test_fisher_interval_edges():
    assert fisher_interval(0.5, 3) is None
    assert fisher_interval(0.5, 4) is not None
    assert fisher_interval(0.5, 5, covariates=1) is not None
    assert fisher_interval(0.5, 5, covariates=2) is None
    assert fisher_interval(1.0, 10) == (1.0, 1.0)
    assert fisher_interval(-1.0, 10) == (-1.0, -1.0)
    with pytest.raises(StatisticsError):
        fisher_interval(1.2, 10)
    with pytest.raises(StatisticsError):
        fisher_interval(0.5, 10, confidence=1.0)
    with pytest.raises(StatisticsError):
        fisher_interval(0.5, 10, covariates=-1)


@pytest.mark.parametrize(("x", "y"), DATASETS)
def test_p_value_matches_scipy(x, y):
    result = ss.pearsonr(x, y)
    assert correlation_p_value(result.statistic, len(x)) == pytest.approx(
        result.pvalue, rel=1e-9, abs=1e-15
    )


@pytest.mark.parametrize("covariates", [0, 1, 3])
def test_p_value_with_covariates_matches_beta_form(covariates):
    r, n = -0.37, 25
    expected = beta_p_value(r, n - 2 - covariates)
    assert correlation_p_value(r, n, covariates=covariates) == pytest.approx(
        expected, rel=1e-9
    )


def test_p_value_edges():
    assert correlation_p_value(0.5, 2) is None
    assert correlation_p_value(0.5, 3, covariates=1) is None
    assert correlation_p_value(0.5, 3) is not None
    assert correlation_p_value(1.0, 10) == 0.0
    assert correlation_p_value(-1.0, 10) == 0.0
    assert correlation_p_value(0.0, 10) == pytest.approx(1.0)
    with pytest.raises(StatisticsError):
        correlation_p_value(-1.5, 10)


# -- correlate --------------------------------------------------------------------


@pytest.mark.parametrize(("x", "y"), [p for p in DATASETS if p.id != "n3"])
def test_correlate_matches_scipy(x, y):
    c = correlate(x, y)
    reference = ss.pearsonr(x, y)
    interval = reference.confidence_interval(0.95)
    assert c.n == len(x)
    assert c.r == pytest.approx(reference.statistic, abs=R_TOL)
    assert c.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-15)
    assert c.ci_low == pytest.approx(interval.low, abs=1e-9)
    assert c.ci_high == pytest.approx(interval.high, abs=1e-9)
    assert c.rho == pytest.approx(ss.spearmanr(x, y).statistic, abs=R_TOL)


def test_correlate_n3_has_p_but_no_interval():
    c = correlate(N3_X, N3_Y)
    assert c.r == pytest.approx(0.5, abs=R_TOL)
    assert c.ci_low is None and c.ci_high is None
    assert c.p_value == pytest.approx(ss.pearsonr(N3_X, N3_Y).pvalue, rel=1e-9)
    assert c.rho == pytest.approx(0.5, abs=R_TOL)


def test_correlate_n2_has_r_only():
    c = correlate([1, 2], [4, 9])
    assert c == Correlation(n=2, r=1.0, ci_low=None, ci_high=None, p_value=None, rho=1.0)


def test_correlate_constant_column():
    c = correlate([1, 2, 3, 4, 5], [4, 4, 4, 4, 4])
    assert c == Correlation(n=5, r=None, ci_low=None, ci_high=None, p_value=None, rho=None)


def test_correlate_perfect_negative():
    c = correlate([1, 2, 3, 4, 5, 6], [12, 10, 8, 6, 4, 2])
    assert (c.r, c.ci_low, c.ci_high, c.p_value, c.rho) == (-1.0, -1.0, -1.0, 0.0, -1.0)


def test_correlate_confidence_changes_width():
    wide = correlate(LIKERT_X, LIKERT_Y, confidence=0.99)
    narrow = correlate(LIKERT_X, LIKERT_Y, confidence=0.80)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_correlation_as_dict_is_json_ready():
    d = correlate(LIKERT_X, LIKERT_Y).as_dict()
    assert set(d) == {"n", "r", "ci_low", "ci_high", "p_value", "rho"}
    assert all(type(v) in (int, float) for v in d.values())
    assert json.loads(json.dumps(d)) == d
    empty = correlate([1], [2]).as_dict()
    assert empty == {"n": 1, "r": None, "ci_low": None, "ci_high": None,
                     "p_value": None, "rho": None}


# -- partial correlation -----------------------------------------------------------

# 12 contractors: pulse score (x), customer CSAT (y), tenure (z1), region (z2).
P_X = [3.2, 4.1, 2.8, 4.5, 3.9, 2.2, 3.5, 4.8, 3.0, 4.2, 2.6, 3.7]
P_Y = [3.9, 4.4, 3.1, 4.2, 4.6, 2.9, 3.3, 4.9, 3.6, 4.0, 3.0, 4.1]
P_TENURE = [2, 5, 1, 6, 4, 1, 3, 8, 2, 5, 1, 3]
P_REGION = ["north", "south", "east", "north", "south", "east",
            "north", "south", "east", "north", "south", "east"]


def precision_partial(x, y, covariates):
    """Partial r from the inverse correlation matrix (pingouin-style)."""
    data = np.array([x, y, *covariates], dtype=float)
    p = np.linalg.inv(np.corrcoef(data))
    return -p[0, 1] / math.sqrt(p[0, 0] * p[1, 1])


def lstsq_partial(x, y, covariates):
    """Partial r from residuals of an independent numpy least-squares fit."""
    design = np.column_stack([np.ones(len(x)), *covariates])
    ex = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ey = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return np.corrcoef(ex, ey)[0, 1]


def check_partial(c, reference_r, n, k):
    assert c.n == n
    assert c.r == pytest.approx(reference_r, abs=R_TOL)
    assert c.rho is None
    assert c.p_value == pytest.approx(beta_p_value(reference_r, n - 2 - k), rel=1e-9)
    z = ss.norm.ppf(0.975)
    centre, half = math.atanh(reference_r), z / math.sqrt(n - 3 - k)
    assert c.ci_low == pytest.approx(math.tanh(centre - half), abs=1e-9)
    assert c.ci_high == pytest.approx(math.tanh(centre + half), abs=1e-9)


def test_partial_one_covariate():
    expected = precision_partial(P_X, P_Y, [P_TENURE])
    assert expected == pytest.approx(
        lstsq_partial(np.array(P_X), np.array(P_Y), [P_TENURE]), abs=1e-12
    )
    # Textbook first-order formula as a third, independent route.
    rxy, rxz, ryz = (np.corrcoef([P_X, P_Y, P_TENURE])[i, j] for i, j in ((0, 1), (0, 2), (1, 2)))
    assert expected == pytest.approx(
        (rxy - rxz * ryz) / math.sqrt((1 - rxz**2) * (1 - ryz**2)), abs=1e-12
    )
    check_partial(partial_correlate(P_X, P_Y, [P_TENURE]), expected, 12, 1)


def test_partial_with_categorical_dummies():
    dummies = dummy_columns(P_REGION)
    assert len(dummies) == 2
    covariates = [P_TENURE, *dummies]
    expected = precision_partial(P_X, P_Y, covariates)
    check_partial(partial_correlate(P_X, P_Y, covariates), expected, 12, 3)


def test_partial_drops_constant_and_dependent_covariates():
    expected = precision_partial(P_X, P_Y, [P_TENURE])
    constant = [7.0] * 12
    rescaled = [2 * t + 3 for t in P_TENURE]  # linearly dependent on tenure
    c = partial_correlate(P_X, P_Y, [constant, P_TENURE, rescaled, constant])
    check_partial(c, expected, 12, 1)  # k counts only the kept column


def test_partial_drops_full_dummy_set():
    # All three indicator columns sum to the intercept: one must be dropped.
    full = [[1.0 if r == level else 0.0 for r in P_REGION] for level in ("east", "north", "south")]
    expected = precision_partial(P_X, P_Y, dummy_columns(P_REGION))
    check_partial(partial_correlate(P_X, P_Y, full), expected, 12, 2)


def test_partial_without_covariates_equals_correlate():
    plain = correlate(P_X, P_Y)
    partial = partial_correlate(P_X, P_Y, [])
    assert partial.n == plain.n and partial.rho is None
    for field in ("r", "ci_low", "ci_high", "p_value"):
        assert getattr(partial, field) == pytest.approx(getattr(plain, field), abs=1e-12)


def test_partial_sign_can_flip():
    # Positive overall, negative within tenure groups.
    c = partial_correlate([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6], [[1, 1, 2, 2, 3, 3, 3]])
    assert pearson([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]) > 0
    assert c.r < 0
    assert c.r == pytest.approx(
        precision_partial([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6], [[1, 1, 2, 2, 3, 3, 3]]),
        abs=R_TOL,
    )


def test_partial_undefined_cases():
    none = dict(r=None, ci_low=None, ci_high=None, p_value=None, rho=None)
    # x is exactly explained by the covariate: residuals are rounding noise.
    explained = [0.1 * t + 0.3 for t in P_TENURE]
    assert partial_correlate(explained, P_Y, [P_TENURE]) == Correlation(n=12, **none)
    # constant x
    assert partial_correlate([2] * 12, P_Y, [P_TENURE]) == Correlation(n=12, **none)
    # n = 2 with one covariate: nothing left after the fit
    assert partial_correlate([1, 2], [2, 1], [[0, 1]]) == Correlation(n=2, **none)


def test_partial_n3_one_covariate_is_degenerate_but_defined():
    c = partial_correlate([1, 2, 4], [3, 1, 2], [[1, 2, 3]])
    assert c.r is not None and abs(c.r) == pytest.approx(1.0)
    assert c.p_value is None and c.ci_low is None and c.ci_high is None


def test_partial_bad_covariate_length_raises():
    with pytest.raises(StatisticsError):
        partial_correlate(P_X, P_Y, [P_TENURE[:-1]])


# -- dummy columns ------------------------------------------------------------------


def test_dummy_columns():
    assert dummy_columns(["van", "bike", "van", "car"]) == [
        [0.0, 0.0, 0.0, 1.0],  # car
        [1.0, 0.0, 1.0, 0.0],  # van ("bike" is the dropped reference)
    ]
    assert dummy_columns(["only", "only"]) == []
    assert dummy_columns([]) == []


# -- Benjamini–Hochberg --------------------------------------------------------------


@pytest.mark.parametrize(
    "ps",
    [
        [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9],
        [0.5],
        [0.001, 0.001, 0.001],
        [0.8, 0.9, 0.95, 1.0],
        [0.0, 0.049, 0.051, 0.3, 0.012],
    ],
)
def test_benjamini_hochberg_matches_scipy(ps):
    expected = ss.false_discovery_control(ps, method="bh")
    assert benjamini_hochberg(ps) == pytest.approx(list(expected), abs=1e-15)


def test_benjamini_hochberg_none_passes_through():
    ps = [0.02, None, 0.04, None, 0.001]
    expected = ss.false_discovery_control([0.02, 0.04, 0.001], method="bh")
    result = benjamini_hochberg(ps)
    assert result[1] is None and result[3] is None
    assert [result[0], result[2], result[4]] == pytest.approx(list(expected), abs=1e-15)
    assert benjamini_hochberg([None, None]) == [None, None]
    assert benjamini_hochberg([]) == []


def test_benjamini_hochberg_monotone_and_capped():
    ps = [0.3, 0.01, 0.6, 0.02, 0.59, 0.9]
    adjusted = benjamini_hochberg(ps)
    pairs = sorted(zip(ps, adjusted, strict=True))
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(pairs))
    assert all(p <= q <= 1.0 for p, q in zip(ps, adjusted, strict=True))
    assert max(benjamini_hochberg([0.9, 0.95, 0.99])) == pytest.approx(0.99)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_benjamini_hochberg_rejects_bad_p(bad):
    with pytest.raises(StatisticsError):
        benjamini_hochberg([0.1, bad])


# -- linear fit ------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "y"), DATASETS)
def test_linear_fit_matches_polyfit(x, y):
    slope, intercept = np.polyfit(x, y, 1)
    assert linear_fit(x, y) == pytest.approx((slope, intercept), abs=1e-9)


def test_linear_fit_edges():
    assert linear_fit([], []) is None
    assert linear_fit([1], [1]) is None
    assert linear_fit([2, 2, 2], [1, 2, 3]) is None
    assert linear_fit([1, 2, 3], [5, 5, 5]) == (0.0, 5.0)
    assert linear_fit([0, 1], [1, -1]) == (-2.0, 1.0)


# -- relative weights -------------------------------------------------------------------

# mtcars (Henderson & Velleman 1981; R's datasets package): mpg, cyl, disp, hp, gear.
MTCARS = [
    (21.0, 6, 160.0, 110, 4), (21.0, 6, 160.0, 110, 4), (22.8, 4, 108.0, 93, 4),
    (21.4, 6, 258.0, 110, 3), (18.7, 8, 360.0, 175, 3), (18.1, 6, 225.0, 105, 3),
    (14.3, 8, 360.0, 245, 3), (24.4, 4, 146.7, 62, 4), (22.8, 4, 140.8, 95, 4),
    (19.2, 6, 167.6, 123, 4), (17.8, 6, 167.6, 123, 4), (16.4, 8, 275.8, 180, 3),
    (17.3, 8, 275.8, 180, 3), (15.2, 8, 275.8, 180, 3), (10.4, 8, 472.0, 205, 3),
    (10.4, 8, 460.0, 215, 3), (14.7, 8, 440.0, 230, 3), (32.4, 4, 78.7, 66, 4),
    (30.4, 4, 75.7, 52, 4), (33.9, 4, 71.1, 65, 4), (21.5, 4, 120.1, 97, 3),
    (15.5, 8, 318.0, 150, 3), (15.2, 8, 304.0, 150, 3), (13.3, 8, 350.0, 245, 3),
    (19.2, 8, 400.0, 175, 3), (27.3, 4, 79.0, 66, 4), (26.0, 4, 120.3, 91, 5),
    (30.4, 4, 95.1, 113, 5), (15.8, 8, 351.0, 264, 5), (19.7, 6, 145.0, 175, 5),
    (15.0, 8, 301.0, 335, 5), (21.4, 4, 121.0, 109, 4),
]


def ols_r_squared(columns, y):
    design = np.column_stack([np.ones(len(y)), *columns])
    y = np.asarray(y, dtype=float)
    residuals = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - residuals @ residuals / np.sum((y - y.mean()) ** 2)


def test_relative_weights_mtcars_published_example():
    # rwa R package README (Chan): rwa(mtcars, "mpg", c("cyl","disp","hp","gear"))
    # R² 0.7791896; raw 0.2284797 0.2221469 0.2321744 0.0963886;
    # rescaled 29.32274 28.50999 29.79691 12.37037.
    mpg, cyl, disp, hp, gear = (list(col) for col in zip(*MTCARS, strict=True))
    assert len(mpg) == 32 and statistics.fmean(mpg) == pytest.approx(20.090625)
    rw = relative_weights({"cyl": cyl, "disp": disp, "hp": hp, "gear": gear}, mpg)
    assert rw.n == 32
    assert rw.r_squared == pytest.approx(0.7791896, abs=5e-8)
    published = {"cyl": 0.2284797, "disp": 0.2221469, "hp": 0.2321744, "gear": 0.0963886}
    for name, value in published.items():
        assert rw.weights[name] == pytest.approx(value, abs=5e-8)
    rescaled = {"cyl": 29.32274, "disp": 28.50999, "hp": 29.79691, "gear": 12.37037}
    for name, value in rescaled.items():
        assert rw.shares[name] == pytest.approx(value, abs=5e-6)


def test_relative_weights_sum_to_ols_r_squared():
    predictors = {"tenure": P_TENURE, "pulse": P_X, "noise": WEAK_X + WEAK_Y[:4]}
    rw = relative_weights(predictors, P_Y)
    assert isinstance(rw, RelativeWeights)
    assert rw.r_squared == pytest.approx(ols_r_squared(predictors.values(), P_Y), abs=1e-12)
    assert sum(rw.weights.values()) == pytest.approx(rw.r_squared, abs=1e-12)
    assert sum(rw.shares.values()) == pytest.approx(100.0)
    assert all(w >= 0 for w in rw.weights.values())
    assert list(rw.weights) == ["tenure", "pulse", "noise"]


def test_relative_weights_orthogonal_predictors_are_squared_correlations():
    # Columns of a Hadamard matrix: mutually orthogonal and mean zero.
    a = [1, -1, 1, -1, 1, -1, 1, -1]
    b = [1, 1, -1, -1, 1, 1, -1, -1]
    c = [1, 1, 1, 1, -1, -1, -1, -1]
    y = [3.0, 1.5, 2.2, 0.4, 2.9, 1.1, 0.8, 0.2]
    rw = relative_weights({"a": a, "b": b, "c": c}, y)
    for name, column in {"a": a, "b": b, "c": c}.items():
        assert rw.weights[name] == pytest.approx(np.corrcoef(column, y)[0, 1] ** 2, abs=1e-12)


def test_relative_weights_constant_and_collinear_predictors():
    base = {"tenure": P_TENURE, "pulse": P_X}
    reference = relative_weights(base, P_Y)
    rw = relative_weights({**base, "flat": [3] * 12}, P_Y)
    assert rw.weights["flat"] == 0.0 and rw.shares["flat"] == 0.0
    assert rw.weights["tenure"] == pytest.approx(reference.weights["tenure"], abs=1e-12)
    assert rw.r_squared == pytest.approx(reference.r_squared, abs=1e-12)
    # Exactly collinear pair: still a decomposition of the OLS R².
    twin = relative_weights({**base, "tenure2": [2 * t + 1 for t in P_TENURE]}, P_Y)
    assert twin.r_squared == pytest.approx(reference.r_squared, abs=1e-9)
    assert sum(twin.weights.values()) == pytest.approx(twin.r_squared, abs=1e-12)
    assert twin.weights["tenure"] == pytest.approx(twin.weights["tenure2"], abs=1e-9)


def test_relative_weights_undefined_and_degenerate():
    y = [1, 3, 2, 5]
    assert relative_weights({"a": [1, 2, 3, 4], "b": [2, 1, 2, 1]}, y) is not None
    assert relative_weights({"a": [1, 2, 3, 4], "b": [2, 1, 2, 1], "c": [0, 0, 1, 1]}, y) is None
    assert relative_weights({"a": [1, 2, 3, 4]}, [2, 2, 2, 2]) is None
    flat = relative_weights({"a": [1, 1, 1, 1]}, y)
    assert flat == RelativeWeights(r_squared=0.0, weights={"a": 0.0}, shares={"a": 0.0}, n=4)
    with pytest.raises(StatisticsError):
        relative_weights({"a": [1, 2, 3]}, y)


# -- reliability -------------------------------------------------------------------------

# Hand-worked table: 5 respondents, 3 items; the last row has a missing answer
# and is dropped, leaving 4 complete rows.
#   item1: 2 3 4 5  mean 3.5  SS = 2.25+0.25+0.25+2.25 = 5     var = 5/3
#   item2: 3 3 5 5  mean 4    SS = 1+1+1+1             = 4     var = 4/3
#   item3: 2 4 4 6  mean 4    SS = 4+0+0+4             = 8     var = 8/3
#   total: 7 10 13 16 mean 11.5 SS = 20.25+2.25+2.25+20.25 = 45 var = 15
#   alpha = 3/2 * (1 - (5/3 + 4/3 + 8/3) / 15) = 3/2 * (1 - 17/45) = 28/30 = 0.9333…
ALPHA_TABLE = [[2, 3, 2], [3, 3, 4], [4, 5, 4], [5, 5, 6], [1, None, 3]]


def test_cronbach_alpha_hand_worked():
    assert cronbach_alpha(ALPHA_TABLE) == pytest.approx(28 / 30, abs=1e-12)
    assert cronbach_alpha_from_variances([5 / 3, 4 / 3, 8 / 3], 15.0) == pytest.approx(
        28 / 30, abs=1e-12
    )


def test_cronbach_alpha_equals_mean_covariance_form():
    # alpha = k² · mean off-diagonal covariance / total variance (independent form)
    table = np.array([[4, 5, 3, 4], [2, 3, 2, 1], [5, 5, 4, 5], [3, 2, 3, 3],
                      [4, 4, 5, 4], [1, 2, 1, 2], [3, 4, 4, 3]], dtype=float)
    k = table.shape[1]
    cov = np.cov(table, rowvar=False)
    mean_cov = (cov.sum() - np.trace(cov)) / (k * (k - 1))
    expected = k * k * mean_cov / cov.sum()
    assert cronbach_alpha(table.tolist()) == pytest.approx(expected, abs=1e-12)


def test_cronbach_alpha_undefined():
    assert cronbach_alpha([]) is None
    assert cronbach_alpha([[1], [2], [3]]) is None  # one item
    assert cronbach_alpha([[1, 2], [None, 3], [4, None]]) is None  # one complete row
    assert cronbach_alpha([[3, 3], [3, 3], [3, 3]]) is None  # totals do not vary
    assert cronbach_alpha_from_variances([1.0], 1.0) is None
    assert cronbach_alpha_from_variances([1.0, 1.0], 0.0) is None
    with pytest.raises(StatisticsError):
        cronbach_alpha([[1, 2], [1, 2, 3]])
    with pytest.raises(StatisticsError):
        cronbach_alpha_from_variances([1.0, -0.5], 2.0)


def test_cronbach_alpha_can_be_negative():
    # Items that move against each other: alpha below zero, not an error.
    # item vars 5/3 and 5/3, totals 5 7 6 6 -> var 2/3: alpha = 2 * (1 - 5) = -8
    assert cronbach_alpha([[1, 4], [2, 5], [3, 3], [4, 2]]) == pytest.approx(-8.0)


def test_spearman_brown():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(1.0) == 1.0
    assert spearman_brown(0.0) == 0.0
    assert spearman_brown(-1.0) is None
    with pytest.raises(StatisticsError):
        spearman_brown(1.1)


def test_spearman_brown_is_standardised_two_item_alpha():
    a, b = np.array(LIKERT_X, dtype=float), np.array(LIKERT_Y, dtype=float)
    za, zb = (a - a.mean()) / a.std(ddof=1), (b - b.mean()) / b.std(ddof=1)
    alpha = cronbach_alpha([list(row) for row in zip(za, zb, strict=True)])
    assert spearman_brown(pearson(LIKERT_X, LIKERT_Y)) == pytest.approx(alpha, abs=1e-12)


# -- power -----------------------------------------------------------------------------


def test_min_sample_size_product_numbers():
    assert min_sample_size(0.3) == 85
    assert min_sample_size(0.2) == 194
    assert min_sample_size(-0.3) == 85
    assert min_sample_size(0.33) == 70  # Harter et al.'s 0.33
    assert min_sample_size(0.3, power=0.9) > 85
    assert min_sample_size(0.3, alpha=0.01) > 85
    for bad in (0.0, 1.0, -1.0):
        with pytest.raises(StatisticsError):
            min_sample_size(bad)
    with pytest.raises(StatisticsError):
        min_sample_size(0.3, power=1.2)


def test_min_sample_size_agrees_with_power_for():
    for r in (0.1, 0.2, 0.3, 0.5):
        n = min_sample_size(r)
        assert power_for(r, n) >= 0.8
        assert power_for(r, n - 1) < 0.8


def test_power_for_matches_normal_formula():
    z = statistics.NormalDist()
    delta = math.atanh(0.25) * math.sqrt(97)
    crit = z.inv_cdf(0.975)
    expected = z.cdf(delta - crit) + z.cdf(-delta - crit)
    assert power_for(0.25, 100) == pytest.approx(expected, abs=1e-12)
    assert power_for(-0.25, 100) == pytest.approx(expected, abs=1e-12)


def test_power_for_edges():
    assert power_for(0.3, 3) is None
    assert power_for(0.0, 50) == pytest.approx(0.05)
    assert power_for(1.0, 10) == 1.0
    with pytest.raises(StatisticsError):
        power_for(0.3, 50, alpha=0.0)


# -- conveniences ----------------------------------------------------------------------


def test_mean_and_share():
    assert mean([4, 5, 3, 4]) == 4.0
    assert mean([0.1] * 10) == pytest.approx(statistics.fmean([0.1] * 10))
    assert mean([]) is None
    assert share([True, False, False, True, True]) == 0.6
    assert share([False, False]) == 0.0
    assert share([]) is None


def test_partial_correlator_equals_partial_correlate_pair_by_pair():
    from surveys.stats import PartialCorrelator

    rng = np.random.default_rng(3)
    n = 60
    region = [str(v) for v in rng.integers(0, 4, n)]
    tenure = rng.normal(24, 10, n)
    tenure[[5, 17]] = np.nan  # unknown start dates drop those rows
    columns = {name: rng.normal(size=n) + 0.3 * tenure for name in ("cei", "trust", "csat")}
    columns["trust"][[2, 9, 40]] = np.nan
    columns["csat"][[9, 11]] = np.nan
    covariates = [*surveys.stats.dummy_columns(region), tenure.tolist()]
    correlator = PartialCorrelator({k: v.tolist() for k, v in columns.items()}, covariates)
    for x, y in (("cei", "csat"), ("trust", "csat"), ("cei", "trust")):
        keep = ~np.isnan(columns[x]) & ~np.isnan(columns[y]) & ~np.isnan(tenure)
        sub = [[c[i] for i in np.flatnonzero(keep)] for c in covariates]
        expected = partial_correlate(columns[x][keep], columns[y][keep], sub)
        got = correlator.correlate(x, y)
        assert got.n == expected.n == int(keep.sum())
        assert got.r == pytest.approx(expected.r, abs=1e-12)
        assert got.ci_low == pytest.approx(expected.ci_low, abs=1e-12)
        assert got.p_value == pytest.approx(expected.p_value, abs=1e-12)
    with pytest.raises(KeyError):
        correlator.correlate("cei", "nps")


def test_spearman_ranks_values_a_few_bits_apart_as_ties():
    """Means equal in exact arithmetic (15.15) but apart after floating-point
    summation rank as ties, as they would in exact arithmetic."""
    from fractions import Fraction

    from surveys.stats import settle

    a, b = (10.1 + 20.2) / 2, (10.2 + 20.1) / 2
    assert a != b and settle(a) == settle(b) == 15.15
    xs, ys = [a, b, 12.0, 18.5, 16.0], [4.0, 3.0, 2.5, 4.5, 3.5]
    exact = [Fraction("15.15"), Fraction("15.15"), Fraction(12), Fraction("18.5"), Fraction(16)]
    ranks = ss.rankdata([float(x) for x in exact])
    expected = float(np.corrcoef(ranks, ss.rankdata(ys))[0, 1])
    assert spearman(xs, ys) == pytest.approx(expected, abs=1e-12)
    naive = float(np.corrcoef(ss.rankdata(xs), ss.rankdata(ys))[0, 1])
    assert abs(naive - expected) > 0.01  # without settling, the tie splits


def test_settled_settles_each_distinct_value_once_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """`settled` (the ranks' tie-breaking) gives exactly `settle` of every element, the
    signed zeros, NaN and infinities included, and calls it once per distinct value."""
    from surveys.stats import columns

    rng = np.random.default_rng(3)
    means = rng.integers(1, 6, (4000, 7)).sum(axis=1) / 7  # means of small integers repeat
    values = np.concatenate([means, (10.1 + 20.2) / 2 + np.zeros(5), [15.15, 0.0, -0.0, np.nan, np.inf, -np.inf,
                                                                      1e-300, 123456789.5, 2.0 ** 60]])
    expected = [columns.settle(v) for v in values.tolist()]
    calls: list[float] = []

    def counted(value: float) -> float:
        calls.append(value)
        return float(format(value, f".{columns.TIE_DIGITS}g"))

    monkeypatch.setattr(columns, "settle", counted)
    got = columns.settled(values)
    assert got.dtype == float and got.shape == values.shape
    assert [np.signbit(g) for g in got] == [np.signbit(e) for e in expected]
    assert np.array_equal(got, np.array(expected), equal_nan=True)
    assert len(calls) == len(np.unique(values.view(np.int64))) < 100
    assert columns.settled(np.array([], dtype=float)).tolist() == []
    assert columns.settled(np.array([3, 3, 4])).tolist() == [3.0, 3.0, 4.0]


def test_reliability_from_sums_matches_the_item_table():
    import random

    from surveys.stats import reliability_from_sums, spearman_brown

    rng = random.Random(3)
    for k in (2, 3, 4):
        rows = [[rng.randint(1, 5) for _ in range(k)] for _ in range(40)]
        items = [(len(rows), sum(r[i] for r in rows), sum(r[i] ** 2 for r in rows)) for i in range(k)]
        totals = [sum(r) for r in rows]
        found = reliability_from_sums(items, (len(rows), sum(totals), sum(t * t for t in totals)))
        assert found.alpha == pytest.approx(surveys.stats.cronbach_alpha(rows), abs=1e-12)
        assert found.n_complete == 40
        if k == 2:
            r = float(np.corrcoef([row[0] for row in rows], [row[1] for row in rows])[0, 1])
            assert found.reliability == pytest.approx(spearman_brown(r), abs=1e-12)
        else:
            assert found.reliability == found.alpha and found.spearman_brown is None
    assert reliability_from_sums([(1, 3, 9), (1, 2, 4)], (1, 5, 25)).alpha is None  # one response
