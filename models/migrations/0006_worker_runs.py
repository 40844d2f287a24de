"""What the worker's periodic jobs have done once and must not do again
(a wave announced as closed), shared by every worker process.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('rapport', '0005_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WorkerRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('done_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_runs', 'app': 'rapport', 'unique_together': (('job', 'name'),), 'pk_attr': 'id', 'table_description': 'Once-only work of the worker done: a job and what it was done for, such as a wave announced.'},
            bases=['Model'],
        ),
    ]
