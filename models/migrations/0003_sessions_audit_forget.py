"""Server-side dashboard sessions (so sign-out and `rapport user disable|delete` end
every copy of a cookie), the audit log, users that can be disabled, and when a
user last signed in and a key was last used.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('rapport', '0002_pulse_rows_carry_their_response')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('actor_kind', fields.CharField(max_length=16)),
                ('actor', fields.CharField(max_length=100)),
                ('action', fields.CharField(max_length=200)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.SmallIntField(null=True)),
                ('client', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_log', 'app': 'rapport', 'indexes': [Index(fields=['actor', 'at'])], 'pk_attr': 'id', 'table_description': 'Who read or exported what, when and from where: an API key or a dashboard user.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('rapport.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dashboard_sessions', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'A signed-in dashboard session, named by the SHA-256 of the random id its cookie carries.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiKey',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterModelOptions(
            name='User',
            options={'table': 'users', 'app': 'rapport', 'pk_attr': 'id', 'table_description': 'A dashboard user, whose password is kept as a salted hash only.'},
        ),
        ops.AddField(
            model_name='User',
            name='disabled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='last_login_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
