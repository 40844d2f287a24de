"""What contractors and customers say: their comments, with themes counted.

Contractors' comments come per closed wave, newest first, and only from the
units that the index's comment gate allows (`index.comment_gate`: groups of
at least max(min_group, min_comment_group) respondents, a small group's
sibling or complement hidden with it); nothing names a contractor or a time
finer than the wave, and a wave's comments come in a keyed-hash order of
their text (`index.comment_order`), never in the order they arrived.

Customers' comments are every answer with a comment in the window (customers
are not the protected party), newest first and paged, each with its CSAT and
NPS, the job's day and its region and service type; never the contractor.

Themes are the survey files' keyword lists (surveys.themes, documented in
docs/metrics.md, "Comments and themes").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from models.analytics.index import (
    OneAttribute,
    comment_gate,
    comment_order,
    pulse_selector,
    read_comments,
    selects,
)
from models.analytics.scope import MAX_COMMENTS, Population, Window, conditions, pulse_survey
from models.queries import survey_in_force
from models.sql import Query, count, instant
from models.waves import WaveStatus, waves_in
from surveys.schema import localize
from surveys.themes import Theme, fold, keyword_pattern

__all__ = [
    "CUSTOMER_PAGE_SIZE",
    "MAX_SEARCH",
    "REASON_COMMENTS_HIDDEN",
    "REASON_COMMENTS_OPEN",
    "contractor_comments",
    "customer_comments",
    "search_words",
]

CUSTOMER_PAGE_SIZE = 20
MAX_SEARCH = 100  # characters of a search kept; the rest is dropped
REASON_COMMENTS_OPEN = "the wave is still open; its comments appear once it closes"
REASON_COMMENTS_HIDDEN = ("Comments are shown only for groups of {k} or more who answered (a group is also "
                          "hidden when the totals would otherwise reveal a smaller one).")


def search_words(raw: str | None) -> str | None:
    """A search as it is matched: its words folded (surveys.themes.fold), at most
    MAX_SEARCH characters of it read; None when nothing searchable is left.

    >>> search_words("  Training\\x00 VIDEOS "), search_words("¿?"), search_words(None)
    ('training videos', None, None)
    """
    words = fold((raw or "")[:MAX_SEARCH])
    return words or None


class _Read:
    """Comments folded once (surveys.themes.fold), each with its themes."""

    def __init__(self, texts: Sequence[str], themes: Sequence[Theme]) -> None:
        self.texts = list(texts)
        self.folded = [fold(t) for t in self.texts]
        self.found = [[t.id for t in themes if t.found_in(f)] for f in self.folded]
        self.counts = dict.fromkeys((t.id for t in themes), 0)
        for ids in self.found:
            for theme_id in ids:
                self.counts[theme_id] += 1

    def matching(self, theme: Theme | None, search: str | None) -> list[int]:
        """The positions of the comments that have the theme and hold the search
        (its words in a row, the last one a prefix)."""
        pattern = keyword_pattern((search + "*",)) if search else None
        return [i for i, folded in enumerate(self.folded)
                if (theme is None or theme.id in self.found[i])
                and (pattern is None or pattern.search(folded) is not None)]


def _labelled(themes: Sequence[Theme]) -> list[dict[str, str]]:
    return [{"id": t.id, "label": localize(t.labels, "en")} for t in themes]


def _theme(themes: Sequence[Theme], theme: str | None) -> Theme | None:
    """The theme asked for; ValueError naming the known ones for any other."""
    if theme is None:
        return None
    for known in themes:
        if known.id == theme:
            return known
    raise ValueError(f"theme must be one of {', '.join(t.id for t in themes)}")


async def contractor_comments(
    *, window: Window, population: Population = Population(), theme: str | None = None,
    search: str | None = None, min_group: int, min_comment_group: int, now: datetime | None = None,
) -> dict[str, Any]:
    """Contractors' comments per wave of the window, newest closed wave first (the
    waves still open first of all, marked as such, with no comment).

    A wave's row shows comments only where the comment gate allows the population
    (`population`: at most one attribute, as every pulse figure; two give a
    `refused` report). Its theme counts are over every comment the gate allows
    for that wave and group; its list holds those that match `theme` and `search`,
    the first MAX_COMMENTS of them in keyed-hash order, with how many matched.
    A hidden wave says why and gives no count. Raises ValueError for an unknown theme.
    """
    survey = pulse_survey()
    chosen = _theme(survey.themes, theme)
    search = search_words(search)
    head: dict[str, Any] = {
        "window": window.as_dict(), "population": population.as_dict(), "min_comment_group": min_comment_group,
        "threshold": max(min_group, min_comment_group), "themes": _labelled(survey.themes),
        "theme": chosen.id if chosen else None, "search": search, "max_per_wave": MAX_COMMENTS,
    }
    try:
        selector = pulse_selector(population)
    except OneAttribute as exc:
        return {**head, "waves": [], "refused": str(exc)}
    waves = await waves_in(window.start, window.end, min_group=min_group, now=now)
    reported = [w for w in waves if w.reported]
    respondents, comments = await read_comments(reported)
    gate = comment_gate(respondents, [w.id for w in reported], min_group=min_group,
                        min_comment_group=min_comment_group)
    hidden = REASON_COMMENTS_HIDDEN.format(k=max(min_group, min_comment_group))
    rows = []
    for wave in sorted(waves, key=lambda w: (w.state != "open", -w.closes_at.timestamp())):
        row: dict[str, Any] = {"wave": wave.name, "closes_on": wave.closes_at.date().isoformat(),
                               "state": wave.state, "shown": False, "reason": None, "n_comments": None,
                               "n_matching": None, "themes": None, "comments": []}
        if wave.state == "open":
            row["reason"] = REASON_COMMENTS_OPEN
        elif not wave.reported or not gate.allows(wave.id, selector):
            row["reason"] = hidden
        else:
            row.update(_wave_comments(wave, comments, selector, survey.themes, chosen, search))
        rows.append(row)
    return {**head, "waves": rows, "refused": None}


def _wave_comments(wave: WaveStatus, comments: dict[int, dict[Any, list[str]]], selector: Any,
                   themes: Sequence[Theme], chosen: Theme | None, search: str | None) -> dict[str, Any]:
    """A shown wave's comments: theme counts over all of them, the matching ones in keyed-hash order."""
    read = _Read(sorted((t for cell, some in comments.get(wave.id, {}).items() if selects(selector, cell)
                         for t in some), key=comment_order), themes)
    matching = read.matching(chosen, search)
    return {
        "shown": True, "n_comments": len(read.texts), "n_matching": len(matching), "themes": read.counts,
        "comments": [{"text": read.texts[i], "themes": read.found[i]} for i in matching[:MAX_COMMENTS]],
    }


