"""Rapport's tables as Tortoise models: storage only, no behaviour.

Uniqueness that matters for correctness (one customer response per job, one
pulse response per contractor per wave, unique tokens) is enforced by the
database, so it holds across several collector processes.

The follow-up casework tables (cases, notes, reminders, alerts) are defined in
`models.casework` and listed here with the rest, where Tortoise finds them.

Class docstrings become table comments, and Tortoise 1.1 neither escapes
quotes nor guards semicolons in them for SQLite: keep apostrophes and semicolons out of them.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.casework import Alert, AlertSubscription, FollowupCase, FollowupNote, Reminder

__all__ = [
    "MAX_CUSTOMER_REF",
    "Alert",
    "AlertSubscription",
    "ApiKey",
    "AuditEntry",
    "Contractor",
    "CustomerResponse",
    "DashboardSession",
    "DigestDelivery",
    "DigestSubscription",
    "FollowupCase",
    "FollowupNote",
    "Job",
    "PulseInvite",
    "PulseItemAnswer",
    "PulseResponse",
    "PulseScore",
    "PulseWave",
    "Reminder",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerRun",
]

# jobs.customer_ref: the longest a brand's reference to its customer may be
MAX_CUSTOMER_REF = 200


class Contractor(Model):
    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=128, unique=True)
    name = fields.CharField(max_length=200)
    region = fields.CharField(max_length=100, default="", db_index=True)
    service_type = fields.CharField(max_length=100, default="", db_index=True)
    started_on = fields.DateField(null=True)
    active = fields.BooleanField(default=True)
    attributes: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contractors"


class Job(Model):
    """A finished job: its token is the one-time survey link of its customer."""

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=128, unique=True)
    contractor: fields.ForeignKeyRelation[Contractor] = fields.ForeignKeyField(
        "rapport.Contractor", related_name="jobs", on_delete=fields.RESTRICT
    )
    completed_at = fields.DatetimeField(db_index=True)
    token = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    # how the brand reaches this customer (a CRM id): shown to follow-up staff, never to contractors
    customer_ref = fields.CharField(max_length=MAX_CUSTOMER_REF, null=True)

    class Meta:
        table = "jobs"
        # Covers the jobs counts of the analytics (by day and contractor): on
        # SQLite a range of it is read without touching the table (3.3 -> 1.1 s
        # for a year of 1M jobs).
        indexes = (Index(fields=("completed_at", "contractor_id")),)


class CustomerResponse(Model):
    """The answers of one customer about one job (at most one per job).

    `contractor` and `completed_at` repeat those of the job so that customer
    metrics aggregate over one table without a join.
    """

    id = fields.IntField(primary_key=True)
    job: fields.OneToOneRelation[Job] = fields.OneToOneField(
        "rapport.Job", related_name="response", on_delete=fields.CASCADE
    )
    contractor: fields.ForeignKeyRelation[Contractor] = fields.ForeignKeyField(
        "rapport.Contractor", related_name="customer_responses", on_delete=fields.RESTRICT
    )
    job_id: int  # the foreign keys' columns, as Tortoise sets them
    contractor_id: int
    completed_at = fields.DatetimeField()
    submitted_at = fields.DatetimeField(db_index=True)
    csat = fields.SmallIntField(null=True)
    nps = fields.SmallIntField(null=True)
    ces = fields.SmallIntField(null=True)
    promise_kept = fields.BooleanField(null=True)
    comment = fields.TextField(null=True)
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    survey_version = fields.IntField(default=1)
    lang = fields.CharField(max_length=8, default="en")
    source = fields.CharField(max_length=16, default="web")
    submission_id = fields.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table = "customer_responses"
        # completed_at with what the reports sum: their reads need no table rows (migration 0010)
        indexes = (Index(fields=("contractor_id", "completed_at")),
                   Index(fields=("completed_at", "contractor_id", "csat", "nps", "ces", "promise_kept")))


class PulseWave(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pulse_waves"


class PulseInvite(Model):
    """The one-time pulse link of one contractor for one wave."""

    id = fields.IntField(primary_key=True)
    wave: fields.ForeignKeyRelation[PulseWave] = fields.ForeignKeyField(
        "rapport.PulseWave", related_name="invites", on_delete=fields.CASCADE
    )
    contractor: fields.ForeignKeyRelation[Contractor] = fields.ForeignKeyField(
        "rapport.Contractor", related_name="pulse_invites", on_delete=fields.CASCADE
    )
    wave_id: int  # the foreign keys' columns, as Tortoise sets them
    contractor_id: int
    token = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pulse_invites"
        unique_together = (("wave", "contractor"),)


class PulseResponse(Model):
    """The pulse answers of one contractor: confidential, never shown one by one."""

    id = fields.IntField(primary_key=True)
    wave: fields.ForeignKeyRelation[PulseWave] = fields.ForeignKeyField(
        "rapport.PulseWave", related_name="responses", on_delete=fields.CASCADE
    )
    contractor: fields.ForeignKeyRelation[Contractor] = fields.ForeignKeyField(
        "rapport.Contractor", related_name="pulse_responses", on_delete=fields.CASCADE
    )
    wave_id: int  # the foreign keys' columns, as Tortoise sets them
    contractor_id: int
    submitted_at = fields.DatetimeField(db_index=True)
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    comment = fields.TextField(null=True)
    cei = fields.FloatField(null=True)
    survey_version = fields.IntField(default=1)
    lang = fields.CharField(max_length=8, default="en")
    source = fields.CharField(max_length=16, default="web")
    submission_id = fields.CharField(max_length=64, null=True, unique=True)
    # The contractor's groups when they answered, the tenure band as its code
    # at the wave's close (models.queries.frozen_groups): a closed wave's
    # figures never move when a contractor is edited later.
    region = fields.CharField(max_length=100, null=True)
    service_type = fields.CharField(max_length=100, null=True)
    tenure_band = fields.SmallIntField(null=True)

    class Meta:
        table = "pulse_responses"
        unique_together = (("wave", "contractor"),)


class PulseScore(Model):
    """The 0–100 score of one dimension within one pulse response.

    Written with the response by `surveys.scoring`, so the database only has
    to average: the formula lives in one place.
    """

    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[PulseResponse] = fields.ForeignKeyField(
        "rapport.PulseResponse", related_name="scores", on_delete=fields.CASCADE
    )
    dimension = fields.CharField(max_length=64)
    score = fields.FloatField()
    answered = fields.SmallIntField()
    favourable = fields.SmallIntField()
    item_sum = fields.SmallIntField()  # the answered items summed: reliability's item total
    # The response's contractor, wave and time again, so the index aggregates
    # this table alone (models/analytics/).
    contractor_id = fields.IntField()
    wave_id = fields.IntField()
    submitted_at = fields.DatetimeField()
    # The response's frozen groups again (models.queries.frozen_groups).
    region = fields.CharField(max_length=100, null=True)
    service_type = fields.CharField(max_length=100, null=True)
    tenure_band = fields.SmallIntField(null=True)

    class Meta:
        table = "pulse_scores"
        # wave_id: every report reads the reported waves' rows (migration 0009)
        indexes = (Index(fields=("response_id", "dimension")), Index(fields=("wave_id",)))


class PulseItemAnswer(Model):
    """One scored item answer (reversal applied), for reliability statistics."""

    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[PulseResponse] = fields.ForeignKeyField(
        "rapport.PulseResponse", related_name="item_answers", on_delete=fields.CASCADE
    )
    dimension = fields.CharField(max_length=64)
    item = fields.CharField(max_length=64)
    value = fields.SmallIntField()
    # As on PulseScore: the response's contractor, wave and time again.
    contractor_id = fields.IntField()
    wave_id = fields.IntField()
    submitted_at = fields.DatetimeField()
    # The response's frozen groups again, and whether every item of this
    # dimension was answered (reliability uses complete dimensions only).
    region = fields.CharField(max_length=100, null=True)
    service_type = fields.CharField(max_length=100, null=True)
    tenure_band = fields.SmallIntField(null=True)
    complete = fields.BooleanField(null=True)  # written with the row (null only before migration 0004 ran)

    class Meta:
        table = "pulse_item_answers"
        indexes = (Index(fields=("response_id", "dimension")), Index(fields=("wave_id",)))


class ApiKey(Model):
    """The key of an integration, stored as its SHA-256 (the key has 256 random bits)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)  # to within models.keys.LAST_USED_EVERY

    class Meta:
        table = "api_keys"


