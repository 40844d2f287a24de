import pytest

from surveys.language import pick_language

AVAILABLE = ("en", "es")


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("es", "en", "es"),
        ("ES", None, "es"),
        ("es-MX", None, "es"),
        ("fr", "es", "es"),
        ("", "es", "es"),
        (None, "es-MX,es;q=0.9,en;q=0.8", "es"),
        (None, "fr, es;q=0.5", "es"),
        (None, "en;q=0.4, es;q=0.8", "es"),
        (None, "ES-mx", "es"),
        (None, "es;q=0, *", "en"),
        (None, "*", "en"),
        (None, "de, fr", "en"),
        (None, ";;;,q=,==", "en"),
        (None, "es;q=abc, en", "en"),
        (None, "", "en"),
        (None, None, "en"),
    ],
)
def test_pick_language(query, header, expected):
    assert pick_language(AVAILABLE, query, header) == expected


def test_first_available_is_the_default():
    assert pick_language(("es", "en"), None, None) == "es"
    assert pick_language(("es", "en"), None, "es;q=0, *") == "en"


def test_equal_quality_keeps_header_order():
    assert pick_language(AVAILABLE, None, "es, en") == "es"
    assert pick_language(AVAILABLE, None, "en, es") == "en"


def test_exact_region_preferred_over_primary_match():
    assert pick_language(("pt", "pt-BR"), None, "pt-br") == "pt-BR"


def test_no_languages_is_an_error():
    with pytest.raises(ValueError):
        pick_language((), "en", None)
