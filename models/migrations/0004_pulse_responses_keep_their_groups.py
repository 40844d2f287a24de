"""A pulse response keeps its contractor's region, service type and start date
as they were when it was stored, so the figures of a closed wave never move
when a contractor is edited later (a before/after difference would be that
one person's answers; docs/metrics.md, "Privacy"). Rows already stored take
their contractor's current values.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_script(
        "UPDATE pulse_responses SET region = c.region, service_type = c.service_type, started_on = c.started_on "
        "FROM contractors c WHERE c.id = pulse_responses.contractor_id")


class Migration(migrations.Migration):
    dependencies = [("rapport", "0002_pulse_rows_carry_their_response")]

    initial = False

    operations = [
        ops.AddField(model_name="PulseResponse", name="region", field=fields.CharField(max_length=100, null=True)),
        ops.AddField(model_name="PulseResponse", name="service_type",
                     field=fields.CharField(max_length=100, null=True)),
        ops.AddField(model_name="PulseResponse", name="started_on", field=fields.DateField(null=True)),
        ops.RunPython(forward, ops.RunPython.noop),
    ]
