"""Pulse scores and item answers indexed by wave.

Every pulse report reads the rows of the waves it may use (`WHERE wave_id IN
(...)`, models/analytics/index.py and linkage.py); without an index that is a
scan of the whole table, which grows by a wave at a time: on the benchmark's
1,000,000-response data (20 waves; 600,000 scores, 1,400,000 item answers) the
four weeks' two waves took 136 ms to aggregate from pulse_scores and 286 ms
from pulse_item_answers, and 25 ms and 54 ms with these indexes (PostgreSQL,
EXPLAIN ANALYZE). Rows are written a response at a time, so a wave's rows lie
together and the index scan reads few pages.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("rapport", "0008_followup_cases")]

    initial = False

    operations = [
        ops.AddIndex(model_name="PulseScore", index=Index(fields=["wave_id"])),
        ops.AddIndex(model_name="PulseItemAnswer", index=Index(fields=["wave_id"])),
    ]
