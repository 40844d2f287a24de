"""The demo brand as plain numbers: contractors, a latent bond per contractor,
pulse answers and customer answers drawn around it, with a planted
correlation between CEI and CSAT to find (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from models.queries import survey_in_force
from surveys.schema import Survey
from surveys.scoring import CSAT_TOP_TWO_MIN, rescale_agree

__all__ = ["REGIONS", "SERVICE_TYPES", "DemoData", "DemoError", "planted_correlation", "simulate"]

REGIONS = ("North", "South", "East", "West", "Central")
SERVICE_TYPES = ("delivery", "cleaning", "repair", "installation")
_REGION_BOND = (0.35, -0.25, 0.05, -0.45, 0.2)
_REGION_CUSTOMER = (0.1, -0.15, 0.0, -0.1, 0.15)
_SERVICE_CUSTOMER = (0.1, 0.0, -0.2, -0.1)
_FIRST = ("Ana", "Ben", "Carla", "Diego", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jamal", "Kofi",
          "Lena", "Marta", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tomás", "Uma", "Victor",
          "Wen", "Ximena", "Yusuf", "Zoe")
_LAST = ("Adams", "Baptiste", "Costa", "Dubois", "Eriksen", "Fernández", "García", "Haddad", "Ivanova",
         "Jensen", "Kim", "López", "Mensah", "Novak", "Okafor", "Patel", "Quispe", "Rossi", "Silva",
         "Tanaka", "Usman", "Vargas", "Weber", "Yilmaz", "Zhang")
_GOOD = (
    "Arrived on time and was very friendly.",
    "Fixed the problem on the spot, no fuss.",
    "Explained everything clearly before starting.",
    "Went out of their way to help us.",
    "Quick, tidy and polite. Thank you!",
    "Really knew what they were doing.",
    "They sorted out a billing mix-up right there.",
)
_BAD = (
    "Came two hours late and did not call.",
    "Said they could not change anything without head office.",
    "Left a mess behind.",
    "Nobody could tell me what happens next.",
    "Not what was promised on the website.",
    "Had to call three times to get it sorted.",
    "Rushed the job and something is still broken.",
)
_PULSE_GOOD = (
    "The new training videos really help.",
    "My area manager always picks up the phone.",
    "I like that we can now refund small amounts ourselves.",
    "Good to meet other contractors at the last meetup.",
)
_PULSE_BAD = (
    "I never hear back when I send a suggestion.",
    "When something goes wrong I am on my own.",
    "The process for exceptions is unclear, I waste time calling around.",
    "I need approval for every little thing a customer asks.",
    "Pay changes are announced without any explanation.",
)


class DemoError(RuntimeError):
    """The demo cannot run here (too small to draw, or the database already holds data)."""


def _likert(latent: np.ndarray) -> np.ndarray:
    answers: np.ndarray = np.clip(np.rint(latent), 1, 5).astype(int)
    return answers


@dataclass(frozen=True)
class DemoData:
    """One simulated brand as plain numbers, before anything is stored.

    Indices: contractor ``i`` in ``range(contractors)``, wave ``w`` in
    ``range(len(opens))``. Pulse responses and customer responses are listed
    in the order ``generate()`` inserts them; every listed response is stored.
    """

    now: datetime  # whole seconds, UTC
    opens: tuple[datetime, ...]  # each wave opens at this time and lasts a week
    region: np.ndarray  # (n,) index into REGIONS
    service: np.ndarray  # (n,) index into SERVICE_TYPES
    started: tuple[date, ...]  # (n,)
    names: tuple[str, ...]  # (n,)
    item_ids: tuple[str, ...]  # the pulse's index items, columns of pulse_items
    text_ids: tuple[str, ...]  # the pulse's text questions, columns of pulse_texts
    pulse_wave: np.ndarray  # (m,) wave of each pulse response
    pulse_contractor: np.ndarray  # (m,) contractor of each pulse response
    pulse_delay: np.ndarray  # (m,) seconds from the wave's opening to the submission
    pulse_items: np.ndarray  # (m, k) scored value 1-5 of each index item (before reversal for storage)
    pulse_overall: np.ndarray  # (m,) "overall_connected" 1-5, -1 = skipped
    pulse_enps: np.ndarray  # (m,) "enps" 0-10, -1 = skipped
    pulse_texts: np.ndarray  # (m, t) object: comment or None per text question
    pulse_cei: np.ndarray  # (m,) the response's CEI, as surveys.scoring computes it
    open_invite: int  # a contractor whose last-wave invite stays unanswered
    job_contractor: np.ndarray  # (J,) contractor of each job
    job_offset: np.ndarray  # (J,) seconds from opens[0] to completion, sorted
    response_job: np.ndarray  # (r,) job of each customer response
    response_delay: np.ndarray  # (r,) seconds from completion to the answer
    csat: np.ndarray  # (r,) 1-5
    nps: np.ndarray  # (r,) 0-10
    ces: np.ndarray  # (r,) 1-7
    kept: np.ndarray  # (r,) bool
    response_comment: tuple[str | None, ...]  # (r,)

    @property
    def contractors(self) -> int:
        return len(self.region)

    def contractor_cei(self) -> np.ndarray:
        """(n,) mean CEI of each contractor's pulse responses; NaN without any."""
        return _means(self.pulse_contractor, self.pulse_cei, self.contractors, 1)

    def contractor_csat(self, min_responses: int = 3) -> np.ndarray:
        """(n,) CSAT mean of each contractor's customer responses; NaN under `min_responses`."""
        return _means(self.job_contractor[self.response_job], self.csat, self.contractors, min_responses)


