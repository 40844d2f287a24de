"""Confidentiality rules: which groups and filters may be reported (pure functions).

"Confidential, not anonymous": answers are linked to a person for analysis
but never reported so that a person can be singled out. Scores need at least
5 people, comments at least 10 (Viva Glint defaults), and a hidden group must
not be derivable from the total and its shown siblings.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

import numpy as np

__all__ = [
    "MIN_GROUP_COMMENTS",
    "MIN_GROUP_SCORES",
    "band",
    "filter_allowed",
    "publishable",
    "suppressed_groups",
]

MIN_GROUP_SCORES = 5
MIN_GROUP_COMMENTS = 10

K = TypeVar("K", bound=Hashable)


def _check_min_group(min_group: int) -> None:
    if isinstance(min_group, bool) or not isinstance(min_group, int) or min_group < 1:
        raise ValueError(f"min_group must be a whole number >= 1, got {min_group!r}")


def _smallest(keys: list[K], sizes: Mapping[K, int]) -> K:
    """The smallest group, ties broken by key (by repr if keys do not compare)."""
    try:
        return min(keys, key=lambda k: (sizes[k], k))
    except TypeError:
        return min(keys, key=lambda k: (sizes[k], repr(k)))


def suppressed_groups(sizes: Mapping[K, int], min_group: int, hidden: Iterable[K] = ()) -> set[K]:
    """The groups of one breakdown whose results must be hidden.

    ``sizes`` holds the distinct people per group; ``hidden`` names groups
    already hidden for another reason. Every group with 0 < size < min_group
    is hidden. Then, while the hidden groups could be worked out as "total
    minus the shown groups" and pinned to fewer than min_group people — that
    is, while exactly one group is hidden, or the hidden groups together hold
    fewer than min_group people — the smallest shown group is hidden too
    (Viva Glint's next-smallest rule). Empty groups are neither shown nor
    hidden. This is the one copy of that loop.

    >>> sorted(suppressed_groups({"a": 4, "b": 10, "c": 30}, 5))
    ['a', 'b']
    >>> sorted(suppressed_groups({"a": 3, "b": 3, "c": 30}, 5))
    ['a', 'b']
    >>> sorted(suppressed_groups({"a": 20, "b": 10, "c": 30}, 5, hidden=["c"]))
    ['b', 'c']
    """
    _check_min_group(min_group)
    for key, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"group size must be a whole number >= 0, got {size!r} for {key!r}")
    hidden = {k for k in hidden if sizes.get(k, 0) > 0} | {k for k, size in sizes.items() if 0 < size < min_group}
    shown = [k for k, size in sizes.items() if size >= min_group and k not in hidden]
    while shown:
        hidden_size = sum(sizes[k] for k in hidden)
        if not (len(hidden) == 1 or 0 < hidden_size < min_group):
            break
        smallest = _smallest(shown, sizes)
        shown.remove(smallest)
        hidden.add(smallest)
    return hidden


def filter_allowed(filtered_size: int, parent_size: int, min_group: int) -> bool:
    """Whether a filtered population may be reported next to its parent.

    It needs at least min_group people, and the people it leaves out
    (parent − filtered) must be none or at least min_group, or the results
    of the few left out could be derived by subtraction (Peakon's
    segment-overlap rule).

    >>> filter_allowed(12, 15, 5)
    False
    >>> filter_allowed(10, 15, 5)
    True
    """
    _check_min_group(min_group)
    if not 0 <= filtered_size <= parent_size:
        raise ValueError(f"need 0 <= filtered_size <= parent_size, got {filtered_size} and {parent_size}")
    left_out = parent_size - filtered_size
    return filtered_size >= min_group and (left_out == 0 or left_out >= min_group)


# --- the one gate for pulse figures ---------------------------------------------------


def band(n: int, min_group: int) -> int | str:
    """A head count as it may be shown: exact from min_group up, else a band.

    A hidden row that said "1 contractor" would tell who answered.

    >>> band(7, 5), band(1, 5), band(0, 5)
    (7, 'fewer than 5', 0)
    """
    _check_min_group(min_group)
    return n if n >= min_group or n == 0 else f"fewer than {min_group}"


def publishable(cells: Mapping[tuple[Hashable, ...], int], min_group: int) -> tuple[frozenset[Hashable], ...] | None:
    """The groups of each attribute that one wave may report, or None when the
    wave as a whole has fewer than min_group respondents.

    ``cells`` counts the wave's respondents per combination of attributes
    (region, service type, tenure band, ...): ``{(a0, a1, ...): n}``.
    Each attribute's breakdown follows `suppressed_groups` (small groups and
    the next-smallest). Breakdowns by different attributes can still be
    played against each other: with region and service type, "North +
    delivery − South − courier" can isolate a combination that holds one
    person. Any figure that can be derived from the shown groups of a wave is
    a weighted sum over the combinations, with weights additive in the
    attributes; so the shown groups are safe when every such weighting that
    is zero on all the large combinations (at least min_group people) is
    zero on the small ones too: the large combinations alone span the same
    space as all of them. Until then the smallest shown group that a small
    combination belongs to is hidden as well (and its breakdown's
    next-smallest rule applied again).

    >>> [sorted(s) for s in publishable({("n", "d"): 6, ("s", "d"): 7, ("n", "c"): 8, ("s", "c"): 9}, 5)]
    [['n', 's'], ['c', 'd']]

    North + delivery − South − courier would be twice the one person in
    North × delivery: the service breakdown goes.

    >>> [sorted(s) for s in publishable({("n", "d"): 1, ("n", "c"): 5, ("s", "d"): 5}, 5)]
    [['n', 's'], []]
    >>> publishable({("n", "d"): 3}, 5) is None
    True
    """
    _check_min_group(min_group)
    populated = {cell: n for cell, n in cells.items() if n > 0}
    if sum(populated.values()) < min_group:
        return None
    width = len(next(iter(populated)))
    sizes: list[dict[Hashable, int]] = [{} for _ in range(width)]
    for cell, n in populated.items():
        for i, value in enumerate(cell):
            sizes[i][value] = sizes[i].get(value, 0) + n
    hidden = [suppressed_groups(s, min_group) for s in sizes]
    while True:
        shown = [[v for v in s if v not in h] for s, h in zip(sizes, hidden, strict=True)]
        small = [cell for cell, n in populated.items() if n < min_group]
        if not small or not any(shown) or _large_cells_span(populated, shown, min_group):
            return tuple(frozenset(s) for s in shown)
        candidates = {(sizes[i][cell[i]], repr(cell[i]), i, cell[i])
                      for cell in small for i in range(width) if cell[i] in shown[i]}
        # (with no shown group in a small combination, the overall column alone
        # differs; any shown group then goes first, smallest first)
        candidates = candidates or {(sizes[i][v], repr(v), i, v) for i in range(width) for v in shown[i]}
        _, _, i, value = min(candidates)
        hidden[i] = suppressed_groups(sizes[i], min_group, hidden[i] | {value})


def _large_cells_span(cells: Mapping[tuple[Hashable, ...], int], shown: list[list[Hashable]], min_group: int) -> bool:
    """Whether the combinations of at least min_group people span every
    weighting the shown groups can express (see `publishable`)."""
    columns = [(i, v) for i, values in enumerate(shown) for v in values]

    def row(cell: tuple[Hashable, ...]) -> list[float]:
        return [1.0] + [1.0 if cell[i] == v else 0.0 for i, v in columns]

    every = np.array([row(cell) for cell in cells])
    large = [row(cell) for cell, n in cells.items() if n >= min_group]
    if not large:
        return False
    return int(np.linalg.matrix_rank(np.array(large))) == int(np.linalg.matrix_rank(every))
