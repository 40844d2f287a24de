"""Themes of comments: the keyword rules (surveys.themes) and their place in the survey files."""

from __future__ import annotations

import doctest

import pytest

import surveys.themes
from surveys.schema import SurveyDefinitionError, builtin_survey, parse_survey
from surveys.themes import Theme, count_themes, fold, matches, parse_keywords, themes_of
from tests.surveys.test_schema import minimal, parse_error


def test_doctests() -> None:
    assert doctest.testmod(surveys.themes).failed == 0


@pytest.mark.parametrize(("text", "keywords", "found"), [
    ("The TRAINING was useless", ["training"], True),  # case
    ("Capacitación pésima", ["capacitacion"], True),  # accents in the text
    ("capacitacion pesima", ["capacitación"], True),  # accents in the keyword
    ("El daño sigue ahí", ["daño*"], True),  # ñ folds to n on both sides
    ("Arrived later than said", ["late"], False),  # whole words only
    ("Arrived later than said", ["late*"], True),  # a final * is a prefix
    ("a translate button", ["late*"], False),  # a prefix starts a word
    ("They came on time", ["on time"], True),  # words in a row
    ("on the same time", ["on time"], False),
    ("A no-show, again", ["no show"], True),  # punctuation splits words alike
    ("A no show, again", ["no-show"], True),
    ("", ["late"], False),
])
def test_a_keyword_matches_whole_words_case_and_accents_ignored(text: str, keywords: list[str], found: bool) -> None:
    assert matches(text, keywords) is found


def test_fold_keeps_only_words() -> None:
    assert fold("  ¿Qué  PASÓ?\n¡Nada!  ") == "que paso nada"
    assert fold("Straße") == "strasse"


def test_a_comment_counts_once_per_theme_and_may_have_several() -> None:
    late = Theme("punctuality", {"en": "Punctuality"}, {"en": ("late", "on time"), "es": ("tarde",)})
    rude = Theme("courtesy", {"en": "Courtesy"}, {"en": ("rude*",), "es": ("grosero*",)})
    texts = ["Late, late and LATE again", "Rude and late", "Muy groseros", "Fine", "llegó tarde"]
    assert [themes_of(t, [late, rude]) for t in texts] == [
        ("punctuality",), ("punctuality", "courtesy"), ("courtesy",), (), ("punctuality",)]
    assert count_themes(texts, [late, rude]) == {"punctuality": 3, "courtesy": 2}
    assert count_themes([], [late, rude]) == {"punctuality": 0, "courtesy": 0}


def test_the_pulse_dimensions_are_its_themes_in_both_languages() -> None:
    pulse = builtin_survey("pulse")
    assert [t.id for t in pulse.themes] == [d.id for d in pulse.dimensions]
    assert all(t.dimension == t.id and t.labels == pulse.dimension(t.id).labels for t in pulse.themes)
    assert all(set(t.keywords) == {"en", "es"} and all(t.keywords.values()) for t in pulse.themes)
    assert themes_of("The new training videos really help", pulse.themes) == ("knowledge",)
    assert themes_of("Nunca me responden cuando mando una sugerencia", pulse.themes) == ("knowledge",)
    assert themes_of("Necesito permiso para todo", pulse.themes) == ("empowerment",)
    assert pulse.theme("trust").labels["es"] == "Confianza"
    with pytest.raises(KeyError):
        pulse.theme("pay")


def test_the_customer_survey_has_themes_of_its_own() -> None:
    customer = builtin_survey("customer")
    assert {"punctuality", "courtesy", "quality"} <= {t.id for t in customer.themes}
    assert all(t.dimension is None for t in customer.themes)
    assert themes_of("Llegaron dos horas tarde", customer.themes) == ("punctuality",)
    assert themes_of("Came two hours late and did not call.", customer.themes) == ("punctuality", "communication")


def test_themes_are_in_the_surveys_description() -> None:
    described = builtin_survey("customer").as_dict()["themes"]
    assert described[0]["id"] == "punctuality"
    assert described[0]["dimension"] is None
    assert "tarde" in described[0]["keywords"]["es"]


def with_keywords(**keywords: object) -> dict:
    data = minimal()
    data["dimensions"][0]["keywords"] = keywords
    return data


def test_keywords_on_a_dimension_and_a_theme_of_its_own_parse() -> None:
    data = with_keywords(en=["trust*"], es=["confianza"])
    data["themes"] = [{"id": "pay", "labels": {"en": "Pay", "es": "Pago"},
                       "keywords": {"en": ["pay", "paid"], "es": ["pago*"]}}]
    survey = parse_survey(data)
    assert [(t.id, t.dimension) for t in survey.themes] == [("trust", "trust"), ("pay", None)]
    assert survey.theme("pay").keywords == {"en": ("pay", "paid"), "es": ("pago*",)}
    assert parse_survey(minimal()).themes == ()  # keywords are optional


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["dimensions"][0].update(keywords=["trust"]), "dimensions[0].keywords: must be a table"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["trust"]}),
     "dimensions[0].keywords.es: missing or empty list of keywords"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["trust"], "es": []}),
     "dimensions[0].keywords.es: missing or empty list"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["trust"], "es": ["a", 3]}),
     "dimensions[0].keywords.es[1]: 3 is not a keyword"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["tr*ust"], "es": ["x"]}),
     "dimensions[0].keywords.en[0]: 'tr*ust' is not a keyword"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["x" * 61], "es": ["x"]}),
     "dimensions[0].keywords.en[0]"),
    (lambda d: d["dimensions"][0].update(keywords={"en": ["x"], "es": ["x"], "fr": ["x"]}),
     "dimensions[0].keywords.fr: language not listed"),
    (lambda d: d.update(themes={"id": "pay"}), "themes: must be a list of tables"),
    (lambda d: d.update(themes=[{"id": "pay", "labels": {"en": "P", "es": "P"}}]), "themes[0].keywords: missing"),
    (lambda d: d.update(themes=[{"id": "pay", "keywords": {"en": ["p"], "es": ["p"]}, "labels": {"en": "P"}}]),
     "themes[0].labels.es: missing or empty text"),
    (lambda d: d.update(themes=[{"id": "Pay", "labels": {"en": "P", "es": "P"}, "keywords": {}}]),
     "themes[0].id: must be an id"),
    (lambda d: d.update(themes=[{"id": "pay", "labels": {"en": "P", "es": "P"}, "colour": "red",
                                 "keywords": {"en": ["p"], "es": ["p"]}}]), "themes[0].colour: unknown key"),
])
def test_bad_keywords_name_the_field(change, expected) -> None:  # type: ignore[no-untyped-def]
    data = minimal()
    change(data)
    assert f"mini.toml: {expected}" in parse_error(data)


def test_a_theme_id_may_not_repeat_a_dimension_with_keywords() -> None:
    data = with_keywords(en=["trust"], es=["confianza"])
    data["themes"] = [{"id": "trust", "labels": {"en": "T", "es": "T"}, "keywords": {"en": ["t"], "es": ["t"]}}]
    with pytest.raises(SurveyDefinitionError, match=r"themes\[0\]\.id: duplicate theme id 'trust'"):
        parse_survey(data, source="mini.toml")


def test_parse_keywords_folds_case_only_and_keeps_the_star() -> None:
    assert parse_keywords({"en": [" Late* ", "On Time"]}, ["en"]) == {"en": ("late*", "on time")}