class User(Model):
    """A dashboard user, whose password is kept as a salted hash only."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=100, unique=True)
    # argon2id with its parameters in the string; hashes of before 0003 are
    # scrypt and are replaced at the next successful sign-in (models.keys)
    password_hash = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class DashboardSession(Model):
    """A signed-in dashboard session, named by the SHA-256 of the random id its cookie carries."""

    # Deleting the row ends the session on every copy of the cookie.

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "rapport.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int  # the foreign key's column, as Tortoise sets it
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "dashboard_sessions"


class AuditEntry(Model):
    """Who read or exported what, when and from where: an API key or a dashboard user.

    The actor is kept by name, not by reference, so the trail outlives a deleted
    user or a revoked key. Pruned after RAPPORT_AUDIT_DAYS days.
    """

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor_kind = fields.CharField(max_length=16)  # api_key or user
    actor = fields.CharField(max_length=100)
    action = fields.CharField(max_length=200)  # a route template or a dashboard view
    # what was asked for, without secrets or personal ids
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.SmallIntField(null=True)
    client = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_log"
        indexes = (Index(fields=("actor", "at")),)


class WebhookEndpoint(Model):
    """A brand system that receives events: its URL, the events it wants and the secret that signs them."""

    # The secret is kept as it is (signing needs it) and shown once, when the endpoint
    # is added. `events` is the event names between commas, with commas at both ends
    # (",a,b,"), so the outbox finds the subscribers in the same statement that writes.
    # `claimed_by` and `claimed_until` are the lease of the one worker delivering to it.

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=2000)
    secret = fields.CharField(max_length=100)
    events = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_endpoints"


class WebhookDelivery(Model):
    """One event for one endpoint (the transactional outbox): written with what it reports, sent by the worker."""

    # `payload` is the exact body sent (the signature covers it), so a retry or a
    # replay sends the same bytes. Delivered in `id` order per endpoint.

    id = fields.BigIntField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "rapport.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: int  # the foreign key's column, as Tortoise sets it
    event_id = fields.CharField(max_length=36)
    event = fields.CharField(max_length=64)
    payload = fields.TextField()
    created_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="pending")  # pending, delivered or failed
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    retry_since = fields.DatetimeField()  # retried from then (its creation or replay) until the worker's window ends
    last_attempt_at = fields.DatetimeField(null=True)
    last_status = fields.SmallIntField(null=True)  # the HTTP status of the last attempt, if one came back
    last_error = fields.CharField(max_length=300, null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_outbox"
        unique_together = (("endpoint", "event_id"),)
        indexes = (Index(fields=("endpoint_id", "status", "id")), Index(fields=("status", "created_at")))


class WorkerRun(Model):
    """Once-only work of the worker done: a job and what it was done for, such as a wave announced."""

    id = fields.IntField(primary_key=True)
    job = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    done_at = fields.DatetimeField()

    class Meta:
        table = "worker_runs"
        unique_together = (("job", "name"),)


class DigestSubscription(Model):
    """A dashboard user's weekly digest e-mail: where it goes and whether it is on."""

    # Turning the digest off keeps the address, so turning it on again needs no retyping.

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "rapport.User", related_name="digest", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254)
    weekly = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "digest_subscriptions"


class DigestDelivery(Model):
    """One week's digest to one user: claimed before it is sent, stamped once the SMTP
    server took it, so every run of the schedule sends each week's digest once per user."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "rapport.User", related_name="digests", on_delete=fields.CASCADE
    )
    week = fields.CharField(max_length=8)  # the ISO week the digest closes, "2026-W48"
    claimed_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "digest_deliveries"
        unique_together = (("user", "week"),)
