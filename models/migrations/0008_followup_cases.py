"""Closing the loop: follow-up cases with notes, the customer reference of a job,
reminders handed out, alert subscriptions and the alerts raised.

A detractor marked handled before this migration becomes a closed case: its
first action and close at the time it was marked, by whom, with the outcome
"Marked handled"; then the handled columns go (the case is the one record),
with ALTER TABLE ... DROP COLUMN on both databases (DropColumn says why).

It comes after 0007_weekly_digest (the two were written side by side).
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

HANDLED_OUTCOME = "Marked handled"


async def handled_become_cases(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    from surveys.scoring import CSAT_LOW_MAX, DETRACTOR_MAX

    client = schema_editor.client
    outcome = "$1" if client.capabilities.dialect == "postgres" else "?"
    await client.execute_query(
        "INSERT INTO followup_cases (response_id, first_action_at, closed_at, closed_by, outcome, updated_at) "
        f"SELECT id, handled_at, handled_at, handled_by, {outcome}, handled_at FROM customer_responses "
        f"WHERE handled_at IS NOT NULL AND (nps <= {DETRACTOR_MAX} OR csat <= {CSAT_LOW_MAX})",
        [HANDLED_OUTCOME],
    )


class DropColumn(ops.RemoveField):
    """RemoveField through the database's own ALTER TABLE ... DROP COLUMN (SQLite 3.35+).

    Tortoise drops a SQLite column by rebuilding the table, which loses its indexes
    and UNIQUE constraints (one answer per job) and, dropping the old table,
    cascades to the rows that point at it (the cases just made).
    """

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:  # type: ignore[no-untyped-def]
        if state_editor:
            table = old_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.db_table
            await state_editor.client.execute_script(f'ALTER TABLE "{table}" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('rapport', '0007_weekly_digest')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AlertSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('rapport.User', source_field='user_id', db_constraint=True, to_field='id', related_name='alert_subscriptions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('regions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('group_by', fields.CharField(null=True, max_length=16)),
                ('threshold', fields.FloatField(null=True)),
                ('after_response_id', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'alert_subscriptions', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'What a dashboard user wants to be told about (models.alerts.KINDS).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Alert',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subscription', fields.ForeignKeyField('rapport.AlertSubscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='alerts', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=200)),
                ('response', fields.ForeignKeyField('rapport.CustomerResponse', source_field='response_id', null=True, db_constraint=True, to_field='id', related_name='alerts', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('message', fields.TextField(unique=False)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'alerts', 'app': 'rapport', 'unique_together': (('subscription', 'key'),), 'pk_attr': 'id', 'table_description': 'One alert raised for one subscription, once per subject (its key).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FollowupCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.OneToOneField('rapport.CustomerResponse', source_field='response_id', db_constraint=True, to_field='id', related_name='followup', on_delete=OnDelete.CASCADE)),
                ('assignee', fields.CharField(null=True, max_length=100)),
                ('root_cause', fields.CharField(null=True, max_length=16)),
                ('outcome', fields.TextField(null=True, unique=False)),
                ('first_action_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.CharField(null=True, max_length=100)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'followup_cases', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'What was done about one detractor answer: owner, root cause, closing outcome.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FollowupNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('rapport.FollowupCase', source_field='case_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.CharField(max_length=100)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('text', fields.TextField(unique=False)),
            ],
            options={'table': 'followup_notes', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'A note on a follow-up case: who wrote it, when.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('invite', fields.ForeignKeyField('rapport.PulseInvite', source_field='invite_id', null=True, db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('job', fields.ForeignKeyField('rapport.Job', source_field='job_id', null=True, db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reminders', 'app': 'rapport', 'indexes': [Index(fields=['invite_id', 'sent_at']), Index(fields=['job_id'])], 'pk_attr': 'id', 'table_description': 'A reminder handed to the brand systems for one pulse link or one customer link.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Job',
            name='customer_ref',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.RunPython(handled_become_cases, ops.RunPython.noop),
        DropColumn(model_name='CustomerResponse', name='handled_at'),
        DropColumn(model_name='CustomerResponse', name='handled_by'),
    ]
