"""Figure builders: titles, axis titles, hidden cells drawn as hidden, empty states in words."""

from __future__ import annotations

import doctest
from types import SimpleNamespace
from typing import Any

import plotly.graph_objects as go

from dashboard import components, figures

BUILDERS = ("drivers_figure", "empty_figure", "lag_figure", "linkage_bands", "segments_heatmap", "trend_figure")


def _read_back(build: Any) -> Any:
    """A builder whose figure is read back through go.Figure, which validates every property."""
    return lambda *args, **kwargs: go.Figure(build(*args, **kwargs))


# the figure builders, each figure read back as a go.Figure (validated against plotly's schema)
drawn = SimpleNamespace(**{name: _read_back(getattr(figures, name)) for name in BUILDERS})

WEEKS = [{"week": "2026-W10", "csat_pct": 71.0, "n": 40}, {"week": "2026-W11", "csat_pct": None, "n": 0},
         {"week": "2026-W12", "csat_pct": 74.5, "n": 38}]


def test_docstring_examples() -> None:
    for module in (figures, components):
        assert doctest.testmod(module).failed == 0


def _titles(fig: go.Figure) -> tuple[str, str, str]:
    return fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text


def test_a_trend_has_a_title_units_and_gaps_for_missing_weeks() -> None:
    fig = drawn.trend_figure(WEEKS, x="week", y="csat_pct", title="CSAT by week", x_title="Week",
                               y_title="CSAT, % answering 4–5", y_range=(0, 100), count="n")
    assert _titles(fig) == ("CSAT by week", "Week", "CSAT, % answering 4–5")
    (trace,) = fig.data
    assert list(trace.y) == [71.0, None, 74.5]  # a gap, never a zero
    assert trace.connectgaps is False
    assert list(fig.layout.yaxis.range) == [0, 100]


def test_a_trend_without_data_says_so() -> None:
    fig = drawn.trend_figure([{"week": "2026-W10", "csat_pct": None}], x="week", y="csat_pct", title="CSAT",
                               x_title="Week", y_title="%", empty="No answers yet.")
    assert fig.data == ()
    assert fig.layout.title.text == "CSAT"
    assert fig.layout.annotations[0].text == "No answers yet."


def test_the_bands_draw_csat_by_cei_band_with_stepped_counts_and_hidden_bands_as_hidden() -> None:
    bands = [
        {"band": "0–20", "n": "fewer than 5", "csat_mean": None, "reason": "fewer than 5 contractors in this band"},
        {"band": "20–40", "n": "5–9", "csat_mean": None, "reason": "hidden with a smaller hidden band, …"},
        {"band": "40–60", "n": "20–49", "csat_mean": 3.8, "reason": None},
        {"band": "60–80", "n": "20–49", "csat_mean": 4.2, "reason": None},
        {"band": "80–100", "n": "fewer than 5", "csat_mean": None, "reason": "fewer than 5 contractors in this band"},
    ]
    fig = drawn.linkage_bands(bands, title="CSAT by CEI band", min_group=5)
    shown, hidden = fig.data
    assert list(shown.x) == ["40–60", "60–80"] and list(shown.y) == [3.8, 4.2]
    assert list(shown.text) == ["3.80<br><span style='font-size:11px'>n 20–49</span>",
                                "4.20<br><span style='font-size:11px'>n 20–49</span>"]
    assert list(hidden.x) == ["0–20", "20–40", "80–100"]
    assert list(hidden.text) == ["hidden<br>(<5)", "hidden*", "hidden<br>(<5)"]
    assert "smaller hidden band" in hidden.customdata[1]
    assert list(fig.layout.xaxis.categoryarray) == [b["band"] for b in bands]
    assert "(0–100)" in fig.layout.xaxis.title.text and "(1–5)" in fig.layout.yaxis.title.text
    empty = drawn.linkage_bands(bands[:2], title="CSAT by CEI band", min_group=5)
    assert "5 or more" in empty.layout.annotations[0].text


def test_drivers_are_ranked_largest_on_top() -> None:
    dims = [{"id": "trust", "label": "Trust", "share": 20.0}, {"id": "process", "label": "Process", "share": 35.0},
            {"id": "backing", "label": "Backing", "share": None}]
    fig = drawn.drivers_figure(dims, title="Relative importance", r_squared=0.2)
    (bars,) = fig.data
    assert list(bars.y) == ["Trust", "Process"]  # plotly draws the last bar on top
    assert list(bars.text) == ["20 %", "35 %"]
    assert "R² = 0.20" in fig.layout.xaxis.title.text


