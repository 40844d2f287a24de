"""The groups a pulse response keeps: region, service type and tenure band,
frozen when it is stored, so editing a contractor later moves no figure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

from models.queries.links import survey_in_force
from models.sql import Query, chunks, day, ids, instant
from surveys.schema import Survey
from surveys.scoring import PulseScoring
from surveys.tenure import tenure_code

__all__ = ["Groups", "complete_dimensions", "freeze_groups", "frozen_groups"]

Groups = tuple[str, str, int]  # region, service type, tenure band code at the wave's close


async def frozen_groups(conn: BaseDBAsyncClient, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Groups]:
    """The groups a new pulse response keeps, per (wave id, contractor id): the
    contractor's region and service type now, and their tenure band at the
    wave's close. Every writer of pulse responses stores these on the response
    and its score and item rows: the index groups a closed wave by them, so
    editing a contractor later moves no figure."""
    pairs = list(pairs)
    waves, people = {w for w, _ in pairs}, {c for _, c in pairs}
    closes: dict[int, date] = {}
    who: dict[int, tuple[str, str, date | None]] = {}
    for chunk in chunks(sorted(waves)):
        for row in await Query(conn).rows(f"SELECT id, closes_at FROM pulse_waves WHERE id IN ({ids(chunk)})"):
            closes[int(row["id"])] = instant(row["closes_at"]).date()
    for chunk in chunks(sorted(people)):
        for row in await Query(conn).rows(
                f"SELECT id, region, service_type, started_on FROM contractors WHERE id IN ({ids(chunk)})"):
            who[int(row["id"])] = (row["region"], row["service_type"], day(row["started_on"]))
    out = {}
    for w, c in pairs:
        region, service, started = who[c]
        out[(w, c)] = (region, service, tenure_code(started, closes[w]))
    return out


def complete_dimensions(survey: Survey, scoring: PulseScoring) -> set[str]:
    """The dimensions whose every item was answered (reliability uses only these)."""
    return {d for d, s in scoring.dimensions.items() if s.answered == len(survey.items(d))}


async def freeze_groups(conn: BaseDBAsyncClient, response_ids: Sequence[int]) -> None:
    """Write `frozen_groups` onto stored responses and their score and item
    rows, and mark complete item rows: for rows written before migration 0004
    (which calls this); writers pass the groups with the rows instead."""
    responses = [int(i) for i in response_ids]
    owners: dict[tuple[int, int], list[int]] = {}
    for chunk in chunks(responses):
        for row in await Query(conn).rows(
                f"SELECT id, wave_id, contractor_id FROM pulse_responses WHERE id IN ({ids(chunk)})"):
            owners.setdefault((int(row["wave_id"]), int(row["contractor_id"])), []).append(int(row["id"]))
    cells: dict[Groups, list[int]] = {}
    for pair, groups in (await frozen_groups(conn, owners)).items():
        cells.setdefault(groups, []).extend(owners[pair])
    for values, members in cells.items():
        region, service_type, band = values
        for chunk in chunks(members):
            for table, column in (("pulse_responses", "id"), ("pulse_scores", "response_id"),
                                  ("pulse_item_answers", "response_id")):
                q = Query(conn)
                await q.run(f"UPDATE {table} SET region = {q.p(region)}, service_type = {q.p(service_type)}, "
                            f"tenure_band = {q.p(band)} WHERE {column} IN ({ids(chunk)})")
    survey = survey_in_force("pulse")
    k = " ".join(f"WHEN '{d.id}' THEN {len(survey.items(d.id))}" for d in survey.dimensions)  # ids: [a-z0-9_]
    for chunk in chunks(responses):
        await Query(conn).run(
            "UPDATE pulse_item_answers SET complete = EXISTS (SELECT 1 FROM pulse_scores s "
            "WHERE s.response_id = pulse_item_answers.response_id AND s.dimension = pulse_item_answers.dimension "
            f"AND s.answered = (CASE s.dimension {k} ELSE -1 END)) "
            f"WHERE response_id IN ({ids(chunk)})")
