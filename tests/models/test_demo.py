"""The demo brand: believable, deterministic, scored, and carrying the planted link."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from models.analytics import Window, linkage_report
from models.db import connection
from models.demo import REGIONS, DemoError, generate, planted_correlation, simulate
from models.entities import (
    ApiKey,
    Contractor,
    CustomerResponse,
    Job,
    PulseInvite,
    PulseItemAnswer,
    PulseResponse,
    PulseScore,
    PulseWave,
)
from models.keys import find_api_key
from surveys.schema import builtin_survey
from surveys.scoring import score_pulse
from tests.factories import copies_that_disagree

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)


async def contractor_means() -> tuple[np.ndarray, np.ndarray]:
    conn = connection()
    cei = {r["contractor_id"]: float(r["m"]) for r in await conn.execute_query_dict(
        "SELECT contractor_id, AVG(cei) AS m FROM pulse_responses GROUP BY contractor_id")}
    csat = {r["contractor_id"]: float(r["m"]) for r in await conn.execute_query_dict(
        "SELECT contractor_id, AVG(csat) AS m FROM customer_responses GROUP BY contractor_id HAVING COUNT(*) >= 3")}
    keys = sorted(set(cei) & set(csat))
    return np.array([cei[k] for k in keys]), np.array([csat[k] for k in keys])


async def test_demo_fills_a_believable_brand(db: str) -> None:
    result = await generate(contractors=120, weeks=6, jobs_per_week=1200, seed=3, now=NOW)
    assert result.contractors == await Contractor.all().count() == 120
    assert result.waves == await PulseWave.all().count() == 6
    assert result.invites == await PulseInvite.all().count() == 720
    assert result.pulse_responses == await PulseResponse.all().count()
    assert 0.55 < result.pulse_responses / result.invites < 0.8
    assert result.jobs == await Job.all().count() > 5000
    assert result.customer_responses == await CustomerResponse.all().count()
    assert 0.2 < result.customer_responses / result.jobs < 0.35
    assert {c.region for c in await Contractor.all()} == set(REGIONS)
    assert await CustomerResponse.filter(comment__isnull=False).count() > 0
    assert await PulseResponse.filter(comment__isnull=False).count() > 0

    # every pulse response carries what score_pulse gives for its answers
    survey = builtin_survey("pulse")
    response = await PulseResponse.all().order_by("id").first()
    assert response is not None
    expected = score_pulse(survey, response.answers)
    assert response.cei == pytest.approx(expected.cei)
    assert await PulseScore.filter(response=response).count() == len(expected.dimensions)
    assert await PulseItemAnswer.filter(response=response).count() == len(expected.items)
    assert await PulseScore.all().count() > 5 * result.pulse_responses
    assert await copies_that_disagree() == 0

    # the live links and the key work
    assert await find_api_key(key=result.api_key) is not None
    job = await Job.get(token=result.survey_token)
    assert job.expires_at > NOW and not await CustomerResponse.filter(job=job).exists()
    invite = await PulseInvite.get(token=result.pulse_token).prefetch_related("wave")
    assert invite.wave.opens_at <= NOW < invite.wave.closes_at
    assert not await PulseResponse.filter(wave=invite.wave, contractor_id=invite.contractor_id).exists()
    assert not await PulseResponse.filter(submitted_at__gt=NOW).exists()
    assert not await CustomerResponse.filter(submitted_at__gt=NOW).exists()


async def test_demo_plants_a_positive_contractor_level_link(db: str) -> None:
    await generate(contractors=200, weeks=8, jobs_per_week=1600, seed=7, now=NOW)
    cei, csat = await contractor_means()
    assert len(cei) > 150
    r = np.corrcoef(cei, csat)[0, 1]
    assert 0.2 < r < 0.65, r


async def test_demo_is_deterministic_and_never_duplicates(db: str) -> None:
    await generate(contractors=30, weeks=3, jobs_per_week=200, seed=11, now=NOW)
    first = await contractor_means()
    names = [c.name for c in await Contractor.all().order_by("external_id")]
    with pytest.raises(DemoError, match="already holds data"):
        await generate(contractors=30, weeks=3, jobs_per_week=200, seed=11, now=NOW)
    assert await Contractor.all().count() == 30
    await generate(contractors=30, weeks=3, jobs_per_week=200, seed=11, now=NOW, wipe=True)
    assert await Contractor.all().count() == 30
    assert await ApiKey.filter(name="demo").count() == 1
    assert [c.name for c in await Contractor.all().order_by("external_id")] == names
    again = await contractor_means()
    assert np.allclose(first[0], again[0]) and np.allclose(first[1], again[1])


@pytest.fixture(scope="module")
def planted() -> float:
    """The correlation the default demo plants at NOW (one large simulation, no database)."""
    return planted_correlation(now=NOW)


async def test_generate_stores_exactly_the_simulation(db: str) -> None:
    data = simulate(contractors=40, weeks=4, jobs_per_week=400, seed=5, now=NOW)
    await generate(contractors=40, weeks=4, jobs_per_week=400, seed=5, now=NOW)
    stored = await PulseResponse.all().order_by("id").values_list("cei", flat=True)
    assert len(stored) == len(data.pulse_cei)
    assert np.allclose(stored, data.pulse_cei, rtol=0, atol=1e-9)  # surveys.scoring, as stored
    csat = await CustomerResponse.all().order_by("id").values_list("csat", flat=True)
    assert list(csat) == data.csat.tolist()
    cei, means = await contractor_means()
    expected_cei, expected_csat = data.contractor_cei(), data.contractor_csat(3)
    both = ~np.isnan(expected_cei) & ~np.isnan(expected_csat)
    assert np.allclose(cei, expected_cei[both]) and np.allclose(means, expected_csat[both])


async def test_linkage_finds_the_planted_correlation_on_the_demo(db: str, planted: float) -> None:
    """The issue's "done when": on the default demo, the linkage's 95 % CI for
    CEI x CSAT covers the planted value, and the association is significant."""
    await generate(seed=7, now=NOW)
    first = await PulseWave.all().order_by("opens_at").first()
    assert first is not None
    report = await linkage_report(window=Window(first.opens_at.date(), NOW.date()),
                                  lag_days=0, min_group=5, now=NOW)
    # the pulse side is the waves closed by NOW: all but the last, still open
    assert len(report["waves"]) == await PulseWave.all().count() - 1
    main = next(c for c in report["correlations"] if c["x"] == "cei" and c["y"] == "csat")
    assert main["n"] == report["n"] > 250
    assert main["ci_low"] <= planted <= main["ci_high"], (planted, main)
    assert main["r"] > 0 and main["p_value"] < 0.05, main
