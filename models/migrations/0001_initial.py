from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'The key of an integration, stored as its SHA-256 (the key has 256 random bits).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Contractor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=128)),
                ('name', fields.CharField(max_length=200)),
                ('region', fields.CharField(default='', db_index=True, max_length=100)),
                ('service_type', fields.CharField(default='', db_index=True, max_length=100)),
                ('started_on', fields.DateField(null=True)),
                ('active', fields.BooleanField(default=True)),
                ('attributes', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'contractors', 'app': 'rapport', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=128)),
                ('contractor', fields.ForeignKeyField('rapport.Contractor', source_field='contractor_id', db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.RESTRICT)),
                ('completed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'jobs', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'A finished job: its token is the one-time survey link of its customer.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerResponse',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.OneToOneField('rapport.Job', source_field='job_id', db_constraint=True, to_field='id', related_name='response', on_delete=OnDelete.CASCADE)),
                ('contractor', fields.ForeignKeyField('rapport.Contractor', source_field='contractor_id', db_constraint=True, to_field='id', related_name='customer_responses', on_delete=OnDelete.RESTRICT)),
                ('completed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('submitted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('csat', fields.SmallIntField(null=True)),
                ('nps', fields.SmallIntField(null=True)),
                ('ces', fields.SmallIntField(null=True)),
                ('promise_kept', fields.BooleanField(null=True)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('survey_version', fields.IntField(default=1)),
                ('lang', fields.CharField(default='en', max_length=8)),
                ('source', fields.CharField(default='web', max_length=16)),
                ('submission_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('handled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('handled_by', fields.CharField(null=True, max_length=100)),
            ],
            options={'table': 'customer_responses', 'app': 'rapport', 'indexes': [Index(fields=['contractor_id', 'completed_at']), Index(fields=['completed_at'])], 'pk_attr': 'id', 'table_description': 'The answers of one customer about one job (at most one per job).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseWave',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pulse_waves', 'app': 'rapport', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseInvite',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('wave', fields.ForeignKeyField('rapport.PulseWave', source_field='wave_id', db_constraint=True, to_field='id', related_name='invites', on_delete=OnDelete.CASCADE)),
                ('contractor', fields.ForeignKeyField('rapport.Contractor', source_field='contractor_id', db_constraint=True, to_field='id', related_name='pulse_invites', on_delete=OnDelete.CASCADE)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pulse_invites', 'app': 'rapport', 'unique_together': (('wave', 'contractor'),), 'pk_attr': 'id', 'table_description': 'The one-time pulse link of one contractor for one wave.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseResponse',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('wave', fields.ForeignKeyField('rapport.PulseWave', source_field='wave_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('contractor', fields.ForeignKeyField('rapport.Contractor', source_field='contractor_id', db_constraint=True, to_field='id', related_name='pulse_responses', on_delete=OnDelete.CASCADE)),
                ('submitted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('cei', fields.FloatField(null=True)),
                ('survey_version', fields.IntField(default=1)),
                ('lang', fields.CharField(default='en', max_length=8)),
                ('source', fields.CharField(default='web', max_length=16)),
                ('submission_id', fields.CharField(null=True, unique=True, max_length=64)),
            ],
            options={'table': 'pulse_responses', 'app': 'rapport', 'unique_together': (('wave', 'contractor'),), 'pk_attr': 'id', 'table_description': 'The pulse answers of one contractor: confidential, never shown one by one.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseItemAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.ForeignKeyField('rapport.PulseResponse', source_field='response_id', db_constraint=True, to_field='id', related_name='item_answers', on_delete=OnDelete.CASCADE)),
                ('dimension', fields.CharField(max_length=64)),
                ('item', fields.CharField(max_length=64)),
                ('value', fields.SmallIntField()),
            ],
            options={'table': 'pulse_item_answers', 'app': 'rapport', 'indexes': [Index(fields=['response_id', 'dimension'])], 'pk_attr': 'id', 'table_description': 'One scored item answer (reversal applied), for reliability statistics.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseScore',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.ForeignKeyField('rapport.PulseResponse', source_field='response_id', db_constraint=True, to_field='id', related_name='scores', on_delete=OnDelete.CASCADE)),
                ('dimension', fields.CharField(max_length=64)),
                ('score', fields.FloatField()),
                ('answered', fields.SmallIntField()),
                ('favourable', fields.SmallIntField()),
            ],
            options={'table': 'pulse_scores', 'app': 'rapport', 'indexes': [Index(fields=['response_id', 'dimension'])], 'pk_attr': 'id', 'table_description': 'The 0–100 score of one dimension within one pulse response.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=100)),
                ('password_hash', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'A dashboard user, whose password is kept as a scrypt hash.'},
            bases=['Model'],
        ),
    ]