def _means(who: np.ndarray, values: np.ndarray, n: int, least: int) -> np.ndarray:
    counts = np.bincount(who, minlength=n)
    sums = np.bincount(who, weights=values.astype(float), minlength=n)
    out = np.full(n, np.nan)
    enough = counts >= max(least, 1)
    out[enough] = sums[enough] / counts[enough]
    return out


def _after(base: datetime, offsets: np.ndarray, limit: datetime) -> np.ndarray:
    """Whether base + timedelta(seconds=offset) is later than `limit`, decided
    as datetime arithmetic decides it: by numpy away from the boundary, by
    datetime itself near it."""
    room = (limit - base).total_seconds()
    out = offsets > room
    near = np.flatnonzero(np.abs(offsets - room) < 2.01)
    for k in near:
        out[k] = base + timedelta(seconds=float(offsets[k])) > limit
    return out


def _pulse_cei(survey: Survey, item_ids: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """CEI of responses answering every index item, by surveys.scoring's formulas
    (dimension score = rescale_agree(mean of its items), CEI = weighted mean)."""
    column = {q: k for k, q in enumerate(item_ids)}
    total: Any = 0
    weights: Any = 0
    for d in survey.dimensions:
        cols = [column[q.id] for q in survey.items(d.id)]
        if not cols:
            continue
        total = total + d.weight * rescale_agree(values[:, cols].sum(axis=1) / len(cols))
        weights = weights + d.weight
    if not weights:
        return np.full(len(values), np.nan)
    cei: np.ndarray = total / weights
    return cei


def simulate(
    *,
    contractors: int = 300,
    weeks: int = 12,
    jobs_per_week: int | None = None,
    seed: int = 7,
    now: datetime | None = None,
) -> DemoData:
    """The demo brand as plain numbers (no database); ``generate()`` stores exactly this."""
    if contractors < 2 or weeks < 1:
        raise DemoError("the demo needs at least 2 contractors and 1 week")
    jobs_per_week = contractors * 8 if jobs_per_week is None else jobs_per_week
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    pulse = survey_in_force("pulse")

    # contractors and their latent bond ---------------------------------------------
    n = contractors
    region = rng.integers(0, len(REGIONS), n)
    service = rng.integers(0, len(SERVICE_TYPES), n)
    bond = np.asarray(_REGION_BOND)[region] + rng.normal(0, 0.8, n)
    dimensions = [d.id for d in pulse.dimensions]
    latent = {d: bond + rng.normal(0, 0.45, n) for d in dimensions}
    drivers = [d for d in ("connection", "empowerment") if d in latent] or dimensions[:1]
    others = [d for d in dimensions if d not in drivers] or drivers
    customer_latent = (
        0.45 * np.mean([latent[d] for d in drivers], axis=0)
        + 0.1 * np.mean([latent[d] for d in others], axis=0)
        + np.asarray(_REGION_CUSTOMER)[region]
        + np.asarray(_SERVICE_CUSTOMER)[service]
        + rng.normal(0, 1.1, n)  # what customers feel that the pulse does not capture
    )
    started = tuple(now.date() - timedelta(days=int(d)) for d in rng.integers(30, 3 * 365, n))
    names = tuple(f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]}" for _ in range(n))

    # pulse waves and responses ----------------------------------------------------------
    this_monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(), tzinfo=UTC)
    opens = tuple(this_monday - timedelta(weeks=weeks - 1 - w) for w in range(weeks))
    propensity = np.clip(0.7 + 0.08 * bond + rng.normal(0, 0.12, n), 0.15, 0.98)
    items = [q for q in pulse.questions if q.dimension is not None]
    item_latent = np.stack([latent[q.dimension] for q in items], axis=1)  # type: ignore[index]  # items have one
    texts = [q for q in pulse.questions if q.dimension is None and q.kind.value == "text"]
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    text_rows: list[list[str | None]] = []
    open_unanswered: list[int] = []
    for w in range(weeks):
        available = min(7 * 86400, (now - opens[w]).total_seconds())
        respond = rng.random(n) < propensity
        delay = rng.uniform(0, max(available, 1), n)
        drift = 0.05 * (w - weeks / 2) / weeks
        noise = rng.normal(0, 0.75, (n, len(items)))
        flips = rng.random((n, len(items))) < 0.02
        skip = rng.random((n, 2)) < 0.1
        comment_draw = rng.random(n)
        kept = respond & ~_after(opens[w], delay, now)
        if w == weeks - 1:
            open_unanswered = np.flatnonzero(~kept).tolist()
        who = np.flatnonzero(kept)
        values = _likert(3.3 + 0.9 * item_latent[who] + drift + noise[who])
        values = np.where(flips[who], 6 - values, values)
        overall = np.where(skip[who, 0], -1, _likert(3.3 + 0.9 * bond[who] + noise[who, 0]))
        enps = np.where(skip[who, 1], -1, np.clip(np.rint(6.5 + 2 * bond[who] + 1.5 * noise[who, 1]), 0, 10))
        for i in who:
            row: list[str | None] = []
            for _ in texts:
                if comment_draw[i] < 0.12:
                    bank = _PULSE_GOOD if bond[i] + noise[i, 2] > 0.2 else _PULSE_BAD
                    row.append(bank[int(rng.integers(len(bank)))])
                else:
                    row.append(None)
            text_rows.append(row)
        parts.append((w, who, delay[who], values, overall, enps.astype(int)))
    pulse_wave = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
    pulse_contractor = np.concatenate([p[1] for p in parts])
    pulse_delay = np.concatenate([p[2] for p in parts])
    pulse_items = np.concatenate([p[3] for p in parts]).reshape(-1, len(items))
    pulse_overall = np.concatenate([p[4] for p in parts])
    pulse_enps = np.concatenate([p[5] for p in parts])
    pulse_texts = np.empty((len(text_rows), len(texts)), dtype=object)
    for k, row in enumerate(text_rows):
        pulse_texts[k, :] = row
    if not open_unanswered:  # keep one live pulse link to try
        open_unanswered.append(int(pulse_contractor[-1]))
        pulse_wave, pulse_contractor, pulse_delay = pulse_wave[:-1], pulse_contractor[:-1], pulse_delay[:-1]
        pulse_items, pulse_overall, pulse_enps = pulse_items[:-1], pulse_overall[:-1], pulse_enps[:-1]
        pulse_texts = pulse_texts[:-1]
    item_ids = tuple(q.id for q in items)

    # jobs and customer responses ---------------------------------------------------
    busy = rng.gamma(3.0, 1.0, n)
    busy /= busy.sum()
    span = (now - opens[0]).total_seconds()
    total_jobs = round(jobs_per_week * span / (7 * 86400))
    job_who = rng.choice(n, size=total_jobs, p=busy)
    when = np.sort(rng.uniform(0, span, total_jobs))
    job_noise = rng.normal(0, 0.9, total_jobs)
    answer = rng.random(total_jobs) < 0.3
    answer_delay = rng.exponential(8 * 3600, total_jobs)
    extra = rng.normal(0, 1, (total_jobs, 4))
    comment_draw = rng.random(total_jobs)
    done = answer.copy()
    for j in np.flatnonzero(answer & (np.abs(when + answer_delay - span) < 3)):
        completed = (opens[0] + timedelta(seconds=float(when[j]))).replace(microsecond=0)
        done[j] = (completed + timedelta(seconds=float(answer_delay[j]))).replace(microsecond=0) <= now
    done &= (when + answer_delay < span + 3)
    jobs = np.flatnonzero(done)
    s = 0.9 + customer_latent[job_who[jobs]] + job_noise[jobs]
    csat = np.clip(np.rint(4.2 + 0.9 * (s - 0.9)), 1, 5).astype(int)
    nps = np.clip(np.rint(7.6 + 1.6 * (s - 0.9) + 1.2 * extra[jobs, 0]), 0, 10).astype(int)
    ces = np.clip(np.rint(5.4 + 1.0 * (s - 0.9) + 0.9 * extra[jobs, 1]), 1, 7).astype(int)
    kept_promise = s - 0.9 + 0.8 * extra[jobs, 2] > -1.1
    comments: list[str | None] = []
    for j, c in zip(jobs, csat, strict=True):
        if comment_draw[j] < 0.15:
            replies: tuple[str, ...] = _GOOD if c >= CSAT_TOP_TWO_MIN else _BAD
            comments.append(replies[int(rng.integers(len(replies)))])
        else:
            comments.append(None)

    return DemoData(
        now=now, opens=opens, region=region, service=service, started=started, names=names,
        item_ids=item_ids, text_ids=tuple(q.id for q in texts),
        pulse_wave=pulse_wave, pulse_contractor=pulse_contractor, pulse_delay=pulse_delay,
        pulse_items=pulse_items, pulse_overall=pulse_overall, pulse_enps=pulse_enps, pulse_texts=pulse_texts,
        pulse_cei=_pulse_cei(pulse, item_ids, pulse_items), open_invite=open_unanswered[0],
        job_contractor=job_who, job_offset=when, response_job=jobs, response_delay=answer_delay[jobs],
        csat=csat, nps=nps, ces=ces, kept=kept_promise, response_comment=tuple(comments),
    )


