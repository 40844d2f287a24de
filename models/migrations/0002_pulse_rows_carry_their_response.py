"""Pulse scores and item answers repeat their response's contractor, wave and
submission time, and a score carries the sum of its items, so the index
aggregates each table alone (see models/analytics.py). Rows already stored
get the values of their response; then the columns become NOT NULL.

On PostgreSQL, statistics on the UTC day of customer responses' and jobs'
completion let the planner see that grouping by day makes a few hundred
groups, not a million (without them it picks a serial, spilling plan).
An index on jobs (completed_at, contractor_id) covers the jobs counts.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_COPIED = {
    "PulseScore": ("contractor_id", "wave_id", "submitted_at", "item_sum"),
    "PulseItemAnswer": ("contractor_id", "wave_id", "submitted_at"),
}


def _field(name: str, null: bool) -> fields.Field:  # type: ignore[type-arg]
    if name == "submitted_at":
        return fields.DatetimeField(null=null, auto_now=False, auto_now_add=False)
    if name == "item_sum":
        return fields.SmallIntField(null=null)
    return fields.IntField(null=null)


_DAY_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS {table}_completed_day ON "
    "(CAST(completed_at AT TIME ZONE 'UTC' AS DATE)) FROM {table}"
)


async def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    """Copy each row's values from its response (UPDATE … FROM: PostgreSQL, SQLite 3.33+)."""
    client = schema_editor.client
    item_sum = "ROUND(pulse_scores.answered * (1 + pulse_scores.score / 25))"  # = answered × item mean
    for table, extra in (("pulse_scores", f", item_sum = {item_sum}"), ("pulse_item_answers", "")):
        await client.execute_script(
            f"UPDATE {table} SET contractor_id = r.contractor_id, wave_id = r.wave_id, "
            f"submitted_at = r.submitted_at{extra} FROM pulse_responses r WHERE r.id = {table}.response_id")
    if client.capabilities.dialect == "postgres":
        for table in ("customer_responses", "jobs"):
            await client.execute_script(_DAY_STATISTICS.format(table=table))
            await client.execute_script(f"ANALYZE {table}")


async def restore_indexes(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    """SQLite alters a column by rebuilding the table, and Tortoise 1.1 does
    not recreate the table's indexes afterwards: put back those of 0001."""
    if schema_editor.client.capabilities.dialect == "sqlite":
        for name, table in (("idx_pulse_score_respons_3e32ae", "pulse_scores"),
                            ("idx_pulse_item__respons_7b69e5", "pulse_item_answers")):
            await schema_editor.client.execute_script(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("response_id", "dimension")')


async def backward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for table in ("customer_responses", "jobs"):
            await client.execute_script(f"DROP STATISTICS IF EXISTS {table}_completed_day")


class Migration(migrations.Migration):
    dependencies = [("rapport", "0001_initial")]

    initial = False

    operations = [
        *(ops.AddField(model_name=model, name=name, field=_field(name, null=True))
          for model, names in _COPIED.items() for name in names),
        ops.RunPython(forward, backward),
        *(ops.AlterField(model_name=model, name=name, field=_field(name, null=False))
          for model, names in _COPIED.items() for name in names),
        ops.RunPython(restore_indexes, ops.RunPython.noop),
        ops.AddIndex(model_name="Job", index=Index(fields=["completed_at", "contractor_id"])),
    ]
