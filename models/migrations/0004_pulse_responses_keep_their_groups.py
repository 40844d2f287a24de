"""A pulse response keeps its contractor's region, service type and tenure
band (at its wave's close) as they were when it was stored, so the figures
of a closed wave never move when a contractor is edited later (a
before/after difference would be that one person's answers; docs/metrics.md,
"Privacy"). Its score and item rows carry the same copies, and an item row
says whether its dimension was answered in full, so the index sums each
table alone. Rows already stored take their contractor's current values,
through the same function every writer calls.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_GROUPS = ("region", "service_type", "tenure_band")


def _field(name: str) -> fields.Field:  # type: ignore[type-arg]
    if name == "tenure_band":
        return fields.SmallIntField(null=True)
    return fields.CharField(max_length=100, null=True)


async def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    from models.queries import freeze_groups

    client = schema_editor.client
    rows = await client.execute_query_dict("SELECT id FROM pulse_responses")
    await freeze_groups(client, [row["id"] for row in rows])


class Migration(migrations.Migration):
    dependencies = [("rapport", "0003_sessions_audit_forget")]

    initial = False

    operations = [
        *(ops.AddField(model_name=model, name=name, field=_field(name))
          for model in ("PulseResponse", "PulseScore", "PulseItemAnswer") for name in _GROUPS),
        ops.AddField(model_name="PulseItemAnswer", name="complete", field=fields.BooleanField(null=True)),
        ops.RunPython(forward, ops.RunPython.noop),
    ]