async def customer_comments(
    *, window: Window, population: Population = Population(), theme: str | None = None,
    search: str | None = None, page: int = 1, page_size: int = CUSTOMER_PAGE_SIZE,
) -> dict[str, Any]:
    """Every customer answer with a comment about a job completed in the window,
    newest job first, paged: the job's day, CSAT, NPS, the region and service type
    of the job's contractor (never who), the comment and its themes. Theme counts
    are over every comment of the window and population; the list and `total`
    follow `theme` and `search`. Raises ValueError for an unknown theme."""
    survey = survey_in_force("customer")
    chosen = _theme(survey.themes, theme)
    search = search_words(search)
    q = Query()
    where = [q.between("cr.completed_at", window.bounds), "cr.comment IS NOT NULL", "cr.comment <> ''",
             *conditions(q, population, window.end).values()]
    rows = await q.rows(
        "SELECT cr.completed_at AS completed_at, cr.csat AS csat, cr.nps AS nps, c.region AS region, "
        "c.service_type AS service_type, cr.comment AS comment FROM customer_responses cr "
        f"JOIN contractors c ON c.id = cr.contractor_id WHERE {' AND '.join(where)} "
        "ORDER BY cr.completed_at DESC, cr.id DESC")
    read = _Read([r["comment"] for r in rows], survey.themes)
    matching = read.matching(chosen, search)
    pages = max(1, math.ceil(len(matching) / page_size))
    page = min(max(1, page), pages)
    shown = matching[(page - 1) * page_size: page * page_size]
    counts = read.counts
    return {
        "window": window.as_dict(), "population": population.as_dict(), "themes": _labelled(survey.themes),
        "theme": chosen.id if chosen else None, "search": search, "counts": counts,
        "n_comments": len(rows), "total": len(matching), "page": page, "pages": pages, "page_size": page_size,
        "comments": [
            {"day": instant(r["completed_at"]).date().isoformat(),
             "csat": None if r["csat"] is None else count(r["csat"]),
             "nps": None if r["nps"] is None else count(r["nps"]),
             "region": r["region"] or None, "service_type": r["service_type"] or None,
             "text": r["comment"], "themes": read.found[i]}
            for i, r in ((i, rows[i]) for i in shown)
        ],
    }
