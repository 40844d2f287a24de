"""Weekly digest: each user's opt-in and address (digest_subscriptions), and one row per user and
ISO week sent (digest_deliveries, unique), so a schedule sends each week's digest once per user.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('rapport', '0006_worker_runs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DigestDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('rapport.User', source_field='user_id', db_constraint=True, to_field='id', related_name='digests', on_delete=OnDelete.CASCADE)),
                ('week', fields.CharField(max_length=8)),
                ('claimed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'digest_deliveries', 'app': 'rapport', 'unique_together': (('user', 'week'),), 'pk_attr': 'id', 'table_description': "One week's digest to one user: claimed before it is sent, stamped once the SMTP"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DigestSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('rapport.User', source_field='user_id', db_constraint=True, to_field='id', related_name='digest', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('weekly', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'digest_subscriptions', 'app': 'rapport', 'pk_attr': 'id', 'table_description': "A dashboard user's weekly digest e-mail: where it goes and whether it is on."},
            bases=['Model'],
        ),
    ]
