"""Statistics over plain sequences: correlation, intervals, reliability, drivers.

Pure functions in the manner of CPython's ``Lib/statistics.py``: numbers in,
numbers out, no I/O.  An *undefined* result (too few people, a column where
everyone gave the same answer) is returned as ``None`` so that callers can
render "not enough data"; :class:`StatisticsError` is raised only for caller
bugs such as sequences of different lengths or a probability outside [0, 1].

>>> c = correlate([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
>>> round(c.r, 4), round(c.rho, 4), c.n
(0.8286, 0.8286, 6)

The parts: `columns` (the error type, checked columns, settle, mean, share),
`correlation`, `partial`, `drivers` and `reliability`; every name is
importable from ``surveys.stats``.
"""

from __future__ import annotations

from surveys.stats.columns import StatisticsError, mean, settle, share
from surveys.stats.correlation import (
    Correlation,
    benjamini_hochberg,
    correlate,
    correlation_p_value,
    fisher_interval,
    min_sample_size,
    pearson,
    power_for,
    spearman,
)
from surveys.stats.drivers import RelativeWeights, linear_fit, relative_weights
from surveys.stats.partial import PartialCorrelator, dummy_columns, partial_correlate
from surveys.stats.reliability import (
    Reliability,
    cronbach_alpha,
    cronbach_alpha_from_variances,
    reliability_from_sums,
    spearman_brown,
    variance_from_sums,
)

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

# doctest.testmod(surveys.stats) runs the examples of every part, as it did when they were one module.
__test__ = {name: globals()[name] for name in __all__}
