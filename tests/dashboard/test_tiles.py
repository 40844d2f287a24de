"""The Overview's and the report's shared tiles and notes (dashboard.tiles), without a browser."""

from __future__ import annotations

from dashboard.tiles import waves_note


def test_every_wave_left_out_is_named_with_its_reason() -> None:
    report = {"index": {
        "waves": [{"wave": "2026-W46", "state": "reported"}, {"wave": "2026-W47", "state": "reported"},
                  {"wave": "2026-W48", "state": "too_few"},
                  {"wave": "2026-W49", "state": "open", "closes_at": "2026-12-06T00:00:00", "response_rate": 0.4}],
        "trend": [{"wave": "2026-W46", "suppressed": False, "cei": 58.0},
                  {"wave": "2026-W47", "suppressed": True, "reason": "fewer than 5 contractors, or hidden with a "
                                                                      "small group"},
                  {"wave": "2026-W48", "suppressed": True, "state": "too_few"},
                  {"wave": "2026-W49", "suppressed": True, "state": "open"}],
    }}
    note = waves_note(report)
    assert note is not None
    # a wave closed and answered by enough people, hidden only for this selection, says so
    assert "2026-W47: hidden for this selection: fewer than 5 contractors, or hidden with a small group" in note
    assert "2026-W48: fewer than 5 contractors answered" in note
    assert "2026-W49: in progress, open until 2026-12-06, 40 % answered so far." in note
    assert "2026-W46" not in note  # shown, so not in the note
    assert note.count("2026-W48") == 1  # the too-small wave once, not again as "hidden for this selection"


def test_no_note_when_every_wave_is_shown() -> None:
    report = {"index": {"waves": [{"wave": "2026-W46", "state": "reported"}],
                        "trend": [{"wave": "2026-W46", "suppressed": False}]}}
    assert waves_note(report) is None
