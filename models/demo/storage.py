"""The demo brand stored: `generate` writes what `simulate` draws with the bulk
inserts of `models.sql`, plus an API key and one live link of each kind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models.db import connection
from models.demo.simulation import REGIONS, SERVICE_TYPES, DemoError, simulate
from models.keys import create_api_key
from models.queries import frozen_groups, survey_in_force
from models.settings import settings
from models.sql import insert_rows
from models.tokens import new_token
from models.transfer import CUSTOMER_RESPONSE_COLUMNS, PULSE_RESPONSE_COLUMNS, store_pulse_scores
from surveys.scoring import score_pulse

__all__ = ["DemoResult", "generate", "has_data"]

_DATA_TABLES = (
    "pulse_item_answers", "pulse_scores", "pulse_responses", "pulse_invites", "pulse_waves",
    "customer_responses", "jobs", "contractors",
)


@dataclass(frozen=True)
class DemoResult:
    api_key: str
    survey_token: str  # a live customer link to try (the collector builds its address)
    pulse_token: str  # a live pulse link to try
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
    data = simulate(contractors=contractors, weeks=weeks, jobs_per_week=jobs_per_week, seed=seed, now=now)
    now = stamp = data.now
    pulse = survey_in_force("pulse")
    customer = survey_in_force("customer")
    n, opens = data.contractors, data.opens

    async with in_transaction() as conn:
        created = await insert_rows(
            conn, "contractors",
            [("external_id", "text"), ("name", "text"), ("region", "text"), ("service_type", "text"),
             ("started_on", "date"), ("active", "bool"), ("attributes", "jsonb"),
             ("created_at", "timestamptz"), ("updated_at", "timestamptz")],
            [(f"C{i + 1:04d}", data.names[i], REGIONS[data.region[i]], SERVICE_TYPES[data.service[i]],
              data.started[i], True, "{}", stamp, stamp) for i in range(n)],
            returning=("id", "external_id"),
        )
        ids_by_ext = {r["external_id"]: r["id"] for r in created}
        contractor_ids = [ids_by_ext[f"C{i + 1:04d}"] for i in range(n)]

        # pulse waves, invites and responses -----------------------------------------
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
        await insert_rows(
            conn, "pulse_invites",
            [("wave_id", "int"), ("contractor_id", "int"), ("token", "text"), ("created_at", "timestamptz")],
            invites,
        )
        reversed_ = {q.id for q in pulse.questions if q.reversed}
        answered_pulses: list[tuple[int, int, datetime, dict[str, Any]]] = []
        for k in range(len(data.pulse_wave)):
            w, i = int(data.pulse_wave[k]), int(data.pulse_contractor[k])
            submitted = opens[w] + timedelta(seconds=float(data.pulse_delay[k]))
            answers: dict[str, Any] = {
                q: int(6 - v) if q in reversed_ else int(v)
                for q, v in zip(data.item_ids, data.pulse_items[k], strict=True)}
            texts = dict(zip(data.text_ids, data.pulse_texts[k], strict=True))
            for q in pulse.questions:
                if q.id in answers:
                    continue
                if q.id == "overall_connected":
                    answers[q.id] = int(data.pulse_overall[k]) if data.pulse_overall[k] >= 0 else None
                elif q.id == "enps":
                    answers[q.id] = int(data.pulse_enps[k]) if data.pulse_enps[k] >= 0 else None
                else:
                    answers[q.id] = texts.get(q.id)
            answered_pulses.append((wave_ids[w], contractor_ids[i], submitted.replace(microsecond=0), answers))
        scorings = [score_pulse(pulse, a) for _, _, _, a in answered_pulses]
        groups = await frozen_groups(conn, [(w, c) for w, c, _, _ in answered_pulses])
        created = await insert_rows(
            conn, "pulse_responses",
            PULSE_RESPONSE_COLUMNS,
            [(w, c, s, json.dumps(a, separators=(",", ":")), a.get("comment"), sc.cei, pulse.version,
              "en", "demo", *groups[(w, c)]) for (w, c, s, a), sc in zip(answered_pulses, scorings, strict=True)],
            returning=("id", "wave_id", "contractor_id", "submitted_at"),
        )
        await store_pulse_scores(conn, created, [(w, c) for w, c, _, _ in answered_pulses], scorings, groups, pulse)

        # jobs and customer responses ---------------------------------------------------
        first = opens[0]
        total_jobs = len(data.job_offset)
        expiry = timedelta(days=settings.link_days)
        job_rows = []
        for j in range(total_jobs):
            completed = (first + timedelta(seconds=float(data.job_offset[j]))).replace(microsecond=0)
            job_rows.append((f"J{j + 1:07d}", contractor_ids[data.job_contractor[j]], completed, new_token(),
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
        for k, j in enumerate(data.response_job):
            external_id, contractor_id, completed, _, _, _ = job_rows[j]
            submitted = (completed + timedelta(seconds=float(data.response_delay[k]))).replace(microsecond=0)
            csat, nps, ces = int(data.csat[k]), int(data.nps[k]), int(data.ces[k])
            kept, comment = bool(data.kept[k]), data.response_comment[k]
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
        answered = set(data.response_job.tolist())
        pending = [(job_rows[j][2], job_rows[j][3]) for j in range(total_jobs) if j not in answered]
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
    live_invite = invites[(weeks - 1) * n + data.open_invite][2]
    return DemoResult(
        api_key=key,
        survey_token=live_job,
        pulse_token=live_invite,
        contractors=n,
        waves=weeks,
        invites=len(invites),
        pulse_responses=len(answered_pulses),
        jobs=total_jobs,
        customer_responses=len(responses),
    )
