"""The words for a correlation follow its interval: one rule for the API and the dashboard."""

from __future__ import annotations

import doctest

import pytest

import surveys.association
from surveys.association import describe, linkage_headline


def test_doctests() -> None:
    assert doctest.testmod(surveys.association).failed == 0


def test_no_association_is_claimed_when_the_interval_includes_zero() -> None:
    for r, low, high in ((0.0, -0.25, 0.25), (-1e-17, -0.3, 0.3), (0.2, -0.01, 0.39), (-0.45, -0.7, 0.0)):
        assert describe(r, low, high).strength == "none" and describe(r, low, high).direction is None
    text = linkage_headline(-1e-17, -0.25, 0.25, 60)
    assert text.startswith("No clear association")
    assert "r = 0.00, 95 % CI −0.25 to 0.25 includes 0, 60 contractors" in text
    assert "associated with" not in text and "more satisfied" not in text


@pytest.mark.parametrize(
    ("r", "low", "high", "strength", "words"),
    [
        (0.05, 0.01, 0.09, "weak", "weakly associated with more satisfied customers"),
        (0.29, 0.1, 0.46, "weak", "weakly associated with more"),
        (0.3, 0.1, 0.48, "moderate", "moderately associated with more"),
        (-0.49, -0.66, -0.28, "moderate", "moderately associated with less satisfied customers"),
        (0.5, 0.3, 0.66, "strong", "strongly associated with more"),
        (-0.8, -0.9, -0.6, "strong", "strongly associated with less"),
    ],
)
def test_graded_words_follow_the_size_and_sign(r: float, low: float, high: float, strength: str,
                                              words: str) -> None:
    assert describe(r, low, high).strength == strength
    assert describe(r, low, high).direction == ("positive" if r > 0 else "negative")
    text = linkage_headline(r, low, high, 1200)
    assert words in text and text.endswith("1,200 contractors.")


def test_an_r_outside_its_interval_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="outside"):
        describe(0.5, 0.1, 0.3)
