import pytest

from surveys.privacy import MIN_GROUP_COMMENTS, MIN_GROUP_SCORES, filter_allowed, suppressed_groups


def test_defaults():
    assert (MIN_GROUP_SCORES, MIN_GROUP_COMMENTS) == (5, 10)


def test_all_large_groups_shown():
    assert suppressed_groups({"north": 10, "south": 30}, 5) == set()


def test_boundary_is_shown():
    assert suppressed_groups({"a": 5, "b": 5}, 5) == set()


def test_one_small_group_takes_the_next_smallest_with_it():
    # 4 alone could be derived as total (44) minus 10 minus 30.
    assert suppressed_groups({"a": 4, "b": 10, "c": 30}, 5) == {"a", "b"}


def test_two_small_groups_together_large_enough():
    # Hidden 3 + 3 = 6 >= 5: the pair can only be derived together.
    assert suppressed_groups({"a": 3, "b": 3, "c": 30}, 5) == {"a", "b"}


def test_small_groups_together_still_too_small():
    # Hidden 2 + 2 = 4 < 5 would be derivable as a group of four.
    assert suppressed_groups({"a": 2, "b": 2, "c": 10, "d": 30}, 5) == {"a", "b", "c"}


def test_all_small():
    assert suppressed_groups({"a": 1, "b": 2, "c": 4}, 5) == {"a", "b", "c"}


def test_single_group():
    assert suppressed_groups({"only": 3}, 5) == {"only"}
    assert suppressed_groups({"only": 12}, 5) == set()


def test_one_small_one_large():
    assert suppressed_groups({"a": 4, "b": 100}, 5) == {"a", "b"}


def test_ties_broken_by_key():
    assert suppressed_groups({"c": 10, "b": 10, "a": 4, "d": 10}, 5) == {"a", "b"}


def test_empty_groups_ignored():
    assert suppressed_groups({"a": 0, "b": 10, "c": 30}, 5) == set()
    assert suppressed_groups({"a": 0, "b": 3, "c": 30}, 5) == {"b", "c"}
    assert suppressed_groups({}, 5) == set()


def test_mixed_key_types_are_deterministic():
    # "x" and 7 do not compare, so the tie is broken by repr: "'x'" < "7".
    assert suppressed_groups({None: 2, 7: 9, "x": 9}, 5) == {None, "x"}
    assert suppressed_groups({None: 2, "x": 9, 7: 9}, 5) == {None, "x"}


def test_comment_threshold():
    assert suppressed_groups({"a": 9, "b": 12, "c": 40}, 10) == {"a", "b"}


def test_no_hidden_group_can_be_singled_out():
    """Exhaustive check on small breakdowns: what is hidden is >= min_group or empty, never one group."""
    import itertools

    for sizes in itertools.product(range(0, 9), repeat=3):
        groups = dict(enumerate(sizes))
        hidden = suppressed_groups(groups, 5)
        shown = {k for k, n in groups.items() if n} - hidden
        assert all(groups[k] >= 5 for k in shown)
        if shown:
            assert len(hidden) != 1
            assert sum(groups[k] for k in hidden) == 0 or sum(groups[k] for k in hidden) >= 5


def test_invalid_arguments():
    with pytest.raises(ValueError):
        suppressed_groups({"a": -1}, 5)
    with pytest.raises(ValueError):
        suppressed_groups({"a": 1}, 0)


@pytest.mark.parametrize(
    ("filtered", "parent", "allowed"),
    [
        (10, 15, True),   # 5 left out
        (12, 15, False),  # 3 left out could be derived
        (15, 15, True),   # nothing left out
        (4, 15, False),   # too small itself
        (5, 5, True),
        (0, 0, False),
    ],
)
def test_filter_allowed(filtered, parent, allowed):
    assert filter_allowed(filtered, parent, 5) is allowed


def test_filter_allowed_rejects_impossible_sizes():
    with pytest.raises(ValueError):
        filter_allowed(6, 5, 5)


# --- publishable: the groups one wave may report ----------------------------------------

import itertools  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from surveys.privacy import band, publishable  # noqa: E402


def _leaks(cells: dict[tuple[str, ...], int], shown: tuple[frozenset[str], ...], min_group: int) -> list[tuple]:
    """Brute force: the sets of combinations, holding fewer than min_group people, that some
    weighted sum of the shown groups' totals (and the overall) isolates. A figure over a set of
    combinations is derivable iff removing those columns lowers the rank of the shown groups'
    incidence matrix."""
    keys = [k for k, n in cells.items() if n > 0]
    rows = [[1.0] * len(keys)] + [[1.0 if k[i] == v else 0.0 for k in keys]
                                  for i, values in enumerate(shown) for v in values]
    matrix = np.array(rows)
    full = np.linalg.matrix_rank(matrix)
    small = [j for j, k in enumerate(keys) if cells[k] < min_group]
    found = []
    for size in range(1, min_group):
        for subset in itertools.combinations(small, size):
            if sum(cells[keys[j]] for j in subset) >= min_group:
                continue
            rest = [j for j in range(len(keys)) if j not in subset]
            if not rest or np.linalg.matrix_rank(matrix[:, rest]) < full:
                found.append(tuple(keys[j] for j in subset))
    return found


def test_band_hides_small_counts_only():
    assert (band(0, 5), band(1, 5), band(4, 5), band(5, 5), band(12, 5)) == (0, "fewer than 5", "fewer than 5", 5, 12)


def test_crossed_breakdowns_lose_the_attribute_that_isolates_someone():
    cells = {("n", "d"): 1, ("n", "c"): 5, ("s", "d"): 5}
    assert _leaks(cells, (frozenset("ns"), frozenset("cd")), 5)  # both breakdowns shown would leak
    shown = publishable(cells, 5)
    assert shown is not None and not _leaks(cells, shown, 5)


def test_a_wave_below_the_threshold_reports_nothing():
    assert publishable({("n", "d"): 2, ("s", "c"): 2}, 5) is None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from("abc"), st.sampled_from("xy"), st.sampled_from("pq")),
                       st.integers(0, 9), min_size=1, max_size=12))
def test_no_sum_of_shown_groups_isolates_fewer_than_min_group(cells):
    shown = publishable(cells, 5)
    if sum(cells.values()) < 5:
        assert shown is None
        return
    assert shown is not None
    assert _leaks(cells, shown, 5) == []
    sizes = [dict() for _ in range(3)]
    for key, n in cells.items():
        for i, v in enumerate(key):
            sizes[i][v] = sizes[i].get(v, 0) + n
    for i, values in enumerate(shown):
        assert all(sizes[i][v] >= 5 for v in values)  # and every shown group is large itself
