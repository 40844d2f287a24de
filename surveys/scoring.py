"""The survey formulas, written once: plain numbers in, plain numbers out.

Definitions follow PRODUCT.md "Standard definitions". Counts come from the
database; the formula lives here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from surveys.schema import Question, Survey

__all__ = [
    "CES_AGREE_MIN",
    "CSAT_LOW_MAX",
    "CSAT_TOP_TWO_MIN",
    "DETRACTOR_MAX",
    "FAVOURABLE_MIN",
    "PROMOTER_MIN",
    "DimensionScore",
    "PulseScoring",
    "cei",
    "ces_agree",
    "csat_top_two",
    "dimension_scores",
    "favourable",
    "is_detractor",
    "is_detractor_answer",
    "is_promoter",
    "nps",
    "rescale_agree",
    "score_pulse",
    "scored_value",
    "share_percent",
]


# The thresholds of the standard definitions (PRODUCT.md), each once: the
# functions below use them, and the SQL of models/analytics/ and
# models/followup.py interpolates them.
PROMOTER_MIN = 9  # NPS promoters answer 9–10 (Reichheld 2003)
DETRACTOR_MAX = 6  # NPS detractors answer 0–6
CSAT_TOP_TWO_MIN = 4  # CSAT % is the share answering 4–5 (top-two box)
CSAT_LOW_MAX = 2  # an unhappy customer, for follow-up: CSAT 1–2
CES_AGREE_MIN = 5  # CES 2.0: the share answering 5–7 on the 1–7 agree scale
FAVOURABLE_MIN = 4  # % favourable: 4–5 on a 1–5 agree scale


def _check_range(value: int, lo: int, hi: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{what} must be a whole number from {lo} to {hi}, got {value!r}")


def rescale_agree(mean: float) -> float:
    """A 1–5 agree-scale mean on 0–100: (mean − 1) / 4 × 100 (Viva Glint convention).

    >>> rescale_agree(1), rescale_agree(3), rescale_agree(5)
    (0.0, 50.0, 100.0)

    The map is linear and not clamped, so it also rescales interval bounds.
    """
    return (mean - 1) / 4 * 100


def scored_value(question: Question, answer: int) -> int:
    """The answer as scored: 6 − answer for a reversed 1–5 item, else the answer.

    >>> from surveys.schema import Question
    >>> scored_value(Question("q", "scale_1_5", {"en": "?"}, reversed=True), 2)
    4
    """
    scale = question.scale
    if scale is None:
        raise ValueError(f"question {question.id!r} is not a scale question")
    lo, hi = scale
    _check_range(answer, lo, hi, f"answer to {question.id!r}")
    return lo + hi - answer if question.reversed else answer


def dimension_scores(survey: Survey, answers: Mapping[str, object]) -> dict[str, float]:
    """Each dimension's score 0–100: the rescaled mean of its answered items.

    A dimension is scored only when at least ceil(k / 2) of its k items are
    answered (None or absent means unanswered); otherwise it is left out.

    >>> from surveys.schema import builtin_survey
    >>> dimension_scores(builtin_survey("pulse"), {"trust_judgement": 4, "trust_respect": 5})
    {'trust': 87.5}
    """
    scores: dict[str, float] = {}
    for dimension in survey.dimensions:
        items = survey.items(dimension.id)
        values = [
            scored_value(q, answers[q.id])  # type: ignore[arg-type]
            for q in items
            if answers.get(q.id) is not None
        ]
        if values and len(values) >= math.ceil(len(items) / 2):
            scores[dimension.id] = rescale_agree(sum(values) / len(values))
    return scores


def cei(survey: Survey, scores: Mapping[str, float]) -> float | None:
    """Connection & Empowerment Index (CEI): the weighted mean of the dimension scores present.

    CEI = Σ wᵢ·sᵢ / Σ wᵢ over the survey's dimensions that have a score
    (weights from Dimension.weight; keys not in the survey are ignored).
    None when no dimension is scored.
    """
    present = [(d.weight, scores[d.id]) for d in survey.dimensions if scores.get(d.id) is not None]
    if not present:
        return None
    return sum(w * s for w, s in present) / sum(w for w, _ in present)


def favourable(value: int) -> bool:
    """Favourable on a 1–5 agree scale: 4 or 5 (% favourable, PRODUCT.md)."""
    _check_range(value, 1, 5, "agree answer")
    return value >= FAVOURABLE_MIN


def nps(promoters: int, detractors: int, n: int) -> float | None:
    """Net Promoter Score: (promoters − detractors) / n × 100, from −100 to +100.

    Promoters answer 9–10, detractors 0–6 (Reichheld 2003). None when n == 0.

    >>> nps(5, 2, 10)
    30.0
    """
    if min(promoters, detractors, n) < 0 or promoters + detractors > n:
        raise ValueError(f"inconsistent counts: {promoters} promoters, {detractors} detractors, n={n}")
    if n == 0:
        return None
    return (promoters - detractors) / n * 100


def share_percent(count: int, n: int) -> float | None:
    """Share as a percentage: count / n × 100 (CSAT %, % favourable, CES 5–7). None when n == 0.

    >>> share_percent(3, 4)
    75.0
    """
    if count < 0 or count > n:
        raise ValueError(f"count must be from 0 to n={n}, got {count}")
    if n == 0:
        return None
    return count / n * 100


def is_promoter(nps_answer: int) -> bool:
    """NPS promoter: 9 or 10 on the 0–10 scale."""
    _check_range(nps_answer, 0, 10, "NPS answer")
    return nps_answer >= PROMOTER_MIN


def is_detractor(nps_answer: int) -> bool:
    """NPS detractor: 0 to 6 on the 0–10 scale."""
    _check_range(nps_answer, 0, 10, "NPS answer")
    return nps_answer <= DETRACTOR_MAX


def is_detractor_answer(*, csat: int | None, nps: int | None) -> bool:
    """A customer answer to follow up: NPS 0–6 or CSAT 1–2 (either may be unanswered).

    >>> is_detractor_answer(csat=5, nps=6), is_detractor_answer(csat=2, nps=None)
    (True, True)
    >>> is_detractor_answer(csat=3, nps=7), is_detractor_answer(csat=None, nps=None)
    (False, False)
    """
    if nps is not None and is_detractor(nps):
        return True
    if csat is not None:
        _check_range(csat, 1, 5, "CSAT answer")
        return csat <= CSAT_LOW_MAX
    return False


def csat_top_two(csat: int) -> bool:
    """CSAT top-two box: 4 or 5 on the 5-point scale (CSAT % = share of these)."""
    _check_range(csat, 1, 5, "CSAT answer")
    return csat >= CSAT_TOP_TWO_MIN


def ces_agree(ces: int) -> bool:
    """CES agreement: 5 to 7 on the 1–7 agree scale (CES 2.0)."""
    _check_range(ces, 1, 7, "CES answer")
    return ces >= CES_AGREE_MIN


@dataclass(frozen=True)
class DimensionScore:
    score: float  # 0–100
    answered: int  # items answered
    favourable: int  # of those, answered 4–5 (after reversal)
    item_sum: int  # their scored values added up: the item total reliability needs


@dataclass(frozen=True)
class PulseScoring:
    """Everything stored with a pulse response so the database only averages."""

    cei: float | None
    dimensions: Mapping[str, DimensionScore]
    items: Mapping[str, tuple[str, int]]  # item id -> (dimension, scored value)


def score_pulse(survey: Survey, answers: Mapping[str, object]) -> PulseScoring:
    """Score one validated pulse response: dimension scores, CEI and item values.

    >>> from surveys.schema import builtin_survey
    >>> s = score_pulse(builtin_survey("pulse"), {"trust_judgement": 4, "trust_respect": 5})
    >>> s.cei, s.dimensions["trust"]
    (87.5, DimensionScore(score=87.5, answered=2, favourable=2, item_sum=9))
    """
    scores = dimension_scores(survey, answers)
    items: dict[str, tuple[str, int]] = {}
    for question in survey.questions:
        value = answers.get(question.id)
        if question.dimension is not None and value is not None:
            items[question.id] = (question.dimension, scored_value(question, value))  # type: ignore[arg-type]
    dimensions = {}
    for dimension_id, score in scores.items():
        values = [v for d, v in items.values() if d == dimension_id]
        dimensions[dimension_id] = DimensionScore(
            score=score, answered=len(values), favourable=sum(favourable(v) for v in values),
            item_sum=sum(values),
        )
    return PulseScoring(cei=cei(survey, scores), dimensions=dimensions, items=items)
