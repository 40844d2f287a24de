"""The database itself enforces the uniqueness the product relies on."""

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from models.entities import Contractor, CustomerResponse, Job, PulseResponse, PulseWave

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


async def _job(external_id: str = "J1") -> Job:
    contractor, _ = await Contractor.get_or_create(external_id="C1", defaults={"name": "Ana"})
    return await Job.create(
        external_id=external_id,
        contractor=contractor,
        completed_at=NOW,
        token=f"tok-{external_id}",
        expires_at=NOW + timedelta(days=30),
    )


async def test_one_customer_response_per_job(db: str) -> None:
    job = await _job()
    fields = {"job": job, "contractor_id": job.contractor_id, "completed_at": NOW, "submitted_at": NOW}
    await CustomerResponse.create(**fields, csat=5)
    with pytest.raises(IntegrityError):
        await CustomerResponse.create(**fields, csat=1)
    assert [r.csat for r in await CustomerResponse.all()] == [5]


async def test_one_pulse_response_per_contractor_per_wave(db: str) -> None:
    job = await _job()
    wave = await PulseWave.create(name="w1", opens_at=NOW, closes_at=NOW + timedelta(days=7))
    await PulseResponse.create(wave=wave, contractor_id=job.contractor_id, submitted_at=NOW)
    with pytest.raises(IntegrityError):
        await PulseResponse.create(wave=wave, contractor_id=job.contractor_id, submitted_at=NOW)
    assert await PulseResponse.all().count() == 1


async def test_external_ids_and_tokens_are_unique(db: str) -> None:
    await _job("J1")
    with pytest.raises(IntegrityError):
        await _job("J1")
