"""Test data: exact data sets built with the ORM in bulk.

Pulse scores are computed by `surveys.scoring.score_pulse`, as the collector
does at write time, so the analytics read what production would store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from models.db import connection
from models.entities import (
    Contractor,
    CustomerResponse,
    Job,
    PulseInvite,
    PulseItemAnswer,
    PulseResponse,
    PulseScore,
    PulseWave,
)
from models.queries import complete_dimensions, frozen_groups
from surveys.schema import builtin_survey
from surveys.scoring import score_pulse

SURVEY = builtin_survey("pulse")
ITEMS = [q for q in SURVEY.questions if q.dimension is not None]


async def copies_that_disagree() -> int:
    """Score and item rows whose copy of their response's contractor, wave,
    time or groups differs from the response (or whose groups were never
    written), or whose item_sum is not the sum of their items: every writer
    must leave none."""
    from models.db import connection

    checks = (
        "SELECT COUNT(*) AS n FROM {t} x JOIN pulse_responses r ON r.id = x.response_id "
        "WHERE x.contractor_id <> r.contractor_id OR x.wave_id <> r.wave_id OR x.submitted_at <> r.submitted_at "
        "OR x.region <> r.region OR x.service_type <> r.service_type OR x.tenure_band <> r.tenure_band "
        "OR r.region IS NULL OR r.service_type IS NULL OR r.tenure_band IS NULL",
        "SELECT COUNT(*) AS n FROM pulse_scores s WHERE s.item_sum <> (SELECT SUM(a.value) FROM "
        "pulse_item_answers a WHERE a.response_id = s.response_id AND a.dimension = s.dimension)",
        "SELECT COUNT(*) AS n FROM pulse_item_answers WHERE complete IS NULL",
    )
    total = 0
    for sql in (checks[0].format(t="pulse_scores"), checks[0].format(t="pulse_item_answers"), *checks[1:]):
        total += (await connection().execute_query_dict(sql))[0]["n"]
    return total


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class World:
    """What was written, so a test can compute the expected numbers itself."""

    contractors: list[Contractor] = field(default_factory=list)
    cei: dict[int, list[float]] = field(default_factory=dict)
    csat: dict[int, list[int]] = field(default_factory=dict)
    _seq: int = 0

    def next(self) -> int:
        self._seq += 1
        return self._seq


async def contractors(
    world: World, n: int, *, region: str = "north", service_type: str = "plumbing",
    started_on: date | None = date(2024, 1, 1),
) -> list[Contractor]:
    made = [
        Contractor(external_id=f"C{world.next()}", name="Test", region=region,
                   service_type=service_type, started_on=started_on)
        for _ in range(n)
    ]
    await Contractor.bulk_create(made)
    created = await Contractor.filter(external_id__in=[c.external_id for c in made]).order_by("id")
    world.contractors.extend(created)
    return list(created)


async def wave(name: str, opens: date, days: int = 14) -> PulseWave:
    return await PulseWave.create(name=name, opens_at=at(opens, 0), closes_at=at(opens + timedelta(days=days), 0))


async def invites(world: World, wave_: PulseWave, people: list[Contractor]) -> None:
    """One pulse invite (a one-time link) per contractor for the wave."""
    await PulseInvite.bulk_create([PulseInvite(wave=wave_, contractor=c, token=f"i{world.next()}") for c in people])


def answers_for(level: float, rng: random.Random, noise: float = 0.7) -> dict[str, int]:
    """Item answers 1–5 around `level` (1–5)."""
    return {q.id: max(1, min(5, round(level + rng.gauss(0, noise)))) for q in ITEMS}


async def pulses(
    world: World, wave_: PulseWave, entries: list[tuple[Contractor, dict[str, object]]],
    *, submitted: datetime, comment: str | None = None,
) -> None:
    """One pulse response per (contractor, answers), with scores and item answers."""
    responses = []
    scorings = []
    groups = await frozen_groups(connection(), [(wave_.id, c.id) for c, _ in entries])
    for contractor, answers in entries:
        scoring = score_pulse(SURVEY, answers)
        scorings.append(scoring)
        region, service_type, band = groups[(wave_.id, contractor.id)]
        responses.append(PulseResponse(
            wave=wave_, contractor=contractor, submitted_at=submitted, answers=dict(answers),
            cei=scoring.cei, comment=comment, submission_id=f"S{world.next()}",
            region=region, service_type=service_type, tenure_band=band,
        ))
        if scoring.cei is not None:
            world.cei.setdefault(contractor.id, []).append(scoring.cei)
    await PulseResponse.bulk_create(responses)
    stored = {r.submission_id: r.id for r in await PulseResponse.filter(
        submission_id__in=[r.submission_id for r in responses])}
    scores, items = [], []
    for response, scoring in zip(responses, scorings, strict=True):
        rid = stored[response.submission_id]
        copied = {"contractor_id": response.contractor_id, "wave_id": response.wave_id,
                  "submitted_at": response.submitted_at, "region": response.region,
                  "service_type": response.service_type, "tenure_band": response.tenure_band}
        complete = complete_dimensions(SURVEY, scoring)
        for dim, s in scoring.dimensions.items():
            scores.append(PulseScore(response_id=rid, dimension=dim, score=s.score, answered=s.answered,
                                     favourable=s.favourable, item_sum=s.item_sum, **copied))
        for item, (dim, value) in scoring.items.items():
            items.append(PulseItemAnswer(response_id=rid, dimension=dim, item=item, value=value,
                                         complete=dim in complete, **copied))
    await PulseScore.bulk_create(scores)
    await PulseItemAnswer.bulk_create(items)


async def customers(
    world: World, entries: list[tuple[Contractor, int, int, int, bool | None]], *, completed: datetime,
    extra_jobs: int = 0,
) -> None:
    """One job and one customer response per (contractor, csat, nps, ces, promise_kept);
    plus `extra_jobs` unanswered jobs for the first contractor."""
    jobs = []
    for contractor, *_ in entries:
        jobs.append(Job(external_id=f"J{world.next()}", contractor=contractor, completed_at=completed,
                        token=f"t{world.next()}", expires_at=completed + timedelta(days=30)))
    for _ in range(extra_jobs):
        jobs.append(Job(external_id=f"J{world.next()}", contractor=entries[0][0], completed_at=completed,
                        token=f"t{world.next()}", expires_at=completed + timedelta(days=30)))
    await Job.bulk_create(jobs)
    ids = {j.external_id: j.id for j in await Job.filter(external_id__in=[j.external_id for j in jobs])}
    made = []
    for job, (contractor, csat, nps, ces, kept) in zip(jobs[:len(entries)], entries, strict=True):  # then extra jobs
        made.append(CustomerResponse(job_id=ids[job.external_id], contractor=contractor,
                                     completed_at=completed, submitted_at=completed + timedelta(hours=2),
                                     csat=csat, nps=nps, ces=ces, promise_kept=kept))
        world.csat.setdefault(contractor.id, []).append(csat)
    await CustomerResponse.bulk_create(made)


async def correlated_world(
    world: World, *, n: int = 60, seed: int = 7, day: date = date(2026, 3, 10),
    regions: tuple[str, ...] = ("north", "south", "east"), responses_each: int = 3,
) -> PulseWave:
    """n contractors whose CEI and customers' CSAT share a latent level."""
    rng = random.Random(seed)
    w = await wave("March", day - timedelta(days=3))
    entries, customer_entries = [], []
    for i, region in enumerate(regions):
        group = await contractors(world, n // len(regions), region=region,
                                  service_type=("plumbing", "cleaning")[i % 2],
                                  started_on=date(2025, 1 + i, 1))
        for c in group:
            latent = rng.gauss(0, 1)
            entries.append((c, answers_for(3 + latent, rng)))
            for _ in range(responses_each):
                csat = max(1, min(5, round(3.5 + 0.8 * latent + rng.gauss(0, 0.8))))
                customer_entries.append((c, csat, max(0, min(10, csat * 2)), max(1, min(7, csat + 2)),
                                         csat >= 3))
    await pulses(world, w, entries, submitted=at(day))
    await customers(world, customer_entries, completed=at(day))
    return w
