"""What every statistic starts from: the error type, columns of numbers checked
once (finite, one-dimensional, paired), ties settled, mean and share."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "TIE_DIGITS",
    "StatisticsError",
    "as_column",
    "as_pair",
    "check_probability",
    "check_r",
    "is_constant",
    "mean",
    "settle",
    "settled",
    "share",
]


class StatisticsError(ValueError):
    """A statistics function was called incorrectly (a caller bug)."""


def as_column(data: Sequence[float] | np.ndarray, name: str = "data") -> np.ndarray:
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


def as_pair(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = as_column(x, "x"), as_column(y, "y")
    if len(xs) != len(ys):
        raise StatisticsError(
            f"x and y must have the same length ({len(xs)} != {len(ys)})"
        )
    return xs, ys


def is_constant(array: np.ndarray) -> bool:
    """True when every value is equal (or there are none); exact, no rounding."""
    return len(array) == 0 or bool(array.min() == array.max())


def check_probability(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise StatisticsError(f"{name} must be strictly between 0 and 1, not {value}")


def check_r(r: float) -> None:
    if not -1.0 <= r <= 1.0:
        raise StatisticsError(f"a correlation must lie in [-1, 1], not {r}")


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


def settled(values: np.ndarray) -> np.ndarray:
    """`settle` over a one-dimensional array, each distinct value (bit pattern) once.

    A column of means of small integers repeats itself (5,000 contractors' CSAT
    means hold a few hundred values; a dimension's, a few dozen), and `settle`
    goes through text, so settling the distinct values and spreading them back
    is several times faster, with the very same result element by element.

    >>> settled(np.array([0.1 + 0.2, 0.3, 0.1 + 0.2, -0.0])).tolist()
    [0.3, 0.3, 0.3, -0.0]
    """
    bits = np.ascontiguousarray(values, dtype=float).view(np.int64)
    distinct, where = np.unique(bits, return_inverse=True)
    return np.array([settle(v) for v in distinct.view(float).tolist()], dtype=float)[where.reshape(-1)]


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
