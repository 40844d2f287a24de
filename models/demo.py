"""A believable demo brand, generated in seconds, with a planted truth to find.

``await generate(*, contractors=300, weeks=12, jobs_per_week=2400, seed=7,
wipe=False, now=None) -> DemoResult`` fills an open database (the ORM must be
initialised, e.g. inside ``models.db.database()``) and prints nothing; the
CLI prints ``DemoResult.api_key``, ``.survey_url`` and ``.pulse_url``.

The brand: contractors over five regions and four service types, started
over the last three years; one pulse wave a week (the last one still open)
with an invite per contractor and about 70 % answering; jobs spread over the
weeks with about 30 % of customers answering. Each contractor has a latent
bond = regional effect + individual effect; each pulse dimension is that bond
plus its own noise, and items are answered 1-5 around it (with noise, a few
careless flipped answers and some skipped optional questions). Customers'
CSAT, NPS, CES and promise-kept rise with the contractor's connection and
empowerment above all (plus regional and service effects and per-job noise),
so at contractor level CEI and CSAT mean correlate at roughly r = 0.4: an
association the analytics should find, with a confidence interval covering it.

Every pulse response is scored by ``surveys.scoring.score_pulse``; rows go
in with the bulk inserts of ``models.transfer``. The same seed gives the same
data (tokens and the API key are random on purpose: they are secrets).
A database that already holds contractors, jobs or waves is refused with
``DemoError`` unless ``wipe=True``, which first deletes all survey data and
the "demo" API key (other keys and users are kept).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from tortoise.transactions import in_transaction

from models.db import connection
from models.keys import create_api_key
from models.queries import survey_in_force
from models.settings import settings
from models.tokens import new_token
from models.transfer import CUSTOMER_RESPONSE_COLUMNS, insert_rows, store_pulse_scores
from surveys.scoring import score_pulse

__all__ = ["DemoError", "DemoResult", "REGIONS", "SERVICE_TYPES", "generate", "has_data"]

REGIONS = ("North", "South", "East", "West", "Central")
SERVICE_TYPES = ("delivery", "cleaning", "repair", "installation")
_REGION_BOND = (0.35, -0.25, 0.05, -0.45, 0.2)
_REGION_CUSTOMER = (0.1, -0.15, 0.0, -0.1, 0.15)
_SERVICE_CUSTOMER = (0.1, 0.0, -0.2, -0.1)
_DATA_TABLES = (
    "pulse_item_answers", "pulse_scores", "pulse_responses", "pulse_invites", "pulse_waves",
    "customer_responses", "jobs", "contractors",
)

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
    """The demo cannot run here (the database already holds data)."""


@dataclass(frozen=True)
class DemoResult:
    api_key: str
    survey_url: str
    pulse_url: str
    contractors: int
    waves: int
    invites: int
    pulse_responses: int
    jobs: int
    customer_responses: int


async def _count(table: str) -> int:
    rows = await connection().execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"')
    return int(rows[0]["n"])


async def has_data() -> bool:
    """Whether the database already holds contractors, jobs or waves."""
    return bool(await _filled_tables())


async def _filled_tables() -> list[str]:
    return [t for t in ("contractors", "jobs", "pulse_waves") if await _count(t)]


async def _wipe() -> None:
    async with in_transaction() as conn:
        for table in _DATA_TABLES:
            await conn.execute_query(f'DELETE FROM "{table}"')
        await conn.execute_query("DELETE FROM api_keys WHERE name = 'demo'")


def _likert(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 1, 5).astype(int)


async def generate(
    *,
    contractors: int = 300,
    weeks: int = 12,
    jobs_per_week: int | None = None,
    seed: int = 7,
    wipe: bool = False,
    now: datetime | None = None,
) -> DemoResult:
    """Fill the database with the demo brand; see the module docstring."""
    if contractors < 2 or weeks < 1:
        raise DemoError("the demo needs at least 2 contractors and 1 week")
    filled = await _filled_tables()
    if filled and not wipe:
        raise DemoError(
            f"the database already holds data ({', '.join(filled)}); the demo never adds to it. "
            "Use an empty database, or wipe it first (rapport demo --wipe deletes all survey data)."
        )
    if wipe:
        await _wipe()
    jobs_per_week = contractors * 8 if jobs_per_week is None else jobs_per_week
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    pulse = survey_in_force("pulse")
    customer = survey_in_force("customer")

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
    started = [now.date() - timedelta(days=int(d)) for d in rng.integers(30, 3 * 365, n)]
    names = [f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]}" for _ in range(n)]
    stamp = now

    async with in_transaction() as conn:
        created = await insert_rows(
            conn, "contractors",
            [("external_id", "text"), ("name", "text"), ("region", "text"), ("service_type", "text"),
             ("started_on", "date"), ("active", "bool"), ("attributes", "jsonb"),
             ("created_at", "timestamptz"), ("updated_at", "timestamptz")],
            [(f"C{i + 1:04d}", names[i], REGIONS[region[i]], SERVICE_TYPES[service[i]], started[i], True,
              "{}", stamp, stamp) for i in range(n)],
            returning=("id", "external_id"),
        )
        ids_by_ext = {r["external_id"]: r["id"] for r in created}
        contractor_ids = [ids_by_ext[f"C{i + 1:04d}"] for i in range(n)]

        # pulse waves, invites and responses -----------------------------------------
        this_monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(), tzinfo=UTC)
        opens = [this_monday - timedelta(weeks=weeks - 1 - w) for w in range(weeks)]
        created = await insert_rows(
            conn, "pulse_waves",
            [("name", "text"), ("opens_at", "timestamptz"), ("closes_at", "timestamptz"),
             ("created_at", "timestamptz")],
            [(f"{o.date().isocalendar().year}-W{o.date().isocalendar().week:02d}", o,
              o + timedelta(days=7) - timedelta(seconds=1), stamp) for o in opens],
            returning=("id", "name"),
        )
        wave_ids = [r["id"] for r in sorted(created, key=lambda r: r["name"])]
        invites = [(wave_ids[w], contractor_ids[i], new_token(), opens[w])
                   for w in range(weeks) for i in range(n)]
        tokens = {(w, i): invites[w * n + i][2] for w in range(weeks) for i in range(n)}
        await insert_rows(
            conn, "pulse_invites",
            [("wave_id", "int"), ("contractor_id", "int"), ("token", "text"), ("created_at", "timestamptz")],
            invites,
        )
        propensity = np.clip(0.7 + 0.08 * bond + rng.normal(0, 0.12, n), 0.15, 0.98)
        items = [q for q in pulse.questions if q.dimension is not None]
        answered_pulses: list[tuple[int, int, datetime, dict[str, Any]]] = []
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
            for i in range(n):
                submitted = opens[w] + timedelta(seconds=float(delay[i]))
                if not respond[i] or submitted > now:
                    if w == weeks - 1:
                        open_unanswered.append(i)
                    continue
                answers: dict[str, Any] = {}
                values = _likert(np.array([3.3 + 0.9 * latent[q.dimension][i] + drift for q in items])
                                 + noise[i])
                values = np.where(flips[i], 6 - values, values)
                for q, v in zip(items, values):
                    answers[q.id] = int(6 - v) if q.reversed else int(v)
                for q in pulse.questions:
                    if q.id in answers:
                        continue
                    if q.id == "overall_connected":
                        answers[q.id] = None if skip[i, 0] else int(_likert(3.3 + 0.9 * bond[i] + noise[i, :1])[0])
                    elif q.id == "enps":
                        answers[q.id] = None if skip[i, 1] else int(np.clip(np.rint(6.5 + 2 * bond[i] + 1.5 * noise[i, 1]), 0, 10))
                    elif q.kind.value == "text":
                        if comment_draw[i] < 0.12:
                            bank = _PULSE_GOOD if bond[i] + noise[i, 2] > 0.2 else _PULSE_BAD
                            answers[q.id] = bank[int(rng.integers(len(bank)))]
                        else:
                            answers[q.id] = None
                    else:
                        answers[q.id] = None
                answered_pulses.append((wave_ids[w], contractor_ids[i], submitted.replace(microsecond=0), answers))
        if not open_unanswered:  # keep one live pulse link to try
            last = answered_pulses.pop()
            open_unanswered.append(contractor_ids.index(last[1]))
        scorings = [score_pulse(pulse, a) for _, _, _, a in answered_pulses]
        created = await insert_rows(
            conn, "pulse_responses",
            [("wave_id", "int"), ("contractor_id", "int"), ("submitted_at", "timestamptz"),
             ("answers", "jsonb"), ("comment", "text"), ("cei", "float8"), ("survey_version", "int"),
             ("lang", "text"), ("source", "text")],
            [(w, c, s, json.dumps(a, separators=(",", ":")), a.get("comment"), sc.cei, pulse.version,
              "en", "demo") for (w, c, s, a), sc in zip(answered_pulses, scorings)],
            returning=("id", "wave_id", "contractor_id"),
        )
        await store_pulse_scores(conn, created, [(w, c) for w, c, _, _ in answered_pulses], scorings)

        # jobs and customer responses ---------------------------------------------------
        busy = rng.gamma(3.0, 1.0, n)
        busy /= busy.sum()
        first = opens[0]
        span = (now - first).total_seconds()
        total_jobs = int(round(jobs_per_week * span / (7 * 86400)))
        who = rng.choice(n, size=total_jobs, p=busy)
        when = np.sort(rng.uniform(0, span, total_jobs))
        job_noise = rng.normal(0, 0.9, total_jobs)
        answer = rng.random(total_jobs) < 0.3
        answer_delay = rng.exponential(8 * 3600, total_jobs)
        extra = rng.normal(0, 1, (total_jobs, 4))
        comment_draw = rng.random(total_jobs)
        expiry = timedelta(days=settings.link_days)
        job_rows, pending = [], []
        for j in range(total_jobs):
            completed = (first + timedelta(seconds=float(when[j]))).replace(microsecond=0)
            job_rows.append((f"J{j + 1:07d}", contractor_ids[who[j]], completed, new_token(),
                             completed + expiry, completed))
        created = await insert_rows(
            conn, "jobs",
            [("external_id", "text"), ("contractor_id", "int"), ("completed_at", "timestamptz"),
             ("token", "text"), ("expires_at", "timestamptz"), ("created_at", "timestamptz")],
            job_rows,
            returning=("id", "external_id"),
        )
        job_ids = {r["external_id"]: r["id"] for r in created}
        responses = []
        for j, (external_id, contractor_id, completed, token, _, _) in enumerate(job_rows):
            submitted = (completed + timedelta(seconds=float(answer_delay[j]))).replace(microsecond=0)
            if not answer[j] or submitted > now:
                pending.append((completed, token))
                continue
            s = 0.9 + customer_latent[who[j]] + job_noise[j]
            csat = int(np.clip(np.rint(4.2 + 0.9 * (s - 0.9)), 1, 5))
            nps = int(np.clip(np.rint(7.6 + 1.6 * (s - 0.9) + 1.2 * extra[j, 0]), 0, 10))
            ces = int(np.clip(np.rint(5.4 + 1.0 * (s - 0.9) + 0.9 * extra[j, 1]), 1, 7))
            kept = bool(s - 0.9 + 0.8 * extra[j, 2] > -1.1)
            comment = None
            if comment_draw[j] < 0.15:
                bank = _GOOD if csat >= 4 else _BAD
                comment = bank[int(rng.integers(len(bank)))]
            answers = {"csat": csat, "nps": nps, "ces": ces, "promise_kept": kept, "comment": comment}
            answers = {q.id: answers.get(q.id) for q in customer.questions}
            responses.append((job_ids[external_id], contractor_id, completed, submitted, csat, nps, ces, kept,
                              comment, json.dumps(answers, separators=(",", ":")), customer.version,
                              "en", "demo"))
        await insert_rows(
            conn, "customer_responses",
            CUSTOMER_RESPONSE_COLUMNS,
            responses,
        )
        if not pending:  # keep one live survey link to try
            token = new_token()
            await insert_rows(
                conn, "jobs",
                [("external_id", "text"), ("contractor_id", "int"), ("completed_at", "timestamptz"),
                 ("token", "text"), ("expires_at", "timestamptz"), ("created_at", "timestamptz")],
                [("J-live", contractor_ids[0], now, token, now + expiry, now)],
            )
            pending.append((now, token))
            total_jobs += 1

    key = await create_api_key(name="demo")
    live_job = max(pending, key=lambda p: p[0])[1]
    live_invite = tokens[(weeks - 1, open_unanswered[0])]
    return DemoResult(
        api_key=key,
        survey_url=f"{settings.base_url}/s/{live_job}",
        pulse_url=f"{settings.base_url}/p/{live_invite}",
        contractors=n,
        waves=weeks,
        invites=len(invites),
        pulse_responses=len(answered_pulses),
        jobs=total_jobs,
        customer_responses=len(responses),
    )
