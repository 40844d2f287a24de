import doctest
from datetime import date

import surveys.tenure
from surveys.tenure import TENURE_BANDS, band_code, band_name, tenure_band, tenure_code


def test_doctests():
    assert doctest.testmod(surveys.tenure).failed == 0


def test_bands_at_their_edges():
    end = date(2026, 3, 31)
    assert [tenure_band(day, end) for day in (date(2025, 12, 31), date(2026, 1, 1), date(2025, 3, 31),
                                              date(2025, 4, 1), date(2024, 3, 31), date(2024, 4, 1))] == [
        "3–12 months", "under 3 months", "1–2 years", "3–12 months", "2 years +", "1–2 years"]


def test_codes_round_trip():
    for name in (*TENURE_BANDS, "unknown"):
        assert band_name(band_code(name)) == name
    assert tenure_code(None, date(2026, 3, 31)) == -1
