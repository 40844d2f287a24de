"""The words for a correlation: they follow its confidence interval (pure).

One rule in one place, for the API's linkage headline and the dashboard:
no association is claimed when the 95 % interval includes 0; otherwise the
strength is graded by |r| with Cohen's (1988) conventions for r — about
0.1 small, 0.3 medium, 0.5 large (Cohen, J. (1988). *Statistical Power
Analysis for the Behavioral Sciences*, 2nd ed., pp. 79–81) — read as
"weak" under 0.3, "moderate" under 0.5 and "strong" from 0.5; the direction
comes from the sign. The words say "associated", never "causes".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MODERATE",
    "STRONG",
    "Association",
    "Strength",
    "describe",
    "linkage_headline",
]

MODERATE = 0.3  # Cohen (1988): medium
STRONG = 0.5  # Cohen (1988): large

Strength = Literal["none", "weak", "moderate", "strong"]


@dataclass(frozen=True)
class Association:
    """What may be said of a correlation: `strength` "none" when the interval
    includes 0 (then `direction` is None), else graded, with the sign's direction."""

    strength: Strength
    direction: Literal["positive", "negative"] | None

    @property
    def claimed(self) -> bool:
        return self.strength != "none"


def describe(r: float, ci_low: float, ci_high: float) -> Association:
    """The association a correlation and its interval support.

    >>> describe(0.0, -0.25, 0.25)
    Association(strength='none', direction=None)
    >>> describe(0.41, 0.22, 0.57)
    Association(strength='moderate', direction='positive')
    >>> describe(-0.2, -0.35, -0.04).strength, describe(0.55, 0.3, 0.72).strength
    ('weak', 'strong')
    """
    if not ci_low <= r <= ci_high:
        raise ValueError(f"r = {r} lies outside its interval [{ci_low}, {ci_high}]")
    if ci_low <= 0.0 <= ci_high:
        return Association("none", None)
    size = abs(r)
    strength: Strength = "weak" if size < MODERATE else "moderate" if size < STRONG else "strong"
    return Association(strength, "positive" if r > 0 else "negative")


def _number(value: float) -> str:
    """Two decimals with a true minus sign (−0.25); a value that rounds to zero is 0.00, unsigned.

    >>> _number(-0.25), _number(-1e-17)
    ('−0.25', '0.00')
    """
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "−")


def linkage_headline(r: float, ci_low: float, ci_high: float, n: int) -> str:
    """The sentence a manager reads about contractors' index and their customers' satisfaction.

    >>> print(linkage_headline(0.0, -0.25, 0.25, 60))  # doctest: +NORMALIZE_WHITESPACE
    No clear association between contractors' index and their customers' satisfaction:
    r = 0.00, 95 % CI −0.25 to 0.25 includes 0, 60 contractors.
    >>> print(linkage_headline(0.41, 0.22, 0.57, 90))  # doctest: +NORMALIZE_WHITESPACE
    Contractors who feel more connected and empowered are moderately associated with more
    satisfied customers: r = 0.41, 95 % CI 0.22 to 0.57, 90 contractors.
    """
    words = describe(r, ci_low, ci_high)
    numbers = f"r = {_number(r)}, 95 % CI {_number(ci_low)} to {_number(ci_high)}"
    if not words.claimed:
        return (f"No clear association between contractors' index and their customers' satisfaction: "
                f"{numbers} includes 0, {n:,} contractors.")
    adverb = {"weak": "weakly", "moderate": "moderately", "strong": "strongly"}[words.strength]
    more = "more" if words.direction == "positive" else "less"
    return (f"Contractors who feel more connected and empowered are {adverb} associated with {more} "
            f"satisfied customers: {numbers}, {n:,} contractors.")
