"""Confidentiality rules: which groups and filters may be reported (pure functions).

"Confidential, not anonymous": answers are linked to a person for analysis
but never reported so that a person can be singled out. Scores need at least
5 people, comments at least 10 (Viva Glint defaults), and a hidden group must
not be derivable from the total and its shown siblings.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

__all__ = ["MIN_GROUP_COMMENTS", "MIN_GROUP_SCORES", "filter_allowed", "suppressed_groups"]

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


def suppressed_groups(sizes: Mapping[K, int], min_group: int) -> set[K]:
    """The groups of one breakdown whose results must be hidden.

    ``sizes`` holds the distinct people per group. Every group with
    0 < size < min_group is hidden. Then, while the hidden groups could be
    worked out as "total minus the shown groups" and pinned to fewer than
    min_group people — that is, while exactly one group is hidden, or the
    hidden groups together hold fewer than min_group people — the smallest
    shown group is hidden too (Viva Glint's next-smallest rule). Empty groups
    are neither shown nor hidden.

    >>> sorted(suppressed_groups({"a": 4, "b": 10, "c": 30}, 5))
    ['a', 'b']
    >>> sorted(suppressed_groups({"a": 3, "b": 3, "c": 30}, 5))
    ['a', 'b']
    """
    _check_min_group(min_group)
    for key, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"group size must be a whole number >= 0, got {size!r} for {key!r}")
    hidden = {k for k, size in sizes.items() if 0 < size < min_group}
    shown = [k for k, size in sizes.items() if size >= min_group]
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
