"""Bulk CSV import and streaming CSV export.

Import
------
``await import_csv(*, kind, data) -> ImportResult`` with ``kind`` one of
``"contractors"``, ``"customer-responses"``, ``"pulse-responses"`` and
``data`` the CSV file (``bytes`` in UTF-8, a BOM allowed, or ``str``). The
ORM must be open (``models.db.database()`` in a script). It prints nothing;
``ImportResult.as_dict()`` is what the API answers and the CLI shows.

A file is imported whole or not at all. Every line is checked first, its
answers by the rules of ``surveys.validation.validate`` with the survey in
force (the same as the web form: the usual cells through each question's
``quick_cleaner``, a table of the strings validate accepts as they are, and
any line with another cell through ``validate`` itself, so values and
messages are identical); then, inside one transaction, against the
database with set-based queries (an unknown contractor is reported in the
same pass as the line's other errors); only when nothing is wrong are the rows
written, with multi-row INSERTs (PostgreSQL: ``INSERT ... SELECT FROM
unnest(arrays)``; SQLite: ``executemany`` / multi-VALUES, with a larger page
cache for the duration), never one ORM save per row. Pulse scores are
``score_pulse``'s, computed once per distinct answer pattern of each
dimension. Problems raise
``CsvImportError``, whose ``errors`` name the line (the header is line 1) and
the column, up to ``MAX_ERRORS`` of them, with ``error_count`` the total.

Columns (header names exact, any order), defined once in ``import_columns``,
which ``rapport import --help`` prints with an example line:

- contractors: ``external_id, name, region, service_type, started_on``
  and optionally ``active`` (yes/no, default yes). Upsert by external id.
- customer-responses: ``job_external_id, contractor_external_id,
  completed_at, submitted_at`` and one column per customer-survey question
  (``csat, nps, ces, promise_kept``, optionally ``comment``). A missing job
  is created (its contractor must exist); an existing job keeps its own
  completion time and must belong to that contractor and be unanswered.
  ``source`` is accepted and ignored, so an export re-imports. Stored with
  source "import".
- pulse-responses: ``contractor_external_id, wave, submitted_at`` and one
  column per pulse question id (the optional ones may be left out). The
  wave must exist (create it with ``POST /api/v1/waves``) and
  ``submitted_at`` must fall within it; the invite is created if missing.
  Each response is scored by ``surveys.scoring.score_pulse`` and stored with
  its dimension scores and item answers, exactly as a web submission.

Duplicates are errors: the same job or the same contractor+wave twice in the
file, or already answered in the database. Cells that an export neutralised
against spreadsheet formulas (a leading quote) are restored.

Export
------
``export_customer_responses(*, start, end)`` yields CSV text in batches: one
row per customer response with its job's and contractor's external ids,
filtered on the job's ``completed_at`` in [start, end).

``await export_pulse_responses(*, start, end) -> PulseExport``: the pulse
waves that closed in [start, end) with at least ``settings.min_group``
respondents (models/waves.py), one row per response: wave, one column per
pulse question (answers as given), cei, comment. Confidential, not
anonymous, so: no contractor id, external id, name, region, service type or
time; within a wave rows are sorted by their answers, an order that says
nothing about who answered or when. Comments only for waves of at least
``settings.min_comment_group``; ``PulseExport`` counts what was held back
so the API can say so in headers. ``export_pulse_index`` gives the figures
per wave and group instead, through the index's own gate.
"""

from models.transfer.columns import (
    KINDS,
    MAX_ERRORS,
    CsvImportError,
    ImportColumns,
    ImportResult,
    RowError,
    import_columns,
)
from models.transfer.exports import (
    PulseExport,
    customer_export_header,
    export_customer_responses,
    export_pulse_index,
    export_pulse_responses,
)
from models.transfer.importers import (
    CUSTOMER_RESPONSE_COLUMNS,
    PULSE_GROUP_COLUMNS,
    PULSE_RESPONSE_COLUMNS,
    import_csv,
    store_pulse_scores,
)
from models.transfer.reading import parse_instant

__all__ = [
    "CUSTOMER_RESPONSE_COLUMNS",
    "KINDS",
    "MAX_ERRORS",
    "PULSE_GROUP_COLUMNS",
    "PULSE_RESPONSE_COLUMNS",
    "CsvImportError",
    "ImportColumns",
    "ImportResult",
    "PulseExport",
    "RowError",
    "customer_export_header",
    "export_customer_responses",
    "export_pulse_index",
    "export_pulse_responses",
    "import_columns",
    "import_csv",
    "parse_instant",
    "store_pulse_scores",
]