def planted_correlation(
    *,
    seed: int = 1,
    contractors: int = 20_000,
    weeks: int = 12,
    jobs_per_contractor_week: float = 8,
    min_responses: int = 3,
    now: datetime | None = None,
) -> float:
    """The planted value: the contractor-level Pearson r between CEI and CSAT mean
    that the demo's model implies, which the linkage should find on the demo.

    It is the population correlation of the demo's design, estimated from one
    large simulation of the same model (``simulate``, no database): per
    contractor, the mean CEI of all their pulse responses and the mean CSAT of
    all their customers' responses, for contractors with at least one pulse
    response and ``min_responses`` customer responses, i.e. what
    ``linkage_report`` computes over the demo's whole period with lag 0. It
    depends on the design (weeks, jobs per contractor and week, the day of
    the week ``now`` falls on), not on the number of contractors, which only
    sets its precision (about ±0.006 at 20,000).
    """
    data = simulate(contractors=contractors, weeks=weeks, seed=seed, now=now,
                    jobs_per_week=round(jobs_per_contractor_week * contractors))
    cei, csat = data.contractor_cei(), data.contractor_csat(min_responses)
    both = ~np.isnan(cei) & ~np.isnan(csat)
    return float(np.corrcoef(cei[both], csat[both])[0, 1])
