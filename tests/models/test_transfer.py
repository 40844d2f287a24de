"""CSV import (whole or nothing, errors naming line and column) and export, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

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
from models.settings import settings
from models.transfer import (
    CsvImportError,
    export_customer_responses,
    export_pulse_responses,
    import_csv,
)
from surveys.schema import builtin_survey
from surveys.scoring import score_pulse
from tests.factories import copies_that_disagree

pytestmark = pytest.mark.anyio

CUSTOMER_HEADER = "job_external_id,contractor_external_id,completed_at,submitted_at,csat,nps,ces,promise_kept,comment\n"
PULSE = builtin_survey("pulse")
ITEMS = [q.id for q in PULSE.questions if q.dimension]
WAVE_OPENS = datetime(2026, 3, 2, tzinfo=UTC)


def contractors_csv(n: int) -> str:
    lines = ["external_id,name,region,service_type,started_on"]
    lines += [f"C{i},Person {i},North,delivery,2024-01-0{1 + i % 9}" for i in range(n)]
    return "\n".join(lines) + "\n"


def customer_line(job: str, contractor: str = "C0", csat: str = "4", comment: str = "ok") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [job, contractor, "2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", csat, 9, 6, "yes", comment])
    return buffer.getvalue()


def pulse_csv(rows: list[tuple[str, str, int, str]]) -> str:
    head = ",".join(["contractor_external_id", "wave", "submitted_at", *ITEMS, "comment"])
    body = [
        ",".join([contractor, wave, "2026-03-03T09:00:00Z", *[str(value)] * len(ITEMS), comment])
        for contractor, wave, value, comment in rows
    ]
    return "\n".join([head, *body]) + "\n"


async def collect(chunks) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = "".join([chunk async for chunk in chunks])
    return list(csv.reader(io.StringIO(text)))


async def test_contractors_upsert(db: str) -> None:
    result = await import_csv(kind="contractors", data=contractors_csv(3))
    assert (result.rows, result.created, result.updated) == (3, 3, 0)
    again = "external_id,name,region,service_type,started_on,active\nC1,Renamed,South,repair,,no\nC9,New,,,,\n"
    result = await import_csv(kind="contractors", data=again.encode())
    assert (result.created, result.updated) == (1, 1)
    c1 = await Contractor.get(external_id="C1")
    assert (c1.name, c1.region, c1.service_type, c1.started_on, c1.active) == ("Renamed", "South", "repair", None, False)
    assert await Contractor.all().count() == 4


async def test_customer_import_creates_jobs_and_answered_responses(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(2))
    data = CUSTOMER_HEADER + customer_line("J1") + customer_line("J2", "C1", "2", "") + customer_line("J3")
    result = await import_csv(kind="customer-responses", data=data)
    assert (result.rows, result.jobs_created) == (3, 3)
    response = await CustomerResponse.get(job__external_id="J2").prefetch_related("contractor", "job")
    assert (response.csat, response.nps, response.ces, response.promise_kept) == (2, 9, 6, True)
    assert response.comment is None and response.source == "import"
    assert response.contractor.external_id == "C1"
    assert response.completed_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert response.answers["csat"] == 2
    assert response.job.token and len(response.job.token) >= 22


async def test_customer_import_keeps_an_optional_customer_ref_on_the_jobs_it_creates(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    header = CUSTOMER_HEADER.replace("\n", ",customer_ref\n")
    data = header + customer_line("J1").replace("\n", ",CRM-1\n") + customer_line("J2").replace("\n", ",\n")
    await import_csv(kind="customer-responses", data=data)
    assert dict(await Job.all().values_list("external_id", "customer_ref")) == {"J1": "CRM-1", "J2": None}
    with pytest.raises(CsvImportError) as caught:  # as long as the column allows, no longer
        await import_csv(kind="customer-responses", data=header + customer_line("J3").replace("\n", f",{'x' * 201}\n"))
    assert [(e.line, e.column) for e in caught.value.errors] == [(2, "customer_ref")]


async def test_one_bad_line_stores_nothing_and_names_line_and_column(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    data = CUSTOMER_HEADER + customer_line("J1") + customer_line("J2") + customer_line("J3", csat="9")
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=data)
    [error] = caught.value.errors
    assert (error.line, error.column) == (4, "csat")
    assert "1 to 5" in error.message
    assert await Job.all().count() == 0
    assert await CustomerResponse.all().count() == 0


async def test_database_errors_also_store_nothing(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    data = CUSTOMER_HEADER + customer_line("J1") + customer_line("J2", contractor="NOPE")
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=data)
    assert [(e.line, e.column) for e in caught.value.errors] == [(3, "contractor_external_id")]
    assert await Job.all().count() == 0


async def test_duplicates_in_file_and_against_database(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=CUSTOMER_HEADER + customer_line("J1") + customer_line("J1"))
    [error] = caught.value.errors
    assert (error.line, error.column) == (3, "job_external_id") and "line 2" in error.message

    await import_csv(kind="customer-responses", data=CUSTOMER_HEADER + customer_line("J1"))
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=CUSTOMER_HEADER + customer_line("J2") + customer_line("J1"))
    [error] = caught.value.errors
    assert (error.line, error.column) == (3, "job_external_id") and "already answered" in error.message
    assert await CustomerResponse.all().count() == 1


async def test_header_problems_and_error_limit(db: str) -> None:
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data="job_external_id,csat,colour\n")
    assert caught.value.whole_file
    columns = {(e.line, e.column) for e in caught.value.errors}
    assert (1, "colour") in columns and (1, "contractor_external_id") in columns
    many = CUSTOMER_HEADER + "".join(customer_line(f"J{i}", csat="x") for i in range(80))
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=many)
    # each line: its bad csat and, in the same pass, its unknown contractor
    assert len(caught.value.errors) == 50 and caught.value.error_count == 160
    assert [e.line for e in caught.value.errors] == sorted(e.line for e in caught.value.errors)
    with pytest.raises(CsvImportError):
        await import_csv(kind="customer-responses", data=b"\xff\xfe bad")


async def test_every_kind_of_error_is_reported_in_one_pass(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    data = CUSTOMER_HEADER + customer_line("J1", csat="9") + customer_line("J2", contractor="NOBODY") \
        + customer_line("J3", contractor="GHOST", csat="0")
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=data)
    assert [(e.line, e.column) for e in caught.value.errors] == [
        (2, "csat"), (3, "contractor_external_id"), (4, "csat"), (4, "contractor_external_id")]
    assert "no contractor 'NOBODY'" in caught.value.errors[1].message
    assert await CustomerResponse.all().count() == 0 and await Job.all().count() == 0

    await PulseWave.create(name="w1", opens_at=WAVE_OPENS, closes_at=WAVE_OPENS + timedelta(days=7))
    pulse = pulse_csv([("C0", "w1", 9, ""), ("GHOST", "w1", 4, ""), ("C0", "w9", 4, "")])
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="pulse-responses", data=pulse)
    found = {(e.line, e.column) for e in caught.value.errors}
    assert (2, ITEMS[0]) in found and (3, "contractor_external_id") in found and (4, "wave") in found
    assert await PulseResponse.all().count() == 0


async def test_prefer_not_to_say_imports_as_unanswered(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    await PulseWave.create(name="w1", opens_at=WAVE_OPENS, closes_at=WAVE_OPENS + timedelta(days=7))
    data = pulse_csv([("C0", "w1", 4, "")]).replace(",4,", ",skip,", 1)  # the first item
    await import_csv(kind="pulse-responses", data=data)
    response = await PulseResponse.get()
    assert response.answers[ITEMS[0]] is None and response.answers[ITEMS[1]] == 4


async def test_pulse_import_scores_every_response(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(3))
    await PulseWave.create(name="w1", opens_at=WAVE_OPENS, closes_at=WAVE_OPENS + timedelta(days=7))
    result = await import_csv(kind="pulse-responses", data=pulse_csv([("C0", "w1", 4, "great"), ("C1", "w1", 2, "")]))
    assert (result.rows, result.invites_created) == (2, 2)
    response = await PulseResponse.get(contractor__external_id="C0")
    expected = score_pulse(PULSE, {item: 4 for item in ITEMS})
    assert response.cei == pytest.approx(expected.cei) and response.source == "import"
    assert response.comment == "great"
    scores = {s.dimension: s.score for s in await PulseScore.filter(response=response)}
    assert scores == {d: v.score for d, v in expected.dimensions.items()}
    assert await PulseItemAnswer.filter(response=response).count() == len(ITEMS)
    assert await PulseInvite.all().count() == 2
    assert await PulseScore.all().count() > 0 and await copies_that_disagree() == 0


async def test_pulse_import_errors(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(2))
    await PulseWave.create(name="w1", opens_at=WAVE_OPENS, closes_at=WAVE_OPENS + timedelta(days=7))
    await import_csv(kind="pulse-responses", data=pulse_csv([("C0", "w1", 4, "")]))
    rows = [("C1", "w1", 3, ""), ("C1", "w1", 3, ""), ("C0", "w1", 3, ""), ("C1", "nowave", 3, ""), ("C1", "w1", 7, "")]
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="pulse-responses", data=pulse_csv(rows))
    found = {(e.line, e.column) for e in caught.value.errors}
    assert (3, "contractor_external_id") in found  # twice in the file
    assert (6, ITEMS[0]) in found  # out of range
    # the database checks come after the file checks pass
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="pulse-responses", data=pulse_csv([("C1", "w1", 3, ""), ("C0", "w1", 3, ""), ("C1", "nowave", 3, "")]))
    found = {(e.line, e.column) for e in caught.value.errors}
    assert found == {(3, "contractor_external_id"), (4, "wave")}
    assert await PulseResponse.all().count() == 1


async def test_export_neutralises_formulas_and_round_trips(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(2))
    data = (CUSTOMER_HEADER + customer_line("J1", comment="=HYPERLINK(\"http://evil\")")
            + customer_line("-J2", "C1", comment="@SUM(A1)") + customer_line("J3", comment="plain, with comma"))
    await import_csv(kind="customer-responses", data=data)
    rows = await collect(export_customer_responses())
    assert rows[0] == ["job_external_id", "contractor_external_id", "completed_at", "submitted_at",
                       "csat", "nps", "ces", "promise_kept", "comment", "source"]
    by_job = {r[0]: r for r in rows[1:]}
    assert by_job["J1"][8] == "'=HYPERLINK(\"http://evil\")"
    assert by_job["'-J2"][8] == "'@SUM(A1)"
    assert by_job["J3"][8] == "plain, with comma" and by_job["J3"][9] == "import"
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@")) and not row[8].startswith(("=", "+", "-", "@"))
    exported = "".join([chunk async for chunk in export_customer_responses()])

    await CustomerResponse.all().delete()
    await Job.all().delete()
    result = await import_csv(kind="customer-responses", data=exported)
    assert result.rows == 3
    assert "".join([chunk async for chunk in export_customer_responses()]) == exported
    assert (await CustomerResponse.get(job__external_id="-J2")).comment == "@SUM(A1)"


async def test_customer_export_window(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    await import_csv(kind="customer-responses", data=CUSTOMER_HEADER + customer_line("J1"))
    inside = await collect(export_customer_responses(start=datetime(2026, 3, 1, tzinfo=UTC),
                                                     end=datetime(2026, 3, 2, tzinfo=UTC)))
    outside = await collect(export_customer_responses(start=datetime(2026, 3, 2, tzinfo=UTC)))
    assert len(inside) == 2 and len(outside) == 1
    small = await collect(export_customer_responses(batch=1))
    assert len(small) == 2


async def test_pulse_export_has_no_identity_and_guards_small_groups(db: str) -> None:
    n = settings.min_comment_group + 2
    await import_csv(kind="contractors", data=contractors_csv(n))
    for name, offset in (("big", 0), ("mid", 10), ("tiny", 20)):
        await PulseWave.create(name=name, opens_at=WAVE_OPENS + timedelta(days=offset),
                               closes_at=WAVE_OPENS + timedelta(days=offset + 7))
    big = [(f"C{i}", "big", 1 + i % 5, f"comment {i}") for i in range(n)]
    mid = [(f"C{i}", "mid", 3, f"secret {i}") for i in range(settings.min_group)]
    tiny = [(f"C{i}", "tiny", 5, "tiny") for i in range(settings.min_group - 1)]
    await import_csv(kind="pulse-responses", data=pulse_csv(big).replace("2026-03-03", "2026-03-03"))
    await import_csv(kind="pulse-responses", data=pulse_csv(mid).replace("2026-03-03", "2026-03-13"))
    await import_csv(kind="pulse-responses", data=pulse_csv(tiny).replace("2026-03-03", "2026-03-23"))

    export = await export_pulse_responses()
    rows = await collect(export.chunks())
    header, body = rows[0], rows[1:]
    assert header[0] == "wave" and header[-2:] == ["cei", "comment"]
    for banned in ("contractor", "contractor_external_id", "contractor_id", "name", "region", "service_type", "id",
                   "submitted_at", "completed_at", "date"):
        assert banned not in header
    flat = {cell for row in body for cell in row}
    assert not any(f"C{i}" == cell or f"Person {i}" == cell for i in range(n) for cell in flat)
    assert len(body) == n + settings.min_group  # the tiny wave is left out
    assert {r[0] for r in body} == {"big", "mid"}
    assert export.suppressed_waves == 1 and export.suppressed_responses == settings.min_group - 1
    assert all(r[-1] == "" for r in body if r[0] == "mid")  # under the comment threshold
    assert export.comments_suppressed == settings.min_group
    assert {r[-1] for r in body if r[0] == "big"} == {f"comment {i}" for i in range(n)}
    assert not any("2026-03" in cell for row in body for cell in row)  # no dates at all
    # ordered by the answers, the same every time: nothing of who answered first
    big_rows = [r[1:] for r in body if r[0] == "big"]
    assert big_rows == sorted(big_rows, key=lambda row: [(v == "", v) for v in row])
    again = await collect((await export_pulse_responses()).chunks())
    assert again == rows


async def test_odd_but_valid_cells_import_like_the_web_form_and_bad_ones_name_the_cell(db: str) -> None:
    await import_csv(kind="contractors", data=contractors_csv(1))
    data = (CUSTOMER_HEADER + customer_line("J1", csat=" 4 ", comment="  padded\r\nnote ")
            + customer_line("J2", csat="05", comment="bell\x07") + customer_line("J3", csat="+3"))
    await import_csv(kind="customer-responses", data=data)
    stored = {r.job.external_id: r for r in await CustomerResponse.all().prefetch_related("job")}
    assert (stored["J1"].csat, stored["J1"].comment) == (4, "padded\nnote")
    assert (stored["J2"].csat, stored["J2"].comment) == (5, "bell")
    assert stored["J3"].csat == 3 and stored["J3"].answers["csat"] == 3

    bad = CUSTOMER_HEADER + "".join(customer_line(f"K{i}", csat=cell) for i, cell in enumerate(("4.0", "٣", "", "0")))
    with pytest.raises(CsvImportError) as caught:
        await import_csv(kind="customer-responses", data=bad)
    assert [(e.line, e.column, e.message) for e in caught.value.errors] == [
        (2, "csat", "Answer with a whole number from 1 to 5."),
        (3, "csat", "Answer with a whole number from 1 to 5."),
        (4, "csat", "Please answer this question."),
        (5, "csat", "Choose a number from 1 to 5."),
    ]
    assert await CustomerResponse.all().count() == 3


def test_pulse_scorer_equals_score_pulse() -> None:
    import random

    from models.transfer.importers import PulseScorer as _PulseScorer

    rng = random.Random(7)
    scorer = _PulseScorer(PULSE)
    optional = [q.id for q in PULSE.questions if not q.required]
    for _ in range(2000):
        answers = {q.id: (rng.randint(*q.scale) if q.scale else "a comment") for q in PULSE.questions}
        for item in optional:
            if rng.random() < 0.4:
                answers[item] = None
        assert scorer(answers) == score_pulse(PULSE, answers)
    assert len(scorer.parts) < 2000 * len(scorer.groups)  # parts are reused