def test_hidden_cells_say_hidden_and_are_never_coloured_as_a_value() -> None:
    fig = drawn.segments_heatmap(
        ["North", "Islands", "South"], ["CEI", "CSAT %"],
        [[60.0, 75.0], [None, 29.0], [50.0, 69.0]],
        [[False, False], [True, False], [False, False]],
        title="By region", row_title="Region", min_group=5, company=[57.0, 70.0])
    (heat,) = fig.data
    assert list(heat.text[1]) == ["hidden<br>(<5)", "29"]
    assert heat.customdata[1][0] == "hidden (<5)"  # what the hover says
    assert heat.z[1][0] is None  # no colour at all: never a pale value
    # the difference from the company figure, on one scale centred at 0 for every column
    assert list(heat.z[0]) == [3.0, 5.0] and list(heat.z[2]) == [-7.0, -1.0] and heat.z[1][1] == -41.0
    assert (heat.zmin, heat.zmid, heat.zmax) == (-figures.DIVERGING_SPAN, 0, figures.DIVERGING_SPAN)
    assert heat.showscale and "company" in heat.colorbar.title.text  # the legend
    assert "−3.0 points" not in heat.customdata[0][0] and "+3.0 points" in heat.customdata[0][0]
    # the hidden cell is hatched (strokes drawn in its box), on a white ground
    (hatch,) = fig.layout.shapes
    assert hatch.type == "path" and hatch.path.startswith("M -0.500,0.") and hatch.path.count("M") == 9
    assert fig.layout.plot_bgcolor == "white"


def test_a_hidden_cell_never_shows_a_value_it_was_given() -> None:
    """Even if a suppressed row carried a number by mistake, the figure shows only 'hidden'."""
    fig = drawn.segments_heatmap(["Islands"], ["CEI"], [[83.0]], [[True]], title="t", row_title="r", min_group=5)
    assert [list(r) for r in fig.data[0].text] == [["hidden<br>(<5)"]]
    assert [list(r) for r in fig.data[0].z] == [[None]]
    assert "83" not in fig.to_json()


def test_a_kpi_explains_a_missing_comparison_and_colours_good_news() -> None:
    assert "no comparison" in components.delta(70.0, None).children
    assert components.delta(72.0, 70.0, unit=" pts").className.endswith("delta-up")
    assert components.delta(5.0, 6.0, higher_is_better=True).className.endswith("delta-down")
    hidden = components.kpi("CEI", None, hidden="hidden (<5)", note="fewer than 5 contractors")
    assert "kpi-hidden" in hidden.className


def test_the_lag_chart_shows_r_with_its_interval_and_skips_lags_without_data() -> None:
    points = [{"lag_weeks": 0, "r": 0.4, "ci_low": 0.3, "ci_high": 0.5, "n": 200},
              {"lag_weeks": 1, "r": 0.35, "ci_low": 0.2, "ci_high": 0.48, "n": 150},
              {"lag_weeks": 2, "r": None, "ci_low": None, "ci_high": None, "n": 0}]
    fig = drawn.lag_figure(points, title="r by lag", selected=1)
    (trace,) = fig.data
    assert list(trace.x) == [0, 1]
    assert [round(v, 2) for v in trace.error_y.array] == [0.1, 0.13]
    assert [round(v, 2) for v in trace.error_y.arrayminus] == [0.1, 0.15]
    assert "weeks" in fig.layout.xaxis.title.text and "Pearson r" in fig.layout.yaxis.title.text
    assert "Too few" in drawn.lag_figure(points[2:], title="r by lag").layout.annotations[0].text


def test_segments_show_response_rates_beside_the_scores_and_hide_a_hidden_groups() -> None:
    from dashboard.app import create_dash_app

    create_dash_app()  # registers the pages
    from dashboard.pages.segments import matrix

    dims = [{"id": "connection", "label": "Connection"}]
    shown = {"group": "North", "suppressed": False, "cei": 60.0, "response_rate": 0.75, "n_contractors": 30,
             "dimensions": {"connection": {"score": 61.0}}}
    hidden = {"group": "Islands", "suppressed": True, "cei": None, "response_rate": None,
              "n_contractors": "fewer than 5", "reason": "small", "dimensions": None}
    report = {"index": {"dimensions": dims, "groups": [shown, hidden],
                        "overall": {"cei": 58.0, "response_rate": 0.5, "dimensions": {"connection": {"score": 57.0}}}},
              "customer": {"groups": [{"group": "North", "csat_pct": 80.0, "nps": 20.0, "n": 40, "response_rate": 0.25},
                                      {"group": "Islands", "csat_pct": 70.0, "nps": -5.0, "n": 9, "response_rate": 0.5}],
                           "overall": {"csat_pct": 78.0, "nps": 15.0, "response_rate": 0.3}}}
    m = matrix(report)
    assert m["columns"][-2:] == ["Pulse response %", "Customer response %"]
    assert m["values"][0][-2:] == [75.0, 25.0]
    assert m["hidden"][0][-2:] == [False, False]
    assert m["values"][1][-2] is None and m["hidden"][1][-2:] == [True, False]  # the pulse rate goes with the group
    assert m["company"][-2:] == [50.0, 30.0]


