import pytest

from surveys.schema import Question, builtin_survey, parse_survey
from surveys.scoring import (
    cei,
    ces_agree,
    csat_top_two,
    dimension_scores,
    favourable,
    is_detractor,
    is_promoter,
    nps,
    rescale_agree,
    scored_value,
    share_percent,
)


def survey(weights=(1.0, 1.0), reversed_item="b2"):
    """Dimension "a" has three items, "b" two (b2 reversed)."""
    en = {"en": "x"}
    items = [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")]
    return parse_survey({
        "id": "s", "version": 1, "languages": ["en"],
        "title": en, "intro": en, "thanks": en,
        "dimensions": [
            {"id": "a", "labels": en, "weight": weights[0]},
            {"id": "b", "labels": en, "weight": weights[1]},
        ],
        "questions": [
            {"id": qid, "kind": "scale_1_5", "dimension": dim, "labels": en,
             "reversed": qid == reversed_item}
            for qid, dim in items
        ] + [{"id": "overall", "kind": "scale_1_5", "labels": en, "required": False}],
    })


def test_rescale_agree():
    assert rescale_agree(1) == 0
    assert rescale_agree(3) == 50
    assert rescale_agree(4.2) == pytest.approx(80)
    assert rescale_agree(5) == 100


def test_scored_value():
    plain = Question("q", "scale_1_5", {"en": "x"})
    flipped = Question("q", "scale_1_5", {"en": "x"}, reversed=True)
    assert [scored_value(plain, v) for v in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [scored_value(flipped, v) for v in range(1, 6)] == [5, 4, 3, 2, 1]
    with pytest.raises(ValueError):
        scored_value(plain, 6)
    with pytest.raises(ValueError):
        scored_value(Question("t", "text", {"en": "x"}), 3)


def test_dimension_scores_all_answered_with_reversed_item():
    scores = dimension_scores(survey(), {"a1": 5, "a2": 4, "a3": 3, "b1": 5, "b2": 1, "overall": 1})
    assert scores == {"a": 75.0, "b": 100.0}


def test_half_rule_two_of_three_is_enough():
    assert dimension_scores(survey(), {"a1": 5, "a3": 4}) == {"a": 87.5}


def test_half_rule_one_of_three_is_not():
    assert dimension_scores(survey(), {"a1": 5, "a2": None}) == {}


def test_half_rule_one_of_two_is_enough():
    assert dimension_scores(survey(), {"b2": 2}) == {"b": 75.0}


def test_no_answers_no_scores():
    assert dimension_scores(survey(), {}) == {}


def test_items_outside_dimensions_do_not_count():
    assert dimension_scores(survey(), {"overall": 5, "b1": 1, "b2": 5}) == {"b": 0.0}


def test_cei_weighted_mean():
    assert cei(survey(), {"a": 60.0, "b": 90.0}) == 75.0
    assert cei(survey(weights=(3.0, 1.0)), {"a": 60.0, "b": 100.0}) == 70.0


def test_cei_uses_present_dimensions_only():
    assert cei(survey(weights=(3.0, 1.0)), {"b": 40.0, "other": 0.0}) == 40.0
    assert cei(survey(), {}) is None


def test_favourable():
    assert [favourable(v) for v in range(1, 6)] == [False, False, False, True, True]
    with pytest.raises(ValueError):
        favourable(0)


def test_nps_range_and_formula():
    assert nps(10, 0, 10) == 100
    assert nps(0, 10, 10) == -100
    assert nps(5, 2, 10) == 30
    assert nps(1, 2, 3) == pytest.approx(-33.333, abs=1e-3)
    assert nps(0, 0, 0) is None
    with pytest.raises(ValueError):
        nps(6, 5, 10)


def test_promoters_and_detractors():
    assert [v for v in range(11) if is_promoter(v)] == [9, 10]
    assert [v for v in range(11) if is_detractor(v)] == [0, 1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError):
        is_promoter(11)
    with pytest.raises(ValueError):
        is_detractor(True)


def test_share_percent():
    assert share_percent(3, 4) == 75.0
    assert share_percent(0, 4) == 0.0
    assert share_percent(0, 0) is None
    with pytest.raises(ValueError):
        share_percent(5, 4)


def test_csat_and_ces_thresholds():
    assert [v for v in range(1, 6) if csat_top_two(v)] == [4, 5]
    assert [v for v in range(1, 8) if ces_agree(v)] == [5, 6, 7]
    with pytest.raises(ValueError):
        ces_agree(8)


def test_score_pulse_stores_what_the_database_averages() -> None:
    from surveys.scoring import score_pulse

    survey = builtin_survey("pulse")
    answers = {q.id: None for q in survey.questions}
    answers.update(trust_judgement=2, trust_respect=5, connection_identity=4)
    scoring = score_pulse(survey, answers)
    # connection: 1 of 3 answered -> left out; trust: mean 3.5 -> 62.5
    assert set(scoring.dimensions) == {"trust"}
    assert scoring.dimensions["trust"].score == 62.5
    assert scoring.dimensions["trust"].answered == 2
    assert scoring.dimensions["trust"].favourable == 1
    assert scoring.cei == 62.5
    # items keep every answered scored item, even of a dimension left out
    assert scoring.items["connection_identity"] == ("connection", 4)
    assert len(scoring.items) == 3
