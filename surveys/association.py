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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MODERATE",
    "STRONG",
    "Association",
    "Strength",
    "describe",
    "drivers_reading",
    "linkage_headline",
    "listed",
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


def listed(names: Sequence[str]) -> str:
    """Names as a sentence lists them.

    >>> listed(["trust"]), listed(["trust", "process"]), listed(["a", "b", "c"])
    ('trust', 'trust and process', 'a, b and c')
    """
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def drivers_reading(dimensions: Sequence[Mapping[str, Any]], tiers: Sequence[Sequence[str]], n: int) -> list[str]:
    """What the drivers view may say, sentence by sentence; every sentence follows an interval.

    ``dimensions``: {"id", "label", "r", "r_ci_low", "r_ci_high", "score", "score_low",
    "score_high"} (scores 0–100 with their 95 % interval, None when hidden);
    ``tiers``: the groups of dimensions that cannot be told apart, most
    associated first (`surveys.uncertainty.bootstrap_drivers`).

    >>> dims = [{"id": d, "label": d.title(), "r": 0.3, "r_ci_low": 0.2, "r_ci_high": 0.4,
    ...          "score": 55, "score_low": 53, "score_high": 57} for d in ("trust", "process")]
    >>> print(drivers_reading(dims, [["trust", "process"]], 300)[0])  # doctest: +NORMALIZE_WHITESPACE
    These 2 dimensions move together; none stands out: their importance for CSAT
    cannot be told apart in this data (300 contractors).
    """
    by_id = {d["id"]: d for d in dimensions}
    label = {d["id"]: str(d.get("label") or d["id"]) for d in dimensions}
    sentences = []
    if len(tiers) <= 1:
        sentences.append(f"These {len(dimensions)} dimensions move together; none stands out: their importance "
                         f"for CSAT cannot be told apart in this data ({n:,} contractors).")
    else:
        top = [label[d] for d in tiers[0]]
        rest = [label[d] for tier in tiers[1:] for d in tier]
        verb = "is" if len(top) == 1 else "are"
        sentences.append(f"{listed(top)} {verb} more strongly associated with CSAT than {listed(rest)}: each of "
                         f"those is clearly below {'it' if len(top) == 1 else 'one of them'} "
                         "(bootstrap, 95 %, corrected for comparing every pair).")
        if len(top) > 1:
            sentences.append(f"{listed(top)} cannot be told apart from one another.")
    unclaimed = [label[d["id"]] for d in dimensions
                 if d.get("r") is None or d.get("r_ci_low") is None or d["r_ci_low"] <= 0.0 <= d["r_ci_high"]]
    claimed = [d for d in dimensions if label[d["id"]] not in unclaimed]
    if claimed and not unclaimed:
        rs = [d["r"] for d in claimed]
        direction = "more" if all(r > 0 for r in rs) else "less" if all(r < 0 for r in rs) else None
        if direction:
            sentences.append(f"Each is associated with {direction} satisfied customers "
                             f"(r {_number(min(rs))} to {_number(max(rs))}, every 95 % interval excludes 0).")
    if unclaimed:
        one = len(unclaimed) == 1
        sentences.append(f"No association with CSAT can be claimed for {listed(unclaimed)}: "
                         f"{'its' if one else 'their'} 95 % interval of r includes 0.")
    scored = [d for d in dimensions if d.get("score_low") is not None and d.get("score_high") is not None]
    if len(scored) >= 2:
        low = min(scored, key=lambda d: d["score_high"])
        high = max(scored, key=lambda d: d["score_low"])
        spread = f"Scores run from {min(d['score'] for d in scored):.0f} to {max(d['score'] for d in scored):.0f}"
        if low["score_high"] >= high["score_low"]:
            sentences.append(f"{spread} and their 95 % intervals overlap, so no dimension scores clearly lower "
                             "than the others"
                             + ("; no dimension is both clearly more important and clearly lower scored."
                                if len(tiers) > 1 else "."))
        else:
            lower = [d for d in scored if d["score_high"] < high["score_low"]]
            first = [label[d["id"]] for d in lower if len(tiers) > 1 and d["id"] in tiers[0]]
            sentences.append(f"{spread}; {listed([label[d['id']] for d in lower])} "
                             f"{'scores' if len(lower) == 1 else 'score'} clearly below {label[high['id']]}.")
            if first:
                sentences.append(f"{listed(first)}: among the most associated with CSAT and scored clearly lower "
                                 "— the place to look first.")
    elif by_id:
        sentences.append("Dimension scores are hidden for this selection, so importance cannot be set beside them.")
    return sentences