def test_only_a_gap_beyond_noise_is_coloured_and_marked() -> None:
    clear = {"difference": -8.0, "low": -12.0, "high": -4.0, "clear": True, "test": "z test"}
    noise = {"difference": 9.0, "low": -1.0, "high": 19.0, "clear": False, "test": "z test"}
    fig = figures.segments_heatmap(
        ["North", "South"], ["CEI", "CSAT %"], [[50.0, 79.0], [58.0, 70.0]], [[False, False], [False, False]],
        title="By region", row_title="Region", min_group=5, company=[58.0, 70.0],
        gaps=[[clear, noise], [None, None]])
    (heat,) = fig["data"]
    # the clear gap keeps its colour and carries ▼; a larger gap within noise is white, unmarked
    assert list(heat["z"][0]) == [-8.0, 0.0]
    assert list(heat["text"][0]) == ["50 ▼", "79"]
    assert "beyond noise (95 % CI −12.0 to −4.0" in heat["customdata"][0][0]
    assert "+9.0 points" in heat["customdata"][0][1] and "no clear gap" in heat["customdata"][0][1]
    assert list(heat["z"][1]) == [0.0, 0.0] and "not tested" in heat["customdata"][1][0]
    # without tests (an older caller), colour follows the difference as before
    plain = figures.segments_heatmap(["North"], ["CEI"], [[50.0]], [[False]], title="t", row_title="r",
                                     min_group=5, company=[58.0])
    assert list(plain["data"][0]["z"][0]) == [-8.0] and list(plain["data"][0]["text"][0]) == ["50"]


def test_segment_gaps_test_each_shown_figure_against_the_company() -> None:
    from models.analytics import segment_gaps
    from surveys import uncertainty as u

    def ci(estimate: float, se: float, method: str = "bootstrap") -> dict[str, Any]:
        return u.Interval(estimate, estimate - 2 * se, estimate + 2 * se, se, method, 100).as_dict()

    overall = {"cei": 58.0, "cei_ci": ci(58.0, 0.5), "n_invited": 400, "n_answered": 200,
               "dimensions": {"connection": {"score": 57.0, "score_ci": ci(57.0, 0.5)}}}
    far = {"group": "North", "suppressed": False, "cei": 50.0, "cei_ci": ci(50.0, 1.5), "n_invited": 100,
           "n_answered": 90, "dimensions": {"connection": {"score": 57.5, "score_ci": ci(57.5, 1.5)}}}
    small = {"group": "Islands", "suppressed": True, "n_invited": 4, "n_answered": 4, "dimensions": None}
    customer = {"overall": {"csat_pct_ci": u.wilson_interval(700, 1000).as_dict()},  # type: ignore[union-attr]
                "groups": [{"group": "North", "csat_pct_ci": u.wilson_interval(72, 100).as_dict()},  # type: ignore[union-attr]
                           {"group": "Islands", "csat_pct_ci": u.wilson_interval(20, 40).as_dict()}]}  # type: ignore[union-attr]
    gaps = segment_gaps({"overall": overall, "groups": [far, small]}, customer)
    assert gaps["North"]["cei"]["clear"] and gaps["North"]["cei"]["difference"] == -8.0
    assert not gaps["North"]["connection"]["clear"]  # half a point within a 1.5-point error
    assert gaps["North"]["pulse_response_rate"]["clear"]  # 90 % of 100 against 50 % of 400
    assert not gaps["North"]["csat_pct"]["clear"]  # 72 % of 100 against 70 %
    # a hidden group's pulse figures are never tested; its customers' are (not under the rule)
    assert set(gaps["Islands"]) == {"csat_pct"} and gaps["Islands"]["csat_pct"]["clear"]


def test_every_figure_is_the_plain_dict_dcc_graph_takes_and_plotly_reads_it_unchanged() -> None:
    """Built as dicts (no graph_objects validation at request time), each in a form plotly.py
    accepts and gives back as it is: the same figure a go.Figure would have sent."""
    hidden = [{"band": "0–20", "csat_mean": None, "n": "fewer than 5"}, {"band": "40–60", "csat_mean": 4.1, "n": 12}]
    built = [
        figures.empty_figure("t", "nothing"),
        figures.trend_figure(WEEKS, x="week", y="csat_pct", title="t", x_title="x", y_title="y", y_range=(0, 100),
                             count="n", marks=[{"x": "2026-W12", "text": "in progress", "reason": "open"}]),
        figures.linkage_bands(hidden, title="t"),
        figures.lag_figure([{"lag_weeks": 0, "r": 0.3, "ci_low": 0.1, "ci_high": 0.5, "n": 40},
                            {"lag_weeks": 1, "r": None}], title="t", selected=0),
        figures.drivers_figure([{"id": "a", "share": 60.0, "share_ci": {"low": 40, "high": 70}, "tier": 1}],
                               title="t", r_squared=0.2),
        figures.segments_heatmap(["N", "I"], ["CEI"], [[60.0], [None]], [[False], [True]], title="t",
                                 row_title="Region", min_group=5, company=[58.0]),
    ]
    for fig in built:
        assert type(fig) is dict and set(fig) == {"data", "layout"}
        assert go.Figure(fig).to_plotly_json() == fig
